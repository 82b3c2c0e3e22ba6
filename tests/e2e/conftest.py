"""The end-to-end suite's fixtures: LiteLLM installed into `.e2e-venv/` (once, then cached),
one proxy for the session; llama-cpp-python built into a wheel cache and installed into
`.e2e-llamacpp-venv/` (once, then cached), one server for the session; and what happened
printed in the terminal summary, so a skipped suite always says why (never silently) and a run
says what the build, install and start-up cost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import ENGINES_SPEC, EngineInstall, ensure_engines
from tests.support.litellm_proxy import LITELLM_SPEC, LiteLLMProxy, ensure_litellm
from tests.support.llamacpp_server import (
    LLAMACPP_SPEC,
    WHEEL_CACHE,
    InstallResult,
    LlamaCppServer,
    ensure_llamacpp,
)

_REPORT: dict[str, Any] = {}
_LLAMA: dict[str, Any] = {}
_ENGINES: dict[str, Any] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build and install llama-cpp-python before the first test, outside any test's timeout:
    a first run compiles llama.cpp (many minutes); later runs find the cached wheel."""
    if session.config.option.collectonly or "install" in _LLAMA:
        return
    if not any("llamacpp_server" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"llama-cpp-python end-to-end: preparing {LLAMACPP_SPEC} (the first run on a machine "
            f"compiles llama.cpp into {WHEEL_CACHE}; later runs reuse it)"
        )
    _LLAMA["install"] = ensure_llamacpp()


@pytest.fixture(scope="session")
def llamacpp_server(tmp_path_factory) -> Iterator[LlamaCppServer]:
    install: InstallResult = _LLAMA.get("install") or ensure_llamacpp()
    _LLAMA["install"] = install
    if install.python is None:
        reason = f"llama-cpp-python end-to-end suite skipped: {install.skip_reason}"
        _LLAMA["skip"] = reason
        pytest.skip(reason)
    try:
        server = LlamaCppServer(install.python, tmp_path_factory.mktemp("llamacpp"))
    except RuntimeError as error:
        reason = f"llama-cpp-python end-to-end suite skipped: the server did not start: {error}"
        _LLAMA["skip"] = reason
        pytest.skip(reason)
    _LLAMA["start_seconds"] = server.start_seconds
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def engines() -> Path:
    """The python of the cached venv holding Ray and Dask (tests/support/engines.py)."""
    install: EngineInstall = _ENGINES.get("install") or ensure_engines()
    _ENGINES["install"] = install
    if install.python is None:
        reason = f"Ray and Dask end-to-end tests skipped: {install.skip_reason}"
        _ENGINES["skip"] = reason
        pytest.skip(reason)
    return install.python


@pytest.fixture(scope="session")
def litellm_proxy(tmp_path_factory, model_server) -> Iterator[LiteLLMProxy]:
    install = ensure_litellm()
    _REPORT["install"] = install
    if install.litellm is None:
        reason = f"LiteLLM end-to-end suite skipped: {install.skip_reason}"
        _REPORT["skip"] = reason
        pytest.skip(reason)
    proxy = LiteLLMProxy(
        install.litellm, tmp_path_factory.mktemp("litellm"), upstream=model_server.url()
    )
    _REPORT["start_seconds"] = proxy.start_seconds
    try:
        yield proxy
    finally:
        proxy.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    _litellm_summary(terminalreporter)
    _llamacpp_summary(terminalreporter)
    _engines_summary(terminalreporter)


def _engines_summary(terminalreporter: Any) -> None:
    install: EngineInstall | None = _ENGINES.get("install")
    if install is None:
        return
    terminalreporter.section("Ray and Dask end-to-end")
    if _ENGINES.get("skip"):
        terminalreporter.write_line(f"SKIPPED: {_ENGINES['skip']}", yellow=True, bold=True)
        return
    how = "installed now" if install.installed_now else f"cached in {install.python.parents[1]}"
    took = f"{install.install_seconds:.1f} s" if install.install_seconds is not None else "?"
    terminalreporter.write_line(f"{ENGINES_SPEC}: {how} (install took {took})")


def _llamacpp_summary(terminalreporter: Any) -> None:
    install: InstallResult | None = _LLAMA.get("install")
    if install is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("llama-cpp-python end-to-end")
    if _LLAMA.get("skip") or install.python is None:
        reason = _LLAMA.get("skip") or f"llama-cpp-python end-to-end suite skipped: {install.skip_reason}"
        write(f"SKIPPED: {reason}", yellow=True, bold=True)
        return
    built = "built now" if install.built_now else f"cached in {WHEEL_CACHE}"
    build = f"{install.build_seconds:.0f} s" if install.build_seconds is not None else "?"
    installed = "installed now" if install.installed_now else "cached in .e2e-llamacpp-venv"
    took = f"{install.install_seconds:.1f} s" if install.install_seconds is not None else "?"
    write(f"{LLAMACPP_SPEC}: wheel {built} (its build took {build}); {installed} (install took "
          f"{took}); server started in {_LLAMA.get('start_seconds', '?')} s")


def _litellm_summary(terminalreporter: Any) -> None:
    install = _REPORT.get("install")
    if install is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("LiteLLM end-to-end")
    if _REPORT.get("skip"):
        write(f"SKIPPED: {_REPORT['skip']}", yellow=True, bold=True)
        return
    how = "installed now" if install.installed_now else "cached in .e2e-venv"
    took = f"{install.install_seconds:.1f} s" if install.install_seconds is not None else "?"
    write(f"{LITELLM_SPEC}: {how} (install took {took}); proxy started in "
          f"{_REPORT.get('start_seconds', '?')} s")

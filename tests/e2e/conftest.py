"""The end-to-end suite's fixtures: LiteLLM installed into `.e2e-venv/` (once, then cached),
one proxy for the session, and what happened printed in the terminal summary, so a skipped
suite always says why (never silently) and a run says what the install and start-up cost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.litellm_proxy import LITELLM_SPEC, LiteLLMProxy, ensure_litellm

_REPORT: dict[str, Any] = {}


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

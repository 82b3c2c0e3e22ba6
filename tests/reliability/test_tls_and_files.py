"""TLS verification is on unless a provider turns it off explicitly, and the files the commands
write (the settings file, the request log) are readable by their owner only.

The HTTPS server uses a self-signed certificate generated in the test: verification must
refuse it by default (a ConnectError that says why), through the core and both adapters, and
only `verifyTls: false` on that provider (a JSON boolean, nothing else) accepts it.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_openai_compat import errors as E
from llm_openai_compat.config import settings as S
from tests.support.tls_server import TLSServer

from .harness import RUNNERS, Run

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("clean_state")]


@pytest.fixture
def tls_server(tmp_path) -> Iterator[TLSServer]:
    with TLSServer(tmp_path) as server:
        yield server


@pytest.mark.parametrize("runner", RUNNERS, ids=lambda r: r.name)
def test_self_signed_certificate_refused_by_default_accepted_when_turned_off(runner, tls_server, isolated_user_dir, figures):
    reason = runner.available()
    if reason:
        pytest.skip(reason)
    base = {"baseURL": tls_server.base_url, "maxRetries": 0}
    refused = runner.run(Run(isolated_user_dir, f"tls-{runner.name}", base, True))
    assert refused.core_class is E.ConnectError, repr(refused.error)
    message = str(refused.error)
    assert "CERTIFICATE_VERIFY_FAILED" in message or "certificate verify failed" in message
    assert "TLS certificate is not trusted" in message  # says what to do
    assert tls_server.requests == 0  # nothing was sent over the unverified connection

    accepted = runner.run(Run(isolated_user_dir, f"tls-off-{runner.name}", {**base, "verifyTls": False}, True))
    assert accepted.error is None, repr(accepted.error)
    assert accepted.text == "secure"
    assert tls_server.requests == 1

    # Turning it off for one provider leaves the others verifying, on the same server.
    again = runner.run(Run(isolated_user_dir, f"tls-{runner.name}", base, True))
    assert again.core_class is E.ConnectError
    figures.add("tls", runner=runner.name, default="refused", verify_false="accepted")


@pytest.mark.parametrize("value", ["false", 0, None, "no", []])
def test_verify_tls_accepts_only_a_json_boolean(value, isolated_user_dir):
    path = isolated_user_dir / "openai-compat.json"
    path.write_text(json.dumps({"providers": {"p": {"baseURL": "https://h/v1", "verifyTls": value}}}))
    caught = S.load_settings().broken["p"]  # that provider is skipped, with its reason
    assert isinstance(caught, E.ConfigError)
    assert "verifyTls" in str(caught) and str(path) in str(caught)


def test_verify_tls_defaults_to_on():
    assert S.ProviderSettings(baseURL="https://h/v1").verify_tls is True


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_settings_file_written_by_the_commands_is_owner_only(umask, isolated_user_dir, figures):
    path = isolated_user_dir / "openai-compat.json"
    old = os.umask(umask)
    try:
        provider = S.ProviderSettings(baseURL="http://127.0.0.1:9/v1", models=["m"])
        writes: dict[str, Any] = {
            "upsert_provider": lambda: S.upsert_provider("p", provider),
            "set_active": lambda: S.set_active("p", "m"),
            "save_settings": lambda: S.save_settings(S.load_settings()),
            "remove_provider": lambda: S.remove_provider("p"),
        }
        modes = {}
        for name, write in writes.items():
            write()
            modes[name] = oct(_mode(path))
            assert _mode(path) == 0o600, (name, oct(_mode(path)))
        # A file the user made world-readable is tightened by the next write.
        path.chmod(0o644)
        S.upsert_provider("q", provider)
        assert _mode(path) == 0o600
        leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
        assert leftovers == []
    finally:
        os.umask(old)
    figures.add("file_modes", umask=oct(umask), **modes)


def test_llm_cli_add_writes_owner_only(isolated_user_dir, figures):
    from .harness import llm_available

    if llm_available():
        pytest.skip(llm_available())
    import llm.cli
    from click.testing import CliRunner

    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            llm.cli.cli,
            ["openai-compat", "add", "cli", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"],
            env={"LLM_USER_PATH": str(isolated_user_dir)},
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert _mode(isolated_user_dir / "openai-compat.json") == 0o600
    figures.add("file_modes", umask="0o22", llm_openai_compat_add=oct(_mode(isolated_user_dir / "openai-compat.json")))


def test_request_log_is_owner_only(fault_server, isolated_user_dir, monkeypatch, tmp_path):
    log = tmp_path / "logs" / "requests.jsonl"
    monkeypatch.setenv("OPENAI_COMPAT_REQUEST_LOG", str(log))
    old = os.umask(0o022)
    try:
        run = RUNNERS[0].run(Run(isolated_user_dir, "logmode", {"baseURL": fault_server.base_url + "/v1", "maxRetries": 0}, True))
    finally:
        os.umask(old)
    assert run.error is not None  # the fault server's default answer is a 500
    assert log.exists() and _mode(log) == 0o600


@pytest.mark.parametrize("verify_tls", [True, False])
def test_a_plain_http_client_never_makes_an_unverified_tls_connection(tls_server, verify_tls):
    """A provider at an http:// URL gets a client without the CA store (20-30 ms saved per
    process); should that client ever reach an https URL, verification still refuses it —
    even when the provider turned verification off, since it never asked for TLS at all."""
    import httpx2

    from llm_openai_compat.http.pools import client_kwargs, pool_key

    plain = pool_key(tls_server.base_url.replace("https://", "http://"), verify_tls)
    assert plain[0] == "http" and pool_key(tls_server.base_url, verify_tls)[0] == "https"
    with (
        httpx2.Client(**client_kwargs(plain)) as client,  # the plain-http pool's TLS settings
        pytest.raises(httpx2.ConnectError, match=r"(?i)certificate verify failed"),
    ):
        client.get(tls_server.base_url + "/models")
    assert tls_server.requests == 0
    assert pool_key("HTTPS://h/v1", True)[0] == "https" and pool_key("HTTP://h/v1", True)[0] == "http"

"""`refreshHours`: a stale model list is refreshed beside a prompt, never by `llm models`,
and a failed refresh keeps the old list and says so once."""

from __future__ import annotations

import json
import threading

from tests.plugin.conftest import sim


def _join_refreshes() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("refresh-"):
            thread.join(timeout=20)
            assert not thread.is_alive()


def _provider(settings_file, name):
    return json.loads(settings_file.read_text())["providers"][name]


def _listings(server):
    return [r for r in server.requests() if r["path"].endswith(("/api/tags", "/api/show"))]


def test_a_stale_list_is_refreshed_beside_a_prompt(model_server, write_settings, run_llm,
                                                   settings_file):
    model_server.reset()
    base = model_server.url("models=llama3.2:latest,llava:7b")
    write_settings(local=sim(base, "llama3.2:latest", profile="ollama", refreshHours=1,
                             modelsRefreshedAt=1))
    assert run_llm("models").exit_code == 0
    assert run_llm("--version").exit_code == 0
    assert _listings(model_server) == []  # registration never lists

    result = run_llm("-m", "local/llama3.2", "hi")
    assert result.exit_code == 0, result.output
    _join_refreshes()
    stored = _provider(settings_file, "local")
    assert stored["models"] == ["llama3.2:latest", "llava:7b"]
    assert stored["modelCapabilities"]["llava:7b"]["images"] is True
    assert stored["modelsRefreshedAt"] > 1

    model_server.reset()
    assert run_llm("-m", "local/llava:7b", "hi").exit_code == 0
    _join_refreshes()
    assert _listings(model_server) == []  # fresh now: no second refresh


def test_no_refresh_without_refresh_hours(model_server, write_settings, run_llm):
    model_server.reset()
    write_settings(local=sim(model_server.url(), "sim-model", profile="ollama"))
    assert run_llm("-m", "local/sim-model", "hi").exit_code == 0
    _join_refreshes()
    assert _listings(model_server) == []


def test_a_failed_refresh_keeps_the_list_and_says_so_once(
    fault_server, write_settings, run_llm, settings_file, caplog
):
    write_settings(dead=sim(fault_server.refused_url("/v1"), "kept", profile="ollama",
                            refreshHours=2, modelsRefreshedAt=5))
    first = run_llm("-m", "dead/kept", "hi")
    _join_refreshes()
    assert first.exit_code != 0  # the prompt itself cannot connect either
    stored = _provider(settings_file, "dead")
    assert stored["models"] == ["kept"] and stored["modelsRefreshedAt"] > 5
    assert run_llm("-m", "dead/kept", "hi").exit_code != 0
    _join_refreshes()
    # Said from the refresh thread (on stderr under the CLI), once: the try was stamped.
    said = [r.getMessage() for r in caplog.records if "could not be refreshed" in r.getMessage()]
    assert len(said) == 1 and "keeping the old list" in said[0] and "'dead'" in said[0]
    assert "\n" not in said[0]

"""`llm openai-compat add` for well-known local servers (no --base-url), `--profile`, model
discovery through `discovery.discover_models` (Ollama's /api/tags, LM Studio's listing, /models),
and the `Adapted:` lines of `llm openai-compat test`.

The real local servers' ports may be taken or empty here, so each test points the known server
at the fault server or the model server by patching `discovery.KNOWN_SERVERS`.
"""

from __future__ import annotations

import json

import llm
import pytest

from llm_openai_compat import discovery
from llm_openai_compat.config.profiles import ADAPTATIONS
from llm_openai_compat.discovery import KnownServer
from tests.support.wire_bytes import chunk

from .conftest import chat_sse, sim

pytestmark = pytest.mark.timeout(30)

OLLAMA_TAGS = {"models": [{"name": "llama3.2:latest"}, {"name": "qwen3:8b", "model": "qwen3:8b"}]}
# Ollama's `POST /api/show` answer (docs/api.md), trimmed to what capabilities are read from.
OLLAMA_SHOW = {"status": 200, "json": {"capabilities": ["completion", "tools"]}}
LMSTUDIO_V0 = {
    "object": "list",
    "data": [
        {"id": "qwen2-vl-7b-instruct", "type": "vlm"},
        {"id": "meta-llama-3.1-8b-instruct", "type": "llm"},
        {"id": "text-embedding-nomic-embed-text-v1.5", "type": "embeddings"},
    ],
}
DESCRIPTION = {a.name: a.description for a in ADAPTATIONS}


def _file(settings_file) -> dict:
    return json.loads(settings_file.read_text())


def _paths(server) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in server.requests()]


def _point(monkeypatch, name: str, base_url: str) -> KnownServer:
    """Make the known server `name` live at `base_url` for this test."""
    real = discovery.KNOWN_SERVERS[name]
    moved = KnownServer(real.id, real.name, base_url, real.profile, real.note)
    monkeypatch.setitem(discovery.KNOWN_SERVERS, name, moved)  # type: ignore[arg-type]
    return moved


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert result.output.count("Error:") == 1 and "Traceback" not in result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error:")]
    return line


# -- add ID for a well-known local server -----------------------------------------------------


def test_add_ollama_needs_no_base_url_and_then_prompts(run_llm, fault_server, settings_file, monkeypatch):
    server = _point(monkeypatch, "ollama", fault_server.base_url + "/v1")
    fault_server.enqueue({"status": 200, "json": OLLAMA_TAGS})
    result = run_llm("openai-compat", "add", "ollama")
    assert result.exit_code == 0, result.output
    assert "Added provider 'ollama' with 2 models" in result.stdout
    assert "Listing models at " + fault_server.base_url + "/api/tags" in result.stderr
    assert "llm -m ollama/llama3.2:latest hi" in result.stderr
    # The native listing, not /models; then /api/show (unscripted here: 500, retried once,
    # after which no other model is asked and the listing alone is kept).
    assert _paths(fault_server) == [("GET", "/api/tags"), *[("POST", "/api/show")] * 2]
    data = _file(settings_file)
    assert data["providers"]["ollama"] == {
        **server.provider_settings(),
        "models": ["llama3.2:latest", "qwen3:8b"],
    }
    assert data["active"] == {"provider": "ollama", "model": "llama3.2:latest"}

    fault_server.reset()
    fault_server.enqueue(chat_sse(chunk({"content": "Hello"}), chunk(finish="stop")))
    prompt = run_llm("-m", "ollama/llama3.2:latest", "hi")
    assert prompt.exit_code == 0, prompt.output
    assert prompt.stdout.strip() == "Hello"
    assert _paths(fault_server) == [("POST", "/v1/chat/completions")]


def test_add_ollama_again_rediscovers(run_llm, fault_server, settings_file, monkeypatch):
    _point(monkeypatch, "ollama", fault_server.base_url + "/v1")
    fault_server.enqueue(
        {"status": 200, "json": {"models": [{"name": "a"}]}}, OLLAMA_SHOW,
        {"status": 200, "json": OLLAMA_TAGS}, OLLAMA_SHOW, OLLAMA_SHOW,
    )
    assert run_llm("openai-compat", "add", "ollama").exit_code == 0
    again = run_llm("openai-compat", "add", "ollama")
    assert again.exit_code == 0, again.output
    assert "Updated provider 'ollama' with 2 models" in again.stdout
    data = _file(settings_file)
    assert data["providers"]["ollama"]["models"] == ["llama3.2:latest", "qwen3:8b"]
    # The active model 'a' is gone from the server: the active pair falls back to the first.
    assert data["active"] == {"provider": "ollama"}
    assert "'a' is no longer listed" in again.stderr
    assert llm.get_model("openai-compat").model_id == "ollama/llama3.2:latest"


def test_add_with_server_falls_back_to_models_and_keeps_the_id(
    run_llm, model_server, settings_file, monkeypatch
):
    """The model server has no /api/tags: discovery falls back to /v1/models."""
    _point(monkeypatch, "ollama", model_server.url())
    result = run_llm("openai-compat", "add", "box", "--server", "Ollama")
    assert result.exit_code == 0, result.output
    entry = _file(settings_file)["providers"]["box"]
    assert entry["profile"] == "ollama" and entry["baseURL"] == model_server.url()
    assert entry["models"] == ["sim-model", "sim-model-mini", "sim-reasoner"]
    assert llm.get_model("box/sim-reasoner")


def test_add_with_server_and_base_url_and_models_sends_nothing(run_llm, settings_file, monkeypatch):
    _point(monkeypatch, "vllm", "http://127.0.0.1:9/v1")  # nothing listens; nothing is asked
    result = run_llm(
        "openai-compat", "add", "gpu", "--server", "vllm", "--base-url", "http://gpu-box:8000/v1",
        "-m", "Qwen/Qwen3-8B",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Listing models" not in result.stderr
    assert _file(settings_file)["providers"]["gpu"] == {
        "baseURL": "http://gpu-box:8000/v1",
        "profile": "default",
        "models": ["Qwen/Qwen3-8B"],
    }


def test_an_unknown_name_without_base_url_is_one_line(run_llm, settings_file):
    line = _one_error_line(run_llm("openai-compat", "add", "my-box"))
    assert "'my-box' is not a well-known local server" in line and "--base-url" in line
    assert all(name in line for name in ("ollama", "lmstudio", "llamacpp", "vllm"))
    bad = _one_error_line(run_llm("openai-compat", "add", "x", "--server", "nope"))
    assert "'nope'" in bad and "ollama" in bad
    assert not settings_file.exists()


def test_a_known_server_that_is_down_stores_nothing(run_llm, fault_server, settings_file, monkeypatch):
    _point(monkeypatch, "lmstudio", fault_server.refused_url("/v1"))
    line = _one_error_line(run_llm("openai-compat", "add", "lmstudio"))
    assert "running" in line
    assert not settings_file.exists()


def test_updating_a_provider_at_another_address_keeps_it(run_llm, write_settings, settings_file):
    write_settings(ollama=sim("http://gpu-box:11434/v1", "llama3.2", profile="ollama"))
    result = run_llm("openai-compat", "add", "ollama", "--header", "X-Team: blue")
    assert result.exit_code == 0, result.output
    entry = _file(settings_file)["providers"]["ollama"]
    assert entry["baseURL"] == "http://gpu-box:11434/v1" and entry["models"] == ["llama3.2"]
    assert entry["headers"] == {"X-Team": "blue"}


# -- --profile ----------------------------------------------------------------------------------


def test_profile_is_stored_and_followed(run_llm, fault_server, settings_file, monkeypatch):
    monkeypatch.setenv("AZ_TEST_KEY", "az-key-0123456789abcdef")
    result = run_llm(
        "openai-compat", "add", "az", "--base-url", fault_server.base_url + "/v1",
        "--profile", "azure", "--key-env", "AZ_TEST_KEY", "-m", "gpt4o",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _file(settings_file)["providers"]["az"]["profile"] == "azure"
    fault_server.enqueue(chat_sse(chunk({"content": "ok"}), chunk(finish="stop")))
    assert run_llm("-m", "az/gpt4o", "-o", "max_tokens", "9", "hi").exit_code == 0
    (request,) = fault_server.requests()
    assert request["headers"]["api-key"] == "az-key-0123456789abcdef"
    assert "authorization" not in request["headers"]
    assert json.loads(request["body"])["max_completion_tokens"] == 9


def test_profile_overrides_the_known_servers(run_llm, settings_file, monkeypatch):
    _point(monkeypatch, "ollama", "http://127.0.0.1:9/v1")
    result = run_llm("openai-compat", "add", "ollama", "--profile", "llamacpp", "-m", "x")
    assert result.exit_code == 0, result.output
    assert _file(settings_file)["providers"]["ollama"]["profile"] == "llamacpp"


def test_an_unknown_profile_is_one_line_listing_the_known(run_llm, settings_file):
    result = run_llm("openai-compat", "add", "p", "--base-url", "http://a/v1", "--profile", "azur")
    line = _one_error_line(result)
    assert "unknown profile 'azur'" in line
    assert all(name in line for name in ("azure", "deepseek", "default", "ollama", "openai"))
    assert not settings_file.exists()


# -- --discover and models --refresh go through discovery ---------------------------------------


def test_discover_uses_the_profiles_native_listing(run_llm, fault_server, settings_file):
    fault_server.enqueue({"status": 200, "json": LMSTUDIO_V0})
    result = run_llm(
        "openai-compat", "add", "studio", "--base-url", fault_server.base_url + "/v1",
        "--profile", "lmstudio", "--discover",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _paths(fault_server) == [("GET", "/api/v0/models")]
    # The embedding model is not offered as a chat model.
    assert _file(settings_file)["providers"]["studio"]["models"] == [
        "meta-llama-3.1-8b-instruct",
        "qwen2-vl-7b-instruct",
    ]


def test_models_refresh_uses_discovery(run_llm, write_settings, fault_server, settings_file):
    write_settings(local=sim(fault_server.base_url + "/v1", "llama3.2:latest", profile="ollama"))
    fault_server.enqueue({"status": 200, "json": OLLAMA_TAGS})
    listed = run_llm("openai-compat", "models", "local")
    assert listed.exit_code == 0, listed.output
    assert [line.split()[:3] for line in listed.stdout.splitlines()[1:]] == [
        ["local/llama3.2:latest", "chat", "yes"], ["local/qwen3:8b", "chat", "no"]
    ]
    assert "Listing models at " + fault_server.base_url + "/api/tags" in listed.stderr
    fault_server.enqueue(
        {"status": 404, "json": {"error": {"message": "404 page not found"}}},
        {"status": 200, "json": {"object": "list", "data": [{"id": "qwen3:8b"}]}},
        OLLAMA_SHOW,
    )
    refreshed = run_llm("openai-compat", "models", "local", "--refresh")
    assert refreshed.exit_code == 0, refreshed.output
    assert _file(settings_file)["providers"]["local"]["models"] == ["qwen3:8b"]
    assert _file(settings_file)["providers"]["local"]["modelCapabilities"] == {
        "qwen3:8b": {"chat": True, "embedding": False, "tools": True, "images": False,
                     "audio": False, "reasoning": False}
    }
    assert _paths(fault_server)[-3:] == [
        ("GET", "/api/tags"), ("GET", "/v1/models"), ("POST", "/api/show")
    ]
    fault_server.set_default({"status": 401, "json": {"error": {"message": "bad key"}}})
    line = _one_error_line(run_llm("openai-compat", "models", "local", "--refresh"))
    assert "401" in line or "key" in line.lower()
    assert _file(settings_file)["providers"]["local"]["models"] == ["qwen3:8b"]


# -- test: what the requests do differently -----------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "adaptation"),
    [("no-stream-options", "no-stream-options"), ("no-developer", "no-developer-role")],
)
def test_test_says_how_requests_are_adapted(run_llm, write_settings, model_server, flag, adaptation):
    write_settings(lim=sim(model_server.url(flag)))
    result = run_llm("openai-compat", "test", "lim", "--no-store")
    assert result.exit_code == 0, result.output
    adapted = [line for line in result.stdout.splitlines() if line.startswith("Adapted:")]
    assert adapted == [f"Adapted: {DESCRIPTION[adaptation]}"]
    assert result.stdout.rstrip().endswith(adapted[-1])  # under the table


def test_test_on_a_full_server_adapts_nothing(run_llm, write_settings, model_server):
    write_settings(sim=sim(model_server.url()))
    result = run_llm("openai-compat", "test", "sim", "--no-store")
    assert result.exit_code == 0, result.output
    assert "Adapted:" not in result.output


def test_test_also_says_what_the_process_learned(run_llm, write_settings, model_server, fault_server):
    # A prompt that meets the rejection first: learned once, and reported once.
    write_settings(lim=sim(model_server.url("no-stream-options")))
    assert run_llm("-m", "lim/sim-model", "hi").exit_code == 0
    result = run_llm("openai-compat", "test", "lim", "--no-store")
    assert result.stdout.count("Adapted:") == 1
    # What no probe asks about: a server that wants max_completion_tokens.
    write_settings(fs=sim(fault_server.base_url + "/v1", "m"))
    rejection = {
        "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead.",
        "type": "invalid_request_error",
        "param": "max_tokens",
        "code": "unsupported_parameter",
    }
    fault_server.enqueue(
        {"status": 400, "json": {"error": rejection}},
        chat_sse(chunk({"content": "ok"}), chunk(finish="stop")),
    )
    prompt = run_llm("-m", "fs/m", "-o", "max_tokens", "5", "hi")
    assert prompt.exit_code == 0, prompt.output
    fault_server.set_default(
        {
            "status": 200,
            "json": {
                "id": "c1",
                "object": "chat.completion",
                "model": "m",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "OK"},
                     "finish_reason": "stop"}
                ],
            },
        }
    )
    result = run_llm("openai-compat", "test", "fs", "--no-store")
    assert f"Adapted: {DESCRIPTION['max-completion-tokens']}" in result.stdout


# -- add NAME --base-url URL, where NAME is a well-known server's (issue 15 item 6) -----------


def test_add_a_known_servers_name_with_base_url_is_that_server_at_that_address(
    run_llm, fault_server, settings_file
):
    """`add ollama --base-url URL` is `--server ollama` at URL: its profile and native listing."""
    url = fault_server.base_url + "/v1"
    fault_server.enqueue({"status": 200, "json": OLLAMA_TAGS})
    result = run_llm("openai-compat", "add", "ollama", "--base-url", url)
    assert result.exit_code == 0, result.output
    assert f"at {url} (profile ollama)" in result.stderr
    # The native listing, then Ollama's per-model details (which this server does not give).
    assert _paths(fault_server)[0] == ("GET", "/api/tags")
    assert set(_paths(fault_server)[1:]) <= {("POST", "/api/show")}
    assert _file(settings_file)["providers"]["ollama"] == {
        "baseURL": url,
        "profile": "ollama",
        "models": ["llama3.2:latest", "qwen3:8b"],
    }
    assert "Try: llm -m ollama/llama3.2:latest hi" in result.stderr


def test_add_llamacpp_with_base_url_sets_its_profile_and_lists_models(
    run_llm, model_server, settings_file
):
    result = run_llm("openai-compat", "add", "llamacpp", "--base-url", model_server.url())
    assert result.exit_code == 0, result.output
    entry = _file(settings_file)["providers"]["llamacpp"]
    assert entry["profile"] == "llamacpp" and entry["baseURL"] == model_server.url()
    assert entry["models"], "the server's models were listed and stored"
    assert f"Try: llm -m llamacpp/{entry['models'][0]} hi" in result.stderr

"""How a profile is chosen (the provider's `profile` setting, else its base URL, else default),
extension profiles from the pluggy hook, Azure's request shape on the wire, and what the
process learned from 400s (for `llm openai-compat test` to report)."""

from __future__ import annotations

import json

import pytest

from llm_openai_compat import Client, Conversation, Message, RequestOptions, RetryPolicy
from llm_openai_compat.call import Target, prepare
from llm_openai_compat.config.profiles import PROFILES, Profile, detect_profile, get_profile
from llm_openai_compat.config.settings import ProviderSettings
from llm_openai_compat.errors import ConfigError
from llm_openai_compat.http.retry import CircuitBreaker
from tests.support.openapi import read_transcript
from tests.wire.replay import sse_bytes

HI = Conversation((Message.text("user", "hi"),), system="Be brief.")
NO_WAIT = RetryPolicy(sleep=lambda s: None)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.openai.com/v1", "openai"),
        ("https://myres.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21", "azure"),
        ("https://myres.cognitiveservices.azure.com/openai/v1", "azure"),
        ("https://api.deepseek.com", "deepseek"),
        ("https://api.mistral.ai/v1", "mistral"),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "gemini"),
        ("https://api.x.ai/v1", "xai"),
        ("https://api.perplexity.ai", "perplexity"),
        ("http://localhost:11434/v1", "ollama"),
        ("http://127.0.0.1:11434", "ollama"),
        ("https://ollama.com/v1", "ollama"),
        ("http://localhost:1234/v1", "lmstudio"),
        # Too common to guess from: these need `profile` (or `add llamacpp` writes it).
        ("http://localhost:8080/v1", "default"),
        ("http://localhost:8000/v1", "default"),
        ("http://localhost:4000/v1", "default"),
        ("https://api.openai.com.evil.example/v1", "default"),
        ("http://192.168.1.10:11434/v1", "default"),
    ],
)
def test_detected_from_the_base_url(base_url, expected):
    assert detect_profile(base_url).name == expected
    assert get_profile(None, base_url).name == expected


def test_the_setting_wins_over_the_url():
    assert get_profile("llamacpp", "https://api.openai.com/v1").name == "llamacpp"


def test_an_unknown_profile_is_a_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        get_profile("nope", "http://localhost:1/v1")
    assert "llamacpp" in str(caught.value) and caught.value.field == "profile"


def test_an_extension_profile_is_found_by_name_without_calling_the_hook_first(tmp_path, monkeypatch, runtime):
    """A profile from an installed extension works in `profile` straight away: the lookup
    loads extensions itself (at request time, never while llm starts)."""
    (tmp_path / "oc_ext_profiles.py").write_text(
        "from llm_openai_compat.hooks import hookimpl\n"
        "from llm_openai_compat.config.profiles import Profile\n"
        "@hookimpl\n"
        "def openai_compat_profiles():\n"
        "    return [Profile(name='test-acme', url_patterns=(r'acme\\.example',),"
        " max_tokens_field='max_completion_tokens')]\n"
    )
    dist = tmp_path / "oc_ext_profiles-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: oc-ext-profiles\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[openai_compat]\nacme = oc_ext_profiles\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert runtime.get_profile("test-acme", "http://x/v1").max_tokens_field == "max_completion_tokens"
    assert runtime.get_profile(None, "https://api.acme.example/v1").name == "test-acme"
    assert "test-acme" not in PROFILES  # the runtime's registry, not the built-in table


def test_probed_capabilities_narrow_the_profile():
    settings = ProviderSettings(
        base_url="http://localhost:1/v1", capabilities={"streamOptions": False, "developerRole": False}
    )
    prepared = prepare(Target("p", settings), HI, RequestOptions(model="m", system_message_mode="developer"))
    assert "stream_options" not in prepared.body
    assert prepared.body["messages"][0]["role"] == "system"


# -- Azure on the wire ---------------------------------------------------------------------------


def _azure_client(fault_server, **fields) -> Client:
    return Client.inline(
        f"{fault_server.base_url}/openai/deployments/gpt4o?api-version=2024-10-21",
        api_key="azure-key-" + "x" * 24,
        profile="azure",
        policy=NO_WAIT,
        breaker=CircuitBreaker("azure-test"),
        **fields,
    )


@pytest.mark.parametrize("stream", [True, False])
def test_azure_request_shape(fault_server, stream):
    if stream:
        body = sse_bytes("azure__chat__stream_prompt_filter_first_chunk.txt").decode()
        fault_server.enqueue({"status": 200, "headers": {"content-type": "text/event-stream"}, "body": body})
    else:
        _, text = read_transcript(
            "azure__chat__nonstream_content_filter_results.txt"
        )
        fault_server.enqueue({"status": 200, "body": text})
    result = _azure_client(fault_server).complete(
        HI, RequestOptions(model="gpt4o", stream=stream, params={"maxOutputTokens": 30})
    )
    assert result.text

    (request,) = fault_server.requests()
    assert request["method"] == "POST"
    assert request["path"] == "/openai/deployments/gpt4o/chat/completions"
    assert request["query"] == "api-version=2024-10-21"
    assert request["headers"]["api-key"] == "azure-key-" + "x" * 24
    assert "authorization" not in request["headers"]
    body = json.loads(request["body"])
    assert body["max_completion_tokens"] == 30 and "max_tokens" not in body


def test_azure_lists_models_per_resource_with_the_api_key_header(fault_server):
    fault_server.enqueue({"status": 200, "json": {"data": [{"id": "gpt-4o"}, {"id": "o3-mini"}]}})
    assert _azure_client(fault_server).list_models() == ["gpt-4o", "o3-mini"]
    (request,) = fault_server.requests()
    assert (request["method"], request["path"], request["query"]) == (
        "GET", "/openai/models", "api-version=2024-10-21",
    )
    assert "api-key" in request["headers"] and "authorization" not in request["headers"]


# -- what the process learned ----------------------------------------------------------------


def test_a_rejected_stream_options_is_retried_once_remembered_and_described(fault_server, runtime):
    rejection = {
        "error": {
            "message": "Unrecognized request argument supplied: stream_options",
            "type": "invalid_request_error",
            "param": "stream_options",
        }
    }
    ok = 'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    stream = {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": ok}
    fault_server.enqueue({"status": 400, "json": rejection}, stream, stream)
    client = Client.inline(fault_server.base_url + "/v1", provider_id="old-server", policy=NO_WAIT)
    assert client.complete(HI, RequestOptions(model="m")).text == "ok"
    assert client.complete(HI, RequestOptions(model="m")).text == "ok"
    sent = [json.loads(r["body"]) for r in fault_server.requests()]
    assert ["stream_options" in b for b in sent] == [True, False, False]
    (learned,) = runtime.learned_adaptations("old-server")
    assert learned.name == "no-stream-options"
    assert "stream_options" in learned.description
    assert runtime.learned_adaptations("another-provider") == []


def test_profiles_are_frozen_data():
    profile = PROFILES["gemini"]
    with pytest.raises(AttributeError):
        profile.name = "x"  # type: ignore[misc]
    assert isinstance(profile.with_(name="copy"), Profile) and PROFILES["gemini"].name == "gemini"

"""ChatOpenAI's constructor and call names on ChatOpenAICompat (issue 17 item 1), and the
settings-file fields inline (issue 14 item 7), checked on what reaches the model server."""

from __future__ import annotations

import hashlib

import pytest

from langchain_adapter import ChatOpenAICompat
from llm_openai_compat import ConfigError, Provider5xx
from tests.support.openapi import assert_valid


def key_of(conversation_id: str) -> str:
    return "oc-" + hashlib.sha256(conversation_id.encode()).hexdigest()[:32]


def test_chat_openai_aliases(model_server):
    model = ChatOpenAICompat(
        model_name="gpt-4o", openai_api_base=model_server.url(), openai_api_key="sk-x",
        stop_sequences=["END"], max_completion_tokens=50, request_timeout=5,
        default_headers={"X-Team": "a"}, max_retries=0,
    )
    model.invoke("hi")
    request = model_server.requests()[-1]
    assert request["body"]["model"] == "gpt-4o"
    assert request["body"]["stop"] == ["END"] and request["body"]["max_tokens"] == 50
    assert request["headers"]["authorization"] == "Bearer sk-x"
    assert request["headers"]["x-team"] == "a"


@pytest.mark.parametrize(
    ("field", "hint"),
    [("openai_organization", "headers="), ("openai_proxy", "http_client="),
     ("tiktoken_model_name", "tokenizer"), ("disabled_params", "learns")],
)
def test_inapplicable_fields_are_refused_in_one_line(model_server, field, hint):
    with pytest.raises(ConfigError) as caught:
        ChatOpenAICompat(base_url=model_server.url(), model="m", **{field: "x"})
    message = str(caught.value)
    assert field in message and hint in message and "\n" not in message


def test_an_unknown_output_version_is_refused_not_silently_v0(model_server):
    """`responses/v1` is built (tests/langchain/test_migration.py); any other unknown version
    fails at construction in one line naming the known ones."""
    with pytest.raises(ConfigError) as caught:
        ChatOpenAICompat(base_url=model_server.url(), model="m", output_version="v2")
    message = str(caught.value)
    assert "output_version" in message and "'responses/v1'" in message and "\n" not in message


def test_request_params_by_chat_openai_names(model_server):
    model = ChatOpenAICompat(
        base_url=model_server.url(), model="m", max_retries=0, frequency_penalty=0.5,
        presence_penalty=0.1, logit_bias={50256: -100}, service_tier="flex",
        verbosity="low", reasoning_effort="low", logprobs=True, top_logprobs=2,
        prompt_cache_retention="24h", seed=3,
    )
    model.invoke("hi")
    body = model_server.last_body()
    assert_valid(body, "CreateChatCompletionRequest")
    assert body["frequency_penalty"] == 0.5 and body["presence_penalty"] == 0.1
    assert body["logit_bias"] == {"50256": -100}
    assert (body["service_tier"], body["verbosity"], body["reasoning_effort"]) == (
        "flex", "low", "low")
    assert (body["logprobs"], body["top_logprobs"]) == (True, 2)
    assert body["prompt_cache_retention"] == "24h" and body["seed"] == 3
    # The same names per call.
    model.invoke("hi", frequency_penalty=1.0, logprobs=False)
    body = model_server.last_body()
    assert body["frequency_penalty"] == 1.0 and body["logprobs"] is False


def test_responses_shape_reasoning_dict_and_retention(model_server):
    model = ChatOpenAICompat(
        base_url=model_server.url(), model="m", max_retries=0, use_responses_api=True,
        reasoning={"effort": "low", "summary": "auto"}, prompt_cache_retention="in_memory",
    )
    model.invoke("hi")
    request = model_server.requests()[-1]
    assert request["path"].endswith("/responses")
    assert_valid(request["body"], "CreateResponse")
    assert request["body"]["reasoning"] == {"effort": "low", "summary": "auto"}
    assert request["body"]["prompt_cache_retention"] == "in_memory"


def test_bad_retention_is_refused(model_server):
    with pytest.raises(ConfigError, match="in_memory"):
        ChatOpenAICompat(base_url=model_server.url(), model="m", prompt_cache_retention="1h")


def test_prompt_cache_key_from_run_metadata_and_conversation_id(model_server):
    model = ChatOpenAICompat(base_url=model_server.url(), model="m", vendor_profile="openai",
                             max_retries=0)
    model.invoke("hi", config={"metadata": {"thread_id": "t-1"}})
    assert model_server.last_body()["prompt_cache_key"] == key_of("t-1")
    model.invoke("hi", config={"metadata": {"session_id": "s-9"}})
    assert model_server.last_body()["prompt_cache_key"] == key_of("s-9")
    model.invoke("hi", conversation_id="c-2", config={"metadata": {"thread_id": "t-1"}})
    assert model_server.last_body()["prompt_cache_key"] == key_of("c-2")
    model.invoke("hi")
    assert "prompt_cache_key" not in model_server.last_body()
    pinned = model.model_copy(update={"conversation_id": "c-3"})
    pinned.invoke("hi")
    assert model_server.last_body()["prompt_cache_key"] == key_of("c-3")


async def test_prompt_cache_key_async(model_server):
    model = ChatOpenAICompat(base_url=model_server.url(), model="m", vendor_profile="openai",
                             max_retries=0)
    await model.ainvoke("hi", config={"metadata": {"thread_id": "t-async"}})
    assert model_server.last_body()["prompt_cache_key"] == key_of("t-async")


def test_settings_fields_inline(model_server):
    model = ChatOpenAICompat(
        base_url=model_server.url(), model="m", max_retries=0, system_message_mode="developer",
        model_params={"m": {"temperature": 0.25}}, verify_tls=False,
    )
    assert model._resolved.settings.verify_tls is False
    assert model.invoke([("system", "be brief"), ("human", "hi")]).content
    body = model_server.last_body()
    assert body["messages"][0]["role"] == "developer"
    assert body["temperature"] == 0.25
    per_call = model.invoke([("system", "be brief"), ("human", "hi")],
                            system_message_mode="system")
    assert per_call.content
    assert model_server.last_body()["messages"][0]["role"] == "system"


def test_max_retries_per_call(model_server):
    model = ChatOpenAICompat(base_url=model_server.url("fail=503"), model="m", max_retries=0)
    model_server.reset()
    with pytest.raises(Provider5xx):
        model.invoke("hi")
    assert len(model_server.requests()) == 1
    model_server.reset()
    with pytest.raises(Provider5xx):
        model.invoke("hi", max_retries=1)
    assert len(model_server.requests()) == 2


def test_default_query(model_server):
    model = ChatOpenAICompat(base_url=model_server.url(), model="m", max_retries=0,
                             default_query={"api-version": "2025-01-01"})
    model.invoke("hi")
    assert model_server.requests()[-1]["path"].endswith("/chat/completions?api-version=2025-01-01")


@pytest.mark.parametrize("streaming", [False, True])
async def test_include_response_headers(model_server, streaming):
    model = ChatOpenAICompat(base_url=model_server.url(), model="m", max_retries=0,
                             include_response_headers=True, streaming=streaming)
    for message in (model.invoke("hi"), await model.ainvoke("hi")):
        headers = message.response_metadata["headers"]
        assert headers["content-type"].startswith(
            "text/event-stream" if streaming else "application/json")
    plain = ChatOpenAICompat(base_url=model_server.url(), model="m", max_retries=0)
    assert "headers" not in plain.invoke("hi").response_metadata
    assert "headers" in plain.invoke("hi", include_response_headers=True).response_metadata

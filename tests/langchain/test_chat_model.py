"""`ChatOpenAICompat`'s own behaviour, where it must do better than LangChain's ChatOpenAI,
against the local deterministic server (tests/support/model_server.py)."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import time
import zlib
from typing import Any

import jsonschema
import pytest
from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelRateLimitError,
)
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field, ValidationError

from langchain_adapter import ChatOpenAICompat
from llm_openai_compat import (
    BadRequest,
    ConfigError,
    ConnectError,
    MissingToolCalling,
    NotFound,
    Provider5xx,
    ProviderCapability,
    RateLimited,
    Unauthorized,
)
from tests.support.fault_server_fixture import refused_url
from tests.support.model_server_fixture import ModelServer

KEY = "sk-simulated-key-0123456789"


@pytest.fixture
def server(model_server: ModelServer) -> ModelServer:
    model_server.reset()
    return model_server


def chat(server: ModelServer, *flags: str, **fields: Any) -> ChatOpenAICompat:
    fields.setdefault("max_retries", 0)
    fields.setdefault("model", "sim-model")
    return ChatOpenAICompat(base_url=server.url(*flags), **fields)


def collect(chunks: Any) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    seen = list(chunks)
    full = seen[0]
    for chunk in seen[1:]:
        full = full + chunk
    return seen, full


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"It is sunny in {city}."


@tool
def get_time(city: str) -> str:
    """The local time in a city."""
    return f"It is noon in {city}."


# -- usage, reasoning, metadata -------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "shape"),
    [((), "chat-completions"), (("usage-every-chunk",), "chat-completions"), ((), "responses")],
)
def test_usage_rides_on_exactly_one_streamed_chunk(server, flags, shape):
    model = chat(server, *flags, api_shape=shape)
    seen, full = collect(model.stream("Write two haikus"))
    assert sum(1 for c in seen if c.usage_metadata) == 1
    assert sum(1 for c in seen if c.response_metadata.get("model_name")) == 1
    usage = full.usage_metadata
    assert usage is not None and usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert isinstance(usage["input_token_details"]["cache_read"], int)
    assert isinstance(usage["output_token_details"]["reasoning"], int)
    assert model.invoke("Write two haikus").usage_metadata == usage
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["id"] == full.id


async def test_async_stream_usage_once(server):
    seen = [c async for c in chat(server).astream("hi")]
    assert sum(1 for c in seen if c.usage_metadata) == 1


def test_stream_options_rejected_is_retried_without_and_remembered(server):
    model = chat(server, "no-stream-options")
    _, full = collect(model.stream("hi"))
    assert full.text == "Hello! You said: hi."
    bodies = [r["body"] for r in server.requests()]
    assert "stream_options" in bodies[0] and "stream_options" not in bodies[1]
    collect(model.stream("again"))
    assert len(server.requests()) == 3  # learned: no second rejection
    collect(chat(server, stream_usage=False).stream("hi"))
    assert "stream_options" not in server.last_body()


@pytest.mark.parametrize("flag", ["reasoning", "reasoning-field"])
def test_reasoning_in_additional_kwargs_and_v1_blocks(server, flag):
    expected = "The user said Why is the sky blue?; I will answer briefly."
    model = chat(server, flag)
    message = model.invoke("Why is the sky blue?")
    assert message.additional_kwargs["reasoning_content"] == expected
    assert message.usage_metadata["output_token_details"]["reasoning"] > 0
    _, full = collect(model.stream("Why is the sky blue?"))
    assert full.additional_kwargs["reasoning_content"] == expected
    v1 = chat(server, flag, output_version="v1")
    for result in (v1.invoke("Why is the sky blue?"), collect(v1.stream("Why is the sky blue?"))[1]):
        kinds = [b["type"] for b in result.content_blocks]
        assert kinds == ["reasoning", "text"]
        assert result.content_blocks[0]["reasoning"] == expected


def test_reasoning_items_round_trip_on_responses(server):
    model = chat(server, "reasoning", api_shape="responses", reasoning_effort="low")
    first = model.invoke("Think about cats")
    items = first.additional_kwargs["reasoning_items"]
    assert items and items[0]["encrypted_content"].startswith("enc_")
    model.invoke([HumanMessage("Think about cats"), first, HumanMessage("And dogs?")])
    sent = [i for i in server.last_body()["input"] if i.get("type") == "reasoning"]
    assert sent and sent[0]["encrypted_content"] == items[0]["encrypted_content"]


def test_max_tokens_stays_max_tokens_for_a_non_openai_server(server):
    message = chat(server, max_tokens=3).invoke("Tell me a long story about a cat")
    body = server.last_body()
    assert body["max_tokens"] == 3 and "max_completion_tokens" not in body
    assert message.response_metadata["finish_reason"] == "length"
    assert message.usage_metadata["output_tokens"] == 3


def test_requests_go_to_responses_only_when_api_shape_says_so(server):
    chat(server, reasoning_effort="low").invoke("hi")
    chat(server, model="o3-like", max_tokens=50).invoke("hi")
    assert all(r["path"].endswith("/v1/chat/completions") for r in server.requests())
    chat(server, api_shape="responses").invoke("hi")
    assert server.requests()[-1]["path"].endswith("/v1/responses")


def test_streaming_field_streams_invoke(server):
    message = chat(server, streaming=True).invoke("hi")
    assert server.last_body()["stream"] is True and message.usage_metadata is not None
    chat(server).invoke("hi")
    assert "stream" not in server.last_body()


def test_model_override_per_call(server):
    message = chat(server).invoke("hi", model="sim-model-mini")
    assert server.last_body()["model"] == "sim-model-mini"
    assert message.response_metadata["model_name"] == "sim-model-mini"


# -- tools and structured output ------------------------------------------------------------


def test_parallel_tool_calls_without_index_keep_stable_indices(server):
    model = chat(server, "no-index").bind_tools([get_weather, get_time])
    prompt = "What are the weather and the time in 'Paris'?"
    seen, full = collect(model.stream(prompt))
    # A call streamed in pieces keeps one integer index per call; a call that arrived whole
    # in one read goes out whole with index None (appended by LangChain's merge, never mixed).
    names_by_index: dict[int, set[str]] = {}
    for chunk in seen:
        for c in chunk.tool_call_chunks:
            assert c["index"] in (0, 1, None)
            if c["index"] is not None and c["name"]:
                names_by_index.setdefault(c["index"], set()).add(c["name"])
            if c["index"] is None:
                assert c["name"] and c["id"] and json.loads(c["args"])
    assert all(len(names) == 1 for names in names_by_index.values())
    expected = [("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"})]
    assert [(c["name"], c["args"]) for c in full.tool_calls] == expected
    invoked = model.invoke(prompt)
    assert [(c["name"], c["args"]) for c in invoked.tool_calls] == expected
    assert [c["id"] for c in invoked.tool_calls] == [c["id"] for c in full.tool_calls]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("any", "required"),
        ("required", "required"),
        (True, {"type": "function", "function": {"name": "get_weather"}}),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        ("auto", "auto"),
        ("none", "none"),
    ],
)
def test_tool_choice_spellings(server, choice, wire):
    chat(server).bind_tools([get_weather], tool_choice=choice).invoke("hello")
    assert server.last_body()["tool_choice"] == wire


def test_plain_bind_accepts_langchain_spellings(server):
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    chat(server).bind(tools=tools, tool_choice="any").invoke("hi")
    assert server.last_body()["tool_choice"] == "required"
    message = chat(server).bind(response_format=Pet).invoke("My cat 'Tom' is 2")
    assert server.last_body()["response_format"]["json_schema"]["name"] == "Pet"
    assert Pet.model_validate_json(message.text).name == "Tom"


def test_tool_choice_unknown_tool_is_refused(server):
    with pytest.raises(ValueError, match="get_time"):
        chat(server).bind_tools([get_weather], tool_choice="get_time")
    with pytest.raises(TypeError, match="temprature"):
        chat(server).bind_tools([get_weather], temprature=1)


class Pet(BaseModel):
    """A pet."""

    name: str
    kind: str = Field(json_schema_extra={"enum": ["cat", "dog"]})
    age: int = Field(ge=0, le=30)
    toys: list[str]
    owner: dict[str, str] | None = None


@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
def test_json_schema_answers_conform(server, shape):
    model = chat(server, api_shape=shape)
    raw = model.with_structured_output(Pet, method="json_schema", include_raw=True).invoke(
        "My cat 'Tom' is 31 years old"
    )
    assert raw["parsing_error"] is None and isinstance(raw["parsed"], Pet)
    body = server.last_body()
    schema = (
        body["response_format"]["json_schema"]["schema"]
        if shape == "chat-completions"
        else body["text"]["format"]["schema"]
    )
    jsonschema.validate(json.loads(raw["raw"].text), schema)
    assert raw["parsed"].name == "Tom" and raw["parsed"].age == 30


def test_json_mode_and_default_method_without_json_schema_support(server):
    model = chat(server, "no-json-schema")
    pet = model.with_structured_output(Pet).invoke("My dog 'Rex' is 3")  # function_calling
    assert isinstance(pet, Pet) and pet.name == "Rex" and pet.age == 3
    assert server.last_body()["tool_choice"] == {"type": "function", "function": {"name": "Pet"}}
    joke = {"title": "Joke", "type": "object", "properties": {"setup": {"type": "string"}}}
    answer = model.with_structured_output(joke, method="json_mode")
    assert set(answer.invoke("Reply with 'setup' and 'punchline' keys")) == {"setup", "punchline"}
    assert server.last_body()["response_format"] == {"type": "json_object"}
    # json_schema: the server's 400 is learned from (tests/langchain/test_negotiation.py).
    pet = model.with_structured_output(Pet, method="json_schema").invoke("My dog 'Rex' is 3")
    assert isinstance(pet, Pet) and pet.name == "Rex"


# -- inputs -----------------------------------------------------------------------------------


def _png() -> bytes:
    def part(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + part(b"IHDR", header) + part(b"IDAT", zlib.compress(b"\0\xff\0\0")) + part(b"IEND", b"")


@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
def test_local_image_pdf_and_audio_inputs(server, shape):
    data = base64.b64encode(_png()).decode()
    pdf = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF").decode()
    model = chat(server, api_shape=shape)
    image = HumanMessage([
        {"type": "text", "text": "Describe this."},
        {"type": "image", "base64": data, "mime_type": "image/png"},
    ])
    assert "image" in model.invoke([image]).text
    assert f"data:image/png;base64,{data}" in json.dumps(server.last_body())
    document = HumanMessage([{"type": "text", "text": "Summarise."},
                             {"type": "file", "base64": pdf, "mime_type": "application/pdf"}])
    assert "document" in model.invoke([document]).text
    if shape == "chat-completions":
        audio = HumanMessage([{"type": "text", "text": "Describe."},
                              {"type": "audio", "base64": "UklGRg==", "mime_type": "audio/wav"}])
        assert "document" in model.invoke([audio]).text
        assert server.last_body()["messages"][0]["content"][1]["type"] == "input_audio"


@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
def test_stop_sequences(server, shape):
    model = chat(server, api_shape=shape, stop=["said"])
    assert model.invoke("hi").text == "Hello! You "
    _, full = collect(model.stream("hi"))
    assert full.text == "Hello! You " and full.response_metadata["finish_reason"] == "stop"
    body = server.last_body()
    assert body.get("stop") == (["said"] if shape == "chat-completions" else None)


# -- errors and cancellation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "fields", "core", "lc"),
    [
        (("key=" + KEY,), {}, Unauthorized, ModelAuthenticationError),
        (("key=" + KEY,), {"api_key": KEY + "x"}, Unauthorized, ModelAuthenticationError),
        (("no-responses",), {"api_shape": "responses"}, NotFound, ModelNotFoundError),
        (("fail=400",), {}, BadRequest, ModelInvalidRequestError),
        (("fail=500",), {}, Provider5xx, ModelAPIError),
        (("fail=429",), {}, RateLimited, ModelRateLimitError),
    ],
)
async def test_errors_are_core_and_langchain_errors(server, flags, fields, core, lc):
    model = chat(server, *flags, **fields)
    for call in (lambda: model.invoke("hi"), lambda: list(model.stream("hi"))):
        with pytest.raises(core) as caught:
            call()
        assert isinstance(caught.value, lc) and KEY not in str(caught.value)
    with pytest.raises(lc):
        await model.ainvoke("hi")


def test_connection_refused_and_bad_request(server):
    model = ChatOpenAICompat(model="m", base_url=refused_url("/v1"), max_retries=0)
    with pytest.raises(ConnectError) as caught:
        model.invoke("hi")
    assert isinstance(caught.value, ModelConnectionError)
    with pytest.raises(ModelInvalidRequestError) as refused:
        chat(server, "no-tools").bind_tools([get_weather]).invoke("weather?")
    assert isinstance(refused.value, MissingToolCalling) and refused.value.status == 400


def test_key_reference_and_explicit_key(server, monkeypatch):
    monkeypatch.setenv("SIM_KEY", KEY)
    ref = {"kind": "env", "name": "SIM_KEY"}
    assert chat(server, "key=" + KEY, api_key_ref=ref).invoke("hi").text
    assert chat(server, "key=" + KEY, api_key=KEY).invoke("hi").text
    assert server.requests()[-1]["headers"]["authorization"] == f"Bearer {KEY}"


async def _disconnected(server: ModelServer) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.requests()[-1]["outcome"] == "disconnected":
            return True
        await asyncio.sleep(0.05)
    return False


async def test_closing_an_async_stream_closes_the_response(server):
    stream = chat(server, "delay=20", "words=400").astream("tell me everything")
    async for _ in stream:
        break
    await stream.aclose()
    assert await _disconnected(server)


async def test_cancelling_an_async_stream_closes_the_response(server):
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in chat(server, "delay=20", "words=400").astream("tell me everything"):
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _disconnected(server)


async def test_async_paths_run_without_a_thread_pool(server, monkeypatch):
    loop = asyncio.get_running_loop()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("run_in_executor used")

    monkeypatch.setattr(loop, "run_in_executor", refuse)
    model = chat(server)
    assert (await model.ainvoke("hi")).text == "Hello! You said: hi."
    assert [c async for c in model.astream("hi")]


# -- configuration, serialization, tracing ------------------------------------------------------


def write_settings(folder: Any, server: ModelServer, **provider: Any) -> None:
    entry = {"baseURL": server.url(), "models": ["sim-model", "sim-model-mini"], **provider}
    settings = {"providers": {"my-gateway": entry}, "active": {"provider": "my-gateway", "model": "sim-model-mini"}}
    (folder / "openai-compat.json").write_text(json.dumps(settings))


def test_provider_from_the_settings_file(server, isolated_user_dir):
    write_settings(isolated_user_dir, server, headers={"X-Team": "a"}, defaultParams={"temperature": 0.2})
    model = ChatOpenAICompat()
    assert (model.model, model.provider_id) == ("sim-model-mini", "my-gateway")
    model.invoke("hi")
    request = server.requests()[-1]
    assert request["headers"]["x-team"] == "a" and request["body"]["temperature"] == 0.2
    ChatOpenAICompat(provider="my-gateway", model="sim-model", headers={"X-Run": "b"},
                     temperature=0.5).invoke("hi")
    request = server.requests()[-1]
    assert request["headers"]["x-team"] == "a" and request["headers"]["x-run"] == "b"
    assert (request["body"]["model"], request["body"]["temperature"]) == ("sim-model", 0.5)
    assert model._get_ls_params()["ls_provider"] == "my-gateway"


def test_configuration_errors_name_the_problem(server, isolated_user_dir):
    with pytest.raises(ConfigError, match="nope"):
        ChatOpenAICompat(provider="nope", model="m")
    with pytest.raises(ConfigError, match="either provider or base_url"):
        ChatOpenAICompat(provider="p", base_url=server.url(), model="m")
    with pytest.raises(ConfigError, match="reasoningEffort"):
        ChatOpenAICompat(base_url=server.url(), model="m", reasoning_effort="extreme")
    with pytest.raises(ConfigError, match="headers"):
        ChatOpenAICompat(base_url=server.url(), model="m", headers={"Authorization": "x"})
    with pytest.raises(ValidationError):
        ChatOpenAICompat(base_url=server.url(), model="m", temprature=0.1)
    with pytest.raises(TypeError, match="top_k"):
        chat(server).invoke("hi", top_k=3)


def test_ls_params_name_the_provider_not_openai(server):
    assert chat(server)._get_ls_params()["ls_provider"] == "127.0.0.1"
    deepseek = ChatOpenAICompat(base_url="https://api.deepseek.com", model="deepseek-chat")
    assert deepseek._get_ls_params(model="other")["ls_provider"] == "deepseek"
    assert deepseek._get_ls_params(model="other")["ls_model_name"] == "other"


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_profile_names_the_vendor_profile_and_reaches_the_request(server):
    model = chat(server, profile="azure", api_key=KEY, max_tokens=7)
    assert model.vendor_profile == "azure" and not isinstance(model.profile, str)
    model.invoke("hi")
    request = server.requests()[-1]
    assert request["headers"]["api-key"] == KEY and "authorization" not in request["headers"]
    assert request["body"]["max_completion_tokens"] == 7 and "max_tokens" not in request["body"]
    assert model._get_ls_params()["ls_provider"] == "azure"  # the profile, not the host
    assert model._identifying_params["profile"] == "azure"
    loaded = load(dumpd(model), secrets_map={"OPENAI_COMPAT_API_KEY": KEY},
                  valid_namespaces=["langchain_adapter"], allowed_objects=[ChatOpenAICompat])
    assert loaded.vendor_profile == "azure"
    same = chat(server, vendor_profile="azure", api_key=KEY)
    assert same.vendor_profile == "azure" and same._identifying_params["profile"] == "azure"


def test_profile_overrides_the_providers(server, isolated_user_dir):
    write_settings(isolated_user_dir, server, profile="deepseek")
    ChatOpenAICompat(provider="my-gateway", max_tokens=5).invoke("hi")
    assert server.last_body()["max_tokens"] == 5
    model = ChatOpenAICompat(provider="my-gateway", profile="openai", max_tokens=5)
    model.invoke("hi")
    assert server.last_body()["max_completion_tokens"] == 5
    assert "max_tokens" not in server.last_body()
    assert model._get_ls_params()["ls_provider"] == "my-gateway"


def test_a_bad_profile_fails_at_construction_and_langchains_profile_still_works(server):
    with pytest.raises(ConfigError, match=r"unknown profile 'azur'.*azure.*deepseek"):
        chat(server, profile="azur")
    with pytest.raises(ConfigError, match="either profile or vendor_profile"):
        chat(server, profile="azure", vendor_profile="openai")
    limits = chat(server, profile={"max_input_tokens": 1000})  # LangChain's ModelProfile
    assert limits.profile == {"max_input_tokens": 1000} and limits.vendor_profile is None


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialization_keeps_the_key_out_and_round_trips(server):
    model = chat(server, api_key=KEY, temperature=0.3)
    assert model.lc_secrets == {"api_key": "OPENAI_COMPAT_API_KEY"}
    for text in (dumps(model), repr(model), str(model._identifying_params)):
        assert KEY not in text
    loaded = load(
        dumpd(model),
        secrets_map={"OPENAI_COMPAT_API_KEY": KEY},
        valid_namespaces=["langchain_adapter"],
        allowed_objects=[ChatOpenAICompat],
    )
    assert isinstance(loaded, ChatOpenAICompat) and loaded.api_key.get_secret_value() == KEY
    assert loaded.temperature == 0.3 and loaded.base_url == model.base_url


def test_history_with_tool_results_reaches_the_server(server):
    model = chat(server).bind_tools([get_weather])
    question = HumanMessage("What is the weather in 'Oslo'?")
    call = model.invoke([question])
    assert call.tool_calls[0]["args"] == {"city": "Oslo"}
    answer = model.invoke([question, call, get_weather.invoke(call.tool_calls[0])])
    assert isinstance(answer, AIMessage) and "sunny in Oslo" in answer.text
    sent = server.last_body()["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[2]["tool_call_id"] == call.tool_calls[0]["id"]


def test_retries_are_logging_records_not_stdout(model_server, caplog, capsys):
    import logging

    chat = ChatOpenAICompat(base_url=model_server.url("fail=503"), model="m", max_retries=1)
    with caplog.at_level(logging.WARNING, logger="llm_openai_compat"), pytest.raises(Provider5xx):
        chat.invoke("hi")
    retries = [r.getMessage() for r in caplog.records if "; retry " in r.getMessage()]
    assert len(retries) == 1 and retries[0].startswith("HTTP 503 from ")
    assert "retry" not in capsys.readouterr().out


def test_video_blocks_go_as_video_url(model_server):
    """A LangChain video block (base64 or URL) reaches a chat server as a `video_url` part;
    the Responses shape, which takes no video, refuses it before sending in one line."""
    data = base64.b64encode(b"\x00\x00\x00\x18ftypmp42").decode()
    message = HumanMessage(content=[
        {"type": "text", "text": "what happens?"},
        {"type": "video", "base64": data, "mime_type": "video/mp4"},
        {"type": "video", "url": "https://example.com/v.webm", "mime_type": "video/webm"},
    ])
    chat = ChatOpenAICompat(base_url=model_server.url(), model="m")
    assert "I see a video." in chat.invoke([message]).text
    parts = model_server.last_body()["messages"][-1]["content"]
    assert parts[1] == {"type": "video_url", "video_url": {"url": f"data:video/mp4;base64,{data}"}}
    assert parts[2] == {"type": "video_url", "video_url": {"url": "https://example.com/v.webm"}}
    model_server.reset()
    responses = ChatOpenAICompat(base_url=model_server.url(), model="m", api_shape="responses")
    with pytest.raises(ProviderCapability) as caught:
        responses.invoke([message])
    assert "no video input" in str(caught.value) and "\n" not in str(caught.value)
    assert model_server.requests() == []

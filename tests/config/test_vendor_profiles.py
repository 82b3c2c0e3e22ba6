"""Each vendor profile, proved on a recorded body: the vendor's response (or request) read with
its profile gives the right answer, and read with the default profile (or with the one field
that carries the quirk flipped) gives a wrong one. So every profile field here is load-bearing.

Recorded bodies come from tests/fixtures/transcripts/ (real servers) and tests/fixtures/recorded/
(recorded for this project from a real LiteLLM proxy on 127.0.0.1). Where a test needs a shape
no recording shows, it is built from a recording (and says how) or from the vendor's source.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_openai_compat.config.profiles import ADAPTATIONS, PROFILES, Profile
from llm_openai_compat.errors import BadRequest
from llm_openai_compat.events import Usage
from llm_openai_compat.messages import (
    Conversation,
    Message,
    RequestOptions,
    ToolCallPart,
    ToolSpec,
)
from llm_openai_compat.wire.chat import ChatStreamParser, build_request
from llm_openai_compat.wire.sse import SSEDecoder
from tests.support.fixture_paths import RECORDED
from tests.support.openapi import read_transcript
from tests.support.wire_bytes import sse
from tests.wire.replay import of_type, replay_body, replay_chat, replay_sse, sse_bytes, summarize

DEFAULT = PROFILES["default"]


def body_of(name: str) -> dict[str, Any]:
    _, text = read_transcript(name)
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def recorded(name: str) -> bytes:
    """A body recorded for this project (header lines dropped)."""
    lines = (RECORDED / name).read_text(encoding="utf-8").split("\n")
    while lines and lines[0].startswith("# "):
        lines.pop(0)
    return "\n".join(lines).encode("utf-8")


def usage_of(events: list[Any]) -> Usage:
    found = summarize(events).usage
    assert found is not None, "no usage"
    return found


def build(profile: Profile, conversation: Conversation | None = None, **options: Any) -> dict[str, Any]:
    options.setdefault("model", "m")
    options.setdefault("stream", False)
    convo = conversation or Conversation((Message.text("user", "Hi"),), system="Be brief.")
    return build_request(convo, RequestOptions(**options), profile)


# -- openai -------------------------------------------------------------------------------------


def test_openai_sends_max_completion_tokens_which_its_reasoning_models_require():
    # The 400 OpenAI's reasoning models answer to `max_tokens` ...
    _, text = read_transcript("openai__chat__error_400_max_tokens_unsupported.txt")
    error = json.loads(text)["error"]
    learned = [a for a in ADAPTATIONS if a.matches(error["param"], error["message"])]
    assert [a.name for a in learned] == ["max-completion-tokens"]
    # ... is never provoked with the openai profile; the default profile provokes it.
    assert build(PROFILES["openai"], params={"maxOutputTokens": 50})["max_completion_tokens"] == 50
    assert "max_tokens" not in build(PROFILES["openai"], params={"maxOutputTokens": 50})
    assert build(DEFAULT, params={"maxOutputTokens": 50})["max_tokens"] == 50


def test_openai_sends_the_prompt_cache_key_others_would_reject():
    convo = Conversation((Message.text("user", "Hi"),), id="conversation-1")
    assert "prompt_cache_key" in build(PROFILES["openai"], convo, prompt_cache_key="oc-1")
    assert "prompt_cache_key" not in build(DEFAULT, convo, prompt_cache_key="oc-1")


# -- azure --------------------------------------------------------------------------------------


def test_azure_content_filter_first_chunk_is_metadata_not_the_end():
    name = "azure__chat__stream_prompt_filter_first_chunk.txt"
    azure = summarize(replay_chat(name, profile=PROFILES["azure"]))
    assert azure.error is None and azure.finish is not None
    assert azure.text.startswith("Capital")
    assert azure.meta is not None and "prompt_filter_results" in azure.meta.extra
    assert azure.meta.id and azure.meta.model  # the empty id/model of chunk one do not stick
    flipped = PROFILES["azure"].with_(response_meta_fields=())
    assert "prompt_filter_results" not in (summarize(replay_chat(name, profile=flipped)).meta).extra


# -- deepseek -----------------------------------------------------------------------------------


def test_deepseek_gets_system_text_as_system_because_it_rejects_developer():
    assert build(PROFILES["deepseek"], system_message_mode="developer")["messages"][0]["role"] == "system"
    assert build(DEFAULT, system_message_mode="developer")["messages"][0]["role"] == "developer"


def test_deepseek_cache_hit_tokens_are_read_from_its_own_fields():
    # DeepSeek's own usage fields, without the OpenAI-style prompt_tokens_details that newer
    # responses add beside them (the recording has both; its own are what it documents).
    body = body_of("deepseek__chat__nonstream_tool_call_cache_fields.txt")
    assert body["usage"]["prompt_cache_hit_tokens"] == 320
    del body["usage"]["prompt_tokens_details"]
    assert usage_of(replay_body(body, PROFILES["deepseek"])).cached_input_tokens == 320
    openai_fields_only = PROFILES["deepseek"].with_(
        cached_tokens_fields=("prompt_tokens_details.cached_tokens",)
    )
    assert usage_of(replay_body(body, openai_fields_only)).cached_input_tokens is None


# -- mistral ------------------------------------------------------------------------------------


def test_mistral_gets_system_text_as_system():
    assert build(PROFILES["mistral"], system_message_mode="developer")["messages"][0]["role"] == "system"
    flipped = PROFILES["mistral"].with_(supports_developer_role=True)
    assert build(flipped, system_message_mode="developer")["messages"][0]["role"] == "developer"


# -- gemini -------------------------------------------------------------------------------------

GEMINI_BODY = "gemini-openai-compat__chat__nonstream_tool_call_extra_content.txt"


def _gemini_parallel_stream() -> bytes:
    """Gemini's streamed form of the recorded call, twice in one delta: each call whole,
    `id: ""` and no `index` (as its OpenAI-compatible endpoint streams parallel calls)."""
    body = body_of(GEMINI_BODY)
    call = body["choices"][0]["message"]["tool_calls"][0]
    other = {**call, "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    first = {"id": body["id"], "model": body["model"], "object": "chat.completion.chunk"}
    return sse(
        {**first, "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [call, other]}}]},
        {**first, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ).encode()


def test_gemini_parallel_calls_without_index_or_id_stay_separate():
    gemini = summarize(replay_sse([_gemini_parallel_stream()], PROFILES["gemini"]))
    assert [(c.name, c.arguments) for c in gemini.tool_calls] == [
        ("get_current_time", {}),
        ("get_weather", {"city": "Paris"}),
    ]
    assert len({c.id for c in gemini.tool_calls}) == 2
    merged = summarize(replay_sse([_gemini_parallel_stream()], DEFAULT))
    assert len(merged.tool_calls) == 1 and merged.tool_calls[0].arguments is None  # "{}{...}"
    flipped = PROFILES["gemini"].with_(unkeyed_tool_call="continue")
    assert len(summarize(replay_sse([_gemini_parallel_stream()], flipped)).tool_calls) == 1


def test_gemini_thinking_tokens_are_counted_as_output():
    body = body_of(GEMINI_BODY)  # total 109 = prompt 35 + completion 12 + 62 unreported thinking
    gemini = usage_of(replay_body(body, PROFILES["gemini"]))
    assert (gemini.input_tokens, gemini.output_tokens, gemini.reasoning_tokens) == (35, 74, 62)
    plain = usage_of(replay_body(body, DEFAULT))
    assert (plain.output_tokens, plain.reasoning_tokens) == (12, None)


def test_gemini_thought_signature_round_trips_on_the_tool_call():
    body = body_of(GEMINI_BODY)
    signature = body["choices"][0]["message"]["extra_content"]["google"]["thought_signature"]
    (call,) = summarize(replay_body(body, PROFILES["gemini"])).tool_calls
    assert call.extra == {"extra_content": body["choices"][0]["message"]["extra_content"]}
    turn = Conversation(
        (
            Message.text("user", "What time is it?"),
            Message("assistant", (ToolCallPart(call.id, call.name, call.arguments_raw, call.extra),)),
        )
    )
    sent = build(PROFILES["gemini"], turn)["messages"][1]["tool_calls"][0]
    assert sent["extra_content"]["google"]["thought_signature"] == signature
    # A profile that keeps no extra fields loses the signature Gemini requires back.
    flipped = PROFILES["gemini"].with_(tool_call_extra_fields=())
    (bare,) = summarize(replay_body(body, flipped)).tool_calls
    assert bare.extra is None
    assert "extra_content" not in build(flipped, turn)["messages"][1]["tool_calls"][0]


# -- groq ---------------------------------------------------------------------------------------


def test_groq_error_event_ends_the_stream_with_the_servers_error():
    events = replay_chat("groq__chat__stream_error_event_tool_use_failed.txt", profile=PROFILES["groq"])
    result = summarize(events)
    assert isinstance(result.error, BadRequest)
    assert result.error.status == 400 and result.error.code == "tool_use_failed"
    assert result.reasoning.startswith("We need to call")  # what came before is kept


def test_groq_usage_inside_x_groq_is_read():
    # The recording carries usage twice: top level and in x_groq. Groq's older streams (before
    # stream_options) carried it only in x_groq; that is the chunk with the top level removed.
    lines = sse_bytes("groq__chat__stream_tool_call_args_whole.txt").decode().split("\n\n")
    chunks = [json.loads(f[6:]) for f in lines if f.startswith("data: {")]
    for chunk in chunks:
        chunk.pop("usage", None)
    groq = usage_of(replay_sse([sse(*chunks).encode()], PROFILES["groq"]))
    assert (groq.input_tokens, groq.output_tokens) == (210, 15)
    flipped = PROFILES["groq"].with_(nested_usage_fields=())
    assert summarize(replay_sse([sse(*chunks).encode()], flipped)).usage is None


# -- openrouter ---------------------------------------------------------------------------------


def test_openrouter_reports_the_upstream_provider():
    name = "openrouter__chat__stream_reasoning_details.txt"
    meta = summarize(replay_chat(name, profile=PROFILES["openrouter"])).meta
    assert meta is not None and meta.extra.get("provider") == "Google"
    flipped = PROFILES["openrouter"].with_(response_meta_fields=())
    assert "provider" not in summarize(replay_chat(name, profile=flipped)).meta.extra


# -- xai ----------------------------------------------------------------------------------------


def test_xai_reasoning_tokens_outside_completion_tokens_are_counted_as_output():
    name = "xai__chat__stream_tool_call_reasoning_content.txt"
    xai = usage_of(replay_chat(name, profile=PROFILES["xai"]))
    # total 560 = prompt 307 + completion 26 + reasoning 227
    assert (xai.input_tokens, xai.output_tokens, xai.reasoning_tokens, xai.total_tokens) == (
        307, 253, 227, 560,
    )
    plain = usage_of(replay_chat(name))
    assert plain.output_tokens == 26  # the default (OpenAI) reading undercounts by 227


# -- perplexity ---------------------------------------------------------------------------------


def _usage_deltas(data: bytes, profile: Profile) -> list[Usage]:
    parser = ChatStreamParser(profile)
    out: list[Any] = []
    for event in SSEDecoder().feed(data):
        out.extend(parser.feed_event(event.event, event.data))
    return of_type(out, Usage)


def test_perplexity_running_usage_is_never_reported_as_the_total():
    name = "perplexity__chat__stream_citations.txt"
    data = sse_bytes(name)
    result = summarize(replay_sse([data], PROFILES["perplexity"]))
    assert (result.usage.input_tokens, result.usage.output_tokens) == (10, 336)
    assert result.meta is not None and result.meta.extra["citations"]
    # One usage, the final one; read chunk by chunk it would be eight running counts.
    assert [u.output_tokens for u in _usage_deltas(data, PROFILES["perplexity"])] == [336]
    running = _usage_deltas(data, PROFILES["perplexity"].with_(usage_chunks="any"))
    assert [u.output_tokens for u in running] == [1, 2, 3, 4, 5, 333, 336]


# -- llama.cpp ----------------------------------------------------------------------------------

_LLAMA = {"id": "chatcmpl-llama", "object": "chat.completion.chunk", "model": "qwen3"}


def _llamacpp_stream(*, id_inside_function: bool) -> bytes:
    """llama-server's streamed tool-call deltas before ggml-org/llama.cpp PR #13800 (b5481):
    the whole name repeated in every delta, and the call's id either inside `function`
    (`function.id`) or, when the server regenerated it for each partial parse, a new top-level
    id each time. Built from that PR's description, not a byte recording."""
    pieces = ['{"city": ', '"Paris"', "}"]
    chunks = []
    for n, piece in enumerate(pieces):
        call: dict[str, Any] = {"index": 0, "function": {"name": "get_weather", "arguments": piece}}
        if id_inside_function:
            call["function"]["id"] = "kXt9Qm2"
        else:
            call["id"], call["type"] = f"call_regen{n}", "function"
        chunks.append({**_LLAMA, "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
    chunks.append({**_LLAMA, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    return sse(*chunks).encode()


def test_llamacpp_repeated_name_and_id_inside_function_make_one_call_with_the_servers_id():
    (call,) = summarize(replay_sse([_llamacpp_stream(id_inside_function=True)], PROFILES["llamacpp"])).tool_calls
    assert (call.id, call.name, call.arguments) == ("kXt9Qm2", "get_weather", {"city": "Paris"})
    (plain,) = summarize(replay_sse([_llamacpp_stream(id_inside_function=True)], DEFAULT)).tool_calls
    assert plain.id == "call_0"  # an id of our own: the server's was not found


def test_llamacpp_regenerated_ids_do_not_split_one_call():
    data = _llamacpp_stream(id_inside_function=False)
    (call,) = summarize(replay_sse([data], PROFILES["llamacpp"])).tool_calls
    assert (call.id, call.arguments) == ("call_regen0", {"city": "Paris"})
    split = summarize(replay_sse([data], PROFILES["llamacpp"].with_(tool_call_key="id"))).tool_calls
    assert len(split) == 3 and all(c.arguments is None for c in split)


# -- litellm ------------------------------------------------------------------------------------

LITELLM_STREAM = "litellm__chat__stream_tool_call_usage_chunk_with_choices.txt"


def test_litellm_usage_chunk_with_a_choices_entry_is_read():
    data = recorded(LITELLM_STREAM)
    result = summarize(replay_sse([data], PROFILES["litellm"]))
    assert result.error is None and result.finish is not None
    assert result.finish.reason == "tool_calls"
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.cached_input_tokens) == (
        68, 10, 34,
    )
    # Reading usage only where OpenAI documents it (a chunk with empty choices) loses it.
    strict = PROFILES["litellm"].with_(usage_chunks="final")
    assert summarize(replay_sse([data], strict)).usage is None


# -- llama-cpp-python ---------------------------------------------------------------------------


def test_llama_cpp_python_reads_a_call_it_chooses_whole():
    # Its chatml-function-calling raises "Automatic streaming tool choice is not supported"
    # inside a streamed answer (an empty event stream; tests/e2e/test_llamacpp_core.py): with
    # tools and choice "auto" the request goes unstreamed; a forced call and plain text stream.
    weather = ToolSpec("get_weather", parameters={"type": "object"})
    lcpp = PROFILES["llama-cpp-python"]
    auto = build(lcpp, tools=(weather,), stream=True)
    assert auto["tool_choice"] == "auto" and "stream" not in auto and "stream_options" not in auto
    assert build(DEFAULT, tools=(weather,), stream=True)["stream"] is True
    assert build(lcpp, tools=(weather,), tool_choice="get_weather", stream=True)["stream"] is True
    assert build(lcpp, stream=True)["stream"] is True


def test_llama_cpp_python_takes_no_null_content():
    # Its request validation rejects `content: null` on an assistant turn with only tool calls
    # (a 500 listing 7 validation errors; tests/e2e/test_llamacpp_core.py): it gets "".
    call = Message("assistant", (ToolCallPart("call_1", "get_weather", '{"city":"Oslo"}'),))
    convo = Conversation((Message.text("user", "Weather?"), call))
    assert build(PROFILES["llama-cpp-python"], convo)["messages"][-1]["content"] == ""
    assert build(DEFAULT, convo)["messages"][-1]["content"] is None


# -- every profile is covered above -----------------------------------------------------------

COVERED = {
    "default", "openai", "azure", "deepseek", "mistral", "gemini", "groq", "openrouter", "xai",
    "perplexity", "ollama", "lmstudio", "llamacpp", "litellm", "llama-cpp-python",
}


def test_every_builtin_profile_has_a_test():
    # ollama and lmstudio are proved by their native model listings (test_discovery.py).
    builtin = {name for name in PROFILES if not name.startswith("test-")}
    assert builtin <= COVERED, f"profiles without a test: {sorted(builtin - COVERED)}"


@pytest.mark.parametrize("name", sorted(COVERED - {"default"}))
def test_vendor_profiles_differ_from_the_default(name):
    profile = PROFILES[name]
    fields = {f: getattr(profile, f) for f in profile.__dataclass_fields__ if f not in ("name", "url_patterns")}
    defaults = {f: getattr(DEFAULT, f) for f in fields}
    # groq and litellm state the default's generous reading explicitly (their tests flip the
    # field and show it breaks), so a stricter default can never take it from them.
    assert fields != defaults or name in ("groq", "litellm")

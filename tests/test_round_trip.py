"""Two turns with a tool call and a reasoning item, on both shapes, against a local server that
records what it receives: the second request must carry the first turn's reasoning, the call
and its output, so multi-turn reasoning works without server-side state."""

from __future__ import annotations

import json

from llm_openai_compat import (
    Client,
    Conversation,
    Message,
    ReasoningPart,
    RequestOptions,
    RetryPolicy,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
)
from llm_openai_compat.config.profiles import PROFILES
from llm_openai_compat.result import Result
from llm_openai_compat.runtime import Runtime
from tests.support.wire_bytes import chunk, sse

WEATHER = ToolSpec(
    "weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
FAST = RetryPolicy(sleep=lambda s: None)


def second_turn(first: Conversation, result: Result, output: str) -> Conversation:
    """What an adapter does after a tool call: the assistant turn as received, then results."""
    call = result.tool_calls[0]
    parts: list = [
        ReasoningPart(
            text=result.reasoning,
            id=item.id,
            summary=item.summary,
            encrypted_content=item.encrypted_content,
        )
        for item in result.reasoning_items
    ] or ([ReasoningPart(text=result.reasoning)] if result.reasoning else [])
    parts.append(ToolCallPart(call.id, call.name, call.arguments_raw))
    return Conversation(
        (
            *first.messages,
            Message("assistant", tuple(parts)),
            Message("tool", (ToolResultPart(call.id, output, name=call.name),)),
        ),
        system=first.system,
        id=first.id,
    )


FIRST = Conversation((Message.text("user", "Weather in Oslo?"),), system="Be brief.", id="c-42")


def test_responses_round_trip_carries_reasoning_item_and_call(fault_server):
    created = {"type": "response.created", "response": {"id": "resp_1", "model": "m", "status": "in_progress"}}
    reasoning_item = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": "Need the weather tool."}],
        "encrypted_content": "gAAAA-opaque-state",
    }
    call_item = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "call_w1",
        "name": "weather",
        "arguments": '{"city":"Oslo"}',
        "status": "completed",
    }
    turn1 = [
        created,
        {"type": "response.output_item.added", "output_index": 0, "item": {**reasoning_item, "summary": []}},
        {"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0,
         "item_id": "rs_1", "delta": "Need the weather tool."},
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning_item},
        {"type": "response.output_item.added", "output_index": 1, "item": {**call_item, "arguments": ""}},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "item_id": "fc_1",
         "delta": '{"city":"Oslo"}'},
        {"type": "response.output_item.done", "output_index": 1, "item": call_item},
        {"type": "response.completed", "response": {"id": "resp_1", "model": "m", "status": "completed",
         "output": [reasoning_item, call_item],
         "usage": {"input_tokens": 20, "output_tokens": 9, "total_tokens": 29,
                   "input_tokens_details": {"cached_tokens": 0},
                   "output_tokens_details": {"reasoning_tokens": 5}}}},
    ]
    turn2 = [
        {**created, "response": {**created["response"], "id": "resp_2"}},
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "item_id": "m1",
         "delta": "Sunny, 21 C."},
        {"type": "response.completed", "response": {"id": "resp_2", "model": "m", "status": "completed",
         "output": [], "usage": {"input_tokens": 40, "output_tokens": 5, "total_tokens": 45,
                                 "input_tokens_details": {"cached_tokens": 18}}}},
    ]
    for events in (turn1, turn2):
        fault_server.enqueue(
            {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": sse(*events, done=False)}
        )
    client = Client.inline(fault_server.base_url + "/v1", api_shape="responses", policy=FAST)
    options = RequestOptions(model="m", tools=(WEATHER,), params={"reasoningEffort": "low"})

    first = client.complete(FIRST, options)
    assert first.reasoning_summary == "Need the weather tool."
    assert [(c.id, c.name, dict(c.arguments)) for c in first.tool_calls] == [
        ("call_w1", "weather", {"city": "Oslo"})
    ]
    (item,) = first.reasoning_items
    assert item.encrypted_content == "gAAAA-opaque-state"

    second = client.complete(second_turn(FIRST, first, '{"sky": "sunny", "c": 21}'), options)
    assert second.text == "Sunny, 21 C."
    assert second.usage.cached_input_tokens == 18

    bodies = [json.loads(r["body"]) for r in fault_server.requests()]
    assert all(r["path"] == "/v1/responses" for r in fault_server.requests())
    body = bodies[1]
    assert body["store"] is False  # stateless: the whole history is sent
    assert "reasoning.encrypted_content" in body["include"]
    assert body["instructions"] == "Be brief."
    kinds = [i.get("type", "message") for i in body["input"]]
    assert kinds == ["message", "reasoning", "function_call", "function_call_output"]
    reasoning, call, output = body["input"][1:]
    assert reasoning["id"] == "rs_1" and reasoning["encrypted_content"] == "gAAAA-opaque-state"
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Need the weather tool."}]
    assert (call["call_id"], call["name"], json.loads(call["arguments"])) == ("call_w1", "weather", {"city": "Oslo"})
    assert output == {"type": "function_call_output", "call_id": "call_w1", "output": '{"sky": "sunny", "c": 21}'}
    # The same conversation id gives the same cache key on both turns.
    assert bodies[0].get("prompt_cache_key") == bodies[1].get("prompt_cache_key")
    # Turn 2 starts with exactly the bytes of turn 1's input.
    first_input = json.dumps(bodies[0]["input"], separators=(",", ":"), sort_keys=True)[:-1]
    assert json.dumps(body["input"], separators=(",", ":"), sort_keys=True).startswith(first_input)


def test_chat_round_trip_carries_reasoning_call_and_result(fault_server):
    turn1 = [
        chunk({"role": "assistant", "reasoning_content": "Need the "}),
        chunk({"reasoning_content": "weather tool."}),
        chunk({"tool_calls": [{"index": 0, "id": "call_w1", "type": "function",
                               "function": {"name": "weather", "arguments": '{"city":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Oslo"}'}}]}),
        chunk({}, "tool_calls"),
    ]
    turn2 = [chunk({"content": "Sunny, 21 C."}), chunk({}, "stop")]
    for events in (turn1, turn2):
        fault_server.enqueue(
            {"status": 200, "headers": {"content-type": "text/event-stream"}, "body": sse(*events)}
        )
    # A server that wants earlier reasoning back (DeepSeek's tool-call turns do) says so in its
    # profile; the request builder reads the profile, never the vendor's name.
    runtime = Runtime()
    runtime.register_profile(PROFILES["default"].with_(name="wants-reasoning-back", replay_reasoning_field="reasoning_content"))
    client = Client.inline(
        fault_server.base_url + "/v1", profile="wants-reasoning-back", policy=FAST, runtime=runtime
    )
    options = RequestOptions(model="m", tools=(WEATHER,))
    first = client.complete(FIRST, options)
    assert first.reasoning == "Need the weather tool."
    second = client.complete(second_turn(FIRST, first, "sunny"), options)
    runtime.close()
    assert "wants-reasoning-back" not in PROFILES
    assert second.text == "Sunny, 21 C." and second.finish_reason == "stop"

    body = json.loads(fault_server.requests()[1]["body"])
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "tool"]
    assistant, tool = body["messages"][2:]
    assert assistant["reasoning_content"] == "Need the weather tool."
    assert assistant["tool_calls"] == [
        {"id": "call_w1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}
    ]
    assert tool == {"role": "tool", "tool_call_id": "call_w1", "content": "sunny"}

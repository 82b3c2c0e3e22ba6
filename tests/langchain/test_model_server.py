"""The local model server's documented behaviour (its API is shared with the llm plugin tests)."""

from __future__ import annotations

import http.client
import json
from typing import Any

import jsonschema
import pytest

from tests.support.model_server_fixture import ModelServer


def post(server: ModelServer, base: str, path: str, body: dict[str, Any],
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        prefix = base.removeprefix(server.origin)
        conn.request("POST", prefix + path, json.dumps(body), {"content-type": "application/json", **(headers or {})})
        response = conn.getresponse()
        data = response.read().decode()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data
    finally:
        conn.close()


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


TOOL = {"type": "function", "function": {"name": "add", "parameters": {
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "number"}},
    "required": ["a", "b"]}}}


@pytest.mark.parametrize(
    ("flags", "path", "body", "status", "param"),
    [
        (("no-tools",), "/chat/completions", {"messages": user("x"), "tools": [TOOL]}, 400, "tools"),
        (("no-responses",), "/responses", {"input": "x"}, 404, None),
        (("key=k-123",), "/chat/completions", {"messages": user("x")}, 401, None),
        (("no-stream-options",), "/chat/completions",
         {"messages": user("x"), "stream": True, "stream_options": {"include_usage": True}}, 400, "stream_options"),
        (("no-json-schema",), "/chat/completions",
         {"messages": user("x"), "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {}}}},
         400, "response_format"),
        (("no-developer",), "/chat/completions",
         {"messages": [{"role": "developer", "content": "d"}, *user("x")]}, 400, "messages[0].role"),
        (("fail=503",), "/chat/completions", {"messages": user("x")}, 503, None),
    ],
)
def test_capability_flags_answer_like_openai(model_server, flags, path, body, status, param):
    code, error = post(model_server, model_server.url(*flags), path, {"model": "m", **body})
    assert code == status and error["error"]["message"]
    assert error["error"]["param"] == param


def test_models_tool_calls_and_tool_results(model_server):
    conn = http.client.HTTPConnection("127.0.0.1", model_server.port, timeout=10)
    conn.request("GET", "/v1/models")
    assert "sim-model" in [m["id"] for m in json.loads(conn.getresponse().read())["data"]]
    conn.close()
    body = {"model": "echo-me", "messages": user("add 4 and 2.5"), "tools": [TOOL], "tool_choice": "required"}
    _, answer = post(model_server, model_server.url(), "/chat/completions", body)
    assert answer["model"] == "echo-me"
    call = answer["choices"][0]["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"a": 4, "b": 2.5}
    body["messages"] += [answer["choices"][0]["message"],
                         {"role": "tool", "tool_call_id": call["id"], "content": "6.5"}]
    _, answer = post(model_server, model_server.url(), "/chat/completions", body)
    assert answer["choices"][0]["message"]["content"] == "The tool add returned 6.5."


SCHEMAS = [
    {"type": "object", "properties": {"n": {"type": "integer", "minimum": 10}, "e": {"enum": ["x", "y"]}},
     "required": ["n", "e"], "additionalProperties": False},
    {"type": "object", "properties": {"items": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/I"}}},
     "$defs": {"I": {"type": "object", "properties": {"s": {"type": "string", "maxLength": 3}}, "required": ["s"]}}},
    {"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object", "properties": {
        "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}}}}},
]


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("shape", ["chat", "responses"])
def test_json_schema_answers_conform(model_server, schema, shape):
    if shape == "chat":
        fmt = {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}
        _, answer = post(model_server, model_server.url(), "/chat/completions",
                         {"model": "m", "messages": user("give 3 things"), "response_format": fmt})
        text = answer["choices"][0]["message"]["content"]
    else:
        fmt = {"type": "json_schema", "name": "r", "schema": schema}
        _, answer = post(model_server, model_server.url(), "/responses",
                         {"model": "m", "input": "give 3 things", "text": {"format": fmt}})
        text = answer["output"][0]["content"][0]["text"]
    jsonschema.validate(json.loads(text), schema)


def test_streams_limits_and_usage(model_server):
    body = {"model": "m", "messages": user("one two three four"), "stream": True,
            "stream_options": {"include_usage": True}, "max_tokens": 2}
    _, sse = post(model_server, model_server.url(), "/chat/completions", body)
    events = [json.loads(line[6:]) for line in sse.splitlines() if line.startswith("data: {")]
    assert sse.rstrip().endswith("data: [DONE]")
    assert [e["choices"][0]["finish_reason"] for e in events if e["choices"]][-1] == "length"
    assert events[-1]["usage"]["completion_tokens"] == 2
    _, sse = post(model_server, model_server.url("reasoning"), "/responses",
                  {"model": "m", "input": "hi", "stream": True})
    kinds = [json.loads(line[6:])["type"] for line in sse.splitlines() if line.startswith("data: ")]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in kinds and "response.output_text.delta" in kinds

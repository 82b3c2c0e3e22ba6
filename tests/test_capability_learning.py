"""Issue 14 item 5: a server without json_schema is learned from its first refusal.

The first structured call is answered (retried once as json_object with the schema in the
instructions: the fallback `capabilities.jsonSchema: false` selects), and every later call is
sent that way at once, without a 400 first. Against the model server's `no-json-schema` flag,
and the refusals real servers send (matched as data below).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_openai_compat import (
    ADAPTATIONS,
    Client,
    Conversation,
    Message,
    Provider5xx,
    RequestOptions,
    ResponseFormat,
    RetryPolicy,
    default_runtime,
)
from llm_openai_compat.wire.request_common import JSON_SCHEMA_INSTRUCTION
from tests.support.fault_server_fixture import FaultServer
from tests.support.model_server_fixture import ModelServer

NO_WAIT = RetryPolicy(sleep=lambda s: None)
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
ASK = Conversation((Message.text("user", "My dog 'Rex' is 3"),), system="Be brief.")


def _options(**changes: Any) -> RequestOptions:
    fmt = ResponseFormat(kind="json_schema", schema=SCHEMA, name="pet")
    return RequestOptions(**{"model": "sim-model", "response_format": fmt, **changes})


def _formats(requests: list[dict[str, Any]], shape: str) -> list[str | None]:
    def kind(body: dict[str, Any]) -> str | None:
        fmt = body.get("response_format") if shape == "chat-completions" else body["text"]["format"]
        return fmt["type"] if fmt else None

    return [kind(r["body"]) for r in requests]


@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
@pytest.mark.parametrize("stream", [False, True])
def test_first_refusal_is_answered_and_the_second_call_is_sent_adapted(
    model_server: ModelServer, shape: str, stream: bool
):
    model_server.reset()
    client = Client.inline(
        model_server.url("no-json-schema"), provider_id=f"nojs-{shape}-{stream}", api_shape=shape,
        policy=NO_WAIT,
    )
    first = client.complete(ASK, _options(stream=stream))
    assert json.loads(first.text) == {"name": "Rex", "age": 3}
    requests = model_server.requests()
    assert _formats(requests, shape) == ["json_schema", "json_object"]
    assert [r["outcome"] for r in requests] == ["error", "complete"]
    adapted = requests[1]["body"]
    instructions = (
        adapted["messages"][0]["content"] if shape == "chat-completions" else adapted["instructions"]
    )
    assert instructions.startswith("Be brief.") and JSON_SCHEMA_INSTRUCTION in instructions
    assert json.loads(instructions.split(JSON_SCHEMA_INSTRUCTION, 1)[1]) == SCHEMA

    second = client.complete(ASK, _options(stream=stream))
    assert json.loads(second.text) == {"name": "Rex", "age": 3}
    assert _formats(model_server.requests(), shape) == ["json_schema", "json_object", "json_object"]
    (learned,) = default_runtime().learned_adaptations(client.provider_id)
    assert learned.name == "no-json-schema" and "json_object" in learned.description


def test_a_server_with_json_schema_learns_nothing(model_server: ModelServer):
    model_server.reset()
    client = Client.inline(model_server.url(), provider_id="full-js", policy=NO_WAIT)
    assert json.loads(client.complete(ASK, _options()).text)["name"] == "Rex"
    assert _formats(model_server.requests(), "chat-completions") == ["json_schema"]
    assert default_runtime().learned_adaptations("full-js") == []


def test_a_json_object_refusal_is_not_learned_as_no_json_schema(fault_server: FaultServer):
    """LM Studio refuses json_object and asks for json_schema: learning "no json_schema" from
    that would turn every later schema into the very format it refuses."""
    lmstudio = {"error": "'response_format.type' must be 'json_schema' or 'text'"}
    fault_server.enqueue({"status": 400, "json": lmstudio})
    client = Client.inline(fault_server.base_url + "/v1", provider_id="lmstudio-like", policy=NO_WAIT)
    options = RequestOptions(model="m", response_format=ResponseFormat(kind="json_object"))
    with pytest.raises(Exception, match="must be 'json_schema'"):
        client.complete(ASK, options)
    assert len(fault_server.requests()) == 1 and default_runtime().learned_adaptations("lmstudio-like") == []


def test_llama_cpp_servers_500_refusal_is_learned_after_the_retries(fault_server: FaultServer):
    """Builds of llama.cpp's server answer an unknown response_format type with a 500."""
    refusal = {"error": {"code": 500, "type": "server_error", "message":
               'response_format type must be one of "text" or "json_object", but got: json_schema'}}
    ok = {"choices": [{"index": 0, "message": {"role": "assistant", "content": '{"name": "Rex", "age": 3}'},
                       "finish_reason": "stop"}]}
    fault_server.enqueue(
        {"status": 500, "json": refusal}, {"status": 500, "json": refusal}, {"status": 200, "json": ok}
    )
    client = Client.inline(
        fault_server.base_url + "/v1", provider_id="old-llama", policy=RetryPolicy(max_attempts=2, sleep=lambda s: None)
    )
    assert json.loads(client.complete(ASK, _options(model="m")).text)["age"] == 3
    bodies = [json.loads(r["body"]) for r in fault_server.requests()]
    assert [b["response_format"]["type"] for b in bodies] == ["json_schema", "json_schema", "json_object"]
    assert [a.name for a in default_runtime().learned_adaptations("old-llama")] == ["no-json-schema"]


def test_an_unrelated_500_is_not_learned_from(fault_server: FaultServer):
    fault_server.enqueue({"status": 500, "json": {"error": {"message": "CUDA out of memory"}}})
    client = Client.inline(fault_server.base_url + "/v1", provider_id="oom", policy=RetryPolicy(max_attempts=1))
    with pytest.raises(Provider5xx):
        client.complete(ASK, _options(model="m"))
    assert default_runtime().learned_adaptations("oom") == []


NO_JSON_SCHEMA = ADAPTATIONS[[a.name for a in ADAPTATIONS].index("no-json-schema")]


@pytest.mark.parametrize(
    ("param", "message"),
    [
        # vLLM before json_schema: pydantic's literal error, the offending input quoted.
        (None, "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
               "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}]"),
        # llama.cpp's server before json_schema (and ik_llama.cpp).
        (None, 'response_format type must be one of "text" or "json_object", but got: json_schema'),
        # An OpenAI-style gateway in front of a model without structured output.
        ("response_format.type", "The parameter `response_format.type` specified in the request "
         "are not valid: invalid value: `json_schema`, supported values are: `json_object` and `text`."),
        # LiteLLM's proxy for a backend it knows has no response schema support.
        (None, "litellm.UnsupportedParamsError: openai does not support parameters: "
               "{'response_format': {'type': 'json_schema', 'json_schema': {'name': 'pet'}}}, "
               "for model=m. To drop these, set `litellm.drop_params=True`"),
        # The model server's two shapes.
        ("response_format", "response_format of type json_schema is not supported"),
        ("text.format", "text.format of type json_schema is not supported"),
    ],
)
def test_real_servers_refusals_of_json_schema_match(param: str | None, message: str):
    assert NO_JSON_SCHEMA.matches(param, message)
    assert [a.name for a in ADAPTATIONS if a.matches(param, message)] == ["no-json-schema"]


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (None, "'response_format.type' must be 'json_schema'"),  # LM Studio refusing json_object
        ("response_format", "Invalid schema for response_format 'pet': 'additionalProperties' "
         "is required to be supplied and to be false"),  # the schema is wrong, not the format
        (None, "The provided JSON schema contains features not supported by xgrammar."),
        ("messages", "json_schema mentioned in a message about something else entirely"),
    ],
)
def test_other_errors_about_schemas_do_not_match(param: str | None, message: str):
    assert not NO_JSON_SCHEMA.matches(param, message)

"""Issue 15 item 2, second half: what `llm openai-compat test --model X` finds is X's alone, and
every capability refusal says which stored result caused it and the exact command that checks
again (or the settings entry that overrides it). Through the real `llm` CLI, llm's Python API
and the core client, against the model server, whose `no-json-schema=<MODEL>` and
`no-json-object=<MODEL>` flags break structured output for one model only.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import llm
import pytest

from llm_openai_compat import (
    Client,
    Conversation,
    Message,
    MissingToolCalling,
    RequestOptions,
    ToolSpec,
)
from tests.plugin.conftest import sim

STAMP = "2026-12-01T10:00:00+00:00"
WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _base(model_server: Any, *flags: str) -> tuple[str, str]:
    run = f"run={uuid.uuid4().hex[:12]}"
    return model_server.url(*flags, run), run


def _sent(model_server: Any, run: str) -> list[dict[str, Any]]:
    return [r for r in model_server.requests() if run in r["path"] and r["method"] == "POST"]


def test_a_model_test_finding_no_schema_refuses_schemas_on_that_model_only(
    model_server, write_settings, settings_file: Path, run_llm
):
    base, run = _base(model_server, "no-json-schema=model-x", "no-json-object=model-x")
    write_settings(gw=sim(base, "model-x", "model-y"))
    tested = run_llm("openai-compat", "test", "gw", "--model", "model-x")
    assert tested.exit_code == 0, tested.output
    stored = json.loads(settings_file.read_text())["providers"]["gw"]
    assert stored["modelCapabilities"]["model-x"]["jsonSchema"] is False
    assert "jsonSchema" not in stored.get("capabilities", {})  # nothing for the other models

    other = run_llm("-m", "gw/model-y", "--schema", "name str", "hi")
    assert other.exit_code == 0, other.output
    body = _sent(model_server, run)[-1]["body"]
    assert body["model"] == "model-y" and body["response_format"]["type"] == "json_schema"

    sent = len(_sent(model_server, run))
    refused = run_llm("-m", "gw/model-x", "--schema", "name str", "hi")
    assert refused.exit_code == 1
    line = refused.output.strip()
    assert len(line.splitlines()) == 1, line
    at = stored["modelCapabilities"]["model-x"]["probedAt"]
    assert (
        "gw/model-x does not support schemas: `llm openai-compat test gw --model model-x` "
        f"found no JSON schema output on {at}" in line
    )
    assert "re-test with `llm openai-compat test gw --model model-x`" in line
    assert "set modelCapabilities['model-x'].jsonSchema to true" in line
    assert len(_sent(model_server, run)) == sent  # refused before sending


def _tools_off_for_x(write_settings: Any, base: str, **where: Any) -> None:
    write_settings(gw=sim(base, "model-x", "model-y", **where))


def _add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@pytest.mark.parametrize("shape", ["prompt", "chain", "conversation"])
def test_llm_refuses_tools_naming_the_test_that_found_none(model_server, write_settings, shape):
    base, run = _base(model_server)
    caps = {"model-x": {"tools": False, "probedAt": STAMP, "probedModel": "model-x"}}
    _tools_off_for_x(write_settings, base, modelCapabilities=caps)
    model = llm.get_model("gw/model-x")
    call = {
        "prompt": lambda: model.prompt("add 1 and 2", tools=[_add]).text(),
        "chain": lambda: model.chain("add 1 and 2", tools=[_add]).text(),
        "conversation": lambda: model.conversation(tools=[_add]).chain("add 1 and 2").text(),
    }[shape]
    with pytest.raises(ValueError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith("gw/model-x does not support tools: ")
    assert (
        f"`llm openai-compat test gw --model model-x` found no tool calling on {STAMP}" in message
    )
    assert "re-test with `llm openai-compat test gw --model model-x`" in message
    assert _sent(model_server, run) == []
    # The other model of the provider still takes tools.
    assert llm.get_model("gw/model-y").chain("add 1 and 2", tools=[_add]).text()


def test_a_provider_wide_test_result_is_named_as_such(model_server, write_settings, run_llm):
    base, _ = _base(model_server)
    caps = {"tools": False, "probedAt": STAMP, "probedModel": "model-y"}
    _tools_off_for_x(write_settings, base, capabilities=caps)
    with pytest.raises(ValueError) as caught:
        llm.get_model("gw/model-x").prompt("hi", tools=[_add]).text()
    message = str(caught.value)
    assert (
        f"`llm openai-compat test gw` found no tool calling on {STAMP}, testing model-y, and "
        "stored it for every model of the provider (capabilities.tools)" in message
    )
    assert "re-test with `llm openai-compat test gw --model model-x`" in message


def test_an_attachment_refusal_names_the_listing_and_how_to_list_again(
    model_server, write_settings, run_llm, tmp_path: Path
):
    from tests.test_repeated_refusal import _png

    base, run = _base(model_server)
    _tools_off_for_x(write_settings, base, modelCapabilities={"model-x": {"images": False}})
    image = tmp_path / "dot.png"
    image.write_bytes(_png())
    result = run_llm("-m", "gw/model-x", "-a", str(image), "what is this?")
    assert result.exit_code == 1
    line = result.output.strip()
    assert (
        "gw/model-x does not support attachments of type 'image/png': the server's model "
        "listing says model-x has no image input (modelCapabilities['model-x'].images); list "
        "again with `llm openai-compat models gw --refresh`, or set "
        "modelCapabilities['model-x'].images to true" in line
    )
    assert _sent(model_server, run) == []
    assert run_llm("-m", "gw/model-y", "-a", str(image), "what is this?").exit_code == 0


def test_the_core_refuses_tools_per_model_naming_the_test(model_server, write_settings):
    """The core (and so LangChain) reads the same per-model result: model-x is refused before
    sending with the test that found it, model-y is sent its tools."""
    base, run = _base(model_server)
    caps = {"model-x": {"tools": False, "probedAt": STAMP}}
    _tools_off_for_x(write_settings, base, modelCapabilities=caps)
    ask = Conversation((Message.text("user", "what is the weather in Paris?"),))
    client = Client("gw")
    with pytest.raises(MissingToolCalling) as caught:
        client.complete(ask, RequestOptions(model="model-x", tools=(WEATHER,)))
    message = str(caught.value)
    assert re.search(
        rf"`llm openai-compat test gw --model model-x` found no tool calling on {re.escape(STAMP)}",
        message,
    )
    assert "re-test with `llm openai-compat test gw --model model-x`" in message
    assert _sent(model_server, run) == []

    result = client.complete(ask, RequestOptions(model="model-y", tools=(WEATHER,)))
    assert [call.name for call in result.tool_calls] == ["get_weather"]

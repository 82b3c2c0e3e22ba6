"""llm's `-o` options: each reaches the request body (valid against OpenAI's OpenAPI
description), options a model's capabilities rule out are refused before anything is sent,
and `-o timeout` / `-o max_retries` apply to one prompt."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import sim
from tests.plugin.test_prompt import PNG
from tests.support.openapi import assert_valid


def _api_requests(server):
    return [r for r in server.requests() if r["path"].endswith(("/completions", "/responses"))]


CHAT_CASES = [
    (("-o", "logprobs", "1"), {"logprobs": True}),
    (("-o", "top_logprobs", "3"), {"logprobs": True, "top_logprobs": 3}),
    (("-o", "logit_bias", '{"50256": -100}'), {"logit_bias": {"50256": -100}}),
    (("-o", "service_tier", "flex"), {"service_tier": "flex"}),
    (("-o", "verbosity", "low"), {"verbosity": "low"}),
    (("-o", "parallel_tool_calls", "0"), {}),  # without tools the core leaves it out
]


@pytest.mark.parametrize(("args", "expected"), CHAT_CASES)
def test_chat_options_reach_the_body(model_server, write_settings, run_llm, args, expected):
    model_server.reset()
    write_settings(sim=sim(model_server.url()))
    result = run_llm("-m", "sim/sim-model", "hi", *args, "--no-stream")
    assert result.exit_code == 0, result.output
    body = model_server.last_body()
    assert_valid(body, "CreateChatCompletionRequest")
    for key, value in expected.items():
        assert body[key] == value


def test_responses_options_reach_the_body(model_server, write_settings, run_llm):
    model_server.reset()
    write_settings(sim=sim(model_server.url(), apiShape="responses"))
    result = run_llm(
        "-m", "sim/sim-model", "hi", "-o", "reasoning_summary", "detailed",
        "-o", "verbosity", "high", "-o", "service_tier", "priority", "--no-stream",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = model_server.last_body()
    assert_valid(body, "CreateResponse")
    assert body["reasoning"]["summary"] == "detailed"
    assert body["text"]["verbosity"] == "high" and body["service_tier"] == "priority"
    model_server.reset()
    hidden = run_llm("-m", "sim/sim-model", "hi", "-o", "reasoning_summary", "auto", "-R")
    assert hidden.exit_code == 0, hidden.output
    assert "summary" not in model_server.last_body().get("reasoning", {})


def test_image_detail_reaches_the_image_part(model_server, write_settings, run_llm, tmp_path):
    model_server.reset()
    image = tmp_path / "dot.png"
    image.write_bytes(PNG)
    write_settings(sim=sim(model_server.url()))
    result = run_llm("-m", "sim/sim-model", "look", "-a", str(image), "-o", "image_detail", "low")
    assert result.exit_code == 0, result.output
    body = model_server.last_body()
    assert_valid(body, "CreateChatCompletionRequest")
    assert body["messages"][-1]["content"][1]["image_url"]["detail"] == "low"


@pytest.mark.parametrize(
    ("fields", "args", "reason"),
    [
        ({}, ("-o", "reasoning_summary", "auto"), "needs the responses API shape"),
        ({"modelCapabilities": {"sim-model": {"reasoning": False}}},
         ("-o", "reasoning_effort", "low"),
         "does not reason; the server's model listing says sim-model has no reasoning"),
        ({"modelCapabilities": {"sim-model": {"tools": False, "probedAt": "2026-12-01T10:00:00+00:00"}}},
         ("-o", "parallel_tool_calls", "1"),
         "does not take tools; `llm openai-compat test sim --model sim-model` found no tool "
         "calling on 2026-12-01T10:00:00+00:00"),
        ({"capabilities": {"images": False}}, ("-o", "image_detail", "high"),
         "does not take images; the provider's settings say there is no image input"),
    ],
)
def test_options_ruled_out_are_refused_before_sending(
    model_server, write_settings, run_llm, fields, args, reason
):
    model_server.reset()
    write_settings(sim=sim(model_server.url(), **fields))
    result = run_llm("-m", "sim/sim-model", "hi", *args)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0] and "sim/sim-model" in lines[0]
    if "is not offered" in lines[0]:  # a capability: the way to re-test or override it too
        assert "set modelCapabilities['sim-model']." in lines[0] and "to true" in lines[0]
    assert _api_requests(model_server) == []


def test_bad_logit_bias_is_one_line(model_server, write_settings, run_llm):
    write_settings(sim=sim(model_server.url()))
    result = run_llm("-m", "sim/sim-model", "hi", "-o", "logit_bias", '{"1": 500}')
    assert result.exit_code != 0 and "-100 to 100" in result.output


def test_max_retries_per_prompt(model_server, write_settings, run_llm):
    model_server.reset()
    # The provider would not retry (maxRetries 0); this prompt retries twice.
    write_settings(sim=sim(model_server.url("fail=503")))
    result = run_llm("-m", "sim/sim-model", "hi", "-o", "max_retries", "2")
    assert result.exit_code != 0
    assert len(_api_requests(model_server)) == 3
    model_server.reset()
    assert run_llm("-m", "sim/sim-model", "hi").exit_code != 0
    assert len(_api_requests(model_server)) == 1


ISSUE_OPTIONS = ("logprobs", "top_logprobs", "logit_bias", "service_tier", "verbosity",
                 "reasoning_summary", "image_detail", "parallel_tool_calls", "timeout",
                 "max_retries")


def test_models_options_lists_every_option_per_model_with_a_description(
    model_server, write_settings, run_llm
):
    """Issue 18 item 4: `llm models --options` names each option under every model, each
    described (llm describes an options class once, at its first model)."""
    write_settings(
        a=sim(model_server.url(), "m1", "m2", modelCapabilities={"m2": {"images": False}}),
        b=sim(model_server.url(), "r1", apiShape="responses"),
    )
    listed = run_llm("models", "--options")
    assert listed.exit_code == 0, listed.output
    blocks = {}
    for block in listed.stdout.split("OpenAI-compatible: ")[1:]:
        name, _, rest = block.partition("\n")
        blocks[name.strip()] = rest
    assert {"a/m1", "a/m2", "b/r1"} <= set(blocks)
    for model in ("a/m1", "a/m2", "b/r1"):
        for option in ISSUE_OPTIONS:
            assert f"\n    {option}: " in "\n" + blocks[model], (model, option)
    described = blocks[next(m for m in blocks if m.startswith(("a/", "b/")))]
    for option in ISSUE_OPTIONS:
        line_after = described.split(f"    {option}: ", 1)[1].splitlines()[1]
        assert line_after.startswith("      ") and len(line_after.strip()) > 10, option
    # What a model's entry rules out shows under that model: no image types for a/m2.
    assert "image/png" in blocks["a/m1"] and "image/png" not in blocks["a/m2"]


def test_a_prompt_without_options_shares_its_request_options_and_nothing_else(
    model_server, write_settings
):
    """A prompt with no option, tool or schema reuses the model's request options (built
    once per `stream`); a prompt with options builds its own, and what it set never reaches
    the next plain prompt."""
    import asyncio

    import llm

    from llm_openai_compat.plugin import models

    model_server.reset()
    write_settings(sim=sim(model_server.url()))
    model = llm.get_model("sim/sim-model")
    built = []
    real = models._parts().build_options

    def counting(*args):
        built.append(args[2])
        return real(*args)

    parts = models._parts()
    parts.build_options = counting
    try:
        bodies = []
        for kwargs in ({}, {}, {"temperature": 0.5, "stop": "x"}, {}, {"stream": False}, {}):
            stream = kwargs.pop("stream", True)
            model.prompt("hi", stream=stream, **kwargs).text()
            bodies.append(model_server.last_body())
        twin = llm.get_async_model("sim/sim-model")

        async def twice():
            for _ in range(2):
                await twin.prompt("hi").text()

        asyncio.run(twice())
    finally:
        parts.build_options = real
    # Once per stream flag and model, and for the prompt with options.
    assert built == [True, True, False, True]
    plain = [b for b in bodies if "temperature" not in b]
    assert len(plain) == 5 and bodies[2]["temperature"] == 0.5 and bodies[2]["stop"] in ("x", ["x"])
    assert all("stop" not in b for b in plain)
    assert plain[0] == plain[1] == plain[2] == plain[4] and plain[3].get("stream") is not True
    assert model_server.last_body() == plain[0]  # the async twin's too

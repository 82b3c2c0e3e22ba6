"""Prompting through the real llm CLI and Python API: text, options, attachments, reasoning,
schemas, usage in `llm logs`, errors, keys, async models and both wire shapes."""

from __future__ import annotations

import base64
import json

import llm
import pytest

from .conftest import sim

pytestmark = pytest.mark.timeout(30)

# A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def simple(model_server, write_settings):
    model_server.reset()
    write_settings(sim=sim(model_server.url()))
    return model_server


def test_streamed_text_reaches_stdout(simple, run_llm):
    result = run_llm("-m", "sim/sim-model", "hello there")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello! You said: hello there.\n"
    body = simple.last_body()
    assert body["stream"] is True and body["model"] == "sim-model"
    assert body["messages"] == [{"role": "user", "content": "hello there"}]


def test_no_stream_sends_a_plain_request(simple, run_llm):
    result = run_llm("-m", "sim/sim-model", "--no-stream", "-s", "Be brief.", "hi")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello! You said: hi.\n"
    body = simple.last_body()
    assert "stream" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_options_map_to_the_wire(simple, run_llm):
    result = run_llm(
        "-m", "sim/sim-model", "hi",
        "-o", "temperature", "0.5", "-o", "top_p", "0.9", "-o", "max_tokens", "50",
        "-o", "stop", '["END", "STOP"]', "-o", "seed", "7",
        "-o", "frequency_penalty", "0.1", "-o", "presence_penalty", "-0.2",
        "-o", "reasoning_effort", "low",
        "-o", "extra_body", '{"top_k": 20, "chat_template_kwargs": {"enable_thinking": false}}',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = simple.last_body()
    assert body["temperature"] == 0.5 and body["top_p"] == 0.9 and body["max_tokens"] == 50
    assert body["stop"] == ["END", "STOP"] and body["seed"] == 7
    assert body["frequency_penalty"] == 0.1 and body["presence_penalty"] == -0.2
    assert body["reasoning_effort"] == "low"
    assert body["top_k"] == 20 and body["chat_template_kwargs"] == {"enable_thinking": False}


def test_bad_options_are_one_line_errors(simple, run_llm):
    result = run_llm("-m", "sim/sim-model", "hi", "-o", "extra_body", "[1, 2]")
    assert result.exit_code != 0
    assert "extra_body must be a JSON object" in result.output
    result = run_llm("-m", "sim/sim-model", "hi", "-o", "extra_body", '{"model": "x"}')
    assert "extra_body may not set model" in result.output
    result = run_llm("-m", "sim/sim-model", "hi", "-o", "reasoning_effort", "huge")
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_models_options_set_is_used_by_later_prompts(simple, run_llm):
    result = run_llm("models", "options", "set", "sim/sim-model", "temperature", "0.3")
    assert result.exit_code == 0, result.output
    bad = run_llm("models", "options", "set", "sim/sim-model", "temperature", "9")
    assert bad.exit_code != 0
    assert run_llm("-m", "sim/sim-model", "hi").exit_code == 0
    assert simple.last_body()["temperature"] == 0.3


def test_json_object_option(simple, run_llm):
    result = run_llm("-m", "sim/sim-model", "-o", "json_object", "1", 'give me "color"')
    assert result.exit_code == 0, result.output
    assert simple.last_body()["response_format"] == {"type": "json_object"}
    assert "color" in json.loads(result.stdout)


def test_image_attachment_as_data_url_and_as_url(simple, run_llm, tmp_path):
    image = tmp_path / "dot.png"
    image.write_bytes(PNG)
    result = run_llm("-m", "sim/sim-model", "describe", "-a", str(image))
    assert result.exit_code == 0, result.output
    assert "image" in result.stdout
    content = simple.last_body()["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "describe"}
    assert (
        content[1]["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    )

    url = "https://example.com/cat.png"
    result = run_llm("-m", "sim/sim-model", "describe", "--at", url, "image/png")
    assert result.exit_code == 0, result.output
    assert simple.last_body()["messages"][-1]["content"][1]["image_url"]["url"] == url


def test_pdf_is_refused_unless_the_provider_says_so(
    model_server, write_settings, run_llm, tmp_path
):
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    write_settings(
        sim=sim(model_server.url()), docs=sim(model_server.url(), capabilities={"pdf": True})
    )
    refused = run_llm("-m", "sim/sim-model", "read", "-a", str(pdf))
    assert refused.exit_code != 0 and "application/pdf" in refused.output
    model_server.reset()
    accepted = run_llm("-m", "docs/sim-model", "read", "-a", str(pdf))
    assert accepted.exit_code == 0, accepted.output
    part = model_server.last_body()["messages"][-1]["content"][1]
    assert part["type"] == "file" and part["file"]["file_data"].startswith("data:application/pdf")


def test_reasoning_goes_to_stderr_and_r_hides_it(model_server, write_settings, run_llm):
    write_settings(think=sim(model_server.url("reasoning")))
    shown = run_llm("-m", "think/sim-model", "why")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == "Hello! You said: why.\n"
    assert "answer briefly" in shown.stderr
    hidden = run_llm("-m", "think/sim-model", "-R", "why")
    assert hidden.stdout == "Hello! You said: why.\n"
    assert "answer briefly" not in hidden.stderr


def test_usage_and_response_json_in_llm_logs(simple, run_llm):
    assert run_llm("-m", "sim/sim-model", "count my words").exit_code == 0
    logs = run_llm("logs", "-n", "1", "--json")
    row = json.loads(logs.stdout)[0]
    assert row["model"] == "sim/sim-model"
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    assert row["response_json"]["finish_reason"] == "stop"
    assert row["response_json"]["provider"] == "sim"
    assert row["response_json"]["id"].startswith("chatcmpl-")
    usage = run_llm("logs", "-n", "1", "--usage")
    assert "input" in usage.stdout and "output" in usage.stdout


def test_usage_details_carry_cached_and_reasoning_tokens(model_server, write_settings):
    write_settings(think=sim(model_server.url("reasoning")))
    response = llm.get_model("think/sim-model").prompt("a question about caching")
    response.text()
    usage = response.usage()
    assert usage.input and usage.output
    assert usage.details and usage.details.get("reasoning_tokens", 0) > 0


def test_schema_uses_json_schema(simple, run_llm):
    result = run_llm("-m", "sim/sim-model", "--schema", "name, age int", "invent a dog")
    assert result.exit_code == 0, result.output
    fmt = simple.last_body()["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"]["properties"]["age"]["type"] == "integer"
    assert isinstance(json.loads(result.stdout)["age"], int)


def test_schema_falls_back_to_json_object_where_schemas_are_unsupported(
    model_server, write_settings, run_llm
):
    caps = {"jsonSchema": False, "jsonObject": True}
    write_settings(plain=sim(model_server.url("no-json-schema"), capabilities=caps))
    result = run_llm("-m", "plain/sim-model", "-s", "Be kind.", "--schema", "name, breed", "a dog")
    assert result.exit_code == 0, result.output
    body = model_server.last_body()
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]["content"]
    assert system.startswith("Be kind.") and '"name"' in system
    assert "name" in json.loads(result.stdout)


def test_no_schemas_at_all_is_refused_by_llm(model_server, write_settings, run_llm):
    caps = {"jsonSchema": False, "jsonObject": False}
    write_settings(plain=sim(model_server.url(), capabilities=caps))
    result = run_llm("-m", "plain/sim-model", "--schema", "name, breed", "a dog")
    assert result.exit_code != 0 and "does not support schemas" in result.output


def test_server_error_is_one_line(model_server, write_settings, run_llm):
    write_settings(broken=sim(model_server.url("fail=400")))
    result = run_llm("-m", "broken/sim-model", "hi")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "'broken'" in result.output and "HTTP 400" in result.output
    assert "Traceback" not in result.output


def test_unreachable_server_is_one_line(write_settings, run_llm, fault_server):
    write_settings(away=sim(fault_server.refused_url("/v1")))
    result = run_llm("-m", "away/sim-model", "hi")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "127.0.0.1" in result.output


def test_missing_key_names_the_provider_and_the_ways_to_supply_one(
    model_server, write_settings, run_llm
):
    ref = {"kind": "env", "name": "SIM_TEST_KEY"}
    write_settings(locked=sim(model_server.url("key=sekrit-0123456789"), apiKeyRef=ref))
    result = run_llm("-m", "locked/sim-model", "hi")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    text = result.output
    assert "'locked'" in text and "SIM_TEST_KEY" in text
    assert "Set the environment variable SIM_TEST_KEY" in text
    assert "llm keys set" not in text and "keyring set" not in text  # not the ways of other kinds
    assert "llm openai-compat add locked --key-env" in text


def test_missing_llm_key_hint_leads_with_llm_keys_set(model_server, write_settings, run_llm):
    write_settings(locked=sim(model_server.url(), apiKeyRef={"kind": "llm", "name": "lockkey"}))
    result = run_llm("-m", "locked/sim-model", "hi")
    assert result.exit_code == 1, result.output
    hint = result.output.split("no API key found for the llm reference 'lockkey'. ", 1)[1]
    assert hint.startswith("Store the key with `llm keys set lockkey`"), result.output
    assert "environment variable" not in result.output


def test_refused_key_names_the_add_flags_and_langchain_the_api_key_argument(
    model_server, write_settings, run_llm, monkeypatch
):
    url = model_server.url("key=sekrit-0123456789")
    write_settings(locked=sim(url, apiKeyRef={"kind": "env", "name": "SIM_TEST_KEY"}))
    monkeypatch.setenv("SIM_TEST_KEY", "wrong-key-0000000")
    result = run_llm("-m", "locked/sim-model", "hi")
    assert result.exit_code == 1 and "401" in result.output, result.output
    assert "llm openai-compat add locked --key-env VAR" in result.output
    assert "--key-llm" in result.output and "--key-keyring" in result.output
    assert "wrong-key-0000000" not in result.output

    from langchain_adapter import ChatOpenAICompat
    from llm_openai_compat import Unauthorized

    with pytest.raises(Unauthorized) as info:
        ChatOpenAICompat(provider="locked").invoke("hi")
    assert "api_key=" in str(info.value) and "--key-env" not in str(info.value)


def test_key_from_env_llm_keys_and_explicit_key(model_server, write_settings, run_llm, monkeypatch):
    url = model_server.url("key=sekrit-0123456789")
    write_settings(
        by_env=sim(url, apiKeyRef={"kind": "env", "name": "SIM_TEST_KEY"}),
        by_llm=sim(url, apiKeyRef={"kind": "llm", "name": "simkey"}),
        bare=sim(url),
    )
    monkeypatch.setenv("SIM_TEST_KEY", "sekrit-0123456789")
    assert run_llm("-m", "by_env/sim-model", "hi").exit_code == 0
    assert run_llm("keys", "set", "simkey", "--value", "sekrit-0123456789").exit_code == 0
    assert run_llm("-m", "by_llm/sim-model", "hi").exit_code == 0
    assert model_server.requests()[-1]["headers"]["authorization"] == "Bearer sekrit-0123456789"
    refused = run_llm("-m", "bare/sim-model", "hi")
    assert refused.exit_code == 1 and "sekrit-0123456789" not in refused.output
    explicit = run_llm("-m", "bare/sim-model", "--key", "sekrit-0123456789", "hi")
    assert explicit.exit_code == 0, explicit.output
    by_alias = run_llm("-m", "bare/sim-model", "--key", "simkey", "hi")
    assert by_alias.exit_code == 0, by_alias.output
    logs = run_llm("logs", "--json", "-n", "0")
    assert "sekrit-0123456789" not in logs.stdout


def test_python_api_sync_and_conversation(simple):
    model = llm.get_model("sim/sim-model")
    conversation = model.conversation()
    first = conversation.prompt("one")
    assert first.text() == "Hello! You said: one."
    second = conversation.prompt("two")
    assert second.text() == "Hello! You said: two."
    messages = simple.last_body()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == "Hello! You said: one."
    key = simple.last_body().get("prompt_cache_key")
    assert key is None or key.startswith("oc-")


async def test_async_model_streams_and_reports_usage(simple):
    model = llm.get_async_model("sim/sim-model")
    response = model.prompt("async hello")
    chunks = [chunk async for chunk in response]
    assert "".join(chunks) == "Hello! You said: async hello."
    usage = await response.usage()
    assert usage.input and usage.output
    non_streamed = await model.prompt("again", stream=False).text()
    assert non_streamed == "Hello! You said: again."


def test_responses_shape(model_server, write_settings, run_llm):
    write_settings(resp=sim(model_server.url("reasoning"), apiShape="responses"))
    result = run_llm("-m", "resp/sim-model", "-s", "Be brief.", "hello")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello! You said: hello.\n"
    request = model_server.requests()[-1]
    assert request["path"].endswith("/v1/responses")
    assert request["body"]["instructions"] == "Be brief."
    row = json.loads(run_llm("logs", "-n", "1", "--json").stdout)[0]
    assert row["response_json"]["shape"] == "responses" and row["input_tokens"] > 0
    second = run_llm("-c", "and again")
    assert second.exit_code == 0, second.output
    items = model_server.last_body()["input"]
    assert {"type": "message", "role": "assistant", "content": "Hello! You said: hello."} in items


@pytest.mark.parametrize("flags", [(), ("--no-stream",)], ids=["streamed", "not-streamed"])
def test_stop_option_on_the_responses_shape(model_server, write_settings, run_llm, flags):
    """The Responses API has no `stop` field: the core applies `-o stop` to the text itself,
    so it works as on Chat Completions instead of being dropped."""
    write_settings(resp=sim(model_server.url(), apiShape="responses"))
    result = run_llm("-m", "resp/sim-model", *flags, "-o", "stop", "said", "hello")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello! You \n"
    assert "stop" not in model_server.last_body()
    row = json.loads(run_llm("logs", "-n", "1", "--json").stdout)[0]
    assert row["response"] == "Hello! You "


def test_responses_reasoning_items_survive_into_the_next_turn(model_server, write_settings):
    """The reasoning item's id and summary ride on llm's provider_metadata and come back as a
    core ReasoningPart, so the wire builder can replay it where the server needs it."""
    from llm_openai_compat import messages
    from llm_openai_compat.plugin.convert import build_conversation

    write_settings(resp=sim(model_server.url("reasoning"), apiShape="responses"))
    response = llm.get_model("resp/sim-model").prompt("hello")
    response.text()
    follow_up = response.reply("again")
    converted = build_conversation(follow_up.prompt, None)
    assistant = converted.messages[1]
    reasoning = [p for p in assistant.parts if isinstance(p, messages.ReasoningPart)]
    assert reasoning and reasoning[0].id and reasoning[0].id.startswith("rs_")
    assert reasoning[0].summary


def test_active_provider_answers_to_the_alias(model_server, write_settings, run_llm):
    write_settings(
        {
            "providers": {"a": sim(model_server.url(), "m1", "m2")},
            "active": {"provider": "a", "model": "m2"},
        }
    )
    assert llm.get_model("openai-compat").model_id == "a/m2"
    assert llm.get_async_model("openai-compat").model_id == "a/m2"
    assert run_llm("-m", "openai-compat", "hi").exit_code == 0
    assert model_server.last_body()["model"] == "m2"


def test_unprobed_server_that_rejects_stream_options_still_works(
    model_server, write_settings, run_llm
):
    write_settings(old=sim(model_server.url("no-stream-options")))
    result = run_llm("-m", "old/sim-model", "hi")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Hello! You said: hi.\n"
    assert "stream_options" not in model_server.last_body()


def test_conversation_id_feeds_the_prompt_cache_key(model_server, write_settings):
    from llm_openai_compat.call import cache_key_for

    write_settings(cached=sim(model_server.url(), profile="openai"))
    conversation = llm.get_model("cached/sim-model").conversation()
    conversation.prompt("one").text()
    assert model_server.last_body()["prompt_cache_key"] == cache_key_for(conversation.id)
    conversation.prompt("two").text()
    assert model_server.last_body()["prompt_cache_key"] == cache_key_for(conversation.id)


def test_usage_details_resolved_model_and_withheld_reasoning(fault_server, write_settings):
    """Exact scripted usage: cached and reasoning tokens land in llm's usage details, a router's
    answering model becomes llm's resolved model, and reasoning tokens without reasoning text
    are recorded as redacted reasoning."""
    from tests.support.wire_bytes import chunk

    from .conftest import chat_sse

    write_settings(fs=sim(fault_server.base_url + "/v1"))
    usage = {
        "prompt_tokens": 20,
        "completion_tokens": 9,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 5},
        "completion_tokens_details": {"reasoning_tokens": 7},
    }
    fault_server.enqueue(
        chat_sse(
            {**chunk({"content": "Hi."}), "model": "vendor/real-model"},
            chunk(finish="stop"),
            {"id": "chatcmpl-1", "model": "vendor/real-model", "choices": [], "usage": usage},
        )
    )
    response = llm.get_model("fs/sim-model").prompt("hi")
    assert response.text() == "Hi."
    assert response.usage() == llm.Usage(
        input=20, output=9, details={"cached_tokens": 5, "reasoning_tokens": 7}
    )
    assert response.resolved_model == "vendor/real-model"
    assert response.response_json["usage"] == usage
    parts = response.messages()[0].parts
    assert type(parts[0]).__name__ == "ReasoningPart" and parts[0].redacted


def test_stop_as_a_broken_json_list_is_refused(model_server, write_settings, run_llm):
    write_settings(sim=sim(model_server.url()))
    model_server.reset()
    result = run_llm("-m", "sim/sim-model", "-o", "stop", '["tiny",', "hello")
    assert result.exit_code == 1
    assert "stop looks like a JSON list" in result.output and "Traceback" not in result.output
    assert model_server.requests() == []  # refused before sending


def test_stop_strings_that_start_with_a_bracket_are_kept(model_server, write_settings, run_llm):
    write_settings(sim=sim(model_server.url()))
    result = run_llm("-m", "sim/sim-model", "-o", "stop", "[INST]", "hello")
    assert result.exit_code == 0, result.output
    assert model_server.last_body()["stop"] == "[INST]"
    result = run_llm("-m", "sim/sim-model", "-o", "stop", '["a", "b"]', "hello")
    assert result.exit_code == 0, result.output
    assert model_server.last_body()["stop"] == ["a", "b"]


@pytest.mark.parametrize("flags", [(), ("--no-stream",)], ids=["streamed", "not-streamed"])
def test_an_answer_cut_at_the_output_limit_says_so_on_stderr(model_server, write_settings, run_llm, flags):
    write_settings(sim=sim(model_server.url()))
    result = run_llm("-m", "sim/sim-model", *flags, "-o", "max_tokens", "2", "hello there friend")
    assert result.exit_code == 0, result.output
    assert "stopped at the output limit; raise it with -o max_tokens N" in result.stderr
    assert "output limit" not in result.stdout
    row = json.loads(run_llm("logs", "-n", "1", "--json").stdout)[0]
    assert row["response_json"]["finish_reason"] == "length"
    full = run_llm("-m", "sim/sim-model", *flags, "hello")
    assert "output limit" not in full.stderr


def test_no_notice_lines_with_quiet(model_server, write_settings, run_llm, monkeypatch):
    from llm_openai_compat.plugin import notices

    monkeypatch.setenv("OPENAI_COMPAT_QUIET", "1")
    monkeypatch.setattr(notices.LOGGER, "handlers", [])
    notices.install_stderr_handler()
    assert notices.LOGGER.handlers == []


def test_tools_answered_with_nothing_say_so(model_server, write_settings, run_llm):
    """A gateway that drops tool calls from streams: llm would print nothing and exit 0."""
    write_settings(gw=sim(model_server.url("drop-streamed-tools")))
    result = run_llm(
        "-m", "gw/sim-model", "--functions", "def get_time() -> str: return 'noon'",
        "Use the get_time tool.",
    )
    assert result.exit_code == 0, result.output
    assert "answered with no text and no tool call" in result.stderr
    assert "try --no-stream" in result.stderr


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ({"error": {"message": "bad top_p", "param": "top_p"}},
         "The server objected to the parameter 'top_p'; change or remove it"),
        ({"error": {"message": "prompt is too odd"}},
         "Change what the server's message above objects to"),
        ({}, "The server gave no reason; check this request's options and inputs"),
    ],
    ids=["param", "message", "nothing"],
)
def test_a_400_hint_says_only_what_the_server_named(body, hint, fault_server, write_settings, run_llm):
    write_settings(fs=sim(fault_server.base_url + "/v1"))
    fault_server.enqueue({"status": 400, "json": body})
    result = run_llm("-m", "fs/sim-model", "--no-stream", "hi")
    assert result.exit_code == 1, result.output
    assert hint in result.output
    assert "named above" not in result.output


def test_each_retry_says_so_on_stderr(model_server, write_settings, run_llm):
    """A rate-limited call is not 30 s of silence: one dim line per retry, then the error."""
    write_settings(rl=sim(model_server.url("fail=429"), maxRetries=2))
    result = run_llm("-m", "rl/sim-model", "hello")
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "; retry " in line]
    assert len(lines) == 2
    assert lines[0].startswith("HTTP 429 from rl (") and "retry 1 of 2 in " in lines[0]
    assert "retry 2 of 2 in " in lines[1]
    assert "[after 3 attempts]" in result.output


def test_quiet_silences_retry_lines(model_server, write_settings, run_llm, monkeypatch):
    from llm_openai_compat.plugin import notices

    monkeypatch.setattr(notices.LOGGER, "handlers", [])
    monkeypatch.setenv("OPENAI_COMPAT_QUIET", "1")
    notices.install_stderr_handler()
    write_settings(rl=sim(model_server.url("fail=429"), maxRetries=1))
    result = run_llm("-m", "rl/sim-model", "hello")
    assert result.exit_code == 1 and "; retry " not in result.stderr


MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 16


def test_video_goes_as_video_url_only_where_the_models_entry_says_so(
    model_server, write_settings, run_llm, tmp_path
):
    """Issue 18: video attachments as Chat Completions `video_url` parts for a model whose
    stored capabilities say `video`; refused before sending for the others (llm's own one-line
    check of `attachment_types`) and on the Responses shape (no video input there)."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(MP4)
    caps = {"modelCapabilities": {"watcher": {"video": True}}}
    write_settings(
        mixed=sim(model_server.url(), "watcher", "blind", **caps),
        resp=sim(model_server.url(), "watcher", apiShape="responses", **caps),
    )
    model_server.reset()
    seen = run_llm("-m", "mixed/watcher", "describe", "--at", str(clip), "video/mp4")
    assert seen.exit_code == 0, seen.output
    assert "I see a video." in seen.stdout
    part = model_server.last_body()["messages"][-1]["content"][1]
    assert part == {"type": "video_url", "video_url": {
        "url": "data:video/mp4;base64," + base64.b64encode(MP4).decode()}}
    url = "https://example.com/clip.mp4"  # passed on for the server to fetch, never fetched here
    by_url = run_llm("-m", "mixed/watcher", "describe", "--at", url, "video/mp4")
    assert by_url.exit_code == 0, by_url.output
    assert model_server.last_body()["messages"][-1]["content"][1]["video_url"]["url"] == url

    model_server.reset()
    blind = run_llm("-m", "mixed/blind", "describe", "--at", str(clip), "video/mp4")
    assert blind.exit_code != 0 and "video/mp4" in blind.output
    responses = run_llm("-m", "resp/watcher", "describe", "--at", str(clip), "video/mp4")
    assert responses.exit_code != 0
    line = responses.output.strip()
    assert "no video input" in line and "chat-completions" in line and "\n" not in line
    assert "Traceback" not in responses.output
    assert model_server.requests() == []  # both refused before sending

"""Issue 17 through llm: every recorded field (logprobs, refusal, citations, cost, service
tier, system fingerprint, built-in tool items) reaches `response_json` in `llm logs`, streamed
and not, from recordings served over HTTP; a refusal is printed as the answer."""

from __future__ import annotations

import json

import pytest

from tests.support.recorded_more import CASES, body_of, is_stream, response_spec, shape_of

from .conftest import sim


@pytest.mark.parametrize("name", sorted(CASES))
def test_llm_keeps_everything(fault_server, write_settings, run_llm, name):
    expect = CASES[name]
    write_settings(rec=sim(fault_server.base_url + "/v1", "m", apiShape=shape_of(name)))
    fault_server.enqueue(response_spec(name))
    args = ["-m", "rec/m", "hi"] + ([] if is_stream(name) else ["--no-stream"])
    result = run_llm(*args)
    assert result.exit_code == 0, result.output
    row = json.loads(run_llm("logs", "-n", "1", "--json").stdout)[0]
    data = row["response_json"]
    if "refusal" in expect:
        assert result.stdout.strip() == expect["refusal"]
        assert data["refusal"] == expect["refusal"]
    else:
        assert "refusal" not in data and result.stdout.strip()
    if expect.get("logprobs"):
        entries = data["logprobs"]["content"]
        assert "".join(e["token"] for e in entries) == row["response"]
    if expect.get("refusal_logprobs"):
        assert "".join(e["token"] for e in data["logprobs"]["refusal"]) == expect["refusal"]
    if expect.get("citations"):
        assert data["annotations"] and all(a["type"] == "url_citation" for a in data["annotations"])
        body = body_of(name)
        assert all((a.get("url_citation") or a)["url"] in body for a in data["annotations"])
    if expect.get("cost"):
        assert data["usage"]["cost"] > 0
    if expect.get("system_fingerprint"):
        assert data["extra"]["system_fingerprint"].startswith("fp_")
    if "service_tier" in expect:
        assert data["extra"]["service_tier"] == expect["service_tier"]
    if expect.get("server_tools"):
        assert {i["type"] for i in data["server_tool_calls"]} == {"web_search_call"}


@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
def test_prompt_cache_retention_option(model_server, write_settings, run_llm, shape):
    """Issue 14 item 7: `-o prompt_cache_retention` reaches the body on both shapes."""
    from tests.support.openapi import assert_valid

    write_settings(ret=sim(model_server.url(), apiShape=shape))
    result = run_llm("-m", "ret/sim-model", "-o", "prompt_cache_retention", "24h", "hi")
    assert result.exit_code == 0, result.output
    body = model_server.last_body()
    assert body["prompt_cache_retention"] == "24h"
    assert_valid(body, "CreateChatCompletionRequest" if shape == "chat-completions"
                 else "CreateResponse")
    bad = run_llm("-m", "ret/sim-model", "-o", "prompt_cache_retention", "1h", "hi")
    assert bad.exit_code != 0 and "in_memory" in bad.output

"""Issue 17 item 3 on llm's side: `-T 'ServerSideTool(spec={...})'` sends the built-in tool as
given, and the recorded web_search answer keeps its call items in `response_json`."""

from __future__ import annotations

import json

from tests.support.recorded_more import response_spec

from .conftest import sim


def test_llm_server_side_tool(model_server, write_settings, run_llm):
    write_settings(srv=sim(model_server.url(), apiShape="responses"))
    result = run_llm("-m", "srv/sim-model", "-T", 'ServerSideTool(spec={"type": "web_search"})',
                     "hello")
    assert result.exit_code == 0, result.output
    assert model_server.last_body()["tools"] == [{"type": "web_search"}]


def test_llm_server_side_tool_output_kept(fault_server, write_settings, run_llm):
    write_settings(rec=sim(fault_server.base_url + "/v1", "gpt-5", apiShape="responses"))
    fault_server.enqueue(response_spec("openai__responses__stream_web_search_url_citation.txt"))
    result = run_llm("-m", "rec/gpt-5", "-T", 'ServerSideTool(spec={"type": "web_search"})', "news?")
    assert result.exit_code == 0, result.output
    assert json.loads(fault_server.requests()[-1]["body"])["tools"] == [{"type": "web_search"}]
    row = json.loads(run_llm("logs", "-n", "1", "--json").stdout)[0]
    assert {i["type"] for i in row["response_json"]["server_tool_calls"]} == {"web_search_call"}

"""Issue 17 through LangChain: every recorded field (logprobs, refusal, citations, cost,
service tier, system fingerprint, built-in tool items) reaches the message, streamed and not,
v0 and v1 output, from recordings served over HTTP."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk

from langchain_adapter import ChatOpenAICompat
from tests.support.recorded_more import CASES, is_stream, response_spec, shape_of


def _model(fault_server, name: str, **fields) -> ChatOpenAICompat:
    return ChatOpenAICompat(
        base_url=fault_server.base_url + "/v1", model="m", api_shape=shape_of(name),
        max_retries=0, streaming=is_stream(name), **fields,
    )


def _text(message) -> str:
    if isinstance(message.content, str):
        return message.content
    return "".join(b.get("text", "") for b in message.content if b.get("type") == "text")


def check_message(message, expect, *, v1: bool) -> None:
    meta = message.response_metadata
    assert meta["model_provider"] == "openai"
    if "refusal" in expect:
        assert message.additional_kwargs["refusal"] == expect["refusal"]
        assert _text(message) == ""
        assert {"type": "refusal", "refusal": expect["refusal"]} in [
            {k: b[k] for k in ("type", "refusal")} for b in message.content_blocks
            if b["type"] == "refusal"
        ]
    else:
        assert "refusal" not in message.additional_kwargs
        assert _text(message)
    if expect.get("logprobs"):
        entries = meta["logprobs"]["content"]
        assert "".join(e["token"] for e in entries) == _text(message)
    if expect.get("top"):
        assert all(len(e["top_logprobs"]) == 3 for e in meta["logprobs"]["content"])
    if expect.get("refusal_logprobs"):
        entries = meta["logprobs"]["refusal"]
        assert "".join(e["token"] for e in entries) == expect["refusal"]
    if expect.get("citations"):
        raw = message.additional_kwargs["annotations"]
        assert raw and all(a["type"] == "url_citation" for a in raw)
        citations = [
            a for b in message.content_blocks if b["type"] == "text"
            for a in b.get("annotations", ())
        ]
        if v1:
            assert len(citations) == len(raw)
            assert all(c["type"] == "citation" and c["url"].startswith("http") for c in citations)
    if expect.get("cost"):
        assert meta["token_usage"]["cost"] > 0
    if expect.get("system_fingerprint"):
        assert meta["system_fingerprint"].startswith("fp_")
    if "service_tier" in expect:
        assert meta["service_tier"] == expect["service_tier"]
    if expect.get("server_tools"):
        items = message.additional_kwargs["server_tool_calls"]
        assert {i["type"] for i in items} == {"web_search_call"}
        if v1:
            assert any(b["type"] == "server_tool_call" for b in message.content_blocks)


@pytest.mark.parametrize("version", ["v0", "v1"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_invoke_keeps_everything(fault_server, name, version):
    fault_server.enqueue(response_spec(name))
    message = _model(fault_server, name, output_version=version).invoke("hi")
    check_message(message, CASES[name], v1=version == "v1")


@pytest.mark.parametrize("name", sorted(n for n in CASES if is_stream(n)))
async def test_astream_keeps_everything(fault_server, name):
    fault_server.enqueue(response_spec(name))
    merged = None
    async for chunk in _model(fault_server, name).astream("hi"):
        assert isinstance(chunk, AIMessageChunk)
        merged = chunk if merged is None else merged + chunk
    check_message(merged, CASES[name], v1=False)

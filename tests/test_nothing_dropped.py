"""Issue 17: nothing the server said is dropped by the core. Each recorded body with logprobs,
a refusal, citations, cost or a service tier is served over HTTP by the fault server (streamed
bodies byte for byte), and the `Result` keeps every one of those fields."""

from __future__ import annotations

import pytest

from llm_openai_compat import Client, Conversation, Message, RequestOptions, RetryPolicy
from tests.support.recorded_more import CASES, is_stream, response_spec, shape_of

HI = Conversation((Message.text("user", "hi"),))


def check_result(result, expect) -> None:
    """The assertions every adapter's test repeats on its own output."""
    if "refusal" in expect:
        assert result.refusal == expect["refusal"]
        assert result.text == ""  # a refusal is not an (empty) answer
    else:
        assert result.refusal == ""
        assert result.text
    if expect.get("logprobs"):
        assert len(result.logprobs) >= 2
        assert all("token" in e and "logprob" in e for e in result.logprobs)
        assert "".join(e["token"] for e in result.logprobs) == result.text
    if expect.get("top"):
        assert all(len(e["top_logprobs"]) == 3 for e in result.logprobs)
    if expect.get("refusal_logprobs"):
        assert "".join(e["token"] for e in result.refusal_logprobs) == result.refusal
    if expect.get("citations"):
        assert result.annotations
        assert all(a.kind == "url_citation" and a.url.startswith("http") for a in result.annotations)
    if expect.get("cost"):
        assert result.usage.raw["cost"] > 0
        assert "cost_details" in result.usage.raw
    if expect.get("system_fingerprint"):
        assert result.meta.extra["system_fingerprint"].startswith("fp_")
    if "service_tier" in expect:
        assert result.meta.extra["service_tier"] == expect["service_tier"]
    if expect.get("server_tools"):
        assert {t.kind for t in result.server_tools} == {"web_search_call"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_core_keeps_everything(fault_server, name):
    fault_server.enqueue(response_spec(name))
    client = Client.inline(
        fault_server.base_url + "/v1", provider_id="recorded", api_shape=shape_of(name),
        policy=RetryPolicy(max_attempts=1),
    )
    result = client.complete(HI, RequestOptions(model="m", stream=is_stream(name)))
    check_result(result, CASES[name])


def test_n_choices_are_all_kept_and_never_streamed(model_server):
    """Issue 17: `n` choices of a non-streamed call are all in the Result; a streamed call with
    n > 1 is refused before sending, since a stream follows choice 0 only."""
    from llm_openai_compat import ConfigError

    client = Client.inline(model_server.url(), provider_id="n-sim")
    result = client.complete(HI, RequestOptions(model="m", stream=False, params={"n": 3}))
    assert [c.index for c in result.other_choices] == [1, 2]
    for choice in result.other_choices:
        assert "".join(e.text for e in choice.events if e.type == "text") == result.text
        assert choice.events[-1].type == "finish"
    with pytest.raises(ConfigError, match="n > 1 cannot be streamed"):
        client.complete(HI, RequestOptions(model="m", stream=True, params={"n": 2}))


@pytest.mark.parametrize("stream", [False, True])
def test_response_headers_when_asked_without_cookies(fault_server, stream):
    name = "openai__chat__stream_refusal_with_logprobs.txt" if stream else (
        "openai__chat__nonstream_refusal.txt")
    spec = response_spec(name)
    spec["headers"] = {**spec["headers"], "x-request-id": "req-7", "set-cookie": "session=secret"}
    client = Client.inline(fault_server.base_url + "/v1", provider_id="headers",
                           policy=RetryPolicy(max_attempts=1))
    fault_server.enqueue(spec)
    result = client.complete(HI, RequestOptions(model="m", stream=stream, include_headers=True))
    headers = result.meta.extra["headers"]
    assert headers["x-request-id"] == "req-7" and "set-cookie" not in headers
    assert result.meta.id.startswith("chatcmpl-")  # merged with the body's meta, not replaced
    fault_server.enqueue(response_spec(name))
    plain = client.complete(HI, RequestOptions(model="m", stream=stream))
    assert "headers" not in plain.meta.extra

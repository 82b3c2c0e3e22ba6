"""The total budget of a call (`deadlineMs`, `deadline=`): attempts, backoff and the body are
all bounded by it, and the error names the bound that fired. Against real local servers."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest

from llm_openai_compat import (
    AsyncClient,
    Client,
    ConfigError,
    Conversation,
    DeadlineExceeded,
    Message,
    NetworkTimeout,
    Provider5xx,
    RequestOptions,
    RetryPolicy,
    load_settings,
)
from llm_openai_compat.http.retry import CircuitBreaker

pytestmark = pytest.mark.timeout(60)

HI = Conversation((Message.text("user", "hi"),))


def _client(
    cls, url: str, policy: RetryPolicy | None = None, deadline: float | None = None, **fields
):
    return cls.inline(
        url,
        provider_id=f"p-{uuid.uuid4().hex[:6]}",
        breaker=CircuitBreaker("t"),
        policy=policy or RetryPolicy(jitter=0.0),
        deadline=deadline,
        **fields,
    )


def test_a_trickling_answer_is_cut_at_the_deadline(model_server):
    # 200 words, one event every 50 ms: 10 s of answer, each gap far below timeoutMs.
    client = _client(
        Client, model_server.url("delay=50", "words=200"), deadline=0.5, timeout_ms=5000
    )
    texts = []
    with pytest.raises(DeadlineExceeded) as caught:
        for event in client.stream(HI, RequestOptions(model="m")):
            if event.type == "text":
                texts.append(event.text)
    assert texts, "the answer had started"
    message = str(caught.value)
    assert "exceeded its 0.5 s deadline (deadline) while the answer was arriving" in message
    assert "incomplete" in message
    assert isinstance(caught.value, NetworkTimeout)


async def test_a_trickling_answer_is_cut_at_the_deadline_async(model_server):
    client = _client(AsyncClient, model_server.url("delay=50", "words=200"), timeout_ms=5000)
    with pytest.raises(DeadlineExceeded):
        async for _ in client.stream(HI, RequestOptions(model="m", deadline=0.5)):
            pass


def test_a_server_that_never_answers_is_cut_at_the_deadline_not_at_timeouts(fault_server):
    fault_server.set_default({"status": 200, "json": {}, "delay_before_headers": 8})
    client = _client(Client, fault_server.base_url + "/v1", deadline=0.5, timeout_ms=4000)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as caught:
        client.complete(HI, RequestOptions(model="m", stream=False))
    # Without the deadline: 2 x timeoutMs (8 s). With it: one attempt, cut well before 4 s.
    assert time.monotonic() - started < 4
    assert len(fault_server.requests()) == 1
    assert "0.5 s deadline (deadline) waiting for the server's answer" in str(caught.value)


def test_without_a_deadline_the_timeout_names_timeout_ms(fault_server):
    fault_server.set_default({"status": 200, "json": {}, "delay_before_headers": 3})
    client = _client(Client, fault_server.base_url + "/v1", timeout_ms=300)
    with pytest.raises(NetworkTimeout) as caught:
        client.complete(HI, RequestOptions(model="m", stream=False))
    assert not isinstance(caught.value, DeadlineExceeded)
    assert "No response within 0.3 s (timeoutMs)" in str(caught.value)


def test_backoff_never_sleeps_past_the_deadline(model_server):
    slept: list[float] = []
    policy = RetryPolicy(jitter=0.0, steps=(5.0,), sleep=slept.append)
    client = _client(Client, model_server.url("fail=503"), policy=policy, deadline=2.0)
    with pytest.raises(DeadlineExceeded) as caught:
        client.complete(HI, RequestOptions(model="m"))
    assert slept == []  # the 5 s backoff would end after the 2 s budget: no retry at all
    message = str(caught.value)
    assert "exceeded its 2 s deadline (deadline) after 1 attempt; last: " in message
    assert "HTTP 503" in message and caught.value.status == 503


def test_backoff_within_the_budget_still_retries(model_server):
    slept: list[float] = []
    policy = RetryPolicy(jitter=0.0, steps=(0.01,), sleep=slept.append, max_attempts=3)
    client = _client(Client, model_server.url("fail=503"), policy=policy, deadline=30)
    with pytest.raises(Provider5xx) as caught:
        client.complete(HI, RequestOptions(model="m"))
    assert not isinstance(caught.value, DeadlineExceeded)
    assert slept == [0.01, 0.01]


def test_a_body_read_whole_is_cut_at_the_deadline(fault_server):
    body = json.dumps(
        {
            "id": "x",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop",
                }
            ],
        }
    ).encode()
    fault_server.enqueue(
        {
            "status": 200,
            "body_b64": base64.b64encode(body).decode(),
            "chunk_size": 4,
            "delay_between_chunks": 0.1,
            "chunked": True,
        }
    )
    client = _client(Client, fault_server.base_url + "/v1", deadline=0.5, timeout_ms=5000)
    with pytest.raises(DeadlineExceeded, match="while the answer was arriving") as caught:
        client.complete(HI, RequestOptions(model="m", stream=False))
    assert "incomplete" not in str(caught.value)  # nothing was shown: a body is read whole
    assert len(fault_server.requests()) == 1


def test_a_spent_deadline_does_not_fail_over(model_server, tmp_path):
    token = uuid.uuid4().hex[:8]
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                "providers": {
                    "a": {
                        "baseURL": model_server.url("fail=503"),
                        "fallbacks": [{"provider": "b"}],
                    },
                    "b": {"baseURL": model_server.url("never-called", f"t={token}")},
                }
            }
        )
    )
    policy = RetryPolicy(jitter=0.0, steps=(5.0,), sleep=lambda s: None)
    with pytest.raises(DeadlineExceeded):
        Client("a", settings_path=path, policy=policy, deadline=1).complete(
            HI, RequestOptions(model="m")
        )
    assert not [r for r in model_server.requests() if f"t={token}" in r["path"]]


def test_deadline_ms_from_the_settings_file(fault_server, tmp_path):
    fault_server.set_default({"status": 200, "json": {}, "delay_before_headers": 8})
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                "providers": {
                    "slow": {
                        "baseURL": fault_server.base_url + "/v1",
                        "timeoutMs": 4000,
                        "deadlineMs": 600,
                    }
                }
            }
        )
    )
    with pytest.raises(DeadlineExceeded) as caught:
        Client("slow", settings_path=path).complete(HI, RequestOptions(model="m"))
    assert "0.6 s deadline (deadlineMs)" in str(caught.value)
    assert caught.value.provider == "slow"


def test_embeddings_share_the_deadline(model_server):
    slept: list[float] = []
    policy = RetryPolicy(jitter=0.0, steps=(5.0,), sleep=slept.append)
    client = _client(Client, model_server.url("fail=503"), policy=policy, deadline=1.0)
    with pytest.raises(DeadlineExceeded) as caught:
        client.embed(["a", "b"], model="e")
    assert slept == [] and "1 s deadline" in str(caught.value)


@pytest.mark.parametrize("value", [0, -1, "5", 1.5])
def test_deadline_ms_is_validated_per_provider(tmp_path, value):
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            {
                "providers": {
                    "bad": {"baseURL": "http://127.0.0.1:9/v1", "deadlineMs": value},
                    "good": {"baseURL": "http://127.0.0.1:9/v1", "deadlineMs": 12000},
                }
            }
        )
    )
    settings = load_settings(path)
    assert list(settings.providers) == ["good"] and settings.providers["good"].deadline_ms == 12000
    assert settings.broken["bad"].field == "providers.bad.deadlineMs"


@pytest.mark.parametrize("value", [0, -2.0, float("nan")])
def test_a_bad_deadline_in_code_is_a_config_error(value):
    with pytest.raises(ConfigError, match="deadline must be a positive number"):
        Client.inline("http://127.0.0.1:9/v1", deadline=value)


def test_a_stream_stalling_before_its_first_byte_is_cut_at_the_deadline(model_server):
    token = uuid.uuid4().hex[:8]
    url = model_server.url("stall-first=9", "stall=5000", f"t={token}")
    client = _client(Client, url, deadline=0.5, timeout_ms=4000)
    with pytest.raises(DeadlineExceeded) as caught:
        list(client.stream(HI, RequestOptions(model="m")))
    assert "0.5 s deadline (deadline) waiting for the server's answer" in str(caught.value)
    assert "incomplete" not in str(caught.value)
    assert len([r for r in model_server.requests() if f"t={token}" in r["path"]]) == 1

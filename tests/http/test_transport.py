"""The transport against a real local server that misbehaves on purpose (tests/support).

Every retry sleeps through an injected fake that records the delay it was asked for, so the
tests are fast and can still assert the backoff and Retry-After handling.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from llm_openai_compat import errors
from llm_openai_compat.http import transport
from llm_openai_compat.http.pools import Pools
from llm_openai_compat.http.retry import AttemptInfo, CircuitBreaker, RetryPolicy
from llm_openai_compat.http.transport import Endpoint
from llm_openai_compat.redaction import Secrets
from llm_openai_compat.runtime import Runtime, default_runtime
from tests.support.error_chain import iter_chain

# The fault_server fixture comes from tests.support.fault_server_fixture (a plugin, see tests/conftest.py).
from tests.support.fault_server_fixture import FaultServer, refused_url
from tests.support.wire_bytes import sse

CANARY = f"sk-canary-{uuid.uuid4().hex}"
PLAIN_CANARY = f"plain{uuid.uuid4().hex[:12]}"  # does not look like a key at all
SSE = "text/event-stream"


class Sleeps(list[float]):
    """Stands in for time.sleep / asyncio.sleep and records the delays asked for."""

    def sleep(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fast_policy(sleeps: Sleeps, **kwargs: Any) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps.sleep, asleep=sleeps.asleep, random=lambda: 0.5, **kwargs)


def endpoint(url: str, **kwargs: Any) -> Endpoint:
    kwargs.setdefault("timeout_ms", 5000)
    headers = {"Authorization": f"Bearer {CANARY}", "x-api-key": PLAIN_CANARY, "X-Org": "acme"}
    return Endpoint(provider="fault", url=url, headers=headers, model="m1", **kwargs)


def ok_stream(body: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"status": 200, "headers": {"content-type": SSE}, "body": body or sse('{"x": 1}'), **extra}


def error_spec(status: int, message: str = "boom", **extra: Any) -> dict[str, Any]:
    return {"status": status, "json": {"error": {"message": message}}, **extra}


def pools() -> Pools:
    """The pools of the test's own runtime (a fresh default one, tests/conftest.py)."""
    return default_runtime().pools


def stream_all(ep: Endpoint, **kwargs: Any) -> bytes:
    kwargs.setdefault("pools", pools())
    with transport.send_stream(ep, b'{"model": "m1"}', **kwargs) as response:
        assert 200 <= response.status_code < 300
        return b"".join(transport.iter_body(response, ep))


async def astream_all(ep: Endpoint, **kwargs: Any) -> bytes:
    kwargs.setdefault("pools", pools())
    async with transport.asend_stream(ep, b'{"model": "m1"}', **kwargs) as response:
        return b"".join([chunk async for chunk in transport.aiter_body(response, ep)])


def fresh_breaker(**kwargs: Any) -> CircuitBreaker:
    kwargs.setdefault("threshold", 100)
    return CircuitBreaker("fault", **kwargs)


# -- the happy path and pooling -------------------------------------------------------------


def test_stream_success_delivers_every_byte_and_sends_headers(fault_server: FaultServer):
    body = sse(*[f'{{"i": {i}}}' for i in range(50)])
    fault_server.enqueue(ok_stream(body, random_chunks=7, delay_between_chunks=0.001))
    seen: list[AttemptInfo] = []
    got = stream_all(endpoint(fault_server.url()), breaker=fresh_breaker(), on_attempt=seen.append)
    assert got == body.encode()
    [request] = fault_server.requests()
    assert request["method"] == "POST" and request["body"] == '{"model": "m1"}'
    assert request["headers"]["authorization"] == f"Bearer {CANARY}"
    assert request["headers"]["content-type"] == "application/json"
    assert [(a.attempt, a.status, a.will_retry) for a in seen] == [(1, 200, False)]


def test_pooled_sync_client_is_per_origin_and_tls_settings(runtime):
    def client(url: str, verify_tls: bool = True) -> Any:
        lease = runtime.pools.lease(url, verify_tls)
        runtime.pools.release(lease)
        return lease.client

    a = client("http://pool-test:8000/v1")
    assert client("http://pool-test:8000/deployments/d1/v1") is a  # same origin, same pool
    assert client("http://POOL-TEST:8000/other") is a
    assert client("http://pool-test:8001/v1") is not a
    assert client("https://pool-test:8000/v1") is not a
    assert client("http://pool-test:8000/v1", verify_tls=False) is not a


def test_the_timeout_is_set_per_request():
    timeout = transport.timeout_for(1000)
    assert (timeout.connect, timeout.read, timeout.pool) == (1.0, 1.0, 10.0)
    default = transport.timeout_for(None)
    assert (default.connect, default.read) == (10.0, 600.0)


def test_send_reads_the_whole_body_and_retries_a_body_that_broke(fault_server: FaultServer):
    fault_server.enqueue(
        {"status": 200, "body": '{"object": "list", "data": []}', "reset_after_bytes": 5},
        {"status": 200, "body": '{"object": "list", "data": []}'},
    )
    sleeps = Sleeps()
    response = transport.send(
        endpoint(fault_server.url("/v1/models")), None, pools=pools(), method="GET",
        policy=fast_policy(sleeps), breaker=fresh_breaker(),
    )
    assert response.json() == {"object": "list", "data": []}
    assert [r["method"] for r in fault_server.requests()] == ["GET", "GET"]
    assert sleeps == [0.5]


# -- retries --------------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_for(fault_server: FaultServer):
    fault_server.enqueue(error_spec(429, "slow down", headers={"retry-after": "2"}), ok_stream())
    sleeps, seen = Sleeps(), []
    stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker(), on_attempt=seen.append)
    assert sleeps == [2.0]
    assert len(fault_server.requests()) == 2
    assert [(a.attempt, a.status, a.error_class_name, a.will_retry, a.delay_s) for a in seen] == [
        (1, 429, "RateLimited", True, 2.0),
        (2, 200, None, False, 0.0),
    ]


def test_429_with_retry_after_ms(fault_server: FaultServer):
    fault_server.enqueue(error_spec(429, headers={"retry-after-ms": "1250"}), ok_stream())
    sleeps = Sleeps()
    stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert sleeps == [1.25]


def test_429_asking_for_more_than_the_cap_fails_at_once(fault_server: FaultServer):
    fault_server.enqueue(error_spec(429, headers={"retry-after": "120"}), ok_stream())
    sleeps = Sleeps()
    with pytest.raises(errors.RateLimited) as info:
        stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert info.value.retry_after == 120
    assert "asked to wait 120 s" in str(info.value)
    assert sleeps == [] and len(fault_server.requests()) == 1


def test_429_insufficient_quota_is_not_retried(fault_server: FaultServer):
    fault_server.enqueue(
        {"status": 429, "json": {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}}
    )
    sleeps = Sleeps()
    with pytest.raises(errors.QuotaExceeded):
        stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert sleeps == [] and len(fault_server.requests()) == 1


def test_503_twice_then_success_on_attempt_3(fault_server: FaultServer):
    fault_server.enqueue(error_spec(503), error_spec(503), ok_stream())
    sleeps, seen = Sleeps(), []
    stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker(), on_attempt=seen.append)
    assert sleeps == [0.5, 1.0]
    assert [a.attempt for a in seen] == [1, 2, 3] and seen[-1].status == 200


def test_backoff_jitter_is_applied(fault_server: FaultServer):
    fault_server.enqueue(error_spec(500), ok_stream())
    sleeps = Sleeps()
    policy = RetryPolicy(sleep=sleeps.sleep, random=lambda: 0.0)
    stream_all(endpoint(fault_server.url()), policy=policy, breaker=fresh_breaker())
    assert sleeps == [pytest.approx(0.375)]


def test_500_six_times_gives_up_after_6_attempts(fault_server: FaultServer):
    fault_server.set_default(error_spec(500, "internal"))
    sleeps = Sleeps()
    with pytest.raises(errors.Provider5xx) as info:
        stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert info.value.attempts == 6 and "[after 6 attempts]" in str(info.value)
    assert info.value.status == 500 and "internal" in str(info.value)
    assert sleeps == [0.5, 1.0, 1.5, 2.0, 3.0]
    assert len(fault_server.requests()) == 6


def test_endpoint_max_attempts_overrides_the_policy(fault_server: FaultServer):
    fault_server.set_default(error_spec(502))
    sleeps = Sleeps()
    with pytest.raises(errors.Provider5xx) as info:
        stream_all(endpoint(fault_server.url(), max_attempts=2), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert info.value.attempts == 2 and len(fault_server.requests()) == 2


def test_connection_refused_is_connect_error_after_6_attempts():
    sleeps, seen = Sleeps(), []
    url = refused_url()
    with pytest.raises(errors.ConnectError) as info:
        stream_all(endpoint(url), policy=fast_policy(sleeps), breaker=fresh_breaker(), on_attempt=seen.append)
    assert info.value.attempts == 6 and info.value.url == url
    assert "refused" in str(info.value).lower()
    assert len(sleeps) == 5 and [a.status for a in seen] == [None] * 6


def test_reset_before_headers_is_retried(fault_server: FaultServer):
    fault_server.enqueue({"reset_before_headers": True}, ok_stream())
    sleeps = Sleeps()
    assert stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert len(fault_server.requests()) == 2 and sleeps == [0.5]


def test_reset_mid_stream_is_a_stream_error_and_never_retried(fault_server: FaultServer):
    body = sse(*[f'{{"i": {i}}}' for i in range(20)])
    fault_server.enqueue(ok_stream(body, chunk_size=16, reset_after_bytes=37), ok_stream())
    sleeps, delivered = Sleeps(), bytearray()
    ep = endpoint(fault_server.url())
    with (
        pytest.raises(errors.StreamError) as info,
        transport.send_stream(ep, b"{}", pools=pools(), policy=fast_policy(sleeps), breaker=fresh_breaker()) as response,
    ):
        for chunk in transport.iter_body(response, ep):
            delivered += chunk
    assert bytes(delivered) == body.encode()[:37]
    assert "after 37 bytes" in str(info.value)
    assert len(fault_server.requests()) == 1 and sleeps == []


def test_stalled_stream_hits_the_read_timeout(fault_server: FaultServer):
    fault_server.enqueue(ok_stream(stall_after_bytes=3, stall_seconds=3))
    ep = endpoint(fault_server.url(), timeout_ms=300)
    started = time.monotonic()
    with pytest.raises(errors.StreamError) as info:
        stream_all(ep, policy=fast_policy(Sleeps()), breaker=fresh_breaker())
    assert time.monotonic() - started < 2.0
    assert "stalled" in str(info.value) and "timeoutMs" in str(info.value)
    assert len(fault_server.requests()) == 1


def test_no_headers_in_time_is_a_retried_network_timeout(fault_server: FaultServer):
    fault_server.set_default(dict(ok_stream(), delay_before_headers=1.0))
    ep = endpoint(fault_server.url(), timeout_ms=200, max_attempts=2)
    sleeps = Sleeps()
    started = time.monotonic()
    with pytest.raises(errors.NetworkTimeout) as info:
        stream_all(ep, policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert time.monotonic() - started < 2.0
    assert info.value.attempts == 2 and "0.2 s" in str(info.value)
    assert sleeps == [0.5]


# -- not retried ----------------------------------------------------------------------------


def test_401_is_unauthorized_and_not_retried(fault_server: FaultServer):
    fault_server.enqueue(error_spec(401, "Incorrect API key provided"))
    sleeps = Sleeps()
    with pytest.raises(errors.Unauthorized) as info:
        stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert info.value.status == 401 and info.value.attempts == 1
    assert sleeps == [] and len(fault_server.requests()) == 1


def test_404_names_url_and_model(fault_server: FaultServer):
    fault_server.enqueue(error_spec(404, "The model `m1` does not exist"))
    with pytest.raises(errors.NotFound) as info:
        stream_all(endpoint(fault_server.url()), policy=fast_policy(Sleeps()), breaker=fresh_breaker())
    assert fault_server.url() in str(info.value) and "'m1'" in str(info.value)


def test_redirect_is_a_config_error_naming_base_url(fault_server: FaultServer):
    fault_server.enqueue({"status": 301, "headers": {"location": "https://elsewhere.example/v1/chat/completions"}})
    with pytest.raises(errors.ConfigError) as info:
        stream_all(endpoint(fault_server.url()), policy=fast_policy(Sleeps()), breaker=fresh_breaker())
    assert info.value.field == "baseURL" and "https://elsewhere.example" in str(info.value)


def test_huge_error_body_is_read_bounded(fault_server: FaultServer):
    fault_server.enqueue({"status": 400, "body": "x" * (3 * 1024 * 1024), "headers": {"content-type": "text/plain"}})
    with pytest.raises(errors.BadRequest) as info:
        stream_all(endpoint(fault_server.url()), policy=fast_policy(Sleeps()), breaker=fresh_breaker())
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "localhost:8080/v1", "http://[::1"])
def test_unusable_url_is_a_config_error(url):
    sleeps = Sleeps()
    with pytest.raises(errors.ConfigError) as info:
        stream_all(endpoint(url), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert info.value.field == "baseURL" and sleeps == []


def test_header_that_cannot_be_sent_is_a_config_error_without_its_value(fault_server: FaultServer):
    ep = Endpoint("fault", fault_server.url(), headers={"Authorization": f"Bearer {CANARY}\u2019"})
    with pytest.raises(errors.ConfigError) as info:
        stream_all(ep, policy=fast_policy(Sleeps()), breaker=fresh_breaker())
    assert info.value.field == "headers"
    for exc in iter_chain(info.value):
        assert CANARY not in str(exc) and CANARY not in repr(exc)


# -- circuit breaker ------------------------------------------------------------------------


def test_breaker_opens_fails_fast_without_a_request_then_probes(fault_server: FaultServer):
    clock = FakeClock()
    breaker = CircuitBreaker("fault", clock=clock)
    fault_server.set_default(error_spec(503))
    ep = endpoint(fault_server.url(), max_attempts=1)
    for _ in range(5):
        with pytest.raises(errors.Provider5xx):
            stream_all(ep, policy=fast_policy(Sleeps()), breaker=breaker)
    assert len(fault_server.requests()) == 5 and breaker.state == "open"

    with pytest.raises(errors.CircuitOpen) as info:
        stream_all(ep, policy=fast_policy(Sleeps()), breaker=breaker)
    assert "'fault'" in str(info.value) and "30 s" in str(info.value)
    assert len(fault_server.requests()) == 5  # failed fast: nothing reached the server

    clock.now += 30
    fault_server.enqueue(ok_stream())
    assert stream_all(ep, policy=fast_policy(Sleeps()), breaker=breaker)
    assert breaker.state == "closed" and len(fault_server.requests()) == 6


def test_default_breaker_cuts_a_long_retry_loop_short(fault_server: FaultServer):
    fault_server.set_default(error_spec(500))
    breaker = CircuitBreaker("fault", clock=FakeClock())
    sleeps = Sleeps()
    with pytest.raises(errors.Provider5xx) as info:  # the real error, not "failing fast"
        stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=breaker)
    assert info.value.attempts == 5 and len(fault_server.requests()) == 5
    assert sleeps == [0.5, 1.0, 1.5, 2.0]  # no pointless wait before a refused 6th attempt
    with pytest.raises(errors.CircuitOpen):
        stream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=breaker)


def test_breakers_are_per_provider_in_a_runtime(runtime):
    assert runtime.pools.breaker("a") is runtime.pools.breaker("a")
    assert runtime.pools.breaker("a") is not runtime.pools.breaker("b")
    assert Runtime().pools.breaker("a") is not runtime.pools.breaker("a")


# -- async ----------------------------------------------------------------------------------


async def test_async_429_retry_after_then_success(fault_server: FaultServer):
    fault_server.enqueue(error_spec(429, headers={"retry-after": "2"}), ok_stream(random_chunks=3))
    sleeps = Sleeps()
    assert await astream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker()) == sse('{"x": 1}').encode()
    assert sleeps == [2.0] and len(fault_server.requests()) == 2


async def test_async_503_twice_then_success(fault_server: FaultServer):
    fault_server.enqueue(error_spec(503), error_spec(503), ok_stream())
    sleeps, seen = Sleeps(), []
    await astream_all(endpoint(fault_server.url()), policy=fast_policy(sleeps), breaker=fresh_breaker(), on_attempt=seen.append)
    assert sleeps == [0.5, 1.0] and [a.attempt for a in seen] == [1, 2, 3]


async def test_async_refused_and_quota(fault_server: FaultServer):
    sleeps = Sleeps()
    with pytest.raises(errors.ConnectError) as info:
        await astream_all(endpoint(refused_url()), policy=fast_policy(sleeps), breaker=fresh_breaker())
    assert info.value.attempts == 6 and len(sleeps) == 5
    fault_server.enqueue({"status": 429, "json": {"error": {"message": "quota", "code": "insufficient_quota"}}})
    with pytest.raises(errors.QuotaExceeded):
        await astream_all(endpoint(fault_server.url()), policy=fast_policy(Sleeps()), breaker=fresh_breaker())


async def test_async_reset_before_headers_then_reset_mid_stream(fault_server: FaultServer):
    fault_server.enqueue({"reset_before_headers": True}, ok_stream("y" * 100, chunk_size=10, reset_after_bytes=25))
    sleeps, delivered = Sleeps(), bytearray()
    ep = endpoint(fault_server.url())
    with pytest.raises(errors.StreamError, match="after 25 bytes"):
        async with transport.asend_stream(ep, b"{}", pools=pools(), policy=fast_policy(sleeps), breaker=fresh_breaker()) as response:
            async for chunk in transport.aiter_body(response, ep):
                delivered += chunk
    assert bytes(delivered) == b"y" * 25
    assert len(fault_server.requests()) == 2 and sleeps == [0.5]


async def test_async_stall_hits_the_read_timeout(fault_server: FaultServer):
    fault_server.enqueue(ok_stream(stall_after_bytes=3, stall_seconds=3))
    started = time.monotonic()
    with pytest.raises(errors.StreamError, match="stalled"):
        await astream_all(endpoint(fault_server.url(), timeout_ms=300), breaker=fresh_breaker())
    assert time.monotonic() - started < 2.0


async def test_async_breaker_fails_fast_and_probe_closes(fault_server: FaultServer):
    clock = FakeClock()
    breaker = CircuitBreaker("fault", clock=clock)
    fault_server.set_default(error_spec(500))
    ep = endpoint(fault_server.url(), max_attempts=1)
    for _ in range(5):
        with pytest.raises(errors.Provider5xx):
            await astream_all(ep, policy=fast_policy(Sleeps()), breaker=breaker)
    with pytest.raises(errors.CircuitOpen):
        await astream_all(ep, policy=fast_policy(Sleeps()), breaker=breaker)
    assert len(fault_server.requests()) == 5
    clock.now += 30
    fault_server.enqueue(ok_stream())
    await astream_all(ep, policy=fast_policy(Sleeps()), breaker=breaker)
    assert breaker.state == "closed"


async def test_async_cancelled_probe_frees_the_breaker(fault_server: FaultServer):
    clock = FakeClock()
    breaker = CircuitBreaker("fault", threshold=1, clock=clock)
    breaker.record("failure", probe=breaker.acquire())
    clock.now += 30
    fault_server.enqueue(dict(ok_stream(), delay_before_headers=2))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(astream_all(endpoint(fault_server.url()), breaker=breaker), 0.2)
    assert breaker.acquire() is True  # the slot was released, so a new probe may go


async def test_async_send_reads_whole_body(fault_server: FaultServer):
    fault_server.enqueue({"status": 200, "json": {"data": [{"id": "m1"}]}})
    response = await transport.asend(endpoint(fault_server.url("/v1/models")), None, pools=pools(), method="GET", breaker=fresh_breaker())
    assert response.json() == {"data": [{"id": "m1"}]}


def test_async_clients_are_per_loop_and_closed_with_their_loop(runtime):
    async def client() -> Any:
        lease = await runtime.pools.alease("http://loop-test:1/v1")
        await runtime.pools.arelease(lease)
        return lease.client

    async def grab() -> Any:
        first = await client()
        assert await client() is first
        return first

    one = asyncio.run(grab())
    two = asyncio.run(grab())
    assert one is not two
    assert one.is_closed and two.is_closed  # asyncio.run's shutdown closed them


async def test_aclose_closes_this_loops_clients(runtime):
    lease = await runtime.pools.alease("http://aclose-test:1/v1")
    await runtime.pools.arelease(lease)
    await runtime.aclose()
    assert lease.client.is_closed
    again = await runtime.pools.alease("http://aclose-test:1/v1")
    await runtime.pools.arelease(again)
    assert again.client is not lease.client


# -- secrets never leak ---------------------------------------------------------------------


def _assert_clean(error: BaseException, seen: list[AttemptInfo]) -> None:
    for exc in iter_chain(error):
        for text in (str(exc), repr(exc), repr(getattr(exc, "__dict__", {}))):
            assert CANARY not in text and PLAIN_CANARY not in text, text
    for info in seen:
        assert CANARY not in repr(info) and PLAIN_CANARY not in repr(info)


_LEAK_SCENARIOS: dict[str, tuple[dict[str, Any] | None, type[errors.OpenAICompatError]]] = {
    "401-echoing-the-keys": (error_spec(401, f"Incorrect API key provided: {CANARY} / {PLAIN_CANARY}"), errors.Unauthorized),
    "404": (error_spec(404, f"model not found for key {PLAIN_CANARY}"), errors.NotFound),
    "500": (error_spec(500, f"upstream said Authorization: Bearer {CANARY}"), errors.Provider5xx),
    "timeout": (dict(ok_stream(), delay_before_headers=1.0), errors.NetworkTimeout),
    "stream-reset": (ok_stream("z" * 50, reset_after_bytes=10), errors.StreamError),
    "connect-error": (None, errors.ConnectError),
}


@pytest.mark.parametrize("scenario", list(_LEAK_SCENARIOS))
def test_canary_key_appears_in_no_error_and_no_attempt_info(fault_server: FaultServer, scenario: str):
    spec, expected = _LEAK_SCENARIOS[scenario]
    url = fault_server.url() if spec else refused_url()
    if spec:
        fault_server.set_default(spec)
    seen: list[AttemptInfo] = []
    ep = endpoint(url, timeout_ms=200, max_attempts=2)
    assert CANARY not in repr(ep) and PLAIN_CANARY not in repr(ep)
    with pytest.raises(expected) as info:
        stream_all(ep, policy=fast_policy(Sleeps()), breaker=fresh_breaker(), on_attempt=seen.append)
    _assert_clean(info.value, seen)
    if spec:  # the keys really were sent, so the test is not vacuous
        assert fault_server.requests()[0]["headers"]["x-api-key"] == PLAIN_CANARY


async def test_async_canary_key_never_leaks(fault_server: FaultServer):
    fault_server.set_default(error_spec(401, f"bad key {CANARY} {PLAIN_CANARY}"))
    seen: list[AttemptInfo] = []
    with pytest.raises(errors.Unauthorized) as info:
        await astream_all(endpoint(fault_server.url()), breaker=fresh_breaker(), on_attempt=seen.append)
    _assert_clean(info.value, seen)


# -- redaction helpers ----------------------------------------------------------------------


def test_redacted_headers_masks_every_credential():
    headers = {
        "Authorization": "Bearer x", "api-key": "x", "X-Api-Key": "x", "Cookie": "x",
        "Proxy-Authorization": "x", "X-Goog-Api-Key": "x", "X-Auth-Token": "x",
        "X-Client-Secret": "x", "X-Org": "acme", "Content-Type": "application/json",
    }
    masked = transport.redacted_headers(headers)
    assert {k for k, v in masked.items() if v != "[redacted]"} == {"X-Org", "Content-Type"}


def test_redact_url():
    assert transport.redact_url("https://u:p@h/v1?api-version=1&key=abc&access_token=t") == (
        "https://[redacted]@h/v1?api-version=1&key=[redacted]&access_token=[redacted]"
    )


def test_redact_masks_overlapping_secrets_completely():
    short = f"abcd{uuid.uuid4().hex[:8]}"
    long = short + uuid.uuid4().hex[:8]
    held = Secrets()
    held.add(short, long)
    assert held.redact(f"key={long} other={short}") == "key=[redacted] other=[redacted]"
    assert errors.redact(f"key={long} other={short}", (long, short)) == "key=[redacted] other=[redacted]"

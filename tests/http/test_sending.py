"""Request heads from validated headers (`sending`): the bytes on the wire are those h11
writes after validating, for every body length and header set; a bad header is refused with
httpcore2's error every time; keep-alive connections of our pools send them."""

from __future__ import annotations

import asyncio

import h11
import httpcore2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_openai_compat.http.origin_pool import AsyncOriginPool, OriginPool
from llm_openai_compat.http.sending import HeadCache
from tests.support.raw_server import raw_server

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


def _request(url: str, body: bytes, extra: list[tuple[bytes, bytes]] = ()) -> httpcore2.Request:  # type: ignore[assignment]
    host = url.split("/")[2].encode()
    return httpcore2.Request(
        "POST", url,
        headers=[(b"Host", host), (b"Authorization", b"Bearer sk-test-abcdefgh"), *extra,
                 (b"Content-Length", b"%d" % len(body))],
        content=body,
        extensions={"timeout": {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}},
    )


def _wire(event: h11.Request) -> bytes:
    connection = h11.Connection(h11.CLIENT)
    return connection.send(event) or b""


@settings(max_examples=200, deadline=None)
@given(
    lengths=st.lists(st.integers(0, 10**9), min_size=1, max_size=6),
    extra=st.lists(
        st.tuples(st.sampled_from([b"X-A", b"x-b", b"User-Agent"]), st.binary(max_size=8)),
        max_size=3,
    ),
)
def test_a_head_is_what_h11_writes_after_validating(lengths: list[int], extra: list) -> None:
    heads = HeadCache(size=2)
    for length in lengths:
        request = _request("http://127.0.0.1:9/v1", b"", extra)
        request.headers[-1] = (b"Content-Length", b"%d" % length)
        try:
            expected = _wire(h11.Request(method=b"POST", target=b"/v1", headers=request.headers))
        except h11.LocalProtocolError:
            with pytest.raises(h11.LocalProtocolError):
                heads.request(request)
            continue
        assert _wire(heads.request(request)) == expected


def test_a_bad_header_is_refused_every_time_with_httpcores_error() -> None:
    with raw_server(lambda n, request: [OK]) as server:
        base = httpcore2.ConnectionPool()
        pool = OriginPool(base, max_connections=1)
        try:
            answer = pool.handle_request(_request(server.url(), b"{}"))
            answer.read()
            answer.close()  # now a keep-alive connection that sends cached heads
            for _ in range(2):
                with pytest.raises(httpcore2.LocalProtocolError):
                    pool.handle_request(_request(server.url(), b"{}", [(b"X-Bad", b"a\r\nb: c")]))
        finally:
            pool.close()
            base.close()


def test_keep_alive_requests_carry_each_bodys_length() -> None:
    bodies = [b"{}", b'{"a": 1}', b"", b'{"model": "' + b"m" * 300 + b'"}']
    with raw_server(lambda n, request: [OK]) as server:
        base = httpcore2.ConnectionPool()
        pool = OriginPool(base, max_connections=1)
        try:
            for body in bodies * 2:
                answer = pool.handle_request(_request(server.url(), body))
                assert answer.read() == b"{}"
                answer.close()
            (connection,) = pool._idle
            assert "_send_request_headers" in connection._connection.__dict__  # heads cached
        finally:
            pool.close()
            base.close()
        assert server.connections == 1
        for request, body in zip(server.requests, bodies * 2, strict=True):
            head, _, sent = request.partition(b"\r\n\r\n")
            assert sent == body
            assert b"\r\nContent-Length: %d" % len(body) in head
            assert head.count(b"Authorization: Bearer sk-test-abcdefgh") == 1


def test_the_async_pool_sends_the_same_heads() -> None:
    bodies = [b"{}", b'{"a": 1}', b'{"model": "m"}']

    async def main(url: str) -> None:
        base = httpcore2.AsyncConnectionPool()
        pool = AsyncOriginPool(base, max_connections=1)
        try:
            for body in bodies * 2:
                answer = await pool.handle_async_request(_request(url, body))
                assert await answer.aread() == b"{}"
                await answer.aclose()
        finally:
            await pool.aclose()
            await base.aclose()

    with raw_server(lambda n, request: [OK]) as server:
        asyncio.run(asyncio.wait_for(main(server.url()), 20))
        assert server.connections == 1
        assert [r.partition(b"\r\n\r\n")[2] for r in server.requests] == bodies * 2


def test_its_repr_shows_no_header_value() -> None:
    heads = HeadCache()
    heads.request(_request("http://127.0.0.1:9/v1", b"{}"))
    assert "sk-test" not in repr(heads) and "1 header sets" in repr(heads)


# -- the SENT hook: called between the request and its answer ----------------------------------


def test_the_sent_hook_runs_after_the_request_and_before_its_answer_is_read() -> None:
    import threading

    from llm_openai_compat.http.sending import SENT

    hooked = threading.Event()
    calls: list[int] = []

    def answer(n: int, request: bytes) -> list[bytes]:
        if n:  # a reused connection: the answer waits for the hook, which must come first
            assert hooked.wait(5), "the hook was not called before the answer was read"
            hooked.clear()
        return [OK]

    with raw_server(answer) as server:
        base = httpcore2.ConnectionPool()
        pool = OriginPool(base, max_connections=1)
        try:
            for n in range(4):
                request = _request(server.url(), b'{"n": %d}' % n)
                request.extensions[SENT] = lambda n=n: (calls.append(n), hooked.set())
                answer_ = pool.handle_request(request)
                assert answer_.read() == b"{}"
                answer_.close()
        finally:
            pool.close()
            base.close()
        assert server.connections == 1
    assert calls == [1, 2, 3]  # not on the connection's first request (not installed yet)


def test_a_hook_that_raises_does_not_break_the_request() -> None:
    from llm_openai_compat.http.sending import SENT

    def broken() -> None:
        raise RuntimeError("no")

    with raw_server(lambda n, request: [OK]) as server:
        base = httpcore2.ConnectionPool()
        pool = OriginPool(base, max_connections=1)
        try:
            for _ in range(3):
                request = _request(server.url(), b"{}")
                request.extensions[SENT] = broken
                answer = pool.handle_request(request)
                assert answer.read() == b"{}"
                answer.close()
        finally:
            pool.close()
            base.close()
        assert server.connections == 1


def test_the_async_hook_runs_before_the_answer_is_read() -> None:
    import threading

    from llm_openai_compat.http.sending import SENT

    hooked = threading.Event()
    calls: list[int] = []

    def answer(n: int, request: bytes) -> list[bytes]:
        if n:
            assert hooked.wait(5)
            hooked.clear()
        return [OK]

    async def main(url: str) -> None:
        base = httpcore2.AsyncConnectionPool()
        pool = AsyncOriginPool(base, max_connections=1)
        try:
            for n in range(3):
                request = _request(url, b"{}")
                request.extensions[SENT] = lambda n=n: (calls.append(n), hooked.set())
                # The server thread blocks on `hooked`; the loop must not: the hook runs in it.
                answer_ = await pool.handle_async_request(request)
                assert await answer_.aread() == b"{}"
                await answer_.aclose()
        finally:
            await pool.aclose()
            await base.aclose()

    with raw_server(answer) as server:
        asyncio.run(asyncio.wait_for(main(server.url()), 20))
    assert calls == [1, 2]

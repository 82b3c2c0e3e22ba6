"""OriginPool and AsyncOriginPool against a real local server: bounded, reused, waiters woken, nothing leaked
by a timeout or a cancellation, closed connections never handed out again."""

from __future__ import annotations

import asyncio
from typing import Any

import httpcore2
import pytest

from llm_openai_compat.http.origin_pool import AsyncOriginPool
from tests.support.counting_server import CountingServer, counting_server
from tests.support.fault_server_fixture import FaultServer


def _request(url: str, pool_timeout: float | None = 5.0) -> httpcore2.Request:
    body = b'{"model": "m"}'
    return httpcore2.Request(
        "POST", url + "/chat/completions",
        headers=[(b"Host", url.split("/")[2].encode()), (b"Content-Length", b"%d" % len(body))],
        content=body,
        extensions={"timeout": {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": pool_timeout}},
    )


def _run(server: CountingServer, test: Any) -> None:
    async def main() -> None:
        base = httpcore2.AsyncConnectionPool()
        try:
            await asyncio.wait_for(test(server.url(), base), 20)
        finally:
            await base.aclose()

    asyncio.run(main())


def test_at_most_max_connections_and_a_waiter_is_woken_by_a_release():
    async def test(url: str, base: Any) -> None:
        pool = AsyncOriginPool(base, max_connections=2)
        first = await pool.handle_async_request(_request(url))
        second = await pool.handle_async_request(_request(url))
        third = asyncio.create_task(pool.handle_async_request(_request(url)))
        await asyncio.sleep(0.1)
        assert not third.done() and pool.open_connections == 2  # waits for a connection
        await first.aread()
        await first.aclose()  # its connection goes to the waiter
        answer = await asyncio.wait_for(third, 5)
        assert b"chat/completions" in await answer.aread()
        await answer.aclose()
        await second.aclose()  # unread: its connection cannot carry another request
        assert pool.open_connections == 1
        await pool.aclose()
        assert pool.open_connections == 0

    with counting_server() as server:
        _run(server, test)
        assert server.accepted == 2  # the third request reused the first one's connection
        assert server.wait_open_at_most(0) == 0  # aclose closed them


def test_a_pool_timeout_and_a_cancelled_waiter_leak_no_connection():
    async def test(url: str, base: Any) -> None:
        pool = AsyncOriginPool(base, max_connections=1)
        held = await pool.handle_async_request(_request(url))
        with pytest.raises(httpcore2.PoolTimeout):
            await pool.handle_async_request(_request(url, pool_timeout=0.05))
        waiting = asyncio.create_task(pool.handle_async_request(_request(url)))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await held.aread()
        await held.aclose()
        for _ in range(3):  # the one connection is free, and reused
            answer = await pool.handle_async_request(_request(url, pool_timeout=1.0))
            await answer.aread()
            await answer.aclose()
        assert pool.open_connections == 1
        await pool.aclose()

    with counting_server() as server:
        _run(server, test)
        assert server.accepted == 1


def test_a_request_that_fails_gives_its_slot_back():
    async def test(url: str, base: Any) -> None:
        pool = AsyncOriginPool(base, max_connections=1)
        for _ in range(3):
            with pytest.raises(httpcore2.ConnectError):
                await pool.handle_async_request(_request("http://127.0.0.1:1/v1"))
        assert pool.open_connections == 0

    with counting_server() as server:
        _run(server, test)


def test_a_connection_the_server_closed_is_not_handed_out(fault_server: FaultServer):
    ok = {"status": 200, "headers": {"content-type": "application/json"}, "body": "{}"}
    fault_server.enqueue({**ok, "close": True}, ok, ok)

    async def main() -> None:
        base = httpcore2.AsyncConnectionPool()
        pool = AsyncOriginPool(base, max_connections=1)
        url = fault_server.url("/v1")
        for _ in range(3):
            answer = await pool.handle_async_request(_request(url))
            assert await answer.aread() == b"{}"
            await answer.aclose()
        assert pool.open_connections == 1  # the closed one was dropped, its slot reused
        await pool.aclose()
        await base.aclose()

    asyncio.run(main())
    assert len(fault_server.requests()) == 3


# -- the sync twin: the same guarantees, with threads ------------------------------------------


def _sync(test: Any) -> None:
    base = httpcore2.ConnectionPool()
    try:
        test(base)
    finally:
        base.close()


def test_sync_at_most_max_connections_and_a_waiter_in_another_thread_is_woken():
    import threading

    from llm_openai_compat.http.origin_pool import OriginPool

    with counting_server() as server:
        url = server.url()

        def test(base: Any) -> None:
            pool = OriginPool(base, max_connections=2)
            first = pool.handle_request(_request(url))
            second = pool.handle_request(_request(url))
            got: list[bytes] = []

            def wait() -> None:
                answer = pool.handle_request(_request(url))
                got.append(answer.read())
                answer.close()

            waiter = threading.Thread(target=wait, daemon=True)
            waiter.start()
            waiter.join(0.1)
            assert waiter.is_alive() and pool.open_connections == 2  # waits for a connection
            first.read()
            first.close()  # its connection goes to the waiter
            waiter.join(5)
            assert not waiter.is_alive() and b"chat/completions" in got[0]
            second.close()  # unread: its connection cannot carry another request
            assert pool.open_connections == 1
            pool.close()
            assert pool.open_connections == 0
            with pytest.raises(httpcore2.PoolTimeout):
                pool.handle_request(_request(url))  # closed

        _sync(test)
        assert server.accepted == 2  # the waiter reused the first one's connection
        assert server.wait_open_at_most(0) == 0  # close closed them


def test_sync_a_pool_timeout_leaks_nothing_and_a_failed_request_gives_its_slot_back():
    from llm_openai_compat.http.origin_pool import OriginPool

    with counting_server() as server:
        url = server.url()

        def test(base: Any) -> None:
            pool = OriginPool(base, max_connections=1)
            held = pool.handle_request(_request(url))
            with pytest.raises(httpcore2.PoolTimeout):
                pool.handle_request(_request(url, pool_timeout=0.05))
            held.read()
            held.close()
            for _ in range(3):  # the one connection is free, and reused
                answer = pool.handle_request(_request(url, pool_timeout=1.0))
                answer.read()
                answer.close()
            assert pool.open_connections == 1
            pool.close()
            failing = OriginPool(base, max_connections=1)
            for _ in range(3):
                with pytest.raises(httpcore2.ConnectError):
                    failing.handle_request(_request("http://127.0.0.1:1/v1"))
            assert failing.open_connections == 0
            with pytest.raises(httpcore2.UnsupportedProtocol):
                failing.handle_request(_request("ftp://127.0.0.1:1/v1"))

        _sync(test)
        assert server.accepted == 1


def test_sync_a_connection_the_server_closed_is_not_handed_out(fault_server: FaultServer):
    from llm_openai_compat.http.origin_pool import OriginPool

    ok = {"status": 200, "headers": {"content-type": "application/json"}, "body": "{}"}
    fault_server.enqueue({**ok, "close": True}, ok, ok)

    def test(base: Any) -> None:
        pool = OriginPool(base, max_connections=1)
        url = fault_server.url("/v1")
        for _ in range(3):
            answer = pool.handle_request(_request(url))
            assert answer.read() == b"{}"
            answer.close()
        assert pool.open_connections == 1  # the closed one was dropped, its slot reused
        pool.close()

    _sync(test)
    assert len(fault_server.requests()) == 3


def test_sync_many_threads_share_a_bounded_pool():
    import concurrent.futures

    from llm_openai_compat.http.origin_pool import OriginPool

    with counting_server() as server:
        url = server.url()

        def test(base: Any) -> None:
            pool = OriginPool(base, max_connections=3)

            def one(_: int) -> bytes:
                answer = pool.handle_request(_request(url))
                try:
                    return answer.read()
                finally:
                    answer.close()

            with concurrent.futures.ThreadPoolExecutor(8) as workers:
                bodies = list(workers.map(one, range(60), timeout=30))
            assert all(b"chat/completions" in b for b in bodies)
            assert pool.open_connections <= 3
            pool.close()

        _sync(test)
        assert server.accepted <= 3


def test_sync_a_waiter_when_the_pool_closes_gets_a_pool_timeout_not_a_new_connection():
    import threading

    from llm_openai_compat.http.origin_pool import OriginPool

    with counting_server() as server:
        url = server.url()

        def test(base: Any) -> None:
            pool = OriginPool(base, max_connections=1)
            held = pool.handle_request(_request(url))
            failures: list[BaseException] = []

            def wait() -> None:
                try:
                    pool.handle_request(_request(url, pool_timeout=5.0))
                except BaseException as exc:
                    failures.append(exc)

            waiter = threading.Thread(target=wait, daemon=True)
            waiter.start()
            waiter.join(0.1)
            assert waiter.is_alive()
            pool.close()
            held.read()
            held.close()  # its slot frees: the closed pool must not open another
            waiter.join(5)
            assert not waiter.is_alive()
            assert len(failures) == 1 and isinstance(failures[0], httpcore2.PoolTimeout)
            assert pool.open_connections == 0

        _sync(test)
        assert server.accepted == 1


def test_a_waiter_when_the_async_pool_closes_gets_a_pool_timeout_not_a_new_connection():
    async def test(url: str, base: Any) -> None:
        pool = AsyncOriginPool(base, max_connections=1)
        held = await pool.handle_async_request(_request(url))
        waiting = asyncio.create_task(pool.handle_async_request(_request(url)))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await pool.aclose()
        with pytest.raises(httpcore2.PoolTimeout):
            await asyncio.wait_for(waiting, 5)
        await held.aread()
        await held.aclose()
        assert pool.open_connections == 0

    with counting_server() as server:
        _run(server, test)
        assert server.accepted == 1

"""The `Runtime`: one owner of process state, bounded, injectable, fork-safe (runtime.py).

Against a real in-process server that counts its open connections (tests/support): distinct
inline base URLs and timeouts share a pool per origin; a low cap evicts and closes pools; a
new key per call keeps the secrets at their bound; a forked child starts fresh while parent
and child both keep working.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from langchain_adapter import ChatOpenAICompat
from llm_openai_compat import (
    AsyncClient,
    Client,
    Conversation,
    Message,
    OpenAICompatError,
    RequestOptions,
    RetryPolicy,
    Runtime,
    default_runtime,
)
from llm_openai_compat.config.profiles import ADAPTATIONS
from llm_openai_compat.redaction import Secrets, redact_url
from tests.support.counting_server import CountingServer, counting_server, process_sockets

pytestmark = pytest.mark.timeout(120)

HI = Conversation((Message.text("user", "hi"),))
ONCE = RetryPolicy(max_attempts=1, sleep=lambda s: None)


def ask(client: Client, model: str = "m") -> str:
    return client.complete(HI, RequestOptions(model=model, stream=False)).text


# -- pools: keyed by origin, bounded, closed --------------------------------------------------


def test_two_thousand_inline_base_urls_share_one_pool_and_one_connection(runtime: Runtime):
    """Finding 2 of issue 13: a pool (and a socket) per distinct inline base URL, never freed."""
    with counting_server() as server:
        ask(Client.inline(server.url(0, "/warm/v1"), runtime=runtime, policy=ONCE))
        sockets = process_sockets()
        for i in range(2000):
            client = Client.inline(server.url(0, f"/deployments/d{i}/v1"), runtime=runtime, policy=ONCE)
            assert ask(client, f"m{i}") == f"m{i} /deployments/d{i}/v1/chat/completions"
        assert runtime.pools.sync_keys() == [("http", "127.0.0.1", server.ports[0], True)]
        assert server.accepted == 1 and server.open_connections == 1  # one keep-alive socket
        assert process_sockets() <= sockets


def test_langchain_models_for_distinct_base_urls_share_the_pool(runtime: Runtime):
    with counting_server() as server:
        for i in range(300):
            chat = ChatOpenAICompat(
                base_url=server.url(0, f"/deployments/d{i}/v1"), model=f"m{i}", runtime=runtime,
                max_retries=0,
            )
            assert chat.invoke("hi").content == f"m{i} /deployments/d{i}/v1/chat/completions"
        assert len(runtime.pools.sync_keys()) == 1 and server.accepted == 1
        assert default_runtime() is runtime  # the test's fresh default; another would be unused


def test_varying_the_timeout_creates_no_new_pool(runtime: Runtime):
    with counting_server() as server:
        for i in range(50):
            client = Client.inline(server.url(), timeout_ms=1000 + i, runtime=runtime, policy=ONCE)
            ask(client)
        assert len(runtime.pools.sync_keys()) == 1 and server.accepted == 1


def test_a_low_cap_evicts_and_closes_the_least_recently_used_pools():
    """2,000 requests to distinct base URLs over 8 origins, at most 3 pools: every evicted
    pool's socket is closed, so the server never holds more than 3 open connections."""
    runtime = Runtime(max_origins=3)
    with counting_server(ports=8) as server:
        sockets = process_sockets()
        for i in range(2000):
            origin = i % 8
            client = Client.inline(
                server.url(origin, f"/deployments/d{i}/v1"), runtime=runtime, policy=ONCE
            )
            ask(client)
            assert len(runtime.pools.sync_keys()) <= 3
            if i % 100 == 99:
                assert server.wait_open_at_most(3) <= 3
        assert server.accepted > 1000  # origins cycled: evicted pools really were dropped
        assert server.wait_open_at_most(3) <= 3
        assert process_sockets() <= sockets + 6  # both ends of at most 3 connections
        runtime.close()
        assert server.wait_open_at_most(0) == 0


def test_a_low_cap_closes_evicted_async_pools_on_their_loop():
    runtime = Runtime(max_origins=2)

    async def run(server: CountingServer) -> None:
        for i in range(200):
            client = AsyncClient.inline(server.url(i % 5, f"/d{i}/v1"), runtime=runtime, policy=ONCE)
            result = await client.complete(HI, RequestOptions(model="m", stream=False))
            assert result.text == f"m /d{i}/v1/chat/completions"
            assert len(runtime.pools.async_keys()) <= 2
        assert await asyncio.to_thread(server.wait_open_at_most, 2) <= 2

    with counting_server(ports=5) as server:
        asyncio.run(run(server))
        assert server.wait_open_at_most(0) == 0  # the loop's end closed the rest


def test_idle_pools_are_closed():
    runtime = Runtime(idle_s=0.0)
    with counting_server(ports=2) as server:
        ask(Client.inline(server.url(0), runtime=runtime, policy=ONCE))
        time.sleep(1.1)  # the idle sweep runs at most once a second
        ask(Client.inline(server.url(1), runtime=runtime, policy=ONCE))
        assert runtime.pools.sync_keys() == [("http", "127.0.0.1", server.ports[1], True)]
        assert server.wait_open_at_most(1) == 1
        runtime.close()


def test_the_cap_is_settable_on_a_runtime():
    runtime = Runtime()
    runtime.max_origins = 1
    with counting_server(ports=3) as server:
        for i in range(9):
            ask(Client.inline(server.url(i % 3), runtime=runtime, policy=ONCE))
            assert len(runtime.pools.sync_keys()) == 1
        assert server.wait_open_at_most(1) <= 1
        runtime.close()


def test_client_reprs_show_no_url_credentials(runtime: Runtime):
    client = Client.inline("http://user:pw-0123456789@127.0.0.1:1/v1?key=q-0123456789", runtime=runtime)
    assert "0123456789" not in repr(client) and "0123456789" not in repr(client.target)


def test_breakers_are_bounded():
    runtime = Runtime(max_breakers=4)
    for i in range(50):
        runtime.pools.breaker(f"p{i}")
    assert runtime.pools.breaker_count() == 4


# -- secrets: bounded, scoped, and as cheap at the last key as at the first -----------------


def test_a_new_key_per_call_keeps_the_secrets_at_their_bound():
    runtime = Runtime(max_secrets=64)
    keys = [f"tenant-{i:05d}-{'k' * 24}" for i in range(2000)]
    with counting_server() as server:
        for key in keys:
            ask(Client.inline(server.url(), api_key=key, runtime=runtime, policy=ONCE))
    assert len(runtime.secrets) == 64
    assert keys[-1] in runtime.secrets and keys[0] not in runtime.secrets
    # A key long gone from the backstop is still scrubbed from its own call's error.
    with counting_server(status=401) as rejecting:
        client = Client.inline(rejecting.url(), api_key=keys[0], runtime=runtime, policy=ONCE)
        with pytest.raises(OpenAICompatError) as caught:
            ask(client)
    assert "rejected credentials" in str(caught.value) and keys[0] not in str(caught.value)


def test_redacting_looks_at_each_position_once_however_many_secrets_are_held():
    """Cost linear in the text, independent of the secrets held (finding 7 of issue 13: every
    key ever seen was sorted and searched for in every message)."""
    text = "nothing secret here, just a long enough message " * 20

    def lookups(held: int) -> int:
        secrets = Secrets(limit=held)
        secrets.add(*(f"secret-{i:08d}" for i in range(held)))
        counted = _CountingDict(secrets._by_prefix)
        secrets._by_prefix = counted
        assert secrets.redact(text) == text
        return counted.gets

    assert lookups(10) == lookups(10_000) == len(text) - 7


def test_url_redaction_is_not_invalidated_by_new_keys(runtime: Runtime):
    url = "http://127.0.0.1:1/v1?api-version=1&key=abcdefgh123"
    redact_url(url)
    before = redact_url.cache_info()
    for i in range(100):
        runtime.secrets.add(f"fresh-key-{i:04d}-xxxxxxxx")
    assert redact_url(url) == "http://127.0.0.1:1/v1?api-version=1&key=[redacted]"
    after = redact_url.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


class _CountingDict(dict[str, set[str]]):
    gets = 0

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.gets += 1
        return super().get(key, default)


# -- injection and the default --------------------------------------------------------------


def test_clients_use_the_runtime_they_are_given_and_the_default_otherwise(runtime: Runtime):
    other = Runtime()
    with counting_server() as server:
        ask(Client.inline(server.url(), runtime=other, policy=ONCE))
        assert other.pools.sync_keys() and not runtime.pools.sync_keys()
        ask(Client.inline(server.url(), policy=ONCE))
        assert runtime.pools.sync_keys()
        other.close()


def test_llm_models_use_the_default_runtime(runtime: Runtime, isolated_user_dir):
    import llm

    with counting_server() as server:
        settings = {"providers": {"p": {"baseURL": server.url(), "models": ["m"], "maxRetries": 0}}}
        (isolated_user_dir / "openai-compat.json").write_text(json.dumps(settings))
        assert llm.get_model("p/m").prompt("hi", stream=False).text() == "m /v1/chat/completions"
        assert runtime.pools.sync_keys() == [("http", "127.0.0.1", server.ports[0], True)]


def test_learned_quirks_belong_to_their_runtime(runtime: Runtime):
    other = Runtime()
    other.learn("p", ADAPTATIONS[0])
    assert other.learned_adaptations("p") == [ADAPTATIONS[0]]
    assert runtime.learned_adaptations("p") == [] and runtime.learned_changes("p") == {}


def test_the_default_runtime_is_cheap_to_import_and_to_read_settings_with():
    """What llm does at start-up (registering the plugin's models) imports no HTTP client."""
    code = (
        "import sys\n"
        "from llm_openai_compat import default_runtime\n"
        "default_runtime().load_settings()\n"
        "assert 'httpx2' not in sys.modules, 'httpx2 imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- fork -----------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_fresh_and_both_processes_keep_working(runtime: Runtime):
    with counting_server() as server:
        client = Client.inline(server.url(), provider_id="forked", runtime=runtime, policy=ONCE)
        warm = [threading.Thread(target=ask, args=(client, "warm")) for _ in range(3)]
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join(10)
        runtime.learn("forked", ADAPTATIONS[0])
        runtime.pools.breaker("forked").record("failure", probe=runtime.pools.breaker("forked").acquire())
        parent_before = {s.peer for s in server.seen()}
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report through the pipe, never return into pytest
            status = 1
            try:
                os.close(read_end)
                signal.alarm(30)
                fresh = (
                    runtime.learned_adaptations("forked") == []
                    and runtime.pools.sync_keys() == []
                    and runtime.pools.breaker_count() == 0
                )
                texts = [ask(client, f"child-{i}") for i in range(20)]
                os.write(write_end, json.dumps({"fresh": fresh, "texts": texts}).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        parent_texts = [ask(client, f"parent-{i}") for i in range(20)]  # while the child runs
        ready, _, _ = select.select([read_end], [], [], 30)
        report = json.loads(os.read(read_end, 1 << 16) or b"{}") if ready else {}
        os.close(read_end)
        _, status = _wait(pid, 30)
    assert status == 0 and report, "the child did not finish"
    assert report["fresh"] is True
    assert report["texts"] == [f"child-{i} /v1/chat/completions" for i in range(20)]
    assert parent_texts == [f"parent-{i} /v1/chat/completions" for i in range(20)]
    seen = server.seen()
    child = {s.peer for s in seen if s.model.startswith("child-")}
    parent_after = {s.peer for s in seen if s.model.startswith("parent-")}
    assert child and not child & parent_before  # the child opened its own connections
    assert parent_after <= parent_before  # the parent's keep-alive sockets survived the child
    assert runtime.learned_adaptations("forked") == [ADAPTATIONS[0]]  # the parent's, untouched


def _wait(pid: int, timeout: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return done, os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return pid, -1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_while_threads_hold_the_locks_and_both_processes_run_threads(
    runtime: Runtime, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """The fork happens while the parent has open keep-alive connections, a request log, and a
    thread holding the runtime's, the pools' and the logger's locks; then parent and child each
    drive 4 threads at once. The server records which connection served which request: no
    connection serves both processes, every answer is its own request's, nothing is lost, and
    the request log (shared file, one logger per process) holds every exchange as a whole line."""
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv("OPENAI_COMPAT_REQUEST_LOG", str(log))
    with counting_server() as server:
        client = Client.inline(server.url(), provider_id="forked", runtime=runtime, policy=ONCE)
        _in_threads(client, "warm", 4, 2)
        parent_before = {s.peer for s in server.seen()}
        logger = runtime.request_logger(str(log))
        locks = (runtime._lock, runtime.pools._lock, logger._lock)
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            for lock in locks:
                lock.acquire()
            held.set()
            release.wait(30)
            for lock in reversed(locks):
                lock.release()

        holder = threading.Thread(target=hold)
        holder.start()
        assert held.wait(10)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its copies of the locks are held by a thread it does not have
            status = 1
            try:
                os.close(read_end)
                signal.alarm(30)
                answers = _in_threads(client, "child", 4, 10)
                same_logger = runtime.request_logger(str(log)) is logger
                os.write(write_end, json.dumps({"answers": answers, "same": same_logger}).encode())
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        release.set()  # the parent's locks come free; the child never waited for them
        holder.join(10)
        parent_answers = _in_threads(client, "parent", 4, 10)
        ready, _, _ = select.select([read_end], [], [], 30)
        report = json.loads(os.read(read_end, 1 << 20) or b"{}") if ready else {}
        os.close(read_end)
        _, status = _wait(pid, 30)
    assert status == 0 and report, "the child did not finish (a lock inherited held?)"
    assert report["same"] is False  # the child made its own logger (and lock)
    for answers in (report["answers"], parent_answers):
        assert answers and all(got == f"{model} /v1/chat/completions" for model, got in answers)
    seen = server.seen()
    child = [s for s in seen if s.model.startswith("child-")]
    parent = [s for s in seen if s.model.startswith("parent-")]
    assert len(child) == len(parent) == 40  # nothing lost, nothing sent twice
    assert sorted(s.model for s in child) == sorted(m for m, _ in report["answers"])
    child_peers, parent_peers = {s.peer for s in child}, {s.peer for s in parent}
    assert not child_peers & (parent_peers | parent_before)  # no connection served both
    assert parent_peers & parent_before  # the parent's keep-alive connections still serve it
    lines = log.read_text().splitlines()
    assert len(lines) == 8 + 80
    assert all(json.loads(line)["outcome"] == "ok" for line in lines)


def _in_threads(client: Client, prefix: str, threads: int, each: int) -> list[tuple[str, str]]:
    """`threads` threads each asking `each` times at once; (model sent, text answered) pairs."""
    out: list[tuple[str, str]] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(each):
            model = f"{prefix}-{t}-{i}"
            text = ask(client, model)
            with lock:
                out.append((model, text))

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    return out

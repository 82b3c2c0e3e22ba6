"""Regression tests for the findings of issue 13 (3-6 and 8-11), each through every entry point
it can reach: the core client (sync and async), the llm plugin (models and CLI) and
`ChatOpenAICompat`. Every server here is `tests/support/hostile_server.py`.

Each test failed on the code before the fix (the reason is in its docstring).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_openai_compat import errors as E
from llm_openai_compat.http.bodies import MAX_BODY_BYTES, MAX_IDLE_BYTES, BodyReader
from tests.support.hostile_server import HostileServer, Reply, chat_body, sse, sse_chunks

from .harness import (
    MODEL,
    RUNNERS,
    Outcome,
    Run,
    fresh_provider_id,
    install_recorder,
    write_provider,
)

pytestmark = [pytest.mark.timeout(180), pytest.mark.usefixtures("clean_state")]

ROOT = Path(__file__).resolve().parents[2]
DEEP = "[" * 100_000 + "]" * 100_000
STREAMING = (False, True)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as running:
        yield running


def _runners() -> list[Any]:
    return [pytest.param(r, id=r.name) for r in RUNNERS]


def _run(runner: Any, user_dir: Path, fields: dict[str, Any], *, stream: bool) -> Outcome:
    if runner.available() is not None:
        pytest.skip(runner.available())
    return runner.run(Run(user_dir, fresh_provider_id("h13"), fields, stream))


def _chain(error: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while error is not None and error not in out:
        out.append(error)
        error = error.__cause__ or error.__context__
    return out


def _only_taxonomy(outcome: Outcome) -> None:
    """Nothing but an error from the tree (or the adapter's translation of one) escaped."""
    chain = _chain(outcome.error)
    assert not [e for e in chain if isinstance(e, RecursionError)], chain
    if outcome.error is not None:
        assert outcome.core_error is not None, repr(outcome.error)


# -- 3. deep JSON ------------------------------------------------------------------------------


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


@pytest.mark.parametrize("runner", _runners())
def test_deep_json_anywhere_stays_in_the_taxonomy(runner, server, isolated_user_dir, monkeypatch):
    """Before: `json.loads` caught only ValueError, so 100,000 brackets raised RecursionError
    out of every adapter, and a deep 500 was not retried."""
    recorder = install_recorder(monkeypatch)
    fields = {"baseURL": server.base_url, "maxRetries": 1}

    server.reset(lambda r: Reply(body=sse_chunks([DEEP])))
    outcome = _run(runner, isolated_user_dir, fields, stream=True)
    _only_taxonomy(outcome)
    assert outcome.core_class is E.StreamError

    server.reset(lambda r: Reply(body=DEEP.encode()))
    outcome = _run(runner, isolated_user_dir, fields, stream=False)
    _only_taxonomy(outcome)
    assert outcome.core_class is E.StreamError and "nested" in str(outcome.core_error)

    server.reset(lambda r: Reply(status=500, body=DEEP.encode()))
    outcome = _run(runner, isolated_user_dir, fields, stream=False)
    _only_taxonomy(outcome)
    assert outcome.core_class is E.Provider5xx
    assert len(server.requests) == 2 and len(recorder.sleeps) == 1  # retried once, as asked

    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": DEEP}}
    server.reset(lambda r: Reply(body=sse_chunks([_chunk({"tool_calls": [call]}), _chunk({}, "tool_calls")])))
    outcome = _run(runner, isolated_user_dir, fields, stream=True)
    _only_taxonomy(outcome)


def test_deep_json_tool_arguments_are_reported_not_raised():
    from llm_openai_compat.wire.assemble import parse_arguments

    arguments, error = parse_arguments(DEEP)
    assert arguments is None and error is not None and "nested" in error


def test_deep_model_list_through_core_and_cli(server, isolated_user_dir):
    """Before: `Client.list_models`, `llm openai-compat models`, `add --discover` and `test`
    printed a RecursionError traceback."""
    from click.testing import CliRunner
    from llm.cli import cli

    from llm_openai_compat import Client

    server.reset(lambda r: Reply(body=DEEP.encode()))
    write_provider(isolated_user_dir, "deep", {"baseURL": server.base_url, "maxRetries": 0})
    with pytest.raises(E.StreamError, match="not JSON"):
        Client("deep").list_models()
    env = {"LLM_USER_PATH": str(isolated_user_dir)}
    for args in (["models", "deep"], ["add", "deep2", "--base-url", server.base_url, "--discover"]):
        result = CliRunner().invoke(cli, ["openai-compat", *args], env=env)
        assert result.exit_code == 1, result.output
        assert not isinstance(result.exception, RecursionError)
        assert "Traceback" not in result.output
        assert [line for line in result.output.splitlines() if line.startswith("Error: ")] == [
            result.output.strip().splitlines()[-1]
        ]
    result = CliRunner().invoke(cli, ["openai-compat", "test", "deep"], env=env)
    assert not isinstance(result.exception, RecursionError), result.output
    assert "Traceback" not in result.output


# -- 4. concurrent `add` -----------------------------------------------------------------------


def test_ten_concurrent_add_processes_keep_every_provider(tmp_path):
    """Before: read-modify-write without a lock; 10 processes left 7-9 providers."""
    exe = Path(sys.executable).with_name("llm")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "LLM_"))}
    env.update(LLM_USER_PATH=str(tmp_path), PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [str(exe), "openai-compat", "add", f"p{i}", "--base-url", f"http://127.0.0.1:9/v{i}", "-m", "m"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        for i in range(10)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    saved = json.loads((tmp_path / "openai-compat.json").read_text())
    assert sorted(saved["providers"]) == sorted(f"p{i}" for i in range(10))


def test_concurrent_writers_in_threads_keep_every_provider(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from llm_openai_compat import ProviderSettings
    from llm_openai_compat.config.settings import load_settings, upsert_provider

    path = tmp_path / "s.json"

    def add(i: int) -> None:
        upsert_provider(f"t{i}", ProviderSettings.model_validate({"baseURL": f"http://127.0.0.1:9/v{i}"}), path)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(40)))
    assert len(load_settings(path).providers) == 40


# -- 5. LangChain serialization ----------------------------------------------------------------


def test_langchain_serialization_masks_url_credentials_and_headers(server):
    """Before: repr, str, dumps, dumpd, to_json, model_dump and the `serialized` argument of
    `on_chat_model_start` held the base URL's credentials and query key and the header."""
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.load import dumpd, dumps

    from langchain_adapter import ChatOpenAICompat

    secret = "S" + secrets.token_hex(16)
    base = server.base_url.replace("http://", f"http://user:{secret}@") + f"?key={secret}"
    server.reset(lambda r: Reply(body=chat_body("fine")))

    class Seen(BaseCallbackHandler):
        def __init__(self) -> None:
            self.serialized: list[Any] = []

        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            self.serialized.append(serialized)

    model = ChatOpenAICompat(base_url=base, headers={"X-Api-Key": secret}, model=MODEL, api_key=secret)
    seen = Seen()
    assert model.invoke("hi", config={"callbacks": [seen]}).content == "fine"
    assert server.requests[0].headers["x-api-key"] == secret  # the real values were sent
    shown = {
        "repr": repr(model), "str": str(model), "dumps": dumps(model), "dumpd": json.dumps(dumpd(model)),
        "to_json": json.dumps(model.to_json(), default=str), "model_dump": repr(model.model_dump()),
        "model_dump_json": model.model_dump_json(), "serialized": json.dumps(seen.serialized, default=str),
    }
    leaks = [name for name, text in shown.items() if secret in text]
    assert leaks == []
    assert "127.0.0.1" in shown["dumps"] and "X-Api-Key" in shown["dumps"]  # still informative


# -- 6. httpx2's log ---------------------------------------------------------------------------


@pytest.mark.parametrize("runner", _runners())
def test_httpx_info_log_shows_no_url_secret(runner, server, isolated_user_dir, caplog):
    """Before: `HTTP Request: POST http://u:SECRET@.../v1/chat/completions?key=SECRET`."""
    secret = "S" + secrets.token_hex(16)
    base = server.base_url.replace("http://", f"http://u:{secret}@") + f"?key={secret}&code={secret}"
    server.reset(lambda r: Reply(body=chat_body("fine")))
    with caplog.at_level(logging.INFO):
        outcome = _run(runner, isolated_user_dir, {"baseURL": base}, stream=False)
    assert outcome.error is None and outcome.text == "fine"
    assert "HTTP Request" in caplog.text  # httpx2 did log the request
    assert secret not in caplog.text


# -- 8. redact, then cut -----------------------------------------------------------------------


def _cut_at(key: str, limit: int) -> str:
    """Filler that puts `key` across the place a message of `limit` characters is cut."""
    return "x" * (limit - 10) + " " + key + " tail"


@pytest.mark.parametrize("runner", _runners())
def test_a_key_echoed_at_the_cut_leaves_no_prefix(runner, server, isolated_user_dir, monkeypatch):
    """Before: the message was cut at 300 (HTML title and non-JSON text at 200) and only then
    redacted, so the first characters of a 32-hex key remained."""
    key = secrets.token_hex(16)
    monkeypatch.setenv("H13_KEY", key)
    fields = {"baseURL": server.base_url, "maxRetries": 0, "apiKeyRef": {"kind": "env", "name": "H13_KEY"}}
    replies = {
        "json message": Reply(status=400, body=json.dumps({"error": {"message": _cut_at(key, 300)}}).encode()),
        "plain text": Reply(status=400, headers=[("content-type", "text/plain")], body=_cut_at(key, 300).encode()),
        "html title": Reply(status=400, headers=[("content-type", "text/html")],
                            body=f"<html><title>{_cut_at(key, 200)}</title></html>".encode()),
        "200 not JSON": Reply(body=_cut_at(key, 200).encode()),
        "metadata.raw": Reply(status=400, body=json.dumps(
            {"error": {"message": "m", "metadata": {"raw": _cut_at(key, 200)}}}).encode()),
    }
    for name, reply in replies.items():
        server.reset(lambda r, reply=reply: reply)
        outcome = _run(runner, isolated_user_dir, fields, stream=False)
        assert outcome.core_error is not None, name
        assert server.requests[0].headers["authorization"] == f"Bearer {key}"
        for text in (str(outcome.error), str(outcome.core_error), repr(vars(outcome.core_error))):
            assert key[:8] not in text, (name, text)


def test_clip_redacts_before_cutting():
    key = "k" + secrets.token_hex(16)
    clipped = E.clip("x" * 280 + " sk-" + key, 300)  # a credential-shaped value across the cut
    assert key[:8] not in clipped and "[redacted]" in clipped


def test_terminal_control_characters_are_escaped_in_messages():
    error = E.classify_response(400, {}, json.dumps({"error": {"message": "\x1b[2J\x1b]0;pwned\x07 bad \u202e"}}))
    assert "\x1b" not in str(error) and "\x07" not in str(error) and "\u202e" not in str(error)
    assert "\\x1b[2J" in str(error)


# -- 9. whitespace deltas (the linear bound is in test_linearity.py) ----------------------------


def test_think_splitter_withholds_whitespace_only_while_a_tag_may_follow():
    from llm_openai_compat.events import TextDelta
    from llm_openai_compat.wire.assemble import _MAX_LEADING_WHITESPACE, Assembler

    assembler = Assembler()
    held = assembler.feed([TextDelta(" " * 50)] * (_MAX_LEADING_WHITESPACE // 50))
    assert held == []  # a <think> tag may still come
    released = assembler.feed([TextDelta(" " * 100)])
    assert "".join(e.text for e in released) == " " * (_MAX_LEADING_WHITESPACE // 50 * 50 + 100)
    assert assembler.feed([TextDelta("x")]) == [TextDelta("x")]


# -- 10. retry timing ------------------------------------------------------------------------


BAD_RETRY_AFTER = [
    ("retry-after", "-5"),
    ("retry-after", "nan"),
    ("retry-after", "0"),
    ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ("retry-after-ms", "-1"),
    ("retry-after-ms", "NaN"),
]


@pytest.mark.parametrize("runner", _runners())
def test_unusable_retry_after_falls_back_to_backoff(runner, server, isolated_user_dir, monkeypatch):
    """Before: a Retry-After in the past, negative or NaN (or retry-after-ms -1) gave
    zero-delay retries."""
    recorder = install_recorder(monkeypatch)
    for header in BAD_RETRY_AFTER:
        recorder.sleeps.clear()
        replies = iter([Reply(status=429, headers=[header], body=b"{}")] * 2)
        server.reset(lambda r, replies=replies: next(replies, Reply(body=chat_body("fine"))))
        outcome = _run(runner, isolated_user_dir, {"baseURL": server.base_url}, stream=False)
        assert outcome.text == "fine", (header, outcome.error)
        assert len(recorder.sleeps) == 2 and min(recorder.sleeps) >= 0.3, (header, recorder.sleeps)


@pytest.mark.parametrize("runner", _runners())
def test_a_server_that_never_answers_is_tried_at_most_twice(runner, server, isolated_user_dir, monkeypatch):
    """Before: every attempt (6 by default) waited the whole timeoutMs."""
    install_recorder(monkeypatch)
    server.reset(lambda r: Reply(hang=True))
    outcome = _run(runner, isolated_user_dir, {"baseURL": server.base_url, "timeoutMs": 300}, stream=True)
    assert outcome.core_class is E.NetworkTimeout
    assert len(server.requests) == 2


def test_retry_policy_rules():
    from llm_openai_compat.http.retry import RetryPolicy, fmt_seconds

    policy = RetryPolicy(random=lambda: 0.5)
    timeout = E.NetworkTimeout("No response")
    assert policy.decide(timeout, 1, timeouts=1).retry
    assert not policy.decide(timeout, 2, timeouts=2).retry
    for value in ("-1", "nan", "0"):
        error = E.classify_response(503, {"retry-after": value}, b"")
        assert error.retry_after is None
        assert policy.decide(error, 1).delay == 0.5
    huge = E.classify_response(503, {"retry-after": "1e308"}, b"")
    assert not policy.decide(huge, 1).retry and len(fmt_seconds(1e308)) < 10


# -- 11. body limits count decoded bytes ---------------------------------------------------------


def test_a_body_of_exactly_the_limit_is_not_cut_and_one_byte_more_overflows():
    """Before: `overflowed = size > limit` after stopping at `size >= limit`: a body of
    exactly the limit (gzip decodes in 1 MiB pieces) was cut there and called complete."""
    reader = BodyReader(60.0, limit=4)
    assert reader.add(b"ab") and reader.add(b"cd")  # exactly the limit: keep reading
    assert not reader.overflowed
    assert not reader.add(b"e") and reader.overflowed


def test_a_gzip_model_list_over_the_limit_says_so(server, isolated_user_dir):
    """Before: a gzip body decoding to over 64 MB was "not JSON" (cut at exactly 64 MiB)."""
    from click.testing import CliRunner
    from llm.cli import cli

    from llm_openai_compat import Client

    big = b'{"data": [' + b" " * (MAX_BODY_BYTES + 2**20) + b"]}"
    packed = gzip.compress(big, compresslevel=1)
    assert len(packed) < 2**20
    server.reset(lambda r: Reply(body=packed, headers=[("content-encoding", "gzip")]))
    write_provider(isolated_user_dir, "big", {"baseURL": server.base_url, "maxRetries": 0})
    with pytest.raises(E.StreamError, match="larger than 64 MB"):
        Client("big").list_models()
    result = CliRunner().invoke(cli, ["openai-compat", "models", "big"], env={"LLM_USER_PATH": str(isolated_user_dir)})
    assert result.exit_code == 1 and "larger than 64 MB" in result.output


@pytest.mark.parametrize("runner", _runners())
def test_gzip_keepalives_are_bounded_in_decoded_bytes(runner, server, isolated_user_dir):
    """Before: a gzip stream of keep-alive lines was decoded for as long as `timeoutMs`
    (1 MB on the wire, 1 GB decoded); now a megabyte of keep-alives without an event ends it."""
    line = b": keep-alive\n"
    pieces = [sse(_chunk({"content": "a"}))] + [line * 8192] * (4 * MAX_IDLE_BYTES // (len(line) * 8192))
    server.reset(lambda r: Reply(body=iter(pieces), gzip=True))
    outcome = _run(runner, isolated_user_dir, {"baseURL": server.base_url, "timeoutMs": 120_000}, stream=True)
    assert outcome.core_class is E.StreamError
    assert "keep-alives without an event" in str(outcome.core_error)


def test_the_portable_lock_fallback_excludes_and_releases(tmp_path):
    """Where `fcntl` is missing (Windows), a lock file created with O_EXCL is the lock."""
    import time

    from llm_openai_compat.config.settings import _acquire_exclusive_file

    lock = tmp_path / ".s.json.lock"
    release = _acquire_exclusive_file(lock, time.monotonic() + 5)
    assert lock.exists()
    with pytest.raises(TimeoutError):
        _acquire_exclusive_file(lock, time.monotonic() + 0.05)
    release()
    assert not lock.exists()
    _acquire_exclusive_file(lock, time.monotonic() + 1)()

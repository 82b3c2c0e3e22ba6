"""Attack like an outsider: a hostile server of our own, hostile *values* inside otherwise
valid responses, and canaries everywhere a secret can travel.

Nothing here uses the suite's scripted servers or helpers for building responses: the server
is `tests/support/hostile_server.py`, and every response is built in this file. The canaries:

- KEY, the API key (apiKeyRef, sent as `Authorization: Bearer`), and every other canary, are
  echoed back by the server into success metadata (id, model, system_fingerprint, usage
  extras, finish_reason), tool-call ids, and error messages, at every cut point (300, 200);
- USER and QUERY sit in the base URL's userinfo and in `key=`, `sig=`, `code=` query values;
- HEADER is the value of a header the project does not send itself (`X-Upstream-Key`).

Each attack runs through the core client, the llm plugin and `ChatOpenAICompat`, and these
are searched for every canary: the error's message, repr and attributes; a traceback with
locals (`TracebackException(capture_locals=True)`); a real `sentry_sdk` event captured in
memory (Sentry captures frame locals by default); the logs (httpx2 at INFO included); llm's
logs.db bytes; LangChain's `dumps` of the result and the `serialized` argument of
`on_chat_model_start`. Only `OpenAICompatError` (or the adapter's translation of one, which
keeps it as the cause) may escape.

Hypothesis draws the hostile values (bounded examples); the run stays well under a minute.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import sqlite3
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.hostile_server import HostileServer, Reply, Request

from .harness import RUNNER_BY_NAME, Outcome, Run, fresh_provider_id, install_recorder

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("clean_state")]

KEY = "cnk" + secrets.token_hex(16)
USER = "cnu" + secrets.token_hex(12)
QUERY = "cnq" + secrets.token_hex(12)
SIG = "cns" + secrets.token_hex(12)
CODE = "cnc" + secrets.token_hex(12)
HEADER = "cnh" + secrets.token_hex(12)
CANARIES = {"key": KEY, "userinfo": USER, "query key=": QUERY, "query sig=": SIG, "query code=": CODE, "header": HEADER}
ENTRY_POINTS = ["core", "core-async", "llm", "llm-async", "langchain", "langchain-async"]
EXAMPLES = 25  # per entry point and strategy
ECHO = "@@ECHO@@"  # in a hostile value: the server puts the request's secrets there


# -- the hostile server's answers ------------------------------------------------------------


def echoes(request: Request) -> list[str]:
    """Everything secret the request carried, as the server saw it."""
    seen = [request.headers.get("authorization", ""), request.headers.get("x-upstream-key", ""), request.path]
    return [s for s in seen if s]


def cut_points(secret: str) -> list[str]:
    """`secret` placed across every place a message is cut (300 and 200 characters)."""
    return ["x" * (limit - k) + secret for limit in (200, 300) for k in (3, 10, 18)]


def echo_stream(request: Request) -> Reply:
    """A valid stream whose metadata echoes every secret of the request."""
    echoed = " ".join(echoes(request))
    chunk = {
        "id": echoed, "model": echoed, "system_fingerprint": echoed, "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": None}],
    }
    last = {
        "id": echoed, "model": echoed,
        "choices": [{"index": 0, "delta": {}, "finish_reason": echoed}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2, "echo": echoed,
                  "prompt_tokens_details": {"cached_tokens": echoed}},
    }
    return Reply(body=[f"data: {json.dumps(c)}\n\n".encode() for c in (chunk, last)] + [b"data: [DONE]\n\n"])


def echo_body(request: Request) -> Reply:
    echoed = " ".join(echoes(request))
    body = {
        "id": echoed, "model": echoed, "system_fingerprint": echoed, "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "echo": echoed},
    }
    return Reply(body=json.dumps(body).encode())


def echo_errors(request: Request) -> list[Reply]:
    """Error answers echoing the secrets: JSON, plain text, HTML, in a 200 stream, at cuts."""
    replies = []
    for echoed in [" ".join(echoes(request))] + [c for e in echoes(request) for c in cut_points(e)]:
        replies += [
            Reply(status=400, body=json.dumps({"error": {"message": echoed, "param": echoed, "code": echoed}}).encode()),
            Reply(status=401, headers=[("content-type", "text/plain")], body=echoed.encode()),
            Reply(status=400, headers=[("content-type", "text/html")], body=f"<title>{echoed}</title>".encode()),
            Reply(body=f"not json {echoed}".encode()),
            Reply(body=[f"data: {json.dumps({'error': {'message': echoed}})}\n\n".encode()]),
            Reply(body=[f"data: {echoed}\n\n".encode()]),
            Reply(status=302, headers=[("location", f"http://u:{echoed}@127.0.0.1:9/?key={echoed}")], body=b""),
        ]
    return replies


# -- hostile values ----------------------------------------------------------------------------

# Text a server may put anywhere: terminal escapes, bidi overrides, NULs, lone surrogates as
# JSON escapes, very long words, and the canaries themselves.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["\x1b[2J\x1b]0;owned\x07", "\u202etxt", "\x00", "\ud800", "\\", "</think>", "<think>", " " * 300]),
    st.builds(lambda n: "w" * n, st.integers(0, 5000)),
)
hostile_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1, "12", None, True, [], {}]),
)
hostile_scalar = st.one_of(hostile_text, hostile_number)
# Model output (content, tool calls) is delivered as the server wrote it, by design; the
# request's secrets are echoed into everything else (ids, model, finish reason, usage, extras).
hostile_meta = st.one_of(st.just(ECHO), st.builds(lambda v: [v, ECHO], hostile_scalar))
hostile_value = st.recursive(hostile_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=8)
deep_value = st.integers(150, 3000).map(lambda depth: json.loads("[" * min(depth, 900) + "]" * min(depth, 900)) if depth < 900 else "DEEP")


def _dumps(value: Any) -> str:
    """JSON as a hostile server writes it: NaN and Infinity literals allowed, any depth."""
    if value == "DEEP":
        return "[" * 100_000 + "]" * 100_000
    return json.dumps(value, allow_nan=True)


def _echoed(body: bytes, request: Request) -> bytes:
    """`body` with every ECHO replaced by the request's secrets (JSON-safe: no quotes)."""
    return body.replace(ECHO.encode(), " ".join(echoes(request)).encode())


@st.composite
def hostile_stream(draw: Any) -> bytes:
    """A stream shaped like a real one, with hostile values in its fields."""
    out = []
    calls = draw(st.integers(0, 4))
    for _ in range(draw(st.integers(1, 6))):
        delta: dict[str, Any] = {}
        if draw(st.booleans()):
            delta["content"] = draw(st.one_of(hostile_text, hostile_value))
        if calls and draw(st.booleans()):
            delta["tool_calls"] = [
                {
                    "index": draw(st.one_of(st.integers(-3, 3), hostile_number)),
                    "id": draw(st.one_of(st.sampled_from(["c1", "c1", "c2", None, ""]), hostile_value)),
                    "type": "function",
                    "function": {"name": draw(st.one_of(st.just("f"), hostile_value)),
                                 "arguments": draw(st.one_of(st.just('{"a": 1}'), hostile_text, hostile_value))},
                }
            ]
        chunk: dict[str, Any] = {
            "id": draw(st.one_of(st.just("c"), hostile_value, hostile_meta)),
            "model": draw(st.one_of(st.just("m"), hostile_value, hostile_meta)),
            "system_fingerprint": draw(hostile_meta),
            "choices": [{"index": draw(st.one_of(st.just(0), hostile_number)), "delta": delta,
                         "finish_reason": draw(st.one_of(st.none(), hostile_value, hostile_meta))}],
        }
        if draw(st.booleans()):
            chunk["usage"] = {"prompt_tokens": draw(hostile_number), "completion_tokens": draw(hostile_number),
                              "total_tokens": draw(hostile_number), "echo": draw(hostile_meta),
                              "completion_tokens_details": {"reasoning_tokens": draw(hostile_number)}}
        if draw(st.integers(0, 9)) == 0:
            chunk[draw(st.sampled_from(["choices", "usage", "id"]))] = draw(deep_value)
        out.append(f"data: {_dumps(chunk)}\n\n")
    if draw(st.booleans()):
        out.append('data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
    if draw(st.booleans()):
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


@st.composite
def hostile_body(draw: Any) -> bytes:
    """A whole chat.completion body with hostile values."""
    message: dict[str, Any] = {"role": "assistant", "content": draw(st.one_of(hostile_text, hostile_value))}
    if draw(st.booleans()):
        message["tool_calls"] = draw(st.lists(st.fixed_dictionaries({
            "id": st.one_of(st.just("c1"), hostile_value), "type": st.just("function"),
            "function": st.fixed_dictionaries({"name": st.one_of(st.just("f"), hostile_value),
                                               "arguments": st.one_of(hostile_text, hostile_value, deep_value)}),
        }), max_size=3))
    body = {
        "id": draw(st.one_of(hostile_value, hostile_meta)), "model": draw(st.one_of(hostile_value, hostile_meta)),
        "system_fingerprint": draw(hostile_meta),
        "choices": [{"index": draw(hostile_number), "message": message,
                     "finish_reason": draw(st.one_of(hostile_value, hostile_meta))}],
        "usage": draw(st.one_of(hostile_value, st.fixed_dictionaries({"prompt_tokens": hostile_number,
                                                                       "completion_tokens": hostile_number}))),
    }
    return _dumps(body).encode()


# -- where secrets could surface, searched -----------------------------------------------------


class Sentry:
    """A real sentry_sdk client whose events stay in memory (an in-memory transport)."""

    def __init__(self) -> None:
        import sentry_sdk
        from sentry_sdk.transport import Transport

        events: list[Any] = []

        class Memory(Transport):
            def capture_envelope(self, envelope: Any) -> None:
                for item in envelope.items:
                    events.append(item.get_bytes())

        self.events = events
        self.sdk = sentry_sdk
        # As an application would: `init`, locals captured (Sentry's default), nothing sent.
        sentry_sdk.init(
            dsn="https://public@sentry.invalid/1", transport=Memory, include_local_variables=True,
            default_integrations=False, max_value_length=100_000,
        )

    def close(self) -> None:
        self.sdk.get_client().close()
        self.sdk.get_global_scope().set_client(None)

    def capture(self, error: BaseException) -> str:
        """The event's exception values and the locals of every frame outside the tests
        (the test's own frames hold the canaries it configured)."""
        self.events.clear()
        self.sdk.capture_exception(error)
        self.sdk.flush()
        shown: list[Any] = []
        for raw in self.events:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            for value in (event.get("exception") or {}).get("values", []):
                frames = (value.get("stacktrace") or {}).get("frames", [])
                kept = [f for f in frames if not _test_frame(f.get("abs_path") or "")]
                shown.append({**value, "stacktrace": {"frames": kept}})
        assert shown, "Sentry recorded no exception event"
        return json.dumps(shown)


def _test_frame(path: str) -> bool:
    return "/tests/" in path.replace("\\", "/")


@pytest.fixture(scope="module")
def sentry() -> Iterator[Sentry]:
    recorder = Sentry()
    yield recorder
    recorder.close()


class Search:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self.places = 0

    def look(self, where: str, text: Any) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        text = str(text)
        self.places += 1
        for name, canary in CANARIES.items():
            if canary in text:
                self.hits.append(f"{name} canary in {where}")


@pytest.fixture(scope="module")
def search(figures: Any) -> Iterator[Search]:
    found = Search()
    yield found
    figures.add("outsider", test="canaries", places=found.places, hits=len(found.hits))


def _error_chain(error: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while error is not None and error not in out:
        out.append(error)
        error = error.__cause__ or error.__context__
    return out


def inspect_outcome(outcome: Outcome, where: str, search: Search, sentry: Sentry) -> None:
    """Only the taxonomy escapes; no canary in any view of the error."""
    error = outcome.error
    if error is None:
        return
    assert outcome.core_error is not None, f"{where}: {type(error).__name__} escaped: {error!r}"
    for link in _error_chain(error):
        assert not isinstance(link, (RecursionError, KeyError, TypeError, AttributeError, IndexError)), (where, link)
        search.look(f"{where}: str", str(link))
        search.look(f"{where}: repr", repr(link))
        search.look(f"{where}: attributes", repr(vars(link)) if hasattr(link, "__dict__") else "")
    shown = traceback.TracebackException.from_exception(error, capture_locals=True)
    for link in _tb_chain(shown):
        link.stack = traceback.StackSummary.from_list([f for f in link.stack if not _test_frame(f.filename)])
    search.look(f"{where}: traceback with locals", "".join(shown.format()))
    search.look(f"{where}: sentry event", sentry.capture(error))


def _tb_chain(tb: traceback.TracebackException) -> list[traceback.TracebackException]:
    out: list[traceback.TracebackException] = []
    current: traceback.TracebackException | None = tb
    while current is not None and current not in out:
        out.append(current)
        current = current.__cause__ or current.__context__
    return out


def _fields(server: HostileServer, *, userinfo: bool = False) -> dict[str, Any]:
    """The provider, canaries in its URL and headers. With `userinfo`, httpx2 sends the URL's
    `user:password` as Basic auth in place of the key, so the key canary is tried without it."""
    base = server.base_url + f"?key={QUERY}&sig={SIG}&code={CODE}"
    if userinfo:
        base = base.replace("http://", f"http://user:{USER}@")
    return {"baseURL": base, "maxRetries": 0, "apiKeyRef": {"kind": "env", "name": "OUTSIDER_KEY"},
            "headers": {"X-Upstream-Key": HEADER}}


def _run(entry: str, user_dir: Path, fields: dict[str, Any], stream: bool) -> Outcome:
    runner = RUNNER_BY_NAME[entry]
    if runner.available() is not None:
        pytest.skip(runner.available())
    return runner.run(Run(user_dir, fresh_provider_id("out"), fields, stream))


@pytest.fixture
def attack(isolated_user_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[HostileServer, Path]]:
    monkeypatch.setenv("OUTSIDER_KEY", KEY)
    install_recorder(monkeypatch)
    with HostileServer() as server, caplog.at_level(logging.DEBUG):
        yield server, isolated_user_dir


def _search_stores(user_dir: Path, where: str, search: Search, caplog: pytest.LogCaptureFixture) -> None:
    search.look(f"{where}: logging (httpx2, httpcore2, ours)", caplog.text)
    for path in user_dir.glob("logs.db*"):
        search.look(f"{where}: {path.name} bytes", path.read_bytes())
    db = user_dir / "logs.db"
    if db.exists():
        with sqlite3.connect(db) as conn:
            rows = conn.execute("select response_json, resolved_model from responses").fetchall()
        search.look(f"{where}: logs.db response_json rows", repr(rows))


# -- the attacks -------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_echoed_secrets_never_resurface(entry, attack, search, sentry, caplog):
    """Success metadata, errors and redirects echo the request's secrets back."""
    server, user_dir = attack
    fields = _fields(server)
    for stream, answer in ((True, echo_stream), (False, echo_body)):
        server.reset(answer)
        outcome = _run(entry, user_dir, fields, stream)
        assert outcome.error is None and outcome.text == "ok", repr(outcome.error)
        request = server.requests[0]
        assert request.headers["authorization"] == f"Bearer {KEY}" and request.headers["x-upstream-key"] == HEADER
        assert QUERY in request.path and SIG in request.path and CODE in request.path
    server.reset(lambda r: Reply())
    _run(entry, user_dir, fields, False)  # one request to learn what the server sees
    for reply in echo_errors(server.requests[0]):
        server.reset(lambda r, reply=reply: reply)
        outcome = _run(entry, user_dir, fields, stream=isinstance(reply.body, list))
        assert outcome.error is not None
        inspect_outcome(outcome, f"{entry} error {reply.status}", search, sentry)
    _search_stores(user_dir, entry, search, caplog)
    assert search.hits == [], "\n".join(sorted(set(search.hits)))


def test_llm_cli_output_and_providers_table_hide_url_secrets(attack, search):
    from click.testing import CliRunner
    from llm.cli import cli

    server, user_dir = attack
    base = _fields(server, userinfo=True)["baseURL"]
    env = {"LLM_USER_PATH": str(user_dir), "OUTSIDER_KEY": KEY}
    runner = CliRunner()
    outputs = [
        runner.invoke(cli, ["openai-compat", "add", "hostile", "--base-url", base, "--key-env", "OUTSIDER_KEY",
                            "--header", f"X-Upstream-Key: {HEADER}", "-m", "m"], env=env),
        runner.invoke(cli, ["openai-compat", "providers"], env=env),
    ]
    server.reset(lambda r: Reply(status=404, body=b'{"error": {"message": "no"}}'))
    outputs.append(runner.invoke(cli, ["openai-compat", "models", "hostile"], env=env))
    server.reset(echo_stream)
    outputs.append(runner.invoke(cli, ["-m", "hostile/m", "hi"], env=env))
    outputs.append(runner.invoke(cli, ["logs", "-n", "0", "--json"], env=env))
    assert outputs[0].exit_code == 0 and outputs[3].exit_code == 0, [o.output for o in outputs]
    for result in outputs:
        search.look("llm CLI output", result.output)
    assert search.hits == [], "\n".join(sorted(set(search.hits)))


def test_langchain_results_and_tracing_hold_no_secret(attack, search):
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.load import dumps

    from langchain_adapter import ChatOpenAICompat

    server, _ = attack
    server.reset(echo_stream)

    class Trace(BaseCallbackHandler):
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            self.seen.append((serialized, kwargs))

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            self.seen.append(response)

    model = ChatOpenAICompat(base_url=_fields(server, userinfo=True)["baseURL"], headers={"X-Upstream-Key": HEADER},
                             api_key=KEY, model="m")
    trace = Trace()
    streamed = list(model.stream("hi", config={"callbacks": [trace]}))
    message = model.invoke("hi", config={"callbacks": [trace]})
    assert message.content == "ok" and server.requests[0].headers["x-upstream-key"] == HEADER
    search.look("LangChain message", dumps(message))
    search.look("LangChain chunks", dumps(streamed))
    search.look("LangChain tracing", dumps(trace.seen))
    search.look("LangChain model", dumps(model) + repr(model) + model.model_dump_json())
    assert search.hits == [], "\n".join(sorted(set(search.hits)))


@pytest.mark.parametrize("entry", ["core", "llm", "langchain"])
def test_hostile_values_in_valid_streams(entry, attack, search, sentry, figures):
    server, user_dir = attack
    fields = _fields(server)
    tried = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=hostile_stream())
    def attack_once(body: bytes) -> None:
        server.reset(lambda r: Reply(body=_echoed(body, r), headers=[("content-type", "text/event-stream")]))
        outcome = _run(entry, user_dir, fields, stream=True)
        tried.append(outcome.error is None)
        inspect_outcome(outcome, f"{entry} hostile stream", search, sentry)

    attack_once()
    figures.add("outsider", test=f"hostile stream values via {entry}", inputs=len(tried), ok=sum(tried))
    assert search.hits == [], "\n".join(sorted(set(search.hits)))


@pytest.mark.parametrize("entry", ["core", "llm", "langchain"])
def test_hostile_values_in_valid_bodies(entry, attack, search, sentry, figures):
    server, user_dir = attack
    fields = _fields(server)
    tried = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=hostile_body())
    def attack_once(body: bytes) -> None:
        server.reset(lambda r: Reply(body=_echoed(body, r)))
        outcome = _run(entry, user_dir, fields, stream=False)
        tried.append(outcome.error is None)
        inspect_outcome(outcome, f"{entry} hostile body", search, sentry)

    attack_once()
    figures.add("outsider", test=f"hostile body values via {entry}", inputs=len(tried), ok=sum(tried))
    assert search.hits == [], "\n".join(sorted(set(search.hits)))


@given(usage=st.dictionaries(st.sampled_from(["prompt_tokens", "completion_tokens", "total_tokens", "input_tokens"]),
                             hostile_number, max_size=4))
@settings(max_examples=200, deadline=None, derandomize=True, database=None)
def test_token_counts_are_counts_or_nothing(usage):
    from llm_openai_compat.wire.chat import parse_usage

    parsed = parse_usage(usage)
    for value in (parsed.input_tokens, parsed.output_tokens, parsed.total_tokens):
        assert value is None or (type(value) is int and 0 <= value <= 2**53)
        assert value is None or math.isfinite(value)

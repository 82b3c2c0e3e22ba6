"""The fault scenario table: what the fault server does, and what the caller must see.

Each row scripts the fault server (tests/support/fault_server.py) with response specs, then
states the expected outcome: the text delivered (exactly, so a duplicated or lost chunk
fails), the exact error class from the core's tree (or None for success), how many requests
the server saw, how many retry sleeps were asked for, and the wall-time bound within which the
call must end (retry sleeps are recorded, not slept, so the bound measures everything else:
timeouts, stalls, the idle-stream limit).

`OK` in a row's specs is replaced by a successful answer in the row's mode: an SSE stream when
streaming, a `chat.completion` JSON body otherwise.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_openai_compat import errors as E
from tests.support.fixture_paths import TRANSCRIPTS
from tests.support.wire_bytes import DONE, chunk, sse

SSE = {"content-type": "text/event-stream"}
HTML = {"content-type": "text/html"}
TEXT = "Hello, world"
OK: dict[str, Any] = {"__ok__": True}
STREAM, JSON = "stream", "json"
BOTH = (STREAM, JSON)
MB = 1024 * 1024


def frame(content: str | None = None, finish: str | None = None) -> str:
    """One chat chunk as one event-stream frame."""
    return sse(chunk(content, finish, id="c1"), done=False)


def sse_text(*pieces: str, finish: str | None = "stop", done: bool = True) -> str:
    body = "".join(frame(p) for p in pieces)
    if finish:
        body += frame(None, finish)
    if done:
        body += DONE
    return body


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def ok_spec(mode: str, text: str = TEXT) -> dict[str, Any]:
    if mode == STREAM:
        pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
        return {"status": 200, "headers": SSE, "body": sse_text(*pieces), "random_chunks": 7}
    return {"status": 200, "json": completion(text)}


def err(status: int, body: Any = None, *, html: str | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"status": status, "headers": dict(headers or {})}
    if html is not None:
        spec["headers"]["content-type"] = "text/html"
        spec["body"] = html
    elif body is None:
        spec["body"] = ""
    elif isinstance(body, (bytes, bytearray)):
        spec["body_b64"] = base64.b64encode(body).decode()
    elif isinstance(body, str):
        spec["body"] = body
    else:
        spec["json"] = body
    return spec


def oai_error(message: str, etype: str = "server_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": etype, "code": code, "param": None}}


GATEWAY_HTML = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: str  # the fault family, for the report
    specs: tuple[dict[str, Any], ...]
    error: type[E.OpenAICompatError] | None = None
    text: str | None = TEXT  # exactly the text delivered (also on error: the part before it)
    requests: int | None = 1  # requests the server saw (None: not checked)
    sleeps: int | None = None  # retry sleeps asked for; default requests - 1
    sleep_kind: str = "backoff"  # "backoff": stepped and jittered; or exact seconds
    sleep_values: tuple[float, ...] = ()
    bound_s: float = 3.0
    modes: tuple[str, ...] = BOTH
    fields: dict[str, Any] = field(default_factory=dict)
    refused: bool = False  # nothing listens at the base URL
    message: tuple[str, ...] = ()  # substrings the error message must contain
    default: dict[str, Any] | None = None  # the spec served once the queue is empty
    heavy: bool = False  # big bodies: the normal suite runs them through fewer entry points
    quick_runners: tuple[str, ...] | None = None  # if set, the normal suite's only entry points

    def specs_for(self, mode: str) -> list[dict[str, Any]]:
        return [ok_spec(mode) if s is OK else s for s in self.specs]

    @property
    def expected_sleeps(self) -> int:
        if self.sleeps is not None:
            return self.sleeps
        return max(0, (self.requests or 1) - 1)


def _s(*args: Any, **kwargs: Any) -> Scenario:
    return Scenario(*args, **kwargs)


T = 250  # the timeout (ms) of rows about time
FAST = {"timeoutMs": T}
HTTP_DATE_SOON = "__http_date_plus_2__"  # replaced at run time by an HTTP date 2 s ahead


def transient_rows() -> list[Scenario]:
    rows = [
        _s("ok", "none", (OK,)),
        _s("408 then ok", "408", (err(408, oai_error("timeout")), OK), requests=2),
        _s("409 then ok", "409", (err(409, oai_error("conflict", "conflict")), OK), requests=2),
        _s("429 no Retry-After then ok", "429", (err(429, oai_error("slow down", "rate_limit_error")), OK), requests=2),
        _s("429 Retry-After 2 then ok", "429", (err(429, oai_error("slow down", "rate_limit_error"), headers={"Retry-After": "2"}), OK),
           requests=2, sleep_kind="exact", sleep_values=(2.0,)),
        _s("429 retry-after-ms 1500 then ok", "429", (err(429, oai_error("slow down", "rate_limit_error"), headers={"retry-after-ms": "1500"}), OK),
           requests=2, sleep_kind="exact", sleep_values=(1.5,)),
        _s("429 Retry-After HTTP date then ok", "429", (err(429, oai_error("slow down", "rate_limit_error"), headers={"Retry-After": HTTP_DATE_SOON}), OK),
           requests=2, sleep_kind="date"),
        _s("429 Retry-After 30 (the cap) then ok", "429", (err(429, oai_error("slow down", "rate_limit_error"), headers={"Retry-After": "30"}), OK),
           requests=2, sleep_kind="exact", sleep_values=(30.0,)),
        _s("429 Retry-After 3600 (beyond the cap)", "429", (err(429, oai_error("slow down", "rate_limit_error"), headers={"Retry-After": "3600"}), OK),
           error=E.RateLimited, text="", requests=1, message=("asked to wait 3600 s",)),
        _s("429 insufficient_quota", "429", (err(429, oai_error("You exceeded your current quota", "insufficient_quota", "insufficient_quota")), OK),
           error=E.QuotaExceeded, text="", requests=1),
        _s("429 always", "429", (), default=err(429, oai_error("slow down", "rate_limit_error")),
           error=E.RateLimited, text="", requests=5, message=("[after 5 attempts]",)),
    ]
    for status in (500, 502, 503, 504):
        rows += [
            _s(f"{status} JSON twice then ok", "5xx", (err(status, oai_error("boom")), err(status, oai_error("boom")), OK), requests=3),
            _s(f"{status} HTML then ok", "5xx", (err(status, html=GATEWAY_HTML), OK), requests=2),
            _s(f"{status} empty then ok", "5xx", (err(status), OK), requests=2),
        ]
    rows += [
        _s("503 with Retry-After 1 then ok", "5xx", (err(503, headers={"Retry-After": "1"}), OK), requests=2, sleep_kind="exact", sleep_values=(1.0,)),
        _s("500 invalid UTF-8 body then ok", "5xx", (err(500, b"\xff\xfe\xfa bad \xc3("), OK), requests=2),
        _s("500 50 MB HTML body then ok", "5xx", ({"status": 500, "headers": HTML, "repeat": {"head": "<html><title>x</title>", "unit": "y" * 1024, "count": 50 * 1024}, "chunk_size": 65536}, OK),
           requests=2, heavy=True, modes=(STREAM,)),
        _s("500 always: the breaker stops it at 5", "5xx", (), default=err(500, oai_error("boom")),
           error=E.Provider5xx, text="", requests=5, message=("[after 5 attempts]",)),
        _s("502 HTML always", "5xx", (), default=err(502, html=GATEWAY_HTML), error=E.Provider5xx, text="", requests=5,
           message=("Bad Gateway",), modes=(STREAM,)),
        _s("connection refused", "network", (), refused=True, error=E.ConnectError, text="", requests=None, sleeps=4),
        _s("reset before headers then ok", "network", ({"reset_before_headers": True}, OK), requests=2),
        _s("reset before headers always", "network", (), default={"reset_before_headers": True},
           error=E.ConnectError, text="", requests=5),
        # Before the first byte both modes share one code path: these run streaming only.
        _s("stall before headers then ok", "timeout", ({"delay_before_headers": 2.0}, OK), requests=2, fields=FAST,
           bound_s=T / 1000 + 2.5, modes=(STREAM,)),
        _s("stall before headers always (maxRetries 1)", "timeout", (), default={"delay_before_headers": 2.0},
           error=E.NetworkTimeout, text="", requests=2, fields={**FAST, "maxRetries": 1}, bound_s=2 * T / 1000 + 2.5,
           modes=(STREAM,)),
    ]
    return rows


def stream_rows() -> list[Scenario]:
    hel = sse_text("Hel", "lo", finish=None, done=False)
    return [
        _s("reset after 1 event (mid-stream)", "network",
           ({"status": 200, "headers": SSE, "body": sse_text("Hel", "lo"), "chunks": [frame("Hel"), frame("lo")], "reset_after_bytes": len(frame("Hel"))}, OK),
           error=E.StreamError, text="Hel", requests=1, modes=(STREAM,)),
        _s("connection closed cleanly mid-stream", "network",
           ({"status": 200, "headers": SSE, "chunks": [frame("Hel"), frame("lo")], "stall_after_bytes": len(frame("Hel")), "stall_seconds": 0}, OK),
           error=E.StreamError, text="Hel", requests=1, modes=(STREAM,)),
        # Headers, then nothing: no byte reached the caller, so a retried NetworkTimeout.
        _s("headers then a stall before the first byte, then ok", "timeout",
           ({"status": 200, "headers": SSE, "chunks": [frame("Hel"), frame("lo")], "stall_after_bytes": 0, "stall_seconds": 3}, OK),
           requests=2, modes=(STREAM,), fields=FAST, bound_s=T / 1000 + 2.5),
        _s("headers then a stall before the first byte, always (maxRetries 1)", "timeout", (),
           default={"status": 200, "headers": SSE, "chunks": [frame("Hel")], "stall_after_bytes": 0, "stall_seconds": 3},
           error=E.NetworkTimeout, text="", requests=2, modes=(STREAM,), fields={**FAST, "maxRetries": 1},
           bound_s=2 * T / 1000 + 2.5, message=("sent its headers, then no byte",)),
        _s("stall mid-stream", "timeout",
           ({"status": 200, "headers": SSE, "chunks": [frame("Hel"), frame("lo")], "stall_after_bytes": len(frame("Hel")), "stall_seconds": 3}, OK),
           error=E.StreamError, text="Hel", requests=1, modes=(STREAM,), fields=FAST, bound_s=T / 1000 + 2.0,
           message=("stalled",)),
        _s("a stream answering a non-streamed request", "shape mix-up",
           ({"status": 200, "headers": SSE, "body": sse_text("Hel", "lo, ", "world"), "random_chunks": 3},), modes=(JSON,)),
        _s("a JSON body answering a stream request", "shape mix-up",
           ({"status": 200, "json": completion(TEXT)},), modes=(STREAM,)),
        _s("truncated JSON event", "bad-data",
           ({"status": 200, "headers": SSE, "body": frame("Hel") + 'data: {"choices":[{"index":0,"delta":{"content":"lo'},),
           error=E.StreamError, text="Hel", modes=(STREAM,)),
        _s("truncated JSON body", "bad-data",
           ({"status": 200, "body": json.dumps(completion(TEXT))[:40]},),
           error=E.StreamError, text="", modes=(JSON,), message=("not valid JSON",)),
        _s("invalid UTF-8 inside a stream (replaced, not fatal)", "bad-data",
           ({"status": 200, "headers": SSE, "body_b64": base64.b64encode(
               b'data: {"choices":[{"index":0,"delta":{"content":"Hi \xff\xfe!"}}]}\n\n' + sse_text(finish="stop").encode()).decode()},),
           text="Hi \ufffd\ufffd!", modes=(STREAM,)),
        _s("invalid UTF-8 JSON body", "bad-data",
           ({"status": 200, "body_b64": base64.b64encode(b'{"choices":[{"message":{"content":"Hi \xff"}}]}').decode()},),
           error=E.StreamError, text="", modes=(JSON,)),
        _s("not JSON at all (HTML 200)", "bad-data",
           ({"status": 200, "headers": HTML, "body": "<html><body>Welcome to nginx</body></html>"},),
           error=E.StreamError, text="", modes=(JSON,)),
        _s("200 stream ends with no finish and no [DONE]", "bad-data",
           ({"status": 200, "headers": SSE, "body": hel},), error=E.StreamError, text="Hello", modes=(STREAM,),
           message=("no finish reason and no [DONE]",)),
        _s("error event mid-stream (event: error)", "in-stream error",
           ({"status": 200, "headers": SSE, "body": frame("Hel") + "event: error\ndata: " + json.dumps(oai_error("overloaded", "server_error")) + "\n\n"},),
           error=E.Provider5xx, text="Hel", modes=(STREAM,), message=("overloaded",)),
        _s("error chunk mid-stream (data: {error})", "in-stream error",
           ({"status": 200, "headers": SSE, "body": frame("Hel") + "data: " + json.dumps(oai_error("context too long", "invalid_request_error", "context_length_exceeded")) + "\n\n"},),
           error=E.StreamError, text="Hel", modes=(STREAM,), message=("context too long",)),
        _s("50 MB stream of 64 KB events", "size",
           ({"status": 200, "headers": SSE, "repeat": {"unit": frame("x" * 65536), "count": 800, "tail": sse_text(finish="stop")}, "chunk_size": 65536},),
           text="x" * 65536 * 800, heavy=True, modes=(STREAM,), bound_s=20.0),
        _s("50 MB JSON body", "size",
           ({"status": 200, "repeat": {"head": json.dumps(completion("@@"))[: json.dumps(completion("@@")).index("@@")], "unit": "x" * 1024, "count": 50 * 1024,
                                       "tail": json.dumps(completion("@@"))[json.dumps(completion("@@")).index("@@") + 2 :]}, "chunk_size": 65536},),
           text="x" * 1024 * 50 * 1024, heavy=True, modes=(JSON,), bound_s=20.0),
        _s("50 MB single event line", "size",
           ({"status": 200, "headers": SSE, "repeat": {"head": 'data: {"choices":[{"index":0,"delta":{"content":"', "unit": "x" * 1024, "count": 50 * 1024}, "chunk_size": 65536},),
           error=E.StreamError, text="", heavy=True, modes=(STREAM,), bound_s=20.0, message=("longer than",)),
        _s("never-ending keep-alive comments", "keep-alive",
           ({"status": 200, "headers": SSE, "body": frame("Hel"), "keepalive": {"interval": 0.05, "max_seconds": 30}},),
           error=E.StreamError, text="Hel", modes=(STREAM,), fields=FAST, bound_s=T / 1000 + 1.5, message=("only keep-alives",)),
        _s("never-ending blank data: keep-alives", "keep-alive",
           ({"status": 200, "headers": SSE, "body": "", "keepalive": {"comment": "data: \n\n", "interval": 0.05, "max_seconds": 30}},),
           error=E.StreamError, text="", modes=(STREAM,), fields=FAST, bound_s=T / 1000 + 1.5),
        _s("keep-alives only to a non-streamed request, then ok", "keep-alive",
           ({"status": 200, "headers": SSE, "body": "", "keepalive": {"interval": 0.05, "max_seconds": 30}}, OK),
           requests=2, modes=(JSON,), fields=FAST, bound_s=T / 1000 + 1.5),
        _s("whitespace forever before a JSON body (non-streamed)", "keep-alive",
           (), default={"status": 200, "body": "", "chunked": True, "keepalive": {"comment": " ", "interval": 0.05, "max_seconds": 30}},
           error=E.NetworkTimeout, text="", requests=1, modes=(JSON,), fields={**FAST, "maxRetries": 0},
           bound_s=T / 1000 + 1.5, message=("only keep-alives",)),
        _s("whitespace forever as a JSON answer to a stream request", "keep-alive",
           ({"status": 200, "body": "", "chunked": True, "keepalive": {"comment": "\n", "interval": 0.05, "max_seconds": 30}},),
           error=E.StreamError, text="", modes=(STREAM,), fields=FAST, bound_s=T / 1000 + 1.5, message=("No data for",)),
        _s("503 whose error body never ends (keep-alives)", "keep-alive",
           (), default={"status": 503, "headers": HTML, "body": "<html>", "chunked": True, "keepalive": {"comment": "\n", "interval": 0.05, "max_seconds": 30}},
           error=E.Provider5xx, text="", requests=1, fields={**FAST, "maxRetries": 0}, bound_s=T / 1000 + 1.5),
        _s("a 200 JSON body that never ends (data, not keep-alives)", "size",
           ({"status": 200, "body": '{"choices": [{"message": {"content": "', "chunked": True,
             "keepalive": {"comment": "x" * 65536, "interval": 0.001, "max_seconds": 20}},),
           error=E.StreamError, text="", heavy=True, quick_runners=("core",), bound_s=10.0, message=("larger than 64 MB",)),
        _s("slow events with keep-alives between (each within the limit)", "keep-alive",
           ({"status": 200, "headers": SSE,
             "chunks": [frame("Hello, "), ": ping\n\n", frame("wor"), ": ping\n\n", frame("ld"), sse_text(finish="stop")],
             "delay_between_chunks": 0.15},),  # events 0.3 s apart, 0.75 s in all, with a 0.5 s timeout
           modes=(STREAM,), fields={"timeoutMs": 500}, bound_s=3.0),
    ]


# -- error envelopes: every recorded error body, served with every client-error status -------

ENVELOPE_STATUSES = (400, 401, 403, 404, 422)
_AUTH_CODES = {"invalid_api_key"}
_NOT_FOUND_CODES = {"model_not_found"}
_QUOTA_CODES = {"insufficient_quota"}


def _envelope_files() -> list[Path]:
    return sorted(TRANSCRIPTS.glob("*__error_*"))


def _body_of(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("# "))


def _codes(body: str) -> set[str]:
    err_obj = json.loads(body).get("error", {})
    return {str(err_obj.get(k)) for k in ("code", "type") if err_obj.get(k) is not None}


def expected_envelope_class(status: int, codes: set[str]) -> type[E.OpenAICompatError]:
    """What the envelope means, read from its code first, then from the status (written out
    here, independently of errors.error_from_payload)."""
    if codes & _QUOTA_CODES:
        return E.QuotaExceeded
    if status in (401, 403) or codes & _AUTH_CODES:
        return E.Unauthorized
    if status == 404 or codes & _NOT_FOUND_CODES:
        return E.NotFound
    return E.BadRequest


# Envelopes that name a quirk the client can work around: on 400/422 it retries once adapted.
_ADAPTS = {"openai__chat__error_400_max_tokens_unsupported", "openai__chat__error_400_developer_role_unsupported"}


def envelope_rows() -> list[Scenario]:
    rows = []
    extra_envelopes = {
        "vllm-flat": json.dumps({"object": "error", "message": "bad input", "type": "BadRequestError", "param": None, "code": 400}),
        "fastapi-detail": json.dumps({"detail": [{"loc": ["body", "messages"], "msg": "field required", "type": "value_error.missing"}]}),
        "plain-string": json.dumps({"error": "something went wrong"}),
        "html": GATEWAY_HTML.replace("502 Bad Gateway", "Request rejected"),
        "empty": "",
    }
    sources = [(p.stem, _body_of(p)) for p in _envelope_files()] + list(extra_envelopes.items())
    for name, body in sources:
        try:
            codes = _codes(body)
        except (ValueError, AttributeError):
            codes = set()
        for status in ENVELOPE_STATUSES:
            expected = expected_envelope_class(status, codes)
            adapted = name in _ADAPTS and status in (400, 422) and expected is E.BadRequest
            spec = {"status": status, "body": body}
            if name == "html":
                spec["headers"] = HTML
            rows.append(
                _s(f"{status} {name}", "4xx envelope", (spec, spec), error=expected, text="",
                   requests=2 if adapted else 1, sleeps=0, modes=(STREAM,))
            )
    return rows


def all_rows() -> list[Scenario]:
    return transient_rows() + stream_rows() + envelope_rows()


SCENARIOS = all_rows()

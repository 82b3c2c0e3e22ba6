"""The error taxonomy. Every error a user of this package can meet is one of these.

```
OpenAICompatError
 ├── ConfigError                 bad settings: the file, provider and field are named
 │    └── MissingKey             a key reference that resolves to nothing
 ├── ProviderTransient           worth retrying (the transport already did)
 │    ├── RateLimited            429 (not insufficient_quota)
 │    ├── Provider5xx            500-599, and 408 / 409
 │    ├── NetworkTimeout         no byte for `timeoutMs` (connect, first byte, or a gap)
 │    │    └── DeadlineExceeded  the call's total budget (`deadlineMs` / `deadline=`) ran out
 │    ├── ConnectError           refused, reset, DNS, TLS
 │    └── CircuitOpen            too many consecutive failures; failing fast for a while
 ├── ProviderError               not worth retrying
 │    ├── Unauthorized           401 / 403 (also a ProviderTransient: seed 003, see below)
 │    ├── NotFound               404 (with the URL and model tried)
 │    ├── BadRequest             400 / 422 and other 4xx (with the server's message)
 │    │    └── UnsupportedRequest  a 5xx answered twice, identically, saying something is
 │    │                            unsupported or invalid (llama-server's `500 image input is
 │    │                            not supported`): deterministic, so not retried further
 │    └── QuotaExceeded          429 insufficient_quota
 ├── ProviderCapability          the server cannot do what was asked
 │    ├── MissingToolCalling     also a server's 400 saying it has no tools (then learned)
 │    └── MissingStructuredOutput
 └── StreamError                 the stream broke, was malformed, or ended without a finish
```

Seed 003's "Error translation" table, and what answers to each of its names here:

| seed 003 wire condition  | seed 003 class + code                  | raised here    | also an instance of  |
| ------------------------ | -------------------------------------- | -------------- | -------------------- |
| 429 / rate limit         | ProviderTransient / RateLimited        | RateLimited    | ProviderTransient    |
| 5xx                      | ProviderTransient / Provider5xx        | Provider5xx    | ProviderTransient    |
| 401                      | ProviderTransient / Unauthorized       | Unauthorized   | ProviderTransient, ProviderError |
| network timeout          | ProviderTransient / NetworkTimeout     | NetworkTimeout | ProviderTransient    |
| tool capability mismatch | ProviderCapability / MissingToolCalling | MissingToolCalling: before sending (profile, `capabilities.tools: false`, or learned), or from a server's 400 saying it has no tools | ProviderCapability |

Beyond the seed: a 5xx is transient unless the same request gets the same answer twice and
that answer says something is unsupported or invalid (`repeated_refusal`): then it is an
`UnsupportedRequest`, reported as what it is and never advised to "try again".
`DeadlineExceeded` is a `NetworkTimeout` so that code catching seed 003's timeout catches it,
but it is final: it is never retried and never fails over to a fallback provider, since the
budget that would pay for either is spent. Its message names the bound that fired.
403 is `Unauthorized` too; a 429 `insufficient_quota` is `QuotaExceeded` (a
`ProviderError`: waiting does not refill a quota); 404 is `NotFound`, naming the URL and model.

A 401 is not transient in fact: retrying a refused key only repeats the refusal. So
`Unauthorized` inherits `ProviderTransient` only to be *caught* by code written against the
seed; every decision about retrying, the circuit breaker and LangChain's error classes asks
`is_transient` (a `ProviderError` never is) instead of `isinstance(..., ProviderTransient)`.

Messages are one line: what happened, where (URL, provider, file, field) and what to do next.
`classify_response` is the one place that turns an HTTP status, headers and body into an error;
the transport is the one place that turns httpx exceptions into errors. Neither ever puts a
header value into a message, and every message passes through `redact` on the way out. This
module knows no key: the transport and the clients scrub an escaping error with the secrets of
the call it came from (`scrub`), see `redaction.py`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic_core

from .redaction import LazyPattern, redact, redact_url

__all__ = [
    "BadRequest",
    "CircuitOpen",
    "ConfigError",
    "ConnectError",
    "DeadlineExceeded",
    "MalformedJSON",
    "MissingKey",
    "MissingStructuredOutput",
    "MissingToolCalling",
    "NetworkTimeout",
    "NotFound",
    "OpenAICompatError",
    "Provider5xx",
    "ProviderCapability",
    "ProviderError",
    "ProviderTransient",
    "QuotaExceeded",
    "RateLimited",
    "StreamError",
    "Unauthorized",
    "UnsupportedRequest",
    "classify_response",
    "clip",
    "error_from_payload",
    "is_transient",
    "loads_json",
    "redact",
    "repeated_refusal",
]

_MAX_SERVER_MESSAGE = 300

# C0/C1 control characters (ESC starts the terminal's escape sequences) and the bidi overrides
# that reorder what a terminal shows: a server's text must not act on the user's terminal.
_CONTROL = LazyPattern("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with control characters shown as escapes (`\\x1b`) instead of acting on a terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def clip(text: str, limit: int = _MAX_SERVER_MESSAGE) -> str:
    """One line of at most `limit` characters, redacted *before* it is cut (a secret that
    straddles the cut would otherwise leave its first characters behind)."""
    text = redact(" ".join(printable(text).split()))
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


_one_line = clip


class OpenAICompatError(Exception):
    """Base of every error raised by llm-openai-compat.

    Attributes are all optional; `str(error)` is the one-line message a user sees.
    """

    default_hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        provider: str | None = None,
        status: int | None = None,
        model: str | None = None,
        server_message: str | None = None,
        code: str | None = None,
        param: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
        attempts: int | None = None,
    ) -> None:
        # Every string a server or a caller handed us is scrubbed: attributes get logged too.
        self.url = redact_url(url) if url else url
        self.provider = provider
        self.status = status
        self.model = model
        self.server_message = redact(server_message) if server_message else server_message
        self.code = redact(code) if code else code
        self.param = redact(param) if param else param
        self.hint = self.default_hint if hint is None else redact(hint)
        self.retry_after = retry_after
        self.attempts = attempts
        self.message = redact(message)
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message.rstrip(".")]
        where = []
        if self.provider:
            where.append(f"provider {self.provider!r}")
        if self.model:
            where.append(f"model {self.model!r}")
        if self.url:
            where.append(self.url)
        if self.status is not None:
            where.append(f"HTTP {self.status}")
        line = parts[0]
        if where:
            line += f" ({', '.join(where)})"
        if self.server_message:
            line += f": {_one_line(self.server_message)}"
        line = line.rstrip(" .")
        if self.attempts and self.attempts > 1:
            line += f" [after {self.attempts} attempts]"
        if self.hint:
            line += f". {self.hint}"
        return redact(printable(line.rstrip(".") + "."))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def at(
        self,
        *,
        url: str | None = None,
        provider: str | None = None,
        model: str | None = None,
    ) -> OpenAICompatError:
        """A copy with the location filled in where it is still unknown."""
        state = self._state()
        state["url"] = self.url or url
        state["provider"] = self.provider or provider
        state["model"] = self.model or model
        copy = _rebuild(type(self), self.message, state)
        assert isinstance(copy, OpenAICompatError)
        return copy

    def with_hint(self, hint: str) -> OpenAICompatError:
        """A copy whose advice is `hint`: an adapter names its own way to fix the problem
        (a CLI flag, a constructor argument) where the core can only name the setting."""
        copy = _rebuild(type(self), self.message, {**self._state(), "hint": hint})
        assert isinstance(copy, OpenAICompatError)
        return copy
    def scrub(self, secrets: Sequence[str]) -> OpenAICompatError:
        """Mask these secret values (a call's) in every text field; in place, since the error
        may already be on its way up. Returns the error."""
        if not secrets:
            return self
        secrets = sorted(set(secrets), key=len, reverse=True)  # a longer one may hold a shorter
        self.message = redact(self.message, secrets)
        for name, value in self._state().items():
            if isinstance(value, str):
                setattr(self, name, redact(value, secrets))
        self.args = (self._render(),)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep errors picklable (they cross thread and process boundaries in hosts).
        return (_rebuild, (type(self), self.message, self._state()))

    def _state(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "provider": self.provider,
            "status": self.status,
            "model": self.model,
            "server_message": self.server_message,
            "code": self.code,
            "param": self.param,
            "hint": self.hint,
            "retry_after": self.retry_after,
            "attempts": self.attempts,
        }


def _rebuild(cls: type[OpenAICompatError], message: str, state: dict[str, Any]) -> Any:
    return cls(message, **state)


class ConfigError(OpenAICompatError):
    """The settings are wrong. Names the file, the provider id and the field."""

    default_hint = "Fix the settings file (see `llm openai-compat path`)"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.file = file
        self.field = field
        super().__init__(message, **kwargs)

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.provider:
            where.append(f"provider {self.provider!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        line = self.message.rstrip(".")
        if where:
            line = f"{', '.join(where)}: {line}"
        if self.hint:
            line += f". {self.hint}"
        return redact(printable(line.rstrip(".") + "."))

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "file": self.file, "field": self.field}


class MissingKey(ConfigError):
    # Raised with a hint for the apiKeyRef's kind (`keys.resolve_api_key`); this is the fallback.
    default_hint = "Store the key where the provider's apiKeyRef points"


class ProviderTransient(OpenAICompatError):
    """Worth retrying later; the transport has already retried as the policy allows."""

    default_hint = "The server or network had a temporary problem; try again shortly"


class RateLimited(ProviderTransient):
    default_hint = "The server is rate limiting; wait a little and try again, or lower the request rate"


class Provider5xx(ProviderTransient):
    default_hint = "The server failed; try again shortly, or check the server's logs"


class NetworkTimeout(ProviderTransient):
    default_hint = "The server did not answer in time; check it is up, or raise the provider's timeoutMs"


class DeadlineExceeded(NetworkTimeout):
    """The call's total budget ran out (retries and backoff included). Never retried."""

    default_hint = (
        "Raise the deadline (deadlineMs in the settings file, deadline= in code, -o deadline "
        "in llm), or leave it unset to wait as long as the retries take"
    )


class ConnectError(ProviderTransient):
    default_hint = "Could not reach the server; check it is running and the base URL and port are right"


class CircuitOpen(ProviderTransient):
    default_hint = (
        "Too many consecutive failures, so requests to this provider fail fast for a while; "
        "check the server, then try again"
    )


class ProviderError(OpenAICompatError):
    """The server refused the request; retrying the same request will not help."""


class Unauthorized(ProviderError, ProviderTransient):
    """401 / 403. Also a `ProviderTransient` so code written against seed 003 (which files a
    401 there) catches it, but never retried: see `is_transient`."""

    # Neutral: each adapter names its own fix (`llm openai-compat add ID --key-...`, `api_key=`).
    default_hint = "Check the key the provider's apiKeyRef points at, and any auth headers"


def is_transient(error: BaseException) -> bool:
    """Whether waiting and trying again may help: a `ProviderTransient` that is not also a
    `ProviderError` (`Unauthorized` is both, for seed 003's names, and is not transient)."""
    return isinstance(error, ProviderTransient) and not isinstance(error, ProviderError)


class NotFound(ProviderError):
    default_hint = (
        "Check the model name against `llm openai-compat models PROVIDER` and that the base URL "
        "serves this endpoint"
    )


class BadRequest(ProviderError):
    # Only true when the server named nothing; `error_from_payload` says more when it did.
    default_hint = "The server gave no reason; check this request's options and inputs"


class UnsupportedRequest(BadRequest):
    """A server error (5xx) that is not transient: the same request got the same answer twice,
    and that answer says something in it is unsupported or invalid. Retrying repeats it."""

    default_hint = (
        "The server gives this answer every time, so retrying will not help; change what it "
        "objects to (e.g. leave out the attachment or option it names) or use a model or "
        "server set up for it"
    )


class QuotaExceeded(ProviderError):
    default_hint = "The account is out of quota or credit; check billing with the provider"


class ProviderCapability(OpenAICompatError):
    """The server or model cannot do what was asked (tools, schemas, ...)."""


class MissingToolCalling(ProviderCapability):
    default_hint = "Use a model that supports tool calling, or run without tools"


# A server saying it cannot call tools: OpenAI ("'tools' is not supported with this model"),
# Ollama ("... does not support tools"), llama.cpp's server without --jinja ("tools param
# requires --jinja flag"), LiteLLM ("does not support parameters: ['tools']"), and the
# "function calling is not supported/enabled" of hosted gateways. Messages about the tool
# *choice* (vLLM's '"auto" tool choice requires --enable-auto-tool-choice') are not this:
# they are learned as their own adaptation (config/profiles.py).
_TOOLS = r"(?:\btools?\b|function[ _-]?call(?:ing|s)?|tool[ _-]?(?:call(?:ing|s)?|use))"
_NO_TOOLS = LazyPattern(
    _TOOLS + r"[^.;\n]{0,40}?(?:not (?:be )?supported|unsupported|requires? --jinja|not enabled|"
    r"not available)"
    r"|(?:does not|doesn't|do not|cannot|can't) support (?:the )?(?:parameters?:?\W*)?" + _TOOLS,
    re.IGNORECASE,
)
_TOOL_CHOICE = LazyPattern(r"tool[ _-]?choice", re.IGNORECASE)


def says_tools_unsupported(message: str | None) -> bool:
    """Whether a server's error message says it cannot call tools at all."""
    if not message or _TOOL_CHOICE.search(message):
        return False
    return _NO_TOOLS.search(message) is not None


class MissingStructuredOutput(ProviderCapability):
    default_hint = "Use a model that supports JSON schemas, or ask for json_object instead"


class StreamError(OpenAICompatError):
    """The stream broke, carried malformed data, or ended without saying it was finished."""

    default_hint = "The output above may be incomplete; try again"


class MalformedJSON(StreamError, ValueError):
    """Server (or file) text that is not JSON, or is nested too deeply to be handled safely.

    Also a `ValueError`, so code that treats "not JSON" as data (an error body shown as text,
    tool arguments reported back to the model) keeps working; anything that lets it escape
    still raises an error from the tree."""

    default_hint = "Check that the base URL points at an OpenAI-compatible API"


# Deeper JSON is refused: nothing a server legitimately sends nests this far, and a value that
# nests near the interpreter's recursion limit breaks later code (json.dumps, pydantic, llm's
# logs) far from where it came in.
MAX_JSON_DEPTH = 200


# The stream parsers parse once per event (docs/performance.md): pydantic-core's parser (Rust;
# pydantic is a dependency already) takes a third of `json.loads`'s time for a chunk. Where it
# refuses text, the standard library decides, so what is accepted and how it reads is exactly
# `json.loads`'s (`_json_loads`). Its process-wide string cache is off: server text (which may
# echo a key) is never kept beyond the value parsed, and the cache bought nothing here.
_from_json = functools.partial(pydantic_core.from_json, cache_strings=False)
# `json.loads` minus its per-call wrapper (type checks, BOM test, keyword handling) for text.
_decode_str = json.JSONDecoder().decode
# A value nested N deep has N opening and N closing brackets: shorter text cannot be too deep.
_DEPTH_CHARS = 2 * MAX_JSON_DEPTH


def loads_json(data: str | bytes | bytearray) -> Any:
    """`json.loads` for text that came from outside: every failure is a `MalformedJSON`.

    json raises ValueError for bad text, UnicodeDecodeError for bad bytes, RecursionError for
    deep nesting (`"[" * 100000`) and TypeError for input that is not text; all of them
    become one error from the tree. Nesting deeper than `MAX_JSON_DEPTH` is refused
    too; the depth walk runs only when the text is long enough and holds that many brackets
    (cheap `count`s)."""
    try:
        value = _from_json(data)
    except ValueError:  # what it refuses json may still take (a lone surrogate, a BOM)
        value = _json_loads(data)
    if len(data) > _DEPTH_CHARS and isinstance(value, (dict, list)):
        opens = data.count("[") + data.count("{") if isinstance(data, str) else (
            data.count(b"[") + data.count(b"{")
        )
        if opens > MAX_JSON_DEPTH and _deeper_than(value, MAX_JSON_DEPTH):
            raise MalformedJSON(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _json_loads(data: str | bytes | bytearray) -> Any:
    """The standard library's answer, for text pydantic-core's parser refused: the same
    values and errors as `json.loads` in every case."""
    try:
        # A str starting with a BOM fails in `decode` as in `json.loads` (not whitespace).
        return _decode_str(data) if type(data) is str else json.loads(data)
    except RecursionError:
        raise MalformedJSON(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep") from None
    except (ValueError, TypeError) as exc:
        raise MalformedJSON(f"Not valid JSON: {exc}") from None


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` nests containers more than `limit` deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


# -- classification -------------------------------------------------------------------------


def _text_of(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # FastAPI/pydantic: [{"loc": [...], "msg": "..."}]
        msgs = []
        for item in value:
            if isinstance(item, Mapping):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                msg = str(item.get("msg", "")) or json.dumps(item)
                msgs.append(f"{loc}: {msg}" if loc else msg)
            else:
                msgs.append(str(item))
        return "; ".join(msgs)
    if isinstance(value, Mapping):
        for key in ("message", "msg", "detail", "error"):
            if key in value:
                return _text_of(value[key])
        return json.dumps(value, sort_keys=True)
    return str(value)


def _str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def parse_error_body(body: bytes | str | Any) -> tuple[str | None, str | None, str | None, str | None]:
    """Read (message, code, type, param) out of any error body servers are known to send.

    Handles OpenAI's `{"error": {...}}`, vLLM's flat `{"message", "type", "code"}`, a plain
    string `{"error": "..."}`, FastAPI's `{"detail": ...}`, HTML gateway pages and empty bodies.
    """
    data: Any = body
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", errors="replace")
    if isinstance(body, str):
        stripped = body.strip()
        if not stripped:
            return None, None, None, None
        try:
            data = loads_json(stripped)
        except MalformedJSON:
            if stripped.startswith("<"):
                found = re.search(r"(?is)<title>(.*?)</title>", stripped) or re.search(
                    r"(?is)<h1[^>]*>(.*?)</h1>", stripped
                )
                text = found.group(1) if found else stripped
                return _one_line(re.sub(r"<[^>]+>", " ", text), 200) or None, None, None, None
            return _one_line(stripped), None, None, None
    if not isinstance(data, Mapping):
        return _text_of(data), None, None, None
    err = data.get("error", data)
    message: str | None
    if isinstance(err, str):
        message = err
        if isinstance(data.get("message"), str):
            message = f"{err}: {data['message']}"
        return message, _str_or_none(data.get("code")), _str_or_none(data.get("type")), None
    if not isinstance(err, Mapping):
        return _text_of(err), None, None, None
    message = _text_of(err.get("message")) or _text_of(err.get("detail")) or _text_of(err.get("msg"))
    if message is None and "error" in err:
        message = _text_of(err["error"])
    if message is None and err:
        message = clip(json.dumps(err, sort_keys=True))
    # OpenRouter nests the upstream error in metadata.raw; it is usually more useful.
    metadata = err.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("raw"), str):
        message = f"{message} ({_one_line(metadata['raw'], 200)})" if message else metadata["raw"]
    code = _str_or_none(err.get("code"))
    etype = _str_or_none(err.get("type"))
    param = _str_or_none(err.get("param"))
    return message, code, etype, param


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked to wait, or None when it did not say anything usable: a value
    that is not a number, NaN, zero or negative, or a date already past. (Infinity stays: it
    is longer than any client waits, and the retry policy gives up saying so.)"""
    seconds = _retry_after_header(headers)
    if seconds is None or math.isnan(seconds) or seconds <= 0:
        return None
    return seconds


def _retry_after_header(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                import datetime as _dt

                when = parsedate_to_datetime(value)
                now = _dt.datetime.now(when.tzinfo or _dt.timezone.utc)
                return max(0.0, (when - now).total_seconds())
            except (TypeError, ValueError, IndexError):
                return None
    return None


_QUOTA_CODES = {"insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"}


def error_from_payload(
    message: str | None,
    code: str | None,
    etype: str | None,
    *,
    status: int | None = None,
    param: str | None = None,
    url: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    in_stream: bool = False,
) -> OpenAICompatError:
    """Map an error's status and code/type to a class. Used for HTTP errors and for errors
    that arrive inside a 200 stream (where the status is the code, if numeric, or absent)."""
    if status is None and code and code.isdigit():
        status = int(code)
    keys = {k.lower() for k in (code, etype) if k}
    kwargs: dict[str, Any] = {
        "url": url,
        "provider": provider,
        "status": status,
        "model": model,
        "server_message": message,
        "code": code or etype,
        "param": param,
    }
    lowered = (message or "").lower()
    if keys & _QUOTA_CODES or "insufficient_quota" in lowered or "exceeded your current quota" in lowered:
        return QuotaExceeded("The provider reports the quota is used up", **kwargs)
    if status in (401, 403) or keys & {"invalid_api_key", "authentication_error", "permission_denied", "unauthorized"}:
        return Unauthorized("The server refused the credentials", **kwargs)
    if status == 429 or keys & {"rate_limit_exceeded", "rate_limit_error", "rate_limited", "too_many_requests"}:
        return RateLimited("Rate limited by the server", **kwargs)
    if status == 404 or keys & {"model_not_found", "not_found_error", "not_found"}:
        return NotFound("Not found", **kwargs)
    if status in (400, 422, 500) and says_tools_unsupported(message):
        # A 500 too: llama.cpp's server answered "requires --jinja" with one for a while.
        return MissingToolCalling(
            "The server says it cannot call tools",
            hint="Use a model or server setup with tool calling (llama.cpp: --jinja), or run "
            "without tools; until this process restarts, later calls with tools fail before "
            f"sending (check the server with `llm openai-compat test {provider or 'PROVIDER'}`)",
            **kwargs,
        )
    if status is not None and (status >= 500 or status in (408, 409)):
        return Provider5xx(f"The server failed with HTTP {status}", **kwargs)
    if keys & {"server_error", "internal_error", "api_error", "overloaded_error", "service_unavailable"}:
        return Provider5xx("The server reported an internal error", **kwargs)
    if status is not None and 400 <= status < 500:
        hint = None
        if param:
            hint = f"The server objected to the parameter {param!r}; change or remove it"
        elif message:
            hint = "Change what the server's message above objects to"
        return BadRequest("The server rejected the request", hint=hint, **kwargs)
    if in_stream:
        return StreamError("The server sent an error inside the stream", **kwargs)
    return BadRequest("The server returned an error", **kwargs)


# What a deterministic refusal says: llama-server's "image input is not supported", vLLM's
# "... is not supported for this model", "invalid ..." of servers that answer a bad input 500.
_REFUSAL = LazyPattern(
    r"\b(?:not supported|unsupported|(?:does\s*not|doesn't|do\s*not|don't|cannot|can't|can not)"
    r"\s+support|no support for|"
    r"not implemented|invalid|not valid)\b",
    re.IGNORECASE,
)


def repeated_refusal(
    previous: OpenAICompatError | None, current: OpenAICompatError
) -> UnsupportedRequest | None:
    """The `UnsupportedRequest` that `current` is, when it repeats `previous` (the same request's
    earlier attempt) exactly: both 5xx with the same status, code and server message, and that
    message saying something is unsupported or invalid. None otherwise (a 5xx that changes
    between attempts, or names no such cause, stays transient and is retried)."""
    if previous is None or not isinstance(current, Provider5xx) or not isinstance(previous, Provider5xx):
        return None
    status, message = current.status, current.server_message
    if status is None or status < 500 or not message or not _REFUSAL.search(message):
        return None
    if (previous.status, previous.code, previous.server_message) != (status, current.code, message):
        return None
    state = {**current._state(), "retry_after": None, "hint": None}
    return UnsupportedRequest(
        "The server refused this request the same way twice", **state
    )


def classify_response(
    status: int,
    headers: Mapping[str, str] | None,
    body: bytes | str,
    *,
    url: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    secrets: Sequence[str] = (),
) -> OpenAICompatError:
    """The one place an HTTP error response becomes an error from the tree. The body is
    redacted of the call's `secrets` first: its message is clipped, and a key cut in two by
    the clip could no longer be found."""
    if secrets and body:
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        body = redact(text, secrets)
    message, code, etype, param = parse_error_body(body)
    if message is None:
        message = "(empty body)" if not body else None
    error = error_from_payload(
        message, code, etype, status=status, param=param, url=url, provider=provider, model=model
    )
    error.retry_after = _retry_after(headers)
    return error

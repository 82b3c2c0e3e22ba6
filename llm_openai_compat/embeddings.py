"""Embedding many inputs: batching, learned limits, reassembly. Pure; shared by both clients.

`EmbedJob` plans batches by count and by JSON bytes (the profile's limits, lowered by what a
server's 413 or "too many inputs" taught), builds each request, takes each parsed response
into its place in input order, and sums the usage. `Client.embed` and `AsyncClient.embed`
only add the I/O loop: take a batch, send it, hand the decoded body or the error back to the
job.

Memory is flat per batch: besides the vectors it returns, a job keeps nothing per input (a
batch is planned when it is taken, each input's size measured then), and a body is decoded
from JSON by the thread that read it, so its bytes are freed before its vectors are made.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .call import USER_AGENT, Target, auth_headers, call_deadline, learn_from, profile_for
from .config.profiles import Profile
from .errors import ConfigError, OpenAICompatError
from .events import Usage
from .http.retry import Deadline
from .http.transport import Endpoint, redact_url
from .http.urls import embeddings_endpoint
from .limits import LearnedLimits
from .runtime import Runtime, default_runtime
from .wire.embeddings import EmbeddingBatch, Encoding, build_request, load_body, parse_body
from .wire.encode import encode_body, encode_text_body

__all__ = [
    "Batch",
    "EmbedJob",
    "EmbedRequest",
    "EmbeddingResult",
    "LearnedLimits",
    "input_size",
    "next_batch",
    "plan_batches",
]

# The JSON array around the inputs, the model, encoding_format and dimensions.
_BODY_OVERHEAD = 256


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """One vector per input, in input order; token counts summed over every request."""

    vectors: list[list[float]]
    model: str
    input_tokens: int | None = None
    total_tokens: int | None = None
    requests: int = 0


@dataclass(frozen=True, slots=True)
class Batch:
    """Inputs `start` to `stop` (exclusive), `size` JSON bytes of them."""

    start: int
    stop: int
    size: int

    @property
    def count(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, slots=True)
class EmbedRequest:
    """One batch ready to send; its fields are those `client._Recorder` logs."""

    batch: Batch
    endpoint: Endpoint
    body: Mapping[str, Any] = field(repr=False)
    body_bytes: bytes = field(repr=False)
    model: str
    shape: str = "embeddings"
    stream: bool = False


# What JSON escapes (with ensure_ascii=False): a text without any of these is its UTF-8 bytes,
# quoted. (No byte of a multi-byte UTF-8 character is below 0x80.)
_ESCAPED = bytes(range(0x20)) + b'"\\'
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def input_size(text: str) -> int:
    """The input's bytes in the JSON body (escapes counted), plus its comma."""
    raw = text.encode("utf-8")
    # Deleting what JSON escapes, in one C pass: a quarter of a regex search's time.
    if len(raw.translate(None, _ESCAPED)) == len(raw):
        return len(raw) + 3
    return len(_dumps(text).encode("utf-8")) + 1


class _LazySizes(Sequence[int]):
    """The inputs' sizes, each measured when a plan asks for it: nothing kept per input."""

    __slots__ = ("_texts",)

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = texts

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, position: int) -> int:  # type: ignore[override]  # no slices here
        return input_size(self._texts[position])


def next_batch(
    sizes: Sequence[int], start: int, stop: int, max_inputs: int, max_bytes: int
) -> Batch:
    """The batch starting at `start` (before `stop`): at most `max_inputs` inputs and
    `max_bytes` bytes; an input larger than `max_bytes` alone goes in a batch of its own (the
    server decides whether it is too long)."""
    position, total = start, 0
    end = min(stop, start + max_inputs)
    while position < end:
        size = sizes[position]
        if position > start and total + size > max_bytes:
            break
        total += size
        position += 1
    return Batch(start, position, total)


def plan_batches(
    sizes: Sequence[int], start: int, stop: int, max_inputs: int, max_bytes: int
) -> list[Batch]:
    """Consecutive `next_batch`es covering inputs `start..stop`."""
    batches: list[Batch] = []
    while start < stop:
        batches.append(next_batch(sizes, start, stop, max_inputs, max_bytes))
        start = batches[-1].stop
    return batches


def _check_texts(texts: Sequence[str], provider: str) -> None:
    """Every input a string that can be sent, checked before any batch is."""
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise ConfigError(
                f"input {position} is {type(text).__name__}, not text",
                provider=provider,
                hint="Pass strings; this server's profile does not embed binary content",
            )
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigError(
                    f"input {position} is not valid Unicode (it holds a lone surrogate)",
                    provider=provider,
                    hint="Decode the text with errors='replace', or drop the character",
                ) from None


class EmbedJob:
    """The state of one `embed` call. Not thread-safe: the I/O loop owns it."""

    def __init__(
        self,
        target: Target,
        texts: Sequence[str],
        *,
        model: str,
        dimensions: int | None = None,
        encoding: Encoding | None = None,
        batch_size: int | None = None,
        extra_body: Mapping[str, Any] | None = None,
        learned: LearnedLimits | None = None,
        runtime: Runtime | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        """`deadline` bounds the whole job, every batch and retry (None: the provider's
        `deadlineMs`, counted from now)."""
        if dimensions is not None and dimensions <= 0:
            raise ConfigError(
                f"dimensions must be a positive integer, not {dimensions}",
                provider=target.id, model=model, field="dimensions",
            )
        _check_texts(texts, target.id)
        self.target = target
        self.model = model
        self.texts = texts
        self.dimensions = dimensions  # asked for; sent with every batch when given
        # The length every vector must have: asked for, else the first batch's.
        self._expected = dimensions
        # Not the provider's extraBody: that is written for chat (chat_template_kwargs...).
        self._extra_body = dict(extra_body or {})
        self.runtime = runtime or default_runtime()
        self.profile: Profile = profile_for(target, self.runtime)
        self.encoding: Encoding = encoding or (
            "base64" if self.profile.supports_embedding_base64 else "float"
        )
        self._explicit_encoding = encoding is not None
        self._learned = self.runtime.embed_limits if learned is None else learned
        self._key = (target.id, model)
        self._batch_size = batch_size
        self._sizes = _LazySizes(texts)
        self._vectors: list[list[float] | None] = [None] * len(texts)
        self._left = len(texts)
        self._planned = 0  # inputs before this one are in a batch already
        self._input_tokens: int | None = None
        self._total_tokens: int | None = None
        self._server_model: str | None = None
        self._tried: set[str] = set()
        self.requests = 0
        # Batches to send before the next one planned from `_planned` on: the first one
        # (planned now, so `single` knows), and those a refusal had planned again.
        self.pending: deque[Batch] = deque()
        if texts:
            self.pending.append(self._plan_next())
        settings = target.settings
        self._endpoint = Endpoint(
            provider=target.id,
            url=embeddings_endpoint(settings.base_url, settings.url_mode),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                **settings.headers,
                **auth_headers(target, self.profile),
            },
            timeout_ms=settings.timeout_ms,
            verify_tls=settings.verify_tls,
            max_attempts=None if settings.max_retries is None else settings.max_retries + 1,
            model=model,
            deadline=deadline or call_deadline(settings.deadline_ms),
        )

    # -- planning ------------------------------------------------------------------------

    def limits(self) -> tuple[int, int]:
        """(inputs, bytes) per request now: the profile's, the caller's, what was learned."""
        inputs, size = self.profile.embedding_max_inputs, self.profile.embedding_max_bytes
        if self._batch_size is not None:
            inputs = min(inputs, self._batch_size)
        learned_inputs, learned_size = self._learned.get(self._key)
        if learned_inputs is not None:
            inputs = min(inputs, learned_inputs)
        if learned_size is not None:
            size = min(size, learned_size)
        return max(1, inputs), max(1, size - _BODY_OVERHEAD)

    def _plan(self, start: int, stop: int) -> list[Batch]:
        inputs, size = self.limits()
        return plan_batches(self._sizes, start, stop, inputs, size)

    def _plan_next(self) -> Batch:
        batch = next_batch(self._sizes, self._planned, len(self.texts), *self.limits())
        self._planned = batch.stop
        return batch

    @property
    def done(self) -> bool:
        return self._left == 0

    @property
    def single(self) -> bool:
        """Whether one batch is all there is to send now (no thread pool worth starting)."""
        return len(self.pending) <= 1 and self._planned == len(self.texts)

    def take(self) -> EmbedRequest | None:
        """The next batch to send, or None when none is waiting."""
        if self.pending:
            batch = self.pending.popleft()
        elif self._planned < len(self.texts):
            return self._request(self._plan_next())
        else:
            return None
        inputs, size = self.limits()
        if batch.count > inputs or (batch.count > 1 and batch.size > size):
            # Planned before a refusal lowered the limits: planned again under them.
            smaller = plan_batches(self._sizes, batch.start, batch.stop, inputs, size)
            batch = smaller[0]
            self.pending.extendleft(reversed(smaller[1:]))
        return self._request(batch)

    def _request(self, batch: Batch) -> EmbedRequest:
        body = build_request(
            self.model,
            self.texts[batch.start : batch.stop],
            dimensions=self.dimensions,
            encoding=self.encoding,
            extra_body=self._extra_body,
        )
        # The caller's extra_body may hold anything JSON does; without it the body is text.
        encoded = encode_body(body) if self._extra_body else encode_text_body(body)
        return EmbedRequest(batch, self._endpoint, body, encoded, self.model)

    # -- outcomes ------------------------------------------------------------------------

    def where(self) -> dict[str, Any]:
        return {"url": redact_url(self._endpoint.url), "provider": self.target.id, "model": self.model}

    def load(self, raw: bytes) -> Any:
        """A response body decoded from JSON. Thread-safe (it reads nothing that changes), so
        the thread that read the body decodes it, and the bytes are freed before the vectors
        are made from it (`received`)."""
        try:
            return load_body(raw)
        except OpenAICompatError as error:
            failure = error.at(**self.where())
        raise failure

    def received(self, request: EmbedRequest, loaded: Any) -> Usage:
        """Take a decoded response body (`load`) into place, using it up; returns its usage
        (for the request log)."""
        batch = request.batch
        failure: OpenAICompatError | None
        try:
            parsed: EmbeddingBatch = parse_body(
                loaded, count=batch.count, dimensions=self._expected
            )
        except OpenAICompatError as error:
            failure = error.at(**self.where())
        else:
            failure = None
        if failure is not None:
            raise failure
        self.requests += 1
        if self._expected is None:
            self._expected = len(parsed.vectors[0])  # every later batch must match it
        self._vectors[batch.start : batch.stop] = parsed.vectors
        self._left -= batch.count
        if parsed.input_tokens is not None:
            self._input_tokens = (self._input_tokens or 0) + parsed.input_tokens
        if parsed.total_tokens is not None:
            self._total_tokens = (self._total_tokens or 0) + parsed.total_tokens
        self._server_model = self._server_model or parsed.model
        return Usage(input_tokens=parsed.input_tokens, total_tokens=parsed.total_tokens)

    def _too_many(self, error: OpenAICompatError) -> bool:
        if error.status == 413:
            return True
        if error.status not in (400, 422):
            return False
        text = (error.server_message or "").lower()
        return any(phrase in text for phrase in self.profile.embedding_too_many)

    def failed(self, request: EmbedRequest, error: OpenAICompatError) -> bool:
        """After a request failed: True when the batch was planned again (smaller, or as
        floats) and the loop goes on; False when the caller raises `error`."""
        batch = request.batch
        if self._too_many(error) and batch.count > 1:
            half = batch.count // 2
            if error.status == 413:
                self._learned.lower(self._key, inputs=half, size=batch.size // 2 + _BODY_OVERHEAD)
            else:
                self._learned.lower(self._key, inputs=half)
            self.pending.extendleft(reversed(self._plan(batch.start, batch.stop)))
            return True
        if (
            self.encoding == "base64"
            and not self._explicit_encoding
            and learn_from(self.runtime, self.target.id, self.profile, error, self._tried) is not None
        ):
            self.profile = profile_for(self.target, self.runtime)
            if not self.profile.supports_embedding_base64:
                self.encoding = "float"
            self.pending.appendleft(batch)
            return True
        return False

    def result(self) -> EmbeddingResult:
        return EmbeddingResult(
            vectors=self._vectors,  # type: ignore[arg-type]  # done: every slot is filled
            model=self._server_model or self.model,
            input_tokens=self._input_tokens,
            total_tokens=self._total_tokens,
            requests=self.requests,
        )

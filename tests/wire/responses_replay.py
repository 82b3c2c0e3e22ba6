"""Replaying Responses-API SSE through the real decoder, parser and assembler, and reducing
the events to what a user of the stream ends up with (`normalize`) or to a form two runs can
compare with `==` (`comparable`). Shared by the recorded-transcript and synthetic-stream tests.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from llm_openai_compat.config.profiles import DEFAULT
from llm_openai_compat.errors import OpenAICompatError
from llm_openai_compat.events import (
    Event,
    Finish,
    ReasoningDelta,
    ReasoningItem,
    ResponseMeta,
    StreamFailure,
    TextDelta,
    ToolCall,
    Usage,
)
from llm_openai_compat.wire.assemble import Assembler
from llm_openai_compat.wire.responses import ResponsesStreamParser, parse_body
from tests.support.openapi import read_transcript
from tests.wire.replay import replay_sse


def is_raw_sse(body: str) -> bool:
    return any(line.startswith("data:") for line in body.split("\n"))


def stream_payloads(name: str) -> list[str]:
    """The SSE bytes (as text, LF line ends) of each response recorded in a stream file.

    Files of "one JSON event per line" get SSE framing back; a file holding several
    responses back to back is split at each `response.created`."""
    _, body = read_transcript(name)
    if is_raw_sse(body):
        return [body]
    streams: list[list[str]] = []
    for line in body.split("\n"):
        if not line.strip():
            continue
        if json.loads(line).get("type") == "response.created" or not streams:
            streams.append([])
        streams[-1].append(f"data: {line}\n\n")
    return ["".join(lines) for lines in streams]


def replay(chunks: Iterable[bytes | str]) -> list[Event]:
    """Events of a Responses stream (a `str` chunk is encoded, as `sse()` writes text)."""
    raw = [c.encode() if isinstance(c, str) else c for c in chunks]
    return replay_sse(raw, DEFAULT, parser_class=ResponsesStreamParser)


def replay_body(obj: dict[str, Any]) -> list[Event]:
    assembler = Assembler(think_tags=DEFAULT.think_tags)
    return assembler.feed(parse_body(obj, DEFAULT)) + assembler.close()


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def random_chunks(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        step = rng.randint(1, 64)
        out.append(data[i : i + step])
        i += step
    return out


def comparable(events: Sequence[Event]) -> list[Any]:
    """Events with errors replaced by (class, message): exceptions compare by identity."""
    return [
        ("error", type(e.error).__name__, str(e.error)) if isinstance(e, StreamFailure) else e
        for e in events
    ]


@dataclass(frozen=True)
class Result:
    """What a user of the stream ends up with, whatever the chunking or delta granularity."""

    meta: tuple[str | None, str | None] | None
    text: str
    raw_reasoning: str
    summary: str
    items: tuple[tuple[str | None, tuple[str, ...], str | None], ...]
    calls: tuple[tuple[int, str, str, Any], ...]
    usage: tuple[int | None, ...] | None
    finish: str | None
    failure: type[OpenAICompatError] | None


def normalize(events: Sequence[Event]) -> Result:
    metas = [e for e in events if isinstance(e, ResponseMeta)]
    usages = [e for e in events if isinstance(e, Usage)]
    finishes = [e for e in events if isinstance(e, Finish)]
    failures = [e for e in events if isinstance(e, StreamFailure)]
    assert len(finishes) + len(failures) == 1, events  # exactly one ending
    assert len(usages) <= 1
    return Result(
        meta=(metas[0].id, metas[0].model) if metas else None,
        text="".join(e.text for e in events if isinstance(e, TextDelta)),
        raw_reasoning="".join(
            e.text for e in events if isinstance(e, ReasoningDelta) and e.kind == "raw"
        ),
        summary="".join(
            e.text for e in events if isinstance(e, ReasoningDelta) and e.kind == "summary"
        ),
        items=tuple(
            (e.id, tuple(e.summary), e.encrypted_content)
            for e in events
            if isinstance(e, ReasoningItem)
        ),
        calls=tuple(
            (e.index, e.id, e.name, e.arguments) for e in events if isinstance(e, ToolCall)
        ),
        usage=(
            (
                usages[0].input_tokens,
                usages[0].output_tokens,
                usages[0].total_tokens,
                usages[0].cached_input_tokens,
                usages[0].reasoning_tokens,
            )
            if usages
            else None
        ),
        finish=finishes[0].reason if finishes else None,
        failure=type(failures[0].error) if failures else None,
    )


def raw_events(payload: str) -> list[dict[str, Any]]:
    return [
        json.loads(line[5:])
        for line in payload.split("\n")
        if line.startswith("data:") and line[5:].strip() != "[DONE]"
    ]


def notes_of(name: str) -> str:
    return read_transcript(name)[0]["notes"]

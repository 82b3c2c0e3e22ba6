"""What the fuzzers drive: the SSE decoder, both shape parsers with the assembler, both
`parse_body`s, and error classification. Each target takes raw input and either returns or
raises an `OpenAICompatError`; anything else escaping is a bug. Shared by the hypothesis tests
(test_fuzz.py) and the atheris harness (atheris_harness.py).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from llm_openai_compat.config.profiles import DEFAULT, PROFILES, Profile
from llm_openai_compat.errors import OpenAICompatError, classify_response
from llm_openai_compat.wire import chat, responses
from llm_openai_compat.wire.assemble import Assembler
from llm_openai_compat.wire.sse import SSEDecoder

__all__ = [
    "PROFILE_LIST", "decode_sse", "parse_body", "run_chat", "run_classify", "run_responses",
    "split",
]

PROFILE_LIST: list[Profile] = [DEFAULT, *sorted(PROFILES.values(), key=lambda p: p.name)]


def split(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """`data` cut at the given offsets (taken modulo its length, sorted)."""
    if not data:
        return [data]
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def decode_sse(chunks: Sequence[bytes], max_event_bytes: int = 4096) -> list[tuple[str, str]]:
    decoder = SSEDecoder(max_event_bytes=max_event_bytes)
    out: list[tuple[str, str]] = []
    for chunk in chunks:
        out += [(e.event, e.data) for e in decoder.feed(chunk)]
    out += [(e.event, e.data) for e in decoder.flush()]
    return out


def _assemble(parser: Any, events: Sequence[tuple[str, str]], profile: Profile) -> list[Any]:
    assembler = Assembler(think_tags=profile.think_tags)
    produced: list[Any] = []
    for event, data in events:
        produced += assembler.feed(parser.feed_event(event, data))
    produced += assembler.close()
    for item in produced:  # a reported failure carries an error from the tree
        if item.type == "error":
            assert isinstance(item.error, OpenAICompatError)
    return produced


def run_chat(events: Sequence[tuple[str, str]], profile: Profile = DEFAULT) -> list[Any]:
    return _assemble(chat.ChatStreamParser(profile), events, profile)


def run_responses(events: Sequence[tuple[str, str]], profile: Profile = DEFAULT) -> list[Any]:
    return _assemble(responses.ResponsesStreamParser(profile), events, profile)


def parse_body(obj: Any, shape: str, profile: Profile = DEFAULT) -> list[Any]:
    """A whole non-streamed body through its shape's parser and the assembler."""
    if not isinstance(obj, dict):
        return []
    module = chat if shape == "chat" else responses
    assembler = Assembler(think_tags=profile.think_tags)
    out = assembler.feed(module.parse_body(obj, profile))
    return out + assembler.close()


def run_classify(status: int, headers: dict[str, str], body: bytes) -> OpenAICompatError:
    error = classify_response(status, headers, body, url="http://127.0.0.1/v1", provider="p")
    assert isinstance(error, OpenAICompatError)
    str(error), repr(error)
    return error


def json_events(values: Sequence[Any]) -> list[tuple[str, str]]:
    return [("message", json.dumps(v)) for v in values]

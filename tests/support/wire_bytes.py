"""What a server sends, as tests write it by hand: event-stream frames and chat-completion chunks.

    sse(chunk("Hel"), chunk("lo", "stop"))            # two frames, then `data: [DONE]`
    sse('{"x": 1}', done=False)                        # a string is sent as is
    sse(chunk({"tool_calls": [...]}), done=False).encode()

The recorded transcripts (tests/fixtures/) are the real thing; these are for the cases no server
was recorded doing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["DONE", "bare_chunk", "chunk", "sse"]

DONE = "data: [DONE]\n\n"


def sse(*payloads: Mapping[str, Any] | str, done: bool = True) -> str:
    """One `data:` frame per payload (a mapping as JSON, a string as is), then `[DONE]`."""
    frames = [f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n" for p in payloads]
    if done:
        frames.append(DONE)
    return "".join(frames)


def chunk(
    delta: Mapping[str, Any] | str | None = None, finish: str | None = None, **top: Any
) -> dict[str, Any]:
    """One `chat.completion.chunk` with one choice. `delta` is the delta object, or a string for
    `{"content": ...}`; `top` adds or replaces top-level fields (`id`, `model`, `usage`...)."""
    return {"id": "chatcmpl-1", "model": "m", **bare_chunk(delta, finish), **top}


def bare_chunk(
    delta: Mapping[str, Any] | str | None = None, finish: str | None = None, **top: Any
) -> dict[str, Any]:
    """`chunk` without `id` and `model`, so a parser fed it emits no `ResponseMeta`."""
    if isinstance(delta, str):
        delta = {"content": delta}
    return {"choices": [{"index": 0, "delta": dict(delta or {}), "finish_reason": finish}], **top}

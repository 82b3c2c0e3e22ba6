"""The recorded bodies in `tests/fixtures/transcripts-more/` that carry what adapters must not
drop (logprobs, refusals, citations, cost, service tier), ready to serve over HTTP."""

from __future__ import annotations

import base64
from typing import Any, Literal

from tests.support.fixture_paths import MORE_TRANSCRIPTS

Shape = Literal["chat-completions", "responses"]


def body_of(name: str) -> str:
    """The body of a transcript: everything after its three `# key: value` header lines."""
    lines = (MORE_TRANSCRIPTS / name).read_text(encoding="utf-8").split("\n")
    while lines and lines[0].startswith("# ") and ":" in lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def is_stream(name: str) -> bool:
    return "__stream_" in name


def shape_of(name: str) -> Shape:
    return "responses" if "__responses__" in name else "chat-completions"


def response_spec(name: str) -> dict[str, Any]:
    """A fault-server response replaying the recording byte for byte (SSE with CRLF ends)."""
    body = body_of(name).encode("utf-8")
    if is_stream(name):
        data, kind = body.replace(b"\n", b"\r\n"), "text/event-stream"
    else:
        data, kind = body.strip(), "application/json"
    return {
        "status": 200,
        "headers": {"content-type": kind},
        "body_b64": base64.b64encode(data).decode(),
    }


# name -> what must survive: each key is checked by the tests of every adapter.
CASES: dict[str, dict[str, Any]] = {
    "openai__chat__stream_logprobs_content.txt": {"logprobs": True, "system_fingerprint": True},
    "openai__chat__nonstream_logprobs_top_logprobs.txt": {
        "logprobs": True, "top": True, "service_tier": "default"
    },
    "openai__chat__stream_refusal_with_logprobs.txt": {
        "refusal": "I'm very sorry, but I can't assist with that.",
        "refusal_logprobs": True,
        "system_fingerprint": True,
    },
    "openai__chat__nonstream_refusal.txt": {
        "refusal": "I'm very sorry, but I can't assist with that.",
        "system_fingerprint": True,
    },
    "openai__chat__nonstream_search_preview_url_citation.txt": {"citations": True},
    "openai__responses__stream_web_search_url_citation.txt": {
        "citations": True, "server_tools": True, "service_tier": "default"
    },
    "openai__responses__nonstream_web_search_url_citation.txt": {
        "citations": True, "server_tools": True
    },
    "openrouter__chat__nonstream_url_citation_usage_cost.txt": {"citations": True, "cost": True},
    "openrouter__chat__stream_url_citation_annotations_in_delta.txt": {
        "citations": True, "cost": True
    },
}

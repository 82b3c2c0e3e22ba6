"""The server's own count of a conversation's input tokens, where it has a tokenizer endpoint.

Two endpoints, tried by shape: the Responses API's `POST {base}/responses/input_tokens` (the
request's own body, answered with `input_tokens`), and `POST {root}/tokenize` at the server's
root (vLLM reads `messages` and applies the chat template, answering `count`; llama.cpp's
server reads `content` and answers `tokens`). One body serves both `/tokenize` servers. A
server without either answers 404 and the caller falls back to an estimate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from .call import Prepared
from .errors import MalformedJSON, loads_json
from .http.transport import Endpoint
from .wire.assemble import count_of

__all__ = ["TokenCount", "parse_token_count", "token_count_request"]

TokenSource = Literal["responses-input-tokens", "tokenize"]


@dataclass(frozen=True, slots=True)
class TokenCount:
    """Input tokens as the server's tokenizer counts them, and which endpoint said so."""

    tokens: int
    source: TokenSource


def token_count_request(prepared: Prepared) -> tuple[Endpoint, bytes, TokenSource]:
    """Where to ask, and what to send, for the prepared (non-streamed) request."""
    body = dict(prepared.body)
    url = prepared.endpoint.url.split("?", 1)
    if prepared.shape == "responses":
        for key in ("stream", "store", "include", "max_output_tokens"):
            body.pop(key, None)
        url[0] = url[0] + "/input_tokens"
        source: TokenSource = "responses-input-tokens"
    else:
        root = url[0].removesuffix("/chat/completions").removesuffix("/v1")
        url[0] = root + "/tokenize"
        messages = body.get("messages") or []
        body = {"model": body.get("model"), "messages": messages, "content": _text_of(messages)}
        source = "tokenize"
    endpoint = replace(prepared.endpoint, url="?".join(url), max_attempts=1)
    return endpoint, json.dumps(body, ensure_ascii=False).encode("utf-8"), source


def parse_token_count(content: bytes, source: TokenSource) -> TokenCount | None:
    """The count in a tokenizer's answer (`input_tokens`, `count`, or a `tokens` list)."""
    try:
        obj: Any = loads_json(content)
    except MalformedJSON:
        return None
    if not isinstance(obj, Mapping):
        return None
    for key in ("input_tokens", "count"):
        value = count_of(obj.get(key))
        if value is not None:
            return TokenCount(value, source)
    tokens = obj.get("tokens")
    return TokenCount(len(tokens), source) if isinstance(tokens, list) else None


def _text_of(messages: Any) -> str:
    """The messages' text, one per line (llama.cpp tokenizes text, not messages)."""
    lines = []
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            lines.append(content)
        elif isinstance(content, list):
            lines.extend(
                str(part.get("text")) for part in content
                if isinstance(part, Mapping) and isinstance(part.get("text"), str)
            )
    return "\n".join(lines)

"""Byte-stable request serialization.

Prompt caches on the server match on the prefix of what the model sees, and that prefix is
rebuilt from the request every turn, so the same conversation must serialize to the same bytes
turn after turn: no incidental whitespace, UTF-8 kept as is, and keys in the order the
request builders (and the caller, for schemas, tools and `extra_body`) put them. Keys are not
sorted: the builders are deterministic already, and sorting would reorder a JSON schema's
`properties`, which models with structured outputs generate in the order given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pydantic_core

__all__ = ["encode_body", "encode_text_body"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_body(body: Mapping[str, Any]) -> bytes:
    return _ENCODER.encode(body).encode("utf-8")


def encode_text_body(body: Mapping[str, str | int | list[str]]) -> bytes:
    """`encode_body` for a body of strings, integers and lists of strings only (an embeddings
    batch): pydantic-core's serializer writes the same bytes for those types (the same escapes,
    UTF-8 kept, no whitespace) in half the time, which a batch of long texts notices. Floats,
    whose shortest forms the two write differently, never go through it."""
    return pydantic_core.to_json(body)

"""Byte-stable request serialization.

Prompt caches on the server match on the prefix of what the model sees, and that prefix is
rebuilt from the request every turn, so the same conversation must serialize to the same bytes
turn after turn: sorted keys, no incidental whitespace, UTF-8 kept as is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["encode_body"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def encode_body(body: Mapping[str, Any]) -> bytes:
    return _ENCODER.encode(body).encode("utf-8")

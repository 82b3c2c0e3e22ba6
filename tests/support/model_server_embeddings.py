"""`POST /v1/embeddings` of the model server: deterministic vectors derived from each text.

A vector is `DIMENSIONS` (or the request's `dimensions`) float32 values in [-1, 1) taken from
the SHA-256 of the text, so a test can compute the expected vector itself (`expected_vector`)
and base64 and float answers carry the very same values. Flags (see model_server.py):

    shuffle           `data` in reverse order (each item keeps its `index`)
    max-inputs=<N>    413 when a request has more than N inputs
    too-many=<N>      400 "Too many inputs. The max number of inputs is N." above N inputs
    max-bytes=<N>     413 when the request body is larger than N bytes
    no-base64         400 (param encoding_format) when base64 is asked for
    float-only        floats even when base64 is asked for
    nan               the second vector's first value is NaN
    short             the last vector is one value short
    no-index          the first item has no `index`
    dup-index         the last item repeats the first's index
    deep=<N>          the body is the answer nested N arrays deep
    huge=<MB>         the body is padded with a string of MB megabytes
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from typing import Any

from tests.support.model_server_answers import ApiError

__all__ = ["DIMENSIONS", "embeddings_response", "expected_vector"]

DIMENSIONS = 8


def expected_vector(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """The vector the server answers for `text`: float32 values, so exact after a round trip."""
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    while len(seed) < dimensions * 2:
        seed += hashlib.sha256(seed).digest()
    raw = [(int.from_bytes(seed[2 * i : 2 * i + 2], "little") - 32768) / 32768 for i in range(dimensions)]
    packed = struct.pack(f"<{dimensions}f", *raw)
    return list(struct.unpack(f"<{dimensions}f", packed))


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def embeddings_response(body: Any, flags: dict[str, Any], raw_size: int) -> bytes:
    """The JSON body answering one `/embeddings` request (or raise ApiError)."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object")
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
        raise ApiError(400, "input must be a string or a list of strings", param="input")
    limit = flags.get("max-bytes")
    if limit and raw_size > int(limit):
        raise ApiError(413, f"Request body of {raw_size} bytes is larger than {limit}")
    limit = flags.get("max-inputs")
    if limit and len(inputs) > int(limit):
        raise ApiError(413, f"Payload too large: {len(inputs)} inputs")
    limit = flags.get("too-many")
    if limit and len(inputs) > int(limit):
        raise ApiError(400, f"Too many inputs. The max number of inputs is {limit}.", param="input")
    encoding = body.get("encoding_format", "float")
    if encoding == "base64" and "no-base64" in flags:
        raise ApiError(400, "Unsupported value: 'encoding_format'", param="encoding_format")
    dimensions = body.get("dimensions") or DIMENSIONS
    data = []
    for index, text in enumerate(inputs):
        vector: list[float] = expected_vector(text, dimensions)
        if "nan" in flags and index == 1:
            vector[0] = float("nan")
        if "short" in flags and index == len(inputs) - 1:
            vector = vector[:-1]
        embedding: Any = vector
        if encoding == "base64" and "float-only" not in flags:
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        item: dict[str, Any] = {"object": "embedding", "index": index, "embedding": embedding}
        data.append(item)
    if "no-index" in flags and data:
        del data[0]["index"]
    if "dup-index" in flags and len(data) > 1:
        data[-1]["index"] = data[0]["index"]
    if "shuffle" in flags:
        data.reverse()
    tokens = sum(_tokens(t) for t in inputs)
    answer: dict[str, Any] = {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    if flags.get("huge"):
        answer["padding"] = "x" * int(float(flags["huge"]) * 2**20)
    data_bytes = json.dumps(answer).encode()
    if flags.get("deep"):  # written, not dumped: json.dumps itself would recurse too deep
        depth = int(flags["deep"])
        data_bytes = b"[" * depth + data_bytes + b"]" * depth
    return data_bytes

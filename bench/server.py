"""The benchmark's local server: HTTP/1.1 keep-alive on 127.0.0.1, pre-rendered responses.

It runs in its own process (`python -m bench.server`, which prints `PORT <n>` when ready), on
a bare asyncio Protocol: a request costs one header scan, two regex searches in the body and
one `transport.write` of bytes rendered once and cached. `bench.ceiling` measures how fast it
is with a raw-socket client, so the report can show it is never the bottleneck.

Routes: `POST .../chat/completions`, `POST .../responses` (the `model` in the body picks the
answer, see `bench.payloads`; `"stream": true` streams it), `POST .../embeddings` (one
768-dimension vector per input, float or base64 as asked, rendered once per batch size),
`GET .../models`, and
`GET /bench/stats` (connections accepted and requests answered so far).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import selectors
import signal
import subprocess
import sys
from collections.abc import Iterator

from .payloads import render

__all__ = ["serve", "start_server"]

_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)\s*$")
_CHUNKED = re.compile(rb"(?im)^transfer-encoding:\s*chunked\s*$")
_MODEL = re.compile(rb'"model"\s*:\s*"([^"]+)"')
_STREAM = re.compile(rb'"stream"\s*:\s*true')
_MODELS_BODY = json.dumps(
    {"object": "list", "data": [{"id": "hi", "object": "model", "owned_by": "bench"}]}
).encode()

_cache: dict[tuple[str, str, bool], bytes] = {}
_ENCODING_B64 = re.compile(rb'"encoding_format"\s*:\s*"base64"')
_DIMENSIONS = 768
_embed_cache: dict[tuple[int, bool], bytes] = {}
# Connections accepted and requests answered, for `GET /bench/stats`: whether pooled clients
# really reuse their connections.
STATS = {"connections": 0, "requests": 0}


def _reply(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body


def _error(status: str, message: str) -> bytes:
    return _reply(
        status,
        json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode(),
    )


def respond(method: bytes, path: bytes, body: bytes) -> bytes:
    path = path.split(b"?", 1)[0].rstrip(b"/")
    STATS["requests"] += 1
    if path == b"/bench/stats":
        return _reply("200 OK", json.dumps(STATS).encode())
    if method == b"GET" and path.endswith(b"/models"):
        return _reply("200 OK", _MODELS_BODY)
    if method != b"POST":
        return _error("405 Method Not Allowed", "only POST")
    if path.endswith(b"/embeddings"):
        return _embeddings(body)
    if path.endswith(b"/chat/completions"):
        shape = "chat"
    elif path.endswith(b"/responses"):
        shape = "responses"
    else:
        return _error("404 Not Found", f"no route {path.decode(errors='replace')}")
    match = _MODEL.search(body)
    if not match:
        return _error("400 Bad Request", "no model in the body")
    key = (shape, match.group(1).decode(), bool(_STREAM.search(body)))
    reply = _cache.get(key)
    if reply is None:
        try:
            reply = render(*key)
        except ValueError as exc:
            return _error("404 Not Found", str(exc))
        _cache[key] = reply
    return reply


def _embeddings(body: bytes) -> bytes:
    """Vectors for a batch: input `i` gets a vector whose values depend on `i` only, so a
    client that reorders them is caught by the worker's check."""
    try:
        inputs = json.loads(body)["input"]
    except (ValueError, KeyError, TypeError):
        return _error("400 Bad Request", "no input in the body")
    count = 1 if isinstance(inputs, str) else len(inputs)
    b64 = bool(_ENCODING_B64.search(body))
    reply = _embed_cache.get((count, b64))
    if reply is None:
        import base64
        import struct

        data = []
        for index in range(count):
            vector = [((index * 31 + d) % 997) / 997.0 for d in range(_DIMENSIONS)]
            packed = struct.pack(f"<{_DIMENSIONS}f", *vector)
            embedding: object = base64.b64encode(packed).decode() if b64 else list(
                struct.unpack(f"<{_DIMENSIONS}f", packed)
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        answer = {
            "object": "list", "data": data, "model": "bench-embed",
            "usage": {"prompt_tokens": count, "total_tokens": count},
        }
        reply = _embed_cache[(count, b64)] = _reply("200 OK", json.dumps(answer).encode())
    return reply


def _dechunk(data: bytes | bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked request body starting at `start`: (body, end offset), or None if incomplete."""
    parts: list[bytes] = []
    at = start
    while True:
        line_end = data.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(data[at:line_end]).split(b";")[0], 16)
        at = line_end + 2
        if size == 0:
            end = data.find(b"\r\n", at)  # no trailers expected
            return (b"".join(parts), end + 2) if end >= 0 else None
        if len(data) < at + size + 2:
            return None
        parts.append(bytes(data[at : at + size]))
        at += size + 2


class _Connection(asyncio.Protocol):
    __slots__ = ("buf", "transport")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        STATS["connections"] += 1
        self.transport = transport
        self.buf = bytearray()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            start = end + 4
            match = _CONTENT_LENGTH.search(head)
            if match:
                stop = start + int(match.group(1))
                if len(buf) < stop:
                    return
                body = bytes(buf[start:stop])
            elif _CHUNKED.search(head):
                done = _dechunk(buf, start)
                if done is None:
                    return
                body, stop = done
            else:
                body, stop = b"", start
            del buf[:stop]
            method, _, rest = head.partition(b" ")
            path = rest.partition(b" ")[0]
            self.transport.write(respond(method, path, body))  # type: ignore[attr-defined]


async def serve(port: int = 0, *, ready: bool = True) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, "127.0.0.1", port, backlog=1024)
    actual = server.sockets[0].getsockname()[1]
    if ready:
        print(f"PORT {actual}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


@contextlib.contextmanager
def start_server(timeout_s: float = 20.0) -> Iterator[int]:
    """Run the server in a child process; yield its port; stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.server"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout_s):
                raise RuntimeError("the benchmark server did not start")
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the benchmark server said {line!r}")
        yield int(line.split()[1])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(port))


if __name__ == "__main__":
    main()

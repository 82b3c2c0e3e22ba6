"""A hostile OpenAI-compatible server, written for the outsider attack tests.

Deliberately independent of the suite's scripted servers (`fault_server`, `model_server`):
a plain `http.server` on 127.0.0.1 whose every answer is decided by a function the test
sets, `server.answer = lambda request: Reply(...)`. A reply says the status, the headers
and the body, which may be bytes (sent with a Content-Length) or an iterable of pieces (sent
chunked, one flush per piece), optionally gzip-compressed as a whole, or nothing at all
(`hang=True`: the connection is accepted, the request read, and no byte ever comes back
until the server stops). Requests are recorded (method, path, headers, body).
"""

from __future__ import annotations

import gzip
import http.server
import json
import socketserver
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HostileServer", "Reply", "Request", "chat_body", "sse", "sse_chunks"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Iterable[bytes] = b""
    gzip: bool = False  # compress the body (streamed bodies as one gzip stream, piece by piece)
    hang: bool = False


def sse(obj: Any) -> bytes:
    """One `data:` event (a string is sent as is, anything else as JSON)."""
    data = obj if isinstance(obj, str) else json.dumps(obj)
    return f"data: {data}\n\n".encode()


def sse_chunks(pieces: Iterable[Any], *, done: bool = True) -> Iterator[bytes]:
    for piece in pieces:
        yield sse(piece)
    if done:
        yield b"data: [DONE]\n\n"


def chat_body(text: str = "ok", **extra: Any) -> bytes:
    """A whole chat.completion body."""
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        **extra,
    }
    return json.dumps(body).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        owner = self.server.owner
        with owner.lock:
            owner.requests.append(request)
        reply = owner.answer(request)
        if reply.hang:
            owner.stopping.wait(60)
            self.close_connection = True
            return
        self.send_response_only(reply.status)
        names = {name.lower() for name, _ in reply.headers}
        for name, value in reply.headers:
            self.send_header(name, value)
        if "content-type" not in names:
            streamed = not isinstance(reply.body, (bytes, bytearray))
            self.send_header("content-type", "text/event-stream" if streamed else "application/json")
        if reply.gzip:
            self.send_header("content-encoding", "gzip")
        try:
            if isinstance(reply.body, (bytes, bytearray)):
                data = gzip.compress(bytes(reply.body)) if reply.gzip else bytes(reply.body)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                compressor = zlib.compressobj(wbits=31) if reply.gzip else None
                for piece in reply.body:
                    if owner.stopping.is_set():
                        break
                    data = compressor.compress(piece) if compressor else piece
                    if data:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                if compressor:
                    tail = compressor.flush()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(tail), tail))
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            self.close_connection = True

    do_GET = do_POST = _handle


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: HostileServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (timeouts, abandoned streams) is part of the tests


class HostileServer:
    """Start with `with HostileServer() as server:`; `server.base_url` ends in `/v1`."""

    def __init__(self, answer: Callable[[Request], Reply] | None = None) -> None:
        self.answer: Callable[[Request], Reply] = answer or (lambda request: Reply(body=chat_body()))
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/v1"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def reset(self, answer: Callable[[Request], Reply] | None = None) -> None:
        with self.lock:
            self.requests.clear()
        if answer is not None:
            self.answer = answer

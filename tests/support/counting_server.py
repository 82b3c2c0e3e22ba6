"""An in-process HTTP/1.1 keep-alive server on 127.0.0.1 that counts its open connections.

Listens on several ports at once (each one a distinct origin for the client's pools) and
answers every POST with a chat completion whose text names the request (`model` of the body
and the path), so a caller can check the answer is its own. Each request is recorded with the
client's address (host, port): two requests on one connection have the same one. A status
other than 200 answers with an OpenAI-style error that echoes the request's auth header, as
a hostile or careless server might.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["CountingServer", "Seen", "counting_server", "process_sockets"]


@dataclass(frozen=True)
class Seen:
    path: str
    peer: tuple[str, int]
    model: str


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response (flushed after each request) and no Nagle: a keep-alive answer
    # in two small writes waits ~40 ms for the client's delayed ACK otherwise.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: _Listener

    def setup(self) -> None:
        super().setup()
        self.server.owner._opened()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._closed()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            model = str(json.loads(raw or b"{}").get("model", ""))
        except ValueError:
            model = ""
        owner = self.server.owner
        owner._record(Seen(self.path, self.client_address[:2], model))
        if owner.status == 200:
            body = {
                "id": "c1",
                "object": "chat.completion",
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": f"{model} {self.path}"}}],
            }
        else:
            echoed = self.headers.get("authorization") or self.headers.get("api-key") or ""
            body = {"error": {"message": f"rejected credentials {echoed}", "type": "error"}}
        data = json.dumps(body).encode()
        self.send_response(owner.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    owner: CountingServer


class CountingServer:
    """`ports` listeners sharing one count of open connections and one request log."""

    def __init__(self, ports: int = 1, status: int = 200) -> None:
        self.status = status
        self._lock = threading.Lock()
        self._open = 0
        self._accepted = 0
        self._seen: list[Seen] = []
        self._listeners: list[_Listener] = []
        for _ in range(ports):
            listener = _Listener(("127.0.0.1", 0), _Handler)
            listener.owner = self
            self._listeners.append(listener)
            threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True).start()
        self.ports = [listener.server_address[1] for listener in self._listeners]

    def url(self, index: int = 0, path: str = "/v1") -> str:
        return f"http://127.0.0.1:{self.ports[index]}{path}"

    def _opened(self) -> None:
        with self._lock:
            self._open += 1
            self._accepted += 1

    def _closed(self) -> None:
        with self._lock:
            self._open -= 1

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return self._open

    @property
    def accepted(self) -> int:
        with self._lock:
            return self._accepted

    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def wait_open_at_most(self, limit: int, timeout: float = 5.0) -> int:
        """The open connections, once at most `limit` (a closed socket's EOF reaches the
        handler thread a moment later), or what is open when `timeout` s have passed."""
        deadline = time.monotonic() + timeout
        while self.open_connections > limit and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_connections

    def close(self) -> None:
        for listener in self._listeners:
            listener.shutdown()
            listener.server_close()


@contextmanager
def counting_server(ports: int = 1, status: int = 200) -> Iterator[CountingServer]:
    server = CountingServer(ports, status)
    try:
        yield server
    finally:
        server.close()


def process_sockets() -> int:
    """Sockets this process has open (its client and server ends, and listeners)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


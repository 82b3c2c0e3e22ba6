#!/usr/bin/env python3
"""A scriptable HTTP/1.1 server on raw sockets, for transport tests that need real faults.

Run `python tests/support/fault_server.py --port 0`: the first stdout line is `PORT <n>`; it
serves on 127.0.0.1 until killed or until its stdin closes (so it dies with its parent).

Each non-control request takes the next response spec from a queue (or the default spec when
the queue is empty). Raw sockets let a spec do what real servers and networks do: reset the
connection (RST) before or during a body, stall mid-stream, split a body at odd boundaries.

Spec keys: status, headers, body | body_b64 | json | repeat, chunks | chunk_size |
random_chunks, delay_before_headers, delay_between_chunks, stall_after_bytes + stall_seconds,
reset_before_headers, reset_after_bytes, chunked, close, keepalive. Control endpoints:
POST /_control/enqueue {"responses": [spec, ...]}, POST /_control/reset,
GET /_control/requests, POST /_control/default <spec>, GET /_control/stats.

`repeat` builds a large body on the server, so it never crosses the control channel:
{"head": str, "unit": str, "count": n, "tail": str, "number": bool} is head + n units + tail
(with "number", each unit's "{n}" becomes its index), capped at MAX_REPEAT_BYTES.
`keepalive` {"comment": ": ping\n\n", "interval": s, "max_seconds": s} sends the comment every
`interval` seconds after the body, until the client goes away or `max_seconds` (capped at
MAX_STALL_SECONDS) pass: a never-ending keep-alive stream, bounded. `/_control/stats` counts the
connections that carried at least one scripted request (so connection reuse can be measured).
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import socket
import socketserver
import struct
import sys
import threading
import time
from collections import deque
from http import HTTPStatus
from typing import Any

MAX_STALL_SECONDS = 120.0
MAX_REPEAT_BYTES = 256 * 1024 * 1024
INITIAL_DEFAULT: dict[str, Any] = {
    "status": 500,
    "json": {"error": {"message": "no scripted response", "type": "server_error"}},
}


class State:
    """The queue, the default spec and the recorded requests, shared by all handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: deque[dict[str, Any]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.default: dict[str, Any] = dict(INITIAL_DEFAULT)
        self.connections = 0  # connections that carried at least one scripted request

    def next_spec(self) -> dict[str, Any]:
        with self.lock:
            return self.queue.popleft() if self.queue else self.default


STATE = State()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _repeat(spec: dict[str, Any]) -> bytes:
    head = str(spec.get("head", "")).encode()
    unit = str(spec.get("unit", ""))
    count = int(spec.get("count", 0))
    tail = str(spec.get("tail", "")).encode()
    if len(head) + len(tail) + len(unit.encode()) * count > MAX_REPEAT_BYTES:
        raise ValueError("repeat body too large")
    if spec.get("number"):
        middle = b"".join(unit.replace("{n}", str(i)).encode() for i in range(count))
    else:
        middle = unit.encode() * count
    return head + middle + tail


def _body_of(spec: dict[str, Any]) -> bytes:
    if "repeat" in spec:
        return _repeat(spec["repeat"])
    if "body_b64" in spec:
        return base64.b64decode(spec["body_b64"])
    if "json" in spec:
        return json.dumps(spec["json"]).encode()
    return str(spec.get("body", "")).encode()


def _split(spec: dict[str, Any], body: bytes) -> list[bytes]:
    """The body as the list of pieces to write, one write (and one HTTP chunk) each."""
    if "chunks" in spec:
        return [str(c).encode() for c in spec["chunks"]]
    if spec.get("chunk_size"):
        n = int(spec["chunk_size"])
        return [body[i : i + n] for i in range(0, len(body), n)]
    if "random_chunks" in spec:
        rng = random.Random(spec["random_chunks"])
        pieces, i = [], 0
        while i < len(body):
            n = rng.randint(1, 64)
            pieces.append(body[i : i + n])
            i += n
        return pieces
    return [body] if body else []


class Handler(socketserver.BaseRequestHandler):
    request: socket.socket

    def handle(self) -> None:
        # No Nagle: a head and a body written separately must not wait for a delayed ACK.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.request.makefile("rb")
        counted = False
        try:
            while True:
                parsed = self._read_request()
                if parsed is None:
                    return
                method, target, headers, body = parsed
                path, _, query = target.partition("?")
                if path.startswith("/_control/"):
                    keep = self._control(method, path, body)
                else:
                    with STATE.lock:
                        if not counted:
                            STATE.connections += 1
                            counted = True
                        STATE.requests.append(
                            {
                                "method": method,
                                "path": path,
                                "query": query,
                                "headers": headers,
                                "body": body.decode("utf-8", errors="replace"),
                            }
                        )
                    keep = self._respond(STATE.next_spec())
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, TimeoutError, OSError):
            return
        finally:
            self._close()

    # -- reading -------------------------------------------------------------------------

    def _read_request(self) -> tuple[str, str, dict[str, str], bytes] | None:
        line = self.reader.readline(65537)
        while line in (b"\r\n", b"\n"):  # tolerate stray blank lines between requests
            line = self.reader.readline(65537)
        if not line:
            return None
        method, target, _version = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = self.reader.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = self.reader.read(length) if length else b""
        return method, target, headers, body

    # -- writing -------------------------------------------------------------------------

    def _send_simple(self, status: int, payload: Any) -> bool:
        data = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 {status} {_reason(status)}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(data)}\r\n\r\n"
        )
        self.request.sendall(head.encode() + data)
        return True

    def _control(self, method: str, path: str, body: bytes) -> bool:
        data = json.loads(body) if body.strip() else {}
        with STATE.lock:
            if path == "/_control/enqueue" and method == "POST":
                STATE.queue.extend(data.get("responses", []))
                result: Any = {"queued": len(STATE.queue)}
            elif path == "/_control/reset" and method == "POST":
                STATE.queue.clear()
                STATE.requests.clear()
                STATE.default = dict(INITIAL_DEFAULT)
                STATE.connections = 0
                result = {"ok": True}
            elif path == "/_control/requests" and method == "GET":
                result = list(STATE.requests)
            elif path == "/_control/stats" and method == "GET":
                result = {"connections": STATE.connections, "requests": len(STATE.requests)}
            elif path == "/_control/default" and method == "POST":
                STATE.default = data
                result = {"ok": True}
            else:
                return self._send_simple(404, {"error": f"unknown control {method} {path}"})
        return self._send_simple(200, result)

    def _respond(self, spec: dict[str, Any]) -> bool:
        """Write one scripted response. Returns False when the connection must end."""
        status = int(spec.get("status", 200))
        headers = {str(k).lower(): str(v) for k, v in (spec.get("headers") or {}).items()}
        headers.setdefault("content-type", "application/json")
        body = _body_of(spec)
        pieces = _split(spec, body)
        chunked = bool(spec.get("chunked", headers["content-type"].startswith("text/event-stream")))
        close = bool(spec.get("close"))
        if chunked:
            headers["transfer-encoding"] = "chunked"
        else:
            headers["content-length"] = str(sum(map(len, pieces)))
        headers["connection"] = "close" if close else "keep-alive"

        if spec.get("delay_before_headers"):
            time.sleep(float(spec["delay_before_headers"]))
        if spec.get("reset_before_headers"):
            self._reset()
            return False
        head = f"HTTP/1.1 {status} {_reason(status)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.request.sendall(head.encode("latin-1"))

        limit = None
        for key in ("reset_after_bytes", "stall_after_bytes"):
            if spec.get(key) is not None:
                limit = int(spec[key])
        sent = 0
        for index, piece in enumerate(pieces):
            if limit is not None and sent + len(piece) > limit:
                piece = piece[: limit - sent]
            if piece:
                self.request.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if limit is not None and sent >= limit:
                break
            if spec.get("delay_between_chunks") and index < len(pieces) - 1:
                time.sleep(float(spec["delay_between_chunks"]))

        if spec.get("reset_after_bytes") is not None:
            time.sleep(0.1)  # let the bytes reach the client before the RST discards them
            self._reset()
            return False
        if spec.get("stall_after_bytes") is not None:
            time.sleep(min(float(spec.get("stall_seconds", 30.0)), MAX_STALL_SECONDS))
            return False
        if spec.get("keepalive"):
            self._keepalive(spec["keepalive"], chunked)
        if chunked:
            self.request.sendall(b"0\r\n\r\n")
        return not close

    def _keepalive(self, spec: dict[str, Any], chunked: bool) -> None:
        """Comments forever, as a server whose model never answers would send: bounded by
        `max_seconds`; ends early when the client closes the connection (the write fails)."""
        comment = str(spec.get("comment", ": keep-alive\n\n")).encode()
        interval = max(0.001, float(spec.get("interval", 0.05)))
        deadline = time.monotonic() + min(float(spec.get("max_seconds", 10.0)), MAX_STALL_SECONDS)
        frame = b"%x\r\n%s\r\n" % (len(comment), comment) if chunked else comment
        while time.monotonic() < deadline:
            self.request.sendall(frame)
            time.sleep(interval)

    def _reset(self) -> None:
        """Close with SO_LINGER 0, so the kernel sends RST instead of FIN."""
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._close()

    def _close(self) -> None:
        # The reader holds a reference to the socket: close both, or the fd stays open.
        try:
            self.reader.close()
        finally:
            self.request.close()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client going away is not news
            super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        while sys.stdin.read(4096):  # serve until the parent closes our stdin (or dies)
            pass
    except KeyboardInterrupt:
        pass
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()

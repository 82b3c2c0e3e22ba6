"""An in-process server on 127.0.0.1 that answers each request with bytes written by the test.

For the HTTP framing itself (chunk-size lines, chunk footers, trailers, a body cut mid-chunk,
bytes split across sends at odd places), which a server built on an HTTP library will not
write. Each answer is a list of steps: bytes are sent (one `sendall` each), a float sleeps that
many seconds (at most `MAX_PAUSE_S`), and `CLOSE` ends the connection. Without `CLOSE` the
connection is kept for the next request. Every socket has a timeout, so a test that goes wrong
ends rather than hangs.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress

__all__ = ["CLOSE", "RawServer", "Step", "chunked", "raw_server"]

CLOSE = "close"
Step = bytes | float | str
MAX_PAUSE_S = 5.0
_TIMEOUT_S = 10.0


def chunked(*pieces: bytes, head: bytes = b"", end: bool = True) -> bytes:
    """A 200 event-stream answer's head (unless `head` is given) and `pieces` as HTTP chunks,
    with the last chunk when `end`."""
    start = head or (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return start + body + (b"0\r\n\r\n" if end else b"")


class RawServer:
    """`answer(n, request)` gives the steps for the n-th request (counted from 0)."""

    def __init__(self, answer: Callable[[int, bytes], Sequence[Step]]) -> None:
        self._answer = answer
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # how often the accepting thread checks for the end
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def url(self, path: str = "/v1/chat/completions") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _read_request(self, conn: socket.socket, buffer: bytearray) -> bytes | None:
        while b"\r\n\r\n" not in buffer:
            data = conn.recv(65536)
            if not data:
                return None
            buffer += data
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            data = conn.recv(65536)
            if not data:
                return None
            rest += data
        buffer[:] = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(_TIMEOUT_S)
        buffer = bytearray()
        try:
            while not self._stopping.is_set():
                request = self._read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    index = len(self.requests)
                    self.requests.append(request)
                for step in self._answer(index, request):
                    if step == CLOSE:
                        return
                    if isinstance(step, float):
                        self._stopping.wait(min(step, MAX_PAUSE_S))
                    elif isinstance(step, bytes):
                        conn.sendall(step)
        except OSError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self._stopping.set()
        with self._lock:
            for conn in self._conns:  # wakes a thread waiting for a next request
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=_TIMEOUT_S)
        self._listener.close()


@contextmanager
def raw_server(answer: Callable[[int, bytes], Sequence[Step]]) -> Iterator[RawServer]:
    server = RawServer(answer)
    try:
        yield server
    finally:
        server.close()

"""The server's ceiling, read by a raw-socket client: `python -m bench.ceiling PORT`.

No HTTP library, no JSON parsing: send a request, read bytes until the response is complete.
If these numbers are far above every client's, the server is never what is being measured.
Prints one JSON object: stream chunks/s, sequential call latency, async requests/s at 50.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import statistics
import sys
import time

__all__ = ["measure"]

_CL = re.compile(rb"(?i)content-length:\s*(\d+)")
_END = b"0\r\n\r\n"


def _request(model: str, stream: bool) -> bytes:
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    ).encode()
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    )


def _read_fixed(sock: socket.socket, buf: bytearray) -> bytearray:
    """Read one content-length response from `buf` + socket; return what is left over."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            match = _CL.search(buf, 0, end)
            assert match, "no content-length"
            stop = end + 4 + int(match.group(1))
            if len(buf) >= stop:
                return buf[stop:]
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        buf += data


def stream_rate(port: int, chunks: int) -> dict[str, float]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        request = _request(f"text-{chunks}", True)
        sock.sendall(request)  # warm-up: the server renders and caches the body
        tail = b""
        while not tail.endswith(_END):
            tail = (tail + sock.recv(1 << 20))[-16:]
        t0 = time.perf_counter()
        sock.sendall(request)
        size, tail = 0, b""
        while not tail.endswith(_END):
            data = sock.recv(1 << 20)
            size += len(data)
            tail = (tail + data)[-16:]
        elapsed = time.perf_counter() - t0
    return {"chunks_per_s": chunks / elapsed, "mb_per_s": size / elapsed / 1e6}


def sequential_calls(port: int, n: int) -> dict[str, float]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = _request("hi", False)
        buf = bytearray()
        times = []
        for i in range(n + 20):
            t0 = time.perf_counter()
            sock.sendall(request)
            buf = _read_fixed(sock, buf)
            if i >= 20:
                times.append(time.perf_counter() - t0)
    return {"call_ms": statistics.median(times) * 1000}


async def _concurrent(port: int, total: int, concurrency: int) -> float:
    request = _request("hi", False)
    per = total // concurrency

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray()
        for _ in range(per):
            writer.write(request)
            while True:
                end = buf.find(b"\r\n\r\n")
                if end >= 0:
                    match = _CL.search(buf, 0, end)
                    assert match
                    stop = end + 4 + int(match.group(1))
                    if len(buf) >= stop:
                        del buf[:stop]
                        break
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("closed")
                buf += data
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return per * concurrency / (time.perf_counter() - t0)


def measure(port: int, chunks: int = 100_000) -> dict[str, float]:
    out: dict[str, float] = {}
    out.update(stream_rate(port, chunks))
    out.update(sequential_calls(port, 1000))
    out["async_req_per_s"] = asyncio.run(_concurrent(port, 5000, 50))
    return out


if __name__ == "__main__":
    port = int(sys.argv[1])
    chunks = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    print(json.dumps(measure(port, chunks)), flush=True)

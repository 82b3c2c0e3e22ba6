#!/usr/bin/env python3
"""A fast OpenAI-compatible server on asyncio streams, for load tests (127.0.0.1 only).

Run `python tests/support/load_server.py --port 0 --chunks 100000`: the first stdout line is
`PORT <n>`; it serves until its stdin closes. Keep-alive HTTP/1.1; every POST is answered from
responses built once at start, so the server is never the bottleneck:

- model "small": a stream of "a", "b", "c" then finish and [DONE] (or one JSON body when the
  request says "stream": false);
- model "big": a stream of `--chunks` chunks whose texts are "0,", "1,", "2,", ... so a lost,
  repeated or reordered chunk shows.

`GET /_stats` returns {"connections": opened, "requests": answered}; `POST /_reset` zeroes
them. A connection counts once it carries a request (control calls aside), so reuse is
measured on the server's side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
from typing import Any

STATS = {"connections": 0, "requests": 0}


def sse(texts: list[str] | Any) -> bytes:
    parts = [
        b'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"'
        + t.encode() + b'"},"finish_reason":null}]}\n\n'
        for t in texts
    ]
    parts.append(b'data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n')
    parts.append(b'data: {"id":"c1","model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}\n\n')
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def response(body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def build(chunks: int) -> dict[tuple[str, bool], bytes]:
    small_json = json.dumps(
        {"id": "c1", "object": "chat.completion", "model": "m",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "abc"}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}}
    ).encode()
    return {
        ("small", True): response(sse(["a", "b", "c"]), "text/event-stream"),
        ("small", False): response(small_json, "application/json"),
        ("big", True): response(sse(f"{i}," for i in range(chunks)), "text/event-stream"),
    }


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answers: dict[tuple[str, bool], bytes]) -> None:
    counted = False
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            if target.startswith("/_stats"):
                data = json.dumps(STATS).encode()
                writer.write(response(data, "application/json"))
            elif target.startswith("/_reset"):
                STATS.update(connections=0, requests=0)
                writer.write(response(b"{}", "application/json"))
            else:
                STATS["requests"] += 1
                if not counted:
                    STATS["connections"] += 1
                    counted = True
                request = json.loads(body or b"{}")
                model = "big" if request.get("model") == "big" else "small"
                stream = bool(request.get("stream", False)) or model == "big"
                writer.write(answers[(model, stream)])
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def serve(port: int, chunks: int) -> None:
    answers = build(chunks)
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, answers), "127.0.0.1", port, backlog=1024, limit=1 << 20
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wait_for_stdin() -> None:
        while sys.stdin.read(4096):
            pass
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.chunks))


if __name__ == "__main__":
    main()

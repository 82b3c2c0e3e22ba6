#!/usr/bin/env python3
"""A deterministic OpenAI-compatible model server for tests. Standard library only.

Run `python tests/support/model_server.py --port 0`: the first stdout line is `PORT <n>`; it
serves on 127.0.0.1 only (HTTP/1.1 keep-alive, chunked SSE) until killed (with `--watch-stdin`,
also when its stdin closes, so it never outlives the test process that started it).

URLs. `http://127.0.0.1:PORT/v1/...` has every capability. `/f/<flag>+<flag>/v1/...` switches
capabilities off or behaviours on, per request, so one process serves every variant:

    no-stream-options   400 (OpenAI-style, param "stream_options") when the body has stream_options
    no-tools            400 when tools are sent
    no-auto-tool-choice 400 like vLLM without --enable-auto-tool-choice (its own error shape,
                        param null) when tool_choice is "auto"
    missing-choice-none tools without a tool_choice are never called (llama-cpp-python's
                        chatml-function-calling reads a missing choice as "none")
    no-responses        404 on /responses
    no-json-schema      400 on a json_schema response format (chat or responses)
    no-developer        400 like OpenAI's "'messages[0].role' does not support 'developer'"
    typed-items         400 "Cannot determine type of 'item'" (llama.cpp's server) for a Responses
                        input item without `type`
    no-history          the same 400 for any assistant message in Responses input (a server
                        that serves turn one and breaks on turn two)
    no-index            streamed chat tool-call deltas carry no `index` key
    reasoning           reasoning before the answer: chat `reasoning_content` deltas, responses
                        a reasoning item with summary events
    reasoning-field     like `reasoning`, in the chat `reasoning` field instead
    usage-every-chunk   every streamed chat chunk carries the running usage (stream_options or not)
    key=<KEY>           require `Authorization: Bearer <KEY>`, else 401 invalid_api_key
    fail=<STATUS>       answer every API request with that status and an OpenAI-style error
    delay=<MS>          sleep between streamed events
    words=<N>           the plain text answer is N words long (for long streams)

Endpoints: `POST /v1/chat/completions` and `POST /v1/responses` (streamed or not), `GET
/v1/models`; `GET /_requests` returns the recorded API requests as a JSON list of {method, path,
flags, headers (lowercased), body, outcome}, where outcome is "complete", "error" or
"disconnected" (the client closed the stream early); `POST /_reset` clears them.

Answers depend only on the request:
- `model` is echoed back;
- after a tool result, a text answer naming the tool and quoting its output;
- a tool call when the choice forces one (required/any, or a named tool), or when a tool's name
  (or a distinctive word of it) appears in the last user message, or a single tool and the prompt
  says to use the tool; with parallel_tool_calls not false, every matching tool is called.
  Arguments follow the tool's JSON schema: numbers found in the prompt for integer/number
  fields, quoted text, then capitalised phrases, then content words for strings, the first value
  of an enum, nested objects and arrays recursively, every property present;
- json_schema formats get JSON conforming to the schema; json_object gets an object whose keys
  are the quoted identifiers in the prompt (or the schema named in the system text);
- otherwise "Hello! You said: <last user message>." (mentioning an image or a document when one
  was attached), streamed one word per event;
- max_tokens / max_completion_tokens / max_output_tokens cut the answer (finish_reason length);
  stop sequences cut it before the first match; usage counts words and punctuation.

This module is the HTTP server and entry point; the request and its answer are in
`model_server_answers.py`, the two wire shapes in `model_server_chat.py` and
`model_server_responses.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

if not __package__:  # run by path (model_servers.py): make `tests.support` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.model_server_answers import CREATED, ApiError, plan
from tests.support.model_server_chat import chat_body, chat_events, read_chat
from tests.support.model_server_responses import (
    read_responses,
    responses_body,
    responses_events,
)

MODELS = ("sim-model", "sim-model-mini", "sim-reasoner")
VLLM_NO_AUTO = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


# -- HTTP ------------------------------------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.counter = 0


def parse_flags(path: str) -> tuple[dict[str, Any], str]:
    """`/f/a+b=c/v1/x` -> ({"a": True, "b": "c"}, "/v1/x")."""
    flags: dict[str, Any] = {}
    if path.startswith("/f/"):
        _, _, spec, rest = [*path.split("/", 3), ""][:4]
        for flag in unquote(spec).split("+"):
            name, sep, value = flag.partition("=")
            if name:
                flags[name] = value if sep else True
        path = "/" + rest
    return flags, path


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        if path == "/_requests" and method == "GET":
            with self.server.lock:
                return self._send_json(200, list(self.server.records))
        if path == "/_reset" and method == "POST":
            with self.server.lock:
                self.server.records.clear()
            return self._send_json(200, {"ok": True})
        flags, api = parse_flags(path)
        api = api.removeprefix("/v1")
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = {"method": method, "path": self.path, "flags": flags,
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body, "outcome": "pending"}
        with self.server.lock:
            self.server.records.append(record)
            self.server.counter += 1
            number = self.server.counter
        try:
            self._api(method, api, flags, body, record, number)
        except ApiError as error:
            record["outcome"] = "error"
            self._send_json(error.status, error.body)
        except (BrokenPipeError, ConnectionResetError):
            record["outcome"] = "disconnected"
            self.close_connection = True

    def _api(self, method: str, api: str, flags: dict[str, Any], body: Any,
             record: dict[str, Any], number: int) -> None:
        key = flags.get("key")
        if key and self.headers.get("Authorization") != f"Bearer {key}":
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        if flags.get("fail"):
            status = int(flags["fail"])
            etype = "server_error" if status >= 500 else "invalid_request_error"
            code = "rate_limit_exceeded" if status == 429 else None
            error = ApiError(status, f"Simulated failure with HTTP {status}", etype=etype, code=code)
            record["outcome"] = "error"
            return self._send_json(status, error.body, {"Retry-After": "0"})
        if method == "GET" and api == "/models":
            record["outcome"] = "complete"
            return self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "sim"} for m in MODELS]})
        if method != "POST" or api not in ("/chat/completions", "/responses"):
            raise ApiError(404, f"Unknown endpoint {method} {self.path}", code="not_found")
        if api == "/responses" and "no-responses" in flags:
            raise ApiError(404, f"Unknown endpoint {method} {self.path}", code="not_found")
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        if "no-tools" in flags and body.get("tools"):
            raise ApiError(400, "tools is not supported by this server", param="tools")
        if "no-auto-tool-choice" in flags and body.get("tool_choice") == "auto":
            raise ApiError(400, VLLM_NO_AUTO, vllm=True)
        if "missing-choice-none" in flags and body.get("tools") and "tool_choice" not in body:
            body = {**body, "tool_choice": "none"}
        stream = bool(body.get("stream"))
        digest = hashlib.sha1(f"{number}".encode()).hexdigest()[:24]
        if api == "/chat/completions":
            if "no-stream-options" in flags and "stream_options" in body:
                raise ApiError(400, "Unrecognized request argument supplied: stream_options",
                               param="stream_options")
            ask = read_chat(body, flags)
            p, rid = plan(ask, flags), f"chatcmpl-{digest}"
            if not stream:
                self._send_json(200, chat_body(ask, p, rid, flags))
            else:
                usage = bool((body.get("stream_options") or {}).get("include_usage"))
                self._stream(chat_events(ask, p, rid, flags, usage), flags, named=False)
        else:
            ask = read_responses(body, flags)
            p, rid = plan(ask, flags), f"resp_{digest}"
            encrypted = "reasoning.encrypted_content" in (body.get("include") or [])
            if not stream:
                self._send_json(200, responses_body(ask, p, rid, encrypted))
            else:
                self._stream(responses_events(ask, p, rid, encrypted), flags, named=True)
        record["outcome"] = "complete"

    def _stream(self, events: list[Any], flags: dict[str, Any], *, named: bool) -> None:
        delay = float(flags.get("delay") or 0) / 1000.0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for position, event in enumerate(events):
            if delay and position:
                time.sleep(delay)
            if event == "[DONE]":
                frame = "data: [DONE]\n\n"
            else:
                data = json.dumps(event, ensure_ascii=False)
                frame = f"event: {event['type']}\ndata: {data}\n\n" if named else f"data: {data}\n\n"
            payload = frame.encode()
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _exit_when_stdin_closes(server: Server) -> None:
    try:
        while sys.stdin.buffer.read(1024):
            pass
    except (OSError, ValueError):
        pass
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes")
    args = parser.parse_args()
    server = Server(args.port)
    print(f"PORT {server.server_address[1]}", flush=True)
    if args.watch_stdin:
        threading.Thread(target=_exit_when_stdin_closes, args=(server,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

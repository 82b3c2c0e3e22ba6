"""Pre-rendered responses of the benchmark server, named by the request's `model`.

Model names encode what comes back, so every client can ask for a scenario with nothing but
its ordinary `model=` argument:

- `hi`            a short answer ("Hello there, friend!" in 4 chunks when streamed)
- `text-N`        N text chunks of 4 characters each ("tok ")
- `tool-N`        one tool call, `get_weather`, whose JSON arguments arrive in N pieces
- `calls-N`       N tool calls, one after the other, each one's arguments in 4 pieces (chat,
                  streamed only)

Both wire shapes are rendered: `/chat/completions` (OpenAI's chunk format, ending with a usage
chunk and `data: [DONE]`) and `/responses` (typed events with `event:` lines, ending with
`response.completed`). Streams are framed with HTTP/1.1 chunked encoding, one HTTP chunk per
SSE event, as real servers (uvicorn, vLLM, llama.cpp) send them.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

__all__ = [
    "HI_TEXT",
    "TEXT_PIECE",
    "call_arguments",
    "expected_tool_arguments",
    "parse_model",
    "render",
    "tool_argument_pieces",
]

TEXT_PIECE = "tok "
HI_PIECES = ("Hello", " there", ", ", "friend!")
HI_TEXT = "".join(HI_PIECES)
TOOL_NAME = "get_weather"
_CREATED = 1_700_000_000
_MODEL_RE = re.compile(r"^(hi|text-(\d+)|tool-(\d+)|calls-(\d+))$")


def parse_model(model: str) -> tuple[str, int]:
    """`("text", 10000)`, `("tool", 2000)` or `("hi", 4)`; ValueError for anything else."""
    match = _MODEL_RE.match(model)
    if not match:
        raise ValueError(f"unknown benchmark model {model!r}")
    if match.group(2):
        return "text", int(match.group(2))
    if match.group(3):
        return "tool", int(match.group(3))
    if match.group(4):
        return "calls", int(match.group(4))
    return "hi", len(HI_PIECES)


def call_arguments(i: int) -> str:
    """The JSON arguments of call `i` of `calls-N`."""
    return json.dumps({"city": f"City number {i}"}, separators=(",", ":"))


def tool_argument_pieces(n: int) -> list[str]:
    """The tool call's arguments, a JSON object, cut into exactly `n` non-empty pieces."""
    n = max(n, 2)
    filler = "abcdefgh" * n  # about 8 characters per piece
    whole = json.dumps({"city": "Paris", "notes": filler}, separators=(",", ":"))
    size, extra = divmod(len(whole), n)
    pieces, at = [], 0
    for i in range(n):
        step = size + (1 if i < extra else 0)
        pieces.append(whole[at : at + step])
        at += step
    return pieces


def expected_tool_arguments(n: int) -> str:
    return "".join(tool_argument_pieces(n))


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _sse(data: bytes, event: str | None = None) -> bytes:
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + b"data: " + data + b"\n\n"


def _chunked(events: list[bytes]) -> bytes:
    framed = [b"%x\r\n%s\r\n" % (len(e), e) for e in events]
    framed.append(b"0\r\n\r\n")
    return b"".join(framed)


# -- chat completions -------------------------------------------------------------------------


def _chat_chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    return _dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
    )


def _chat_usage(model: str, completion_tokens: int) -> bytes:
    return _dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [],
            "usage": {
                "prompt_tokens": 5,
                "completion_tokens": completion_tokens,
                "total_tokens": 5 + completion_tokens,
            },
        }
    )


def _chat_stream(model: str) -> list[bytes]:
    kind, n = parse_model(model)
    events: list[bytes] = []
    if kind == "tool":
        first = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_bench",
                    "type": "function",
                    "function": {"name": TOOL_NAME, "arguments": ""},
                }
            ],
        }
        events.append(_sse(_chat_chunk(model, first)))
        for piece in tool_argument_pieces(n):
            delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
            events.append(_sse(_chat_chunk(model, delta)))
        events.append(_sse(_chat_chunk(model, {}, "tool_calls")))
    elif kind == "calls":
        for i in range(n):
            start = {
                "index": i,
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": TOOL_NAME, "arguments": ""},
            }
            head = {"role": "assistant", "content": None} if i == 0 else {}
            events.append(_sse(_chat_chunk(model, {**head, "tool_calls": [start]})))
            whole = call_arguments(i)
            cut = [len(whole) * k // 4 for k in range(5)]
            for a, b in itertools.pairwise(cut):
                delta = {"tool_calls": [{"index": i, "function": {"arguments": whole[a:b]}}]}
                events.append(_sse(_chat_chunk(model, delta)))
        events.append(_sse(_chat_chunk(model, {}, "tool_calls")))
    else:
        pieces = HI_PIECES if kind == "hi" else (TEXT_PIECE,) * n
        events.append(_sse(_chat_chunk(model, {"role": "assistant", "content": ""})))
        events.extend(_sse(_chat_chunk(model, {"content": p})) for p in pieces)
        events.append(_sse(_chat_chunk(model, {}, "stop")))
    events.append(_sse(_chat_usage(model, n)))
    events.append(_sse(b"[DONE]"))
    return events


def _chat_body(model: str) -> bytes:
    kind, n = parse_model(model)
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    finish = "stop"
    if kind == "tool":
        message["tool_calls"] = [
            {
                "id": "call_bench",
                "type": "function",
                "function": {"name": TOOL_NAME, "arguments": expected_tool_arguments(n)},
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = HI_TEXT if kind == "hi" else TEXT_PIECE * n
    return _dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": _CREATED,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": n, "total_tokens": 5 + n},
        }
    )


# -- responses ----------------------------------------------------------------------------------


def _response(model: str, status: str, output: list[Any], usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": _CREATED,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "metadata": {},
    }


def _message_item(text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {
        "id": "msg_bench",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content if status == "completed" else [],
    }


def _call_item(arguments: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": "fc_bench",
        "type": "function_call",
        "status": status,
        "call_id": "call_bench",
        "name": TOOL_NAME,
        "arguments": arguments,
    }


def _usage(n: int) -> dict[str, Any]:
    return {
        "input_tokens": 5,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": n,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 5 + n,
    }


def _responses_stream(model: str) -> list[bytes]:
    kind, n = parse_model(model)
    seq = 0
    events: list[bytes] = []

    def emit(obj: dict[str, Any]) -> None:
        nonlocal seq
        obj["sequence_number"] = seq
        seq += 1
        events.append(_sse(_dumps(obj), obj["type"]))

    emit({"type": "response.created", "response": _response(model, "in_progress", [], None)})
    emit({"type": "response.in_progress", "response": _response(model, "in_progress", [], None)})
    if kind == "tool":
        pieces = tool_argument_pieces(n)
        whole = "".join(pieces)
        emit(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": _call_item("", "in_progress"),
            }
        )
        for piece in pieces:
            emit(
                {
                    "type": "response.function_call_arguments.delta",
                    "item_id": "fc_bench",
                    "output_index": 0,
                    "delta": piece,
                }
            )
        emit(
            {
                "type": "response.function_call_arguments.done",
                "item_id": "fc_bench",
                "output_index": 0,
                "arguments": whole,
            }
        )
        item = _call_item(whole)
        emit({"type": "response.output_item.done", "output_index": 0, "item": item})
    else:
        pieces = list(HI_PIECES) if kind == "hi" else [TEXT_PIECE] * n
        whole = "".join(pieces)
        emit(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": _message_item("", "in_progress"),
            }
        )
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        emit(
            {
                "type": "response.content_part.added",
                "item_id": "msg_bench",
                "output_index": 0,
                "content_index": 0,
                "part": part,
            }
        )
        for piece in pieces:
            emit(
                {
                    "type": "response.output_text.delta",
                    "item_id": "msg_bench",
                    "output_index": 0,
                    "content_index": 0,
                    "delta": piece,
                    "logprobs": [],
                }
            )
        emit(
            {
                "type": "response.output_text.done",
                "item_id": "msg_bench",
                "output_index": 0,
                "content_index": 0,
                "text": whole,
                "logprobs": [],
            }
        )
        emit(
            {
                "type": "response.content_part.done",
                "item_id": "msg_bench",
                "output_index": 0,
                "content_index": 0,
                "part": {**part, "text": whole},
            }
        )
        item = _message_item(whole)
        emit({"type": "response.output_item.done", "output_index": 0, "item": item})
    emit(
        {"type": "response.completed", "response": _response(model, "completed", [item], _usage(n))}
    )
    return events


def _responses_body(model: str) -> bytes:
    kind, n = parse_model(model)
    if kind == "tool":
        item = _call_item(expected_tool_arguments(n))
    else:
        item = _message_item(HI_TEXT if kind == "hi" else TEXT_PIECE * n)
    return _dumps(_response(model, "completed", [item], _usage(n)))


# -- HTTP -----------------------------------------------------------------------------------------


def render(shape: str, model: str, stream: bool) -> bytes:
    """The complete HTTP/1.1 response (status line, headers, body) for one request."""
    if stream:
        events = _responses_stream(model) if shape == "responses" else _chat_stream(model)
        head = (
            b"HTTP/1.1 200 OK\r\n"
            b"content-type: text/event-stream; charset=utf-8\r\n"
            b"cache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        return head + _chunked(events)
    body = _responses_body(model) if shape == "responses" else _chat_body(model)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(
        body
    )
    return head + body

"""Tool calls as LangChain chunks: what one network read delivered is one chunk, and a call the
server sent whole goes out whole (`index=None`), so LangChain's merge of a stream appends it
instead of rescanning every call merged so far (tests/reliability/test_linearity.py measures
the effect through `stream()` and `invoke()`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessageChunk

from langchain_adapter import ChatOpenAICompat
from langchain_adapter.convert import ChunkBuilder
from llm_openai_compat import Finish, ToolCall, ToolCallArgumentsDelta, ToolCallStart
from tests.support.hostile_server import HostileServer, Reply, sse


def _start(i: int) -> ToolCallStart:
    return ToolCallStart(i, f"call_{i}", "f")


def _delta(i: int, piece: str) -> ToolCallArgumentsDelta:
    return ToolCallArgumentsDelta(i, f"call_{i}", piece)


def _done(i: int, raw: str) -> ToolCall:
    return ToolCall(i, f"call_{i}", "f", raw, json.loads(raw))


def _merged(chunks: list[Any]) -> AIMessageChunk:
    message: AIMessageChunk = chunks[0].message
    return message + [c.message for c in chunks[1:]] if len(chunks) > 1 else message  # type: ignore[return-value]


def test_whole_calls_in_one_read_are_one_chunk_without_index():
    builder = ChunkBuilder("m")
    batch = [_start(0), _delta(0, '{"a": 1}'), _start(1), _delta(1, '{"b":'), _delta(1, " 2}")]
    chunks = list(builder.feed_batch(batch))
    assert len(chunks) == 1
    assert chunks[0].message.tool_call_chunks == [
        {"type": "tool_call_chunk", "name": "f", "args": '{"a": 1}', "id": "call_0", "index": None},
        {"type": "tool_call_chunk", "name": "f", "args": '{"b": 2}', "id": "call_1", "index": None},
    ]
    closing = list(
        builder.feed_batch(
            [_done(0, '{"a": 1}'), _done(1, '{"b": 2}'), Finish("tool_calls", "tool_calls")]
        )
    )
    merged = _merged(chunks + closing)
    assert [(c["id"], c["args"]) for c in merged.tool_calls] == [
        ("call_0", {"a": 1}),
        ("call_1", {"b": 2}),
    ]


def test_a_call_still_streaming_keeps_its_index_and_merges_across_reads():
    builder = ChunkBuilder("m")
    reads = [
        [_start(0), _delta(0, '{"city": ')],  # not yet complete JSON: streamed, index 0
        [_delta(0, '"Par')],
        [_delta(0, 'is"}'), _start(1)],  # call 1 has no arguments yet: index 1
        [_delta(1, "{}")],
        [_done(0, '{"city": "Paris"}'), _done(1, "{}"), Finish("tool_calls", "tool_calls")],
    ]
    chunks = [chunk for read in reads for chunk in builder.feed_batch(read)]
    indexes = [c["index"] for chunk in chunks for c in chunk.message.tool_call_chunks]
    assert indexes == [0, 0, 0, 1, 1]
    merged = _merged(chunks)
    assert [(c["id"], c["name"], c["args"]) for c in merged.tool_calls] == [
        ("call_0", "f", {"city": "Paris"}),
        ("call_1", "f", {}),
    ]
    assert not merged.invalid_tool_calls


def test_a_call_named_only_when_complete_goes_out_whole_and_a_final_top_up_is_kept():
    builder = ChunkBuilder("m")
    late = list(builder.feed_batch([_done(0, '{"x": 1}')]))  # never started: no name until the end
    assert late[0].message.tool_call_chunks[0]["index"] is None
    other = ChunkBuilder("m")
    chunks = list(other.feed_batch([_start(0), _delta(0, '{"x"')]))
    chunks += other.feed_batch([_done(0, '{"x": 2}')])  # the `.done` event carries the rest
    merged = _merged(chunks)
    assert merged.tool_calls[0]["args"] == {"x": 2}


def test_text_and_calls_in_one_read_keep_their_order():
    from llm_openai_compat import TextDelta

    builder = ChunkBuilder("m")
    chunks = list(builder.feed_batch([TextDelta("a"), _start(0), _delta(0, "{}"), TextDelta("b")]))
    kinds = [
        ("text", c.message.content)
        if c.message.content
        else ("call", c.message.tool_call_chunks[0]["id"])
        for c in chunks
    ]
    assert kinds == [("text", "a"), ("call", "call_0"), ("text", "b")]


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.chunks: list[Any] = []

    def on_llm_new_token(self, token: Any, *, chunk: Any = None, **kwargs: Any) -> None:
        self.chunks.append(chunk)


def _tool_stream(n: int) -> Iterator[bytes]:
    """n calls, each whole in one delta, then the finish: sent as one piece."""
    events = [
        {
            "id": "c",
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": f"call_{i}",
                                "type": "function",
                                "function": {"name": "f", "arguments": json.dumps({"i": i})},
                            }
                        ]
                    },
                    "finish_reason": None,
                }
            ],
        }
        for i in range(n)
    ]
    events.append(
        {
            "id": "c",
            "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
        }
    )
    yield b"".join(sse(e) for e in events) + b"data: [DONE]\n\n"


@pytest.mark.parametrize("n", [1, 50])
def test_stream_and_invoke_through_the_public_api(n):
    with HostileServer(
        lambda r: Reply(
            body=b"".join(_tool_stream(n)), headers=[("content-type", "text/event-stream")]
        )
    ) as server:
        chat = ChatOpenAICompat(base_url=server.base_url, model="m", api_key="k", max_retries=0)
        tokens = _Tokens()
        seen = list(chat.stream("hi", config={"callbacks": [tokens]}))
        # on_llm_new_token fired for every chunk the adapter emitted (LangChain adds a final
        # empty one only when the last chunk was not already marked last)
        assert len(tokens.chunks) == len(seen)
        full = seen[0]
        for chunk in seen[1:]:
            full = full + chunk
        expected = [(f"call_{i}", {"i": i}) for i in range(n)]
        assert [(c["id"], c["args"]) for c in full.tool_calls] == expected
        for chunk in seen:
            for piece in chunk.tool_call_chunks:
                if piece["index"] is None:  # sent whole: a complete call
                    assert piece["name"] == "f" and piece["id"] and json.loads(piece["args"])
        invoked = chat.invoke("hi")
        assert [(c["id"], c["args"]) for c in invoked.tool_calls] == expected
        assert not invoked.invalid_tool_calls

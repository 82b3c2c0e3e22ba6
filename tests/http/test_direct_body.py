"""An HTTP/1.1 body read straight from h11 (http/direct.py `_Stream` / `_AStream`): the bytes,
the errors and the connection's reuse are httpcore2's own; `join_reads` only changes how the
bytes are cut (one piece per network read). Against a real server writing the framing by hand
(tests/support/raw_server.py), so chunk-size lines, footers, trailers and cuts are exact."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Sequence

import httpx2
import pytest

from llm_openai_compat import errors
from llm_openai_compat.http import direct, transport
from llm_openai_compat.http.retry import RetryPolicy
from llm_openai_compat.http.transport import Endpoint
from llm_openai_compat.runtime import Runtime
from tests.support.raw_server import CLOSE, RawServer, Step, chunked, raw_server

ONCE = RetryPolicy(max_attempts=1)
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
EVENTS = [b'data: {"i": %d}\n\n' % i for i in range(40)]
BODY = b"".join(EVENTS)


def _endpoint(server: RawServer, timeout_ms: int = 5000) -> Endpoint:
    return Endpoint(provider="raw", url=server.url(), timeout_ms=timeout_ms, model="m")


def _read(server: RawServer, runtime: Runtime, *, join_after: int | None = None) -> list[bytes]:
    """The body's pieces as `iter_body` gives them (joined reads from piece `join_after`)."""
    pieces: list[bytes] = []
    with transport.send_stream(_endpoint(server), b"{}", pools=runtime.pools, policy=ONCE) as response:
        assert _direct_stream(response)._wire is not None  # read from h11 by us
        for piece in transport.iter_body(response, _endpoint(server)):
            pieces.append(piece)
            if join_after is not None and len(pieces) == join_after:
                transport.join_reads(response)
    return pieces


def _read_twice(server: RawServer, join_after: int) -> tuple[list[bytes], list[bytes]]:
    """The body read a chunk at a time, then (on the same runtime) joined from a piece on."""
    runtime = Runtime()
    try:
        return _read(server, runtime), _read(server, runtime, join_after=join_after)
    finally:
        runtime.close()


async def _aread(server: RawServer, runtime: Runtime, *, join_after: int | None = None) -> list[bytes]:
    pieces: list[bytes] = []
    async with transport.asend_stream(_endpoint(server), b"{}", pools=runtime.pools, policy=ONCE) as response:
        assert _direct_stream(response)._wire is not None
        async for piece in transport.aiter_body(response, _endpoint(server)):
            pieces.append(piece)
            if join_after is not None and len(pieces) == join_after:
                transport.join_reads(response)
    return pieces


def _direct_stream(response: httpx2.Response) -> direct._Timed:
    stream = response.stream
    stream = getattr(stream, "_stream", stream)  # primed: its first chunk was read
    assert isinstance(stream, direct.ByteStreams)
    return stream


def _httpx2_read(server: RawServer) -> bytes:
    """The same body as httpx2's own client reads it (httpcore2's loop over h11)."""
    with httpx2.Client() as client, client.stream("POST", server.url(), content=b"{}") as response:
        return response.read()


# Framings a server may send, each cut across its sends at awkward places: inside a chunk-size
# line, between data and its footer, inside the footer, inside the last chunk.
def _cut(data: bytes, *at: int) -> list[Step]:
    points = [0, *at, len(data)]
    steps: list[Step] = []
    for start, end in itertools.pairwise(points):
        steps += [data[start:end], 0.02]
    return steps


FRAMINGS: dict[str, list[Step]] = {
    "one event per chunk": [chunked(*EVENTS)],
    "extensions and trailers": [
        HEAD + b"".join(b"%x;name=v\r\n%s\r\n" % (len(e), e) for e in EVENTS)
        + b"0;last\r\nx-trailer: yes\r\n\r\n"
    ],
    "upper-case hex and leading zeros": [
        HEAD + b"".join(b"%04X\r\n%s\r\n" % (len(e), e) for e in EVENTS) + b"0000\r\n\r\n"
    ],
    "cut everywhere": _cut(chunked(*EVENTS), len(HEAD) + 1, len(HEAD) + 3, len(HEAD) + 19,
                           len(HEAD) + 20, len(chunked(*EVENTS)) - 3),
    "content-length": [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n" % len(BODY)
        + BODY[:100], 0.02, BODY[100:],
    ],
    "read to close": [
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n" + BODY[:7],
        0.02, BODY[7:], CLOSE,
    ],
}


@pytest.mark.parametrize("name", list(FRAMINGS))
def test_the_body_read_from_h11_is_the_body_httpx2_reads(name: str):
    with raw_server(lambda n, request: FRAMINGS[name]) as server:
        ours, joined = _read_twice(server, join_after=1)
        theirs = _httpx2_read(server)
    assert b"".join(ours) == b"".join(joined) == theirs == BODY


def test_one_piece_per_http_chunk_until_join_reads_then_one_per_network_read():
    # Twenty events in one send, a pause, twenty more: the first five come one per chunk, as
    # httpcore2 gives them; joined, the rest of the first send is one piece, the second another.
    first = chunked(*EVENTS[:20], end=False)
    second = chunked(*EVENTS[20:])[len(HEAD):]
    with raw_server(lambda n, request: [first, 0.3, second]) as server:
        per_chunk, joined = _read_twice(server, join_after=5)
    assert per_chunk == EVENTS
    assert joined[:5] == EVENTS[:5]
    assert joined[5:] == [b"".join(EVENTS[5:20]), b"".join(EVENTS[20:])]


def test_the_connection_is_reused_after_a_whole_body_and_dropped_after_a_broken_one():
    answers: dict[int, list[Step]] = {
        0: [chunked(*EVENTS)],
        1: [chunked(*EVENTS[:3])],
        2: [chunked(*EVENTS[:3], end=False) + b"5\r\nab", 0.05, CLOSE],  # cut inside a chunk
        3: [chunked(*EVENTS[:3])],
    }
    with raw_server(lambda n, request: answers[n]) as server:
        runtime = Runtime()
        try:
            assert b"".join(_read(server, runtime, join_after=1)) == BODY
            assert b"".join(_read(server, runtime)) == b"".join(EVENTS[:3])
            assert server.connections == 1  # both bodies read to their end: kept alive
            with pytest.raises(errors.StreamError, match="connection broke after") as caught:
                _read(server, runtime, join_after=1)
            assert "incomplete chunked read" in str(caught.value)
            assert b"".join(_read(server, runtime)) == b"".join(EVENTS[:3])
            assert server.connections == 2  # the broken one was not given back to the pool
        finally:
            runtime.close()


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (b"zz\r\nhello\r\n", "illegal chunk header"),
        (b"5\r\nhelloXX", "malformed chunk footer"),
        (b"5" * 40 + b"\r\n", "illegal chunk header"),
    ],
)
def test_a_broken_framing_is_httpcore2s_protocol_error_as_a_stream_error(bad: bytes, says: str):
    steps: list[Step] = [chunked(EVENTS[0], end=False) + bad, 0.05, CLOSE]
    with raw_server(lambda n, request: steps) as server:
        runtime = Runtime()
        try:
            with pytest.raises(errors.StreamError) as ours:
                _read(server, runtime)
        finally:
            runtime.close()
        with pytest.raises(httpx2.RemoteProtocolError) as theirs:
            _httpx2_read(server)
    assert says in str(ours.value) and says in str(theirs.value)
    assert "\n" not in str(ours.value)


def test_a_content_length_body_cut_short_is_h11s_error_and_the_connection_is_dropped():
    short = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
    answers: dict[int, list[Step]] = {0: [short + b'{"a": 1', 0.05, CLOSE], 1: [chunked(*EVENTS[:2])]}
    with raw_server(lambda n, request: answers[n]) as server:
        runtime = Runtime()
        try:
            with pytest.raises(errors.StreamError, match=r"received 7 bytes, expected 100"):
                _read(server, runtime)
            assert b"".join(_read(server, runtime)) == b"".join(EVENTS[:2])
        finally:
            runtime.close()
        assert server.connections == 2
    with raw_server(lambda n, request: answers[0]) as server, pytest.raises(
        httpx2.RemoteProtocolError, match=r"received 7 bytes, expected 100"
    ):
        _httpx2_read(server)


def test_a_large_content_length_body_arrives_whole():
    payload = bytes(range(256)) * 12_000  # 3 MB, read in pieces larger than httpcore2's 64 KB
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
    with raw_server(lambda n, request: [head % len(payload) + payload[:1000], 0.02, payload[1000:]]) as server:
        runtime = Runtime()
        try:
            pieces = _read(server, runtime)
            again = _read(server, runtime)
        finally:
            runtime.close()
        assert server.connections == 1  # read to its length: kept alive
    assert b"".join(pieces) == b"".join(again) == payload
    assert pieces[0] == payload[:1000]  # what h11 held with the head comes out first


def test_an_event_stream_with_a_content_length_is_read_in_httpcore2s_pieces():
    """A read is what a stream's reader parses at once: an event stream keeps httpcore2's
    64 KB reads (its batches' memory stays bounded), whatever its framing."""
    events = b"".join(b'data: {"i": %d}\n\n' % i for i in range(40_000))
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n"
    with raw_server(lambda n, request: [head % len(events), 0.05, events]) as server:
        runtime = Runtime()
        try:
            pieces = _read(server, runtime, join_after=1)
        finally:
            runtime.close()
    assert b"".join(pieces) == events
    assert max(map(len, pieces)) <= 64 * 1024


def test_a_stall_mid_body_is_the_read_timeout():
    steps: list[Step] = [chunked(*EVENTS[:2], end=False), 2.0, CLOSE]
    with raw_server(lambda n, request: steps) as server:
        runtime = Runtime()
        started = time.monotonic()
        try:
            with (
                pytest.raises(errors.StreamError, match="stalled"),
                transport.send_stream(
                    _endpoint(server, timeout_ms=300), b"{}", pools=runtime.pools, policy=ONCE
                ) as response,
            ):
                for _ in transport.iter_body(response, _endpoint(server, timeout_ms=300)):
                    transport.join_reads(response)
        finally:
            runtime.close()
        assert time.monotonic() - started < 2.0


def test_with_httpcore2_debug_logging_on_httpcore2_reads_the_body(caplog: pytest.LogCaptureFixture):
    with raw_server(lambda n, request: [chunked(*EVENTS)]) as server:
        runtime = Runtime()
        try:
            with (
                caplog.at_level(logging.DEBUG, logger="httpcore2.http11"),
                transport.send_stream(_endpoint(server), b"{}", pools=runtime.pools, policy=ONCE) as response,
            ):
                assert _direct_stream(response)._wire is None  # its log lines are written
                body = b"".join(transport.iter_body(response, _endpoint(server)))
        finally:
            runtime.close()
    assert body == BODY
    assert any("receive_response_body" in record.getMessage() for record in caplog.records)


# -- async ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cut everywhere", "extensions and trailers", "read to close"])
def test_async_the_body_read_from_h11_is_the_body_httpx2_reads(name: str):
    async def main(server: RawServer) -> tuple[list[bytes], list[bytes]]:
        runtime = Runtime()
        try:
            return await _aread(server, runtime), await _aread(server, runtime, join_after=1)
        finally:
            await runtime.aclose()

    with raw_server(lambda n, request: FRAMINGS[name]) as server:
        ours, joined = asyncio.run(main(server))
    assert b"".join(ours) == b"".join(joined) == BODY


def test_async_joined_reads_reuse_and_drop_connections_as_sync_does():
    first = chunked(*EVENTS[:20], end=False)
    second = chunked(*EVENTS[20:])[len(HEAD):]
    answers: dict[int, Sequence[Step]] = {
        0: [first, 0.3, second],
        1: [chunked(*EVENTS[:3], end=False) + b"zz\r\n", 0.05, CLOSE],
        2: [chunked(*EVENTS[:3])],
    }

    async def main(server: RawServer) -> list[bytes]:
        runtime = Runtime()
        try:
            pieces = await _aread(server, runtime, join_after=5)
            with pytest.raises(errors.StreamError, match="illegal chunk header"):
                await _aread(server, runtime)
            assert b"".join(await _aread(server, runtime)) == b"".join(EVENTS[:3])
            return pieces
        finally:
            await runtime.aclose()

    with raw_server(lambda n, request: answers[n]) as server:
        pieces = asyncio.run(main(server))
        assert server.connections == 2
    assert pieces[:5] == EVENTS[:5]
    assert pieces[5:] == [b"".join(EVENTS[5:20]), b"".join(EVENTS[20:])]

"""`transport.arrived` / `h11_ready`: the probe that lets the clients coalesce per network read.

It must never say "arrived" when the next read of the body would wait for the network (a batch
held back waiting for bytes that may take seconds is added latency), and it should say so when
the bytes are there (or coalescing gains nothing). Checked against real h11 connections fed
every prefix of a response, and end to end against a real server that stalls mid-stream.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import h11
import pytest

from llm_openai_compat import Client, Conversation, Message, RequestOptions, errors
from llm_openai_compat.http import transport
from llm_openai_compat.http.transport import h11_ready
from tests.support.fault_server_fixture import FaultServer
from tests.support.wire_bytes import chunk, sse

SSE = "text/event-stream"


def _chunk(payload: bytes, extension: bytes = b"") -> bytes:
    return b"%x%s\r\n%s\r\n" % (len(payload), extension, payload)


def _events(n: int) -> list[bytes]:
    return [b'data: {"i": %d}\n\n' % i for i in range(n)]


def _chunked_response(trailer: bytes = b"") -> bytes:
    pieces = _events(3)
    body = _chunk(pieces[0]) + _chunk(pieces[1], b";ext=1") + _chunk(pieces[2]) + b"0\r\n"
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    return head + body + trailer + b"\r\n"


def _length_response() -> bytes:
    body = b"".join(_events(3))
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def _client() -> h11.Connection:
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    return conn


def _next_event(conn: h11.Connection) -> Any:
    return copy.deepcopy(conn).next_event()


def _probe_everywhere(raw: bytes) -> tuple[int, int]:
    """Feed every prefix of `raw`; after each body event ask the probe. Returns how often it
    said "arrived" and how often more data was in fact already there."""
    said = available = 0
    for cut in range(1, len(raw) + 1):  # receive_data(b"") would mean the peer closed
        conn = _client()
        conn.receive_data(raw[:cut])
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage):
                break
            if isinstance(event, h11.Data):
                ready = h11_ready(conn)
                following = _next_event(conn)
                waits = following is h11.NEED_DATA
                assert not (ready and waits), f"said arrived, but the read waits (cut {cut})"
                said += ready
                available += isinstance(following, h11.Data)
    return said, available


@pytest.mark.parametrize(
    "raw",
    [_chunked_response(), _chunked_response(b"X-T: 1\r\n"), _length_response()],
    ids=["chunked", "chunked-trailer", "content-length"],
)
def test_the_probe_never_says_arrived_when_the_next_read_would_wait(raw: bytes) -> None:
    said, available = _probe_everywhere(raw)
    # Cautious at a few boundaries (a chunk-size line without its data), no more. (With a
    # Content-Length, h11 hands over all it holds at once: nothing is left to announce.)
    assert said >= available * 0.8


def test_with_the_whole_body_buffered_every_event_but_the_last_has_arrived() -> None:
    conn = _client()
    conn.receive_data(_chunked_response())
    answers = []
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Data):
            answers.append(h11_ready(conn))
        elif event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage):
            break
    assert answers[:-1] == [True] * (len(answers) - 1)


def test_an_unknown_stream_gives_a_probe_that_never_says_arrived() -> None:
    class Opaque:
        stream = object()

    assert transport.arrived(Opaque())() is False  # type: ignore[arg-type]


def _conversation() -> Conversation:
    return Conversation((Message.text("user", "hi"),))


def test_a_batch_is_delivered_before_the_server_sends_more(fault_server: FaultServer) -> None:
    """The server sends two events and part of a third, then stalls far longer than the read
    timeout: the first batch must reach the caller before that timeout fires (a batch held
    back for more data would come after the timeout's error, or never)."""
    sent = sse(chunk("Hel"), chunk("lo"), done=False)
    fault_server.enqueue(
        {
            "status": 200,
            "headers": {"content-type": SSE},
            "chunks": [sent + sse(chunk(" never"), chunk("", "stop"))],
            "stall_after_bytes": len(sent.encode()) + 7,
            "stall_seconds": 10,
        }
    )
    client = Client.inline(
        base_url=fault_server.url("/v1"), provider_id="arrived", timeout_ms=1500, max_retries=0
    )
    batches = client.stream_reads(_conversation(), RequestOptions(model="m"))
    got: list[Any] = []
    try:
        for batch in batches:
            got.append(batch)
            if any(e.type == "text" for e in batch):
                break
    except errors.OpenAICompatError as error:
        pytest.fail(f"no batch before the stall: {error}")
    finally:
        batches.close()
    assert [e.text for batch in got for e in batch if e.type == "text"] == ["Hello"]


def test_stream_reads_coalesces_events_that_arrived_together(fault_server: FaultServer) -> None:
    """300 events in 300 HTTP chunks written at once: fewer, longer text events, the same text,
    and every other event (meta, finish) kept; `stream` still gives one event per piece."""
    pieces = [f"w{i} " for i in range(300)]
    body = sse(*(chunk(p) for p in pieces), chunk("", "stop"))
    spec = {"status": 200, "headers": {"content-type": SSE}, "body": body, "chunk_size": 20}
    fault_server.enqueue(spec, spec)
    client = Client.inline(base_url=fault_server.url("/v1"), provider_id="arrived2")
    batches = list(client.stream_reads(_conversation(), RequestOptions(model="m")))
    texts = [e.text for batch in batches for e in batch if e.type == "text"]
    assert "".join(texts) == "".join(pieces)
    assert len(texts) < len(pieces)
    # Latency is not traded for throughput: the first piece is not held for the rest of its read.
    assert texts[0] == pieces[0]
    kinds = [e.type for batch in batches for e in batch if e.type != "text"]
    assert kinds == ["meta", "finish"]
    events = list(client.stream(_conversation(), RequestOptions(model="m")))
    assert [e.text for e in events if e.type == "text"] == pieces


def test_on_the_direct_road_the_first_batch_holds_what_arrived_with_the_first_text() -> None:
    """The whole answer in one write: the metadata of the first chunk is not a batch of its
    own before the first text (a host pays per batch: LangChain makes a chunk and runs its
    callbacks for it); the first text comes in the first batch, alone of the texts."""
    from tests.support.raw_server import chunked, raw_server

    events = [
        f"data: {json.dumps(chunk(piece))}\n\n".encode() for piece in ("", "Hel", "lo", " you")
    ]
    with raw_server(lambda n, request: [chunked(*events, b"data: [DONE]\n\n")]) as server:
        client = Client.inline(base_url=f"http://127.0.0.1:{server.port}/v1", provider_id="direct")
        batches = list(client.stream_reads(_conversation(), RequestOptions(model="m")))
    first = [e.type for e in batches[0]]
    assert first[:1] == ["meta"] and "text" in first
    assert [e.text for e in batches[0] if e.type == "text"] == ["Hel"]
    assert "".join(e.text for b in batches for e in b if e.type == "text") == "Hello you"

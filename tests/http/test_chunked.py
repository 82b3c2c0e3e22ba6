"""`ChunkedDecoder` (http/chunked.py) against h11 itself, on the same bytes cut the same way:
the same body, the same data before a fault, the same end. h11 is what httpcore2 reads a body
with, and what the decoder hands the last chunk back to, so h11 is the definition."""

from __future__ import annotations

from typing import Literal

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_openai_compat.http.chunked import ChunkedDecoder
from llm_openai_compat.http.direct import _LengthBody, _take_body

HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
Outcome = Literal["end", "error", "eof"]


def _connection(head: bytes = HEAD) -> h11.Connection:
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="POST", target="/", headers=[("Host", "x"), ("Content-Length", "0")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(head)
    assert type(conn.next_event()) is h11.Response
    return conn


def _drain(conn: h11.Connection, data: bytearray) -> Outcome | None:
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return "error"
        if event is h11.NEED_DATA:
            return None
        if type(event) is h11.Data:
            data += event.data
        elif type(event) is h11.EndOfMessage:
            return "end"


def by_h11(reads: list[bytes], first: bytes = b"") -> tuple[bytes, Outcome]:
    conn = _connection(HEAD + first)
    data = bytearray()
    if (outcome := _drain(conn, data)) is not None:
        return bytes(data), outcome
    for piece in [*reads, b""]:  # b"": the server closed the connection
        conn.receive_data(piece)
        if (outcome := _drain(conn, data)) is not None:
            return bytes(data), outcome
    return bytes(data), "eof"


def by_decoder(reads: list[bytes], first: bytes = b"", whole: bool = True) -> tuple[bytes, Outcome]:
    """As direct.py reads: the decoder from the bytes h11 already held, then each read; the
    last chunk handed back to h11; the close before the end is the decoder's error."""
    conn = _connection(HEAD + first)
    decoder = _take_body(conn)  # fed what h11 already held
    assert isinstance(decoder, ChunkedDecoder)
    data = bytearray()
    pending = [b"", *reads]
    while pending:
        piece = pending.pop(0)
        if not piece and len(pending) < len(reads):  # a read of nothing: the server closed
            break
        if piece:
            decoder.feed(piece)
        while pieces := decoder.take(whole):  # a chunk at a time, or all a read holds
            data += b"".join(pieces)
        if decoder.error is not None:
            return bytes(data), "error"
        if decoder.end is not None:
            conn.receive_data(decoder.end)
            if (outcome := _drain(conn, data)) is not None:
                return bytes(data), outcome
            for piece in [*pending, b""]:
                conn.receive_data(piece)
                if (outcome := _drain(conn, data)) is not None:
                    return bytes(data), outcome
            return bytes(data), "eof"
    return bytes(data), "error"  # closed before the last chunk: "incomplete chunked read"


def _chunk_line(size: int, style: int, extension: bytes) -> bytes:
    digits = [b"%x" % size, b"%X" % size, b"%04x" % size][style]
    return digits + extension + b"\r\n"


chunks = st.lists(st.binary(min_size=1, max_size=40), max_size=8)
extensions = st.sampled_from([b"", b";a=1", b";name", b"  ", b";q=\"x y\""])
trailers = st.sampled_from([b"", b"x-t: 1\r\n", b"x-a: 1\r\nx-b: 2\r\n"])


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    body = b""
    for piece in draw(chunks):
        body += _chunk_line(len(piece), draw(st.integers(0, 2)), draw(extensions)) + piece + b"\r\n"
    return body + b"0" + draw(extensions) + b"\r\n" + draw(trailers) + b"\r\n"


@st.composite
def cut(draw: st.DrawFn, data: bytes) -> tuple[bytes, list[bytes]]:
    points = sorted(set(draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=6))))
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    return pieces[0], pieces[1:]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_well_formed_body_cut_anywhere_decodes_as_h11_decodes_it(data: st.DataObject):
    body = data.draw(bodies())
    first, reads = data.draw(cut(body))
    ours, theirs = by_decoder(reads, first, data.draw(st.booleans())), by_h11(reads, first)
    assert ours == theirs
    assert theirs[1] == "end"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_body_gives_the_same_data_and_the_same_fault_as_h11(data: st.DataObject):
    body = bytearray(data.draw(bodies()))
    for _ in range(data.draw(st.integers(1, 3))):  # bytes changed, dropped or the body cut short
        at = data.draw(st.integers(0, max(0, len(body) - 1)))
        action = data.draw(st.sampled_from(["set", "drop", "cut"]))
        if not body:
            break
        if action == "set":
            body[at] = data.draw(st.sampled_from(b"0aZ;\r\n -x"))
        elif action == "drop":
            del body[at]
        else:
            del body[at:]
    first, reads = data.draw(cut(bytes(body)))
    assert by_decoder(reads, first, data.draw(st.booleans())) == by_h11(reads, first)


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (b"5\r\nhello\r\n0\r\n\r\n", "end"),
        (b"5;ext=1\r\nhello\r\n0\r\nx-trailer: yes\r\n\r\n", "end"),
        (b"zz\r\n", "error"),  # not hex
        (b"5\r\nhelloXX", "error"),  # no CRLF after the data
        (b"5" * 21 + b"\r\n", "error"),  # more digits than h11 takes
        (b"5\r\nhel", "error"),  # closed mid-chunk
        (b"0\r\nbad trailer\r\n\r\n", "error"),  # h11 judges the trailers
    ],
)
def test_known_framings(body: bytes, outcome: Outcome):
    ours = by_decoder([body])
    assert ours == by_h11([body])
    assert ours[1] == outcome


def test_a_chunk_size_line_without_an_end_is_refused_at_h11s_limit():
    decoder = ChunkedDecoder(max_line=100)
    decoder.feed(b"5" * 100)
    assert decoder.take() == []  # not over the limit yet: waits for its end
    assert decoder.error is None
    decoder.feed(b"5")
    assert decoder.take() == []
    assert decoder.error is not None and "too long" in str(decoder.error)
    # h11 refuses the same line the same way at its own (default) limit
    assert by_decoder([b"5" * (16 * 1024 + 1)])[1] == by_h11([b"5" * (16 * 1024 + 1)])[1] == "error"


def test_a_read_that_holds_many_chunks_comes_out_as_one_piece_per_chunk():
    pieces = [b"a" * 3, b"b" * 17, b"c"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    decoder = ChunkedDecoder()
    decoder.feed(body[:14])
    assert decoder.take() == [b"aaa", b"bb"]  # a chunk cut by the read: its first part
    decoder.feed(body[14:] + b"0\r\n\r\n")
    assert decoder.take() == [b"b" * 15, b"c"]
    assert decoder.take() == [] and decoder.end == b"0\r\n\r\n"
    with pytest.raises(RuntimeError):
        decoder.feed(b"more")


def test_one_piece_at_a_time_decodes_only_as_far_as_that_piece():
    pieces = [b"a" * 3, b"b" * 17, b"c"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    decoder = ChunkedDecoder()
    decoder.feed(body)
    assert decoder.take(whole=False) == [b"aaa"]
    assert decoder._pos == 6  # the rest of the read not looked at yet
    assert decoder.take(whole=False) == [b"b" * 17]
    assert decoder.take() == [b"c"]
    assert decoder.take(whole=False) == [] and decoder.end == b"0\r\n\r\n"


def test_h11_is_left_to_read_a_body_it_has_started_on_or_one_read_to_the_close():
    conn = _connection()
    conn.receive_data(b"5\r\nhel")
    assert type(conn.next_event()) is h11.Data  # h11 is mid-chunk now
    assert _take_body(conn) is None
    started = _connection(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc")
    assert type(started.next_event()) is h11.Data
    assert _take_body(started) is None
    to_close = _connection(b"HTTP/1.0 200 OK\r\n\r\nabc")
    assert _take_body(to_close) is None


def test_a_content_length_body_leaves_h11_what_lies_beyond_it_and_ends_as_h11_ends_it():
    conn = _connection(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabcdeXYZ")
    body = _take_body(conn)
    assert isinstance(body, _LengthBody)
    assert (body.pending, body.remaining) == (b"abcde", 0)
    assert bytes(conn._receive_buffer._data) == b"XYZ"  # not the body's: h11 decides on it
    body.reader._remaining = 0
    assert type(conn.next_event()) is h11.EndOfMessage
    short = _take_body(_connection(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"))
    assert isinstance(short, _LengthBody) and short.remaining == 7
    assert "received 3 bytes, expected 10" in str(short.incomplete(7))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_ready_says_whether_take_gives_data_without_another_read(data: st.DataObject):
    """`ready` is what `transport.arrived` asks on the direct road: never True when the next
    data needs another read (a batch held for it would wait on the network), and True
    whenever data is there (else nothing is coalesced)."""
    body = bytearray(data.draw(bodies()))
    if data.draw(st.booleans()) and body:  # sometimes damaged
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.sampled_from(b"0Z;\r\n"))
    first, reads = data.draw(cut(bytes(body)))
    decoder = ChunkedDecoder()
    for piece in [first, *reads]:
        if decoder.end is not None or decoder.error is not None:
            break
        decoder.feed(piece)
        while True:
            ready = decoder.ready()
            pieces = decoder.take(whole=False)
            assert ready == bool(pieces)
            if not pieces:
                break


def test_a_body_h11_reads_ends_at_its_end_message_even_with_its_last_data_joined():
    """`_Body` (what the direct road's streams loop around) on a body left to h11: the last
    data and the end arrive in one read; joined, the data comes out, then the end, and no read
    is asked for after it (h11 asked again would want data: the stream would wait)."""
    from llm_openai_compat.http.direct import _Body

    conn = _connection(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nab")
    assert type(conn.next_event()) is h11.Data  # started: h11 keeps the body
    body = _Body(conn, 65536, 65536)
    assert body.taken is None
    assert body.next(whole=True) == 65536  # nothing held: read
    body.received(b"cdef")
    assert body.next(whole=True) == b"cdef"
    assert body.next(whole=True) == 0
    assert body.next(whole=True) == 0


def test_a_taken_body_gives_its_data_and_asks_for_reads_then_ends():
    from llm_openai_compat.http.direct import _Body

    conn = _connection(HEAD + b"3\r\nabc\r\n")
    body = _Body(conn, 1000, 1000)
    assert isinstance(body.taken, ChunkedDecoder)
    assert body.next(whole=False) == b"abc"
    assert body.next(whole=False) == 1000
    body.received(b"2\r\nde\r\n0\r\nx-t: 1\r\n\r\n")
    assert body.next(whole=True) == b"de"
    assert body.next(whole=True) == 0  # the trailers went to h11, which ended the message
    length = _Body(_connection(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab"), 10, 2)
    assert length.next(whole=True) == b"ab"
    assert length.next(whole=True) == 2  # the read size for what is left, at most `length_read`
    length.received(b"cd")
    assert length.next(whole=True) == b"cd"
    assert length.next(whole=True) == 1
    with pytest.raises(h11.RemoteProtocolError, match="received 4 bytes, expected 5"):
        length.received(b"")

"""Tests for the incremental text/event-stream decoder (llm_openai_compat.wire.sse)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llm_openai_compat.errors import StreamError
from llm_openai_compat.wire.sse import ServerSentEvent, SSEDecoder
from tests.support.fixture_paths import TRANSCRIPTS

E = ServerSentEvent


def shared_transcripts() -> Path:
    """The recorded transcripts, vendored in tests/fixtures/."""
    return TRANSCRIPTS


def decode(chunks: Sequence[bytes], **kwargs: int) -> list[ServerSentEvent]:
    decoder = SSEDecoder(**kwargs)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events


def one_byte_chunks(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


CASES: list[tuple[str, list[bytes], list[ServerSentEvent]]] = [
    ("lf", [b"data: a\n\ndata: b\n\n"], [E(data="a"), E(data="b")]),
    ("cr", [b"data: a\r\rdata: b\r\r"], [E(data="a"), E(data="b")]),
    ("crlf", [b"data: a\r\n\r\ndata: b\r\n\r\n"], [E(data="a"), E(data="b")]),
    ("mixed endings", [b"data: a\r\ndata: b\rdata: c\n\r\n"], [E(data="a\nb\nc")]),
    ("cr|lf split", [b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r\n"], [E(data="a"), E(data="b")]),
    ("crlf split, lf at chunk start", [b"data: a\r", b"\ndata: b\r", b"\n\r\n"], [E(data="a\nb")]),
    ("cr then empty chunk then lf", [b"data: a\r", b"", b"\n\n"], [E(data="a")]),
    ("cr, cr then lf is two lines", [b"data: a\r\r", b"\ndata: b\n\n"], [E(data="a"), E(data="b")]),
    ("bom whole", [b"\xef\xbb\xbfdata: a\n\n"], [E(data="a")]),
    ("bom split", [b"\xef", b"\xbb", b"\xbfdata: a\n\n"], [E(data="a")]),
    ("bom split with data", [b"\xef\xbb", b"\xbfdata: a\n\n"], [E(data="a")]),
    ("only the first bom", [b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n"], []),
    ("bom later is data", [b"data: a\n\n\xef\xbb\xbfdata: b\n\n"], [E(data="a")]),
    ("bom prefix then not", [b"\xef", b"Xdata: a\n\n"], []),
    ("utf-8 split", [b"data: caf\xc3", b"\xa9 \xe2\x82", b"\xac\n\n"], [E(data="café €")]),
    ("invalid utf-8 replaced", [b"data: \xff\n\n"], [E(data="\ufffd")]),
    ("comment", [b": keep-alive\n:\ndata: a\n\n"], [E(data="a")]),
    ("data without space", [b"data:a\n\n"], [E(data="a")]),
    ("data strips one space only", [b"data:  a \n\n"], [E(data=" a ")]),
    ("multi-line data", [b"data: a\ndata:\ndata: b\n\n"], [E(data="a\n\nb")]),
    ("field without colon", [b"data\n\n"], [E(data="")]),
    ("field without colon appends", [b"data: a\ndata\n\n"], [E(data="a\n")]),
    ("colon in value", [b'data: {"a": 1}\n\n'], [E(data='{"a": 1}')]),
    ("unknown field ignored", [b"foo: bar\ndata: a\nDATA: b\n\n"], [E(data="a")]),
    ("event type", [b"event: error\ndata: x\n\n"], [E(event="error", data="x")]),
    ("event type resets", [b"event: e\ndata: 1\n\ndata: 2\n\n"], [E("e", "1"), E(data="2")]),
    ("empty event type", [b"event:\ndata: x\n\n"], [E(data="x")]),
    ("id", [b"id: 7\ndata: x\n\n"], [E(data="x", id="7")]),
    ("id persists", [b"id: 7\ndata: x\n\ndata: y\n\n"], [E(data="x", id="7"), E(data="y", id="7")]),
    (
        "empty id resets",
        [b"id: 7\ndata: x\n\nid\ndata: y\n\n"],
        [E(data="x", id="7"), E(data="y", id="")],
    ),
    ("id with nul ignored", [b"id: 1\n\nid: a\x00b\ndata: x\n\n"], [E(data="x", id="1")]),
    ("retry", [b"retry: 1500\ndata: x\n\ndata: y\n\n"], [E(data="x", retry=1500), E(data="y")]),
    ("bad retry", [b"retry: 15s\nretry: -1\nretry:\nretry: \xd9\xa3\ndata: x\n\n"], [E(data="x")]),
    ("trailing event at flush", [b"data: a\n\ndata: b"], [E(data="a"), E(data="b")]),
    ("trailing event ended by lf", [b"data: a\ndata: b\n"], [E(data="a\nb")]),
    ("trailing field without data", [b"data: a\n\nevent: x"], [E(data="a")]),
    ("empty data not dispatched", [b"event: x\n\n"], []),
    ("no-data block resets type", [b"event: x\n\ndata: a\n\n"], [E(data="a")]),
    ("blank lines only", [b"\n\n\r\n\r"], []),
    ("empty stream", [], []),
    ("empty chunks", [b"", b""], []),
]


@pytest.mark.parametrize(("chunks", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules(chunks: list[bytes], expected: list[ServerSentEvent]) -> None:
    assert decode(chunks) == expected
    # Every case must also decode the same whole and byte by byte.
    whole = b"".join(chunks)
    assert decode([whole]) == expected
    assert decode(one_byte_chunks(whole)) == expected


def test_cr_dispatches_without_waiting_for_next_chunk() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r\r") == [E(data="a")]
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n\r\n") == [E(data="b")]
    assert decoder.flush() == []


def test_comments_dispatch_nothing_and_the_last_event_id_persists() -> None:
    decoder = SSEDecoder()
    assert decoder.last_event_id is None
    events = decoder.feed(b": ping\n\n: ping\nid: abc\nretry: 3000\ndata: a\n\nretry: x\ndata: b\n\n")
    assert events == [E(data="a", id="abc", retry=3000), E(data="b", id="abc")]
    assert decoder.last_event_id == "abc"


def test_flush_resets_pending_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a") == []
    assert decoder.flush() == [E(data="a")]
    assert decoder.flush() == []


def test_max_event_bytes_unterminated_line() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    decoder.feed(b"data: " + b"x" * 90)
    with pytest.raises(StreamError, match="longer than 100 bytes"):
        for _ in range(10):
            decoder.feed(b"x")


def test_max_event_bytes_unterminated_line_in_one_chunk() -> None:
    with pytest.raises(StreamError):
        SSEDecoder(max_event_bytes=100).feed(b"data: a\n\n" + b"y" * 101)


def test_max_event_bytes_many_data_lines() -> None:
    decoder = SSEDecoder(max_event_bytes=100)
    with pytest.raises(StreamError, match="an event"):
        for _ in range(30):
            decoder.feed(b"data: 123456\n")


def test_max_event_bytes_within_limit() -> None:
    data = b"data: " + b"x" * 94 + b"\n\n"  # the line is exactly 100 bytes
    assert decode(one_byte_chunks(data), max_event_bytes=100) == [E(data="x" * 94)]
    # Many small events never accumulate towards the limit.
    assert len(decode([b"data: 123456789\n\n" * 100], max_event_bytes=20)) == 100


def test_real_transcript_in_7_byte_chunks() -> None:
    path = shared_transcripts() / "openrouter__chat__stream_error_midstream_with_comments.txt"
    lines = path.read_bytes().splitlines(keepends=True)
    assert all(line.startswith(b"# ") for line in lines[:3])
    body = b"".join(lines[3:])
    whole = SSEDecoder()
    expected = whole.feed(body) + whole.flush()
    chunked = SSEDecoder()
    got: list[ServerSentEvent] = []
    for i in range(0, len(body), 7):
        got.extend(chunked.feed(body[i : i + 7]))
    got.extend(chunked.flush())
    assert got == expected
    assert len(expected) == 5
    assert expected[-1] == E(data="[DONE]")
    assert all(e.data.startswith("{") for e in expected[:-1])
    assert sum(line.startswith(b":") for line in body.splitlines()) == 17  # keep-alives in between


# -- property: chunk boundaries never change the result ------------------------------------

_line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
# (event type, data lines, id, retry, comment first?) for one event block
_events = st.lists(
    st.tuples(
        st.none() | _line_text,
        st.lists(_line_text, max_size=3),
        st.none() | _line_text.filter(lambda s: "\0" not in s),
        st.none() | st.integers(0, 10**6),
        st.booleans(),
    ),
    max_size=6,
)
_endings = st.sampled_from([b"\n", b"\r", b"\r\n"])


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[ServerSentEvent]]:
    """A stream serialized with random line endings, and the events it must decode to."""
    out: list[bytes] = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    expected: list[ServerSentEvent] = []
    last_id: str | None = None
    previous = b""

    def line(content: bytes) -> None:
        nonlocal previous
        ending = draw(_endings)
        if not content and previous == b"\r" and ending == b"\n":
            ending = b"\r\n"  # a lone LF after a CR would merge into one CRLF line ending
        out.append(content + ending)
        previous = ending

    events = draw(_events)
    for i, (kind, data, id_, retry, comment) in enumerate(events):
        if comment:
            line(b": " + draw(_line_text).encode())
        if kind is not None:
            line(b"event: " + kind.encode())
        if id_ is not None:
            line(b"id: " + id_.encode())
            last_id = id_
        if retry is not None:
            line(b"retry: " + str(retry).encode())
        for value in data:
            form = draw(st.sampled_from(["space", "nospace", "bare"]))
            if form == "bare" and not value:
                line(b"data")
            elif form == "nospace" and not value.startswith(" "):
                line(b"data:" + value.encode())
            else:
                line(b"data: " + value.encode())
        is_last = i == len(events) - 1
        if not (is_last and data and draw(st.booleans())):
            line(b"")  # the last event may end without a blank line: flush() dispatches it
        if data:
            expected.append(E(kind or "message", "\n".join(data), last_id, retry))
    return b"".join(out), expected


@settings(max_examples=200, deadline=None)
@given(stream=streams(), data=st.data())
def test_chunking_never_changes_events(
    stream: tuple[bytes, list[ServerSentEvent]], data: st.DataObject
) -> None:
    body, expected = stream
    assert decode([body]) == expected
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=20), label="cuts"))
    bounds = [0, *cuts, len(body)]
    chunks = [body[a:b] for a, b in itertools.pairwise(bounds)]
    assert decode(chunks) == expected
    assert decode(one_byte_chunks(body)) == expected
    # One chunk per event, as servers send them (the decoder's fast path for `data: ...\n\n`).
    per_event = [piece + b"\n\n" for piece in body.split(b"\n\n")]
    per_event[-1] = per_event[-1][:-2]
    assert b"".join(per_event) == body
    assert decode([p for p in per_event if p]) == expected
    # Several whole events per chunk, as one network read brings them (the multi-event path).
    pieces = [p for p in per_event if p]
    joins = sorted(set(data.draw(st.lists(st.integers(0, len(pieces)), max_size=6), label="joins")))
    groups = [b"".join(pieces[a:b]) for a, b in itertools.pairwise([0, *joins, len(pieces)])]
    assert decode([g for g in groups if g]) == expected


def test_several_events_in_one_chunk() -> None:
    """The multi-event fast path: only whole one-line `data: ` events; anything else in the
    chunk (another field, a comment, a blank line too many, a long event) goes the general
    way, with the same result."""
    for chunk in [
        b"data: a\n\ndata: b\n\n",
        b"data: a\n\ndata: \n\ndata: c\n\n",
        b"data: a\n\n\ndata: b\n\n",
        b"data: a\n\n: ping\n\ndata: b\n\n",
        b"data: a\n\nevent: x\ndata: b\n\n",
        b"data: a\n\ndata:b\n\n",
        b"data: a\ndata: b\n\ndata: c\n\n",
        b"data: \xc3\n\ndata: \xa9\n\n",
        b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\ndata: 3\n\n",
        b"event: a\ndata: 1\ndata: 2\n\nevent: b\ndata: 3\n\n",
        b"event: \ndata: 1\n\ndata: 2\n\n",
        b"event: a\nid: 3\ndata: 1\n\ndata: 2\n\n",
        b"event: a\n\ndata: 1\n\n",
        b"event: a\nevent: b\ndata: 1\n\n",
        b"event: a\ndata:1\n\n",
    ]:
        assert decode([chunk]) == decode(one_byte_chunks(chunk)), chunk
    # Reads that end inside an event, then bring its end, whole events and the next's start.
    stream = (
        b'data: {"a": 1}\n\nevent: t\ndata: 2\n\ndata: 3\n\n: c\n\ndata: 5\nid: 7\n\n'
        b"event: u\ndata: 4\n\nretry: 5\ndata: 6\n\ndata: 8\n\n"
    )
    for cut in range(1, len(stream)):
        assert decode([stream[:cut], stream[cut:]]) == decode([stream]), cut
        for second in range(cut + 1, len(stream)):
            pieces = [stream[:cut], stream[cut:second], stream[second:]]
            assert decode(pieces) == decode([stream]), (cut, second)
    assert decode([b"id: 9\n\n", b"data: a\n\ndata: b\n\n"]) == [
        E("message", "a", "9", None), E("message", "b", "9", None)
    ]
    decoder = SSEDecoder(max_event_bytes=10)
    with pytest.raises(StreamError, match="longer than 10 bytes"):
        decoder.feed(b"data: a\n\ndata: " + b"x" * 20 + b"\n\n")


def test_one_event_per_chunk_keeps_what_came_before() -> None:
    """The fast path never skips pending state: an event type, data lines or a CR from the
    chunks before it, a BOM, or a `retry` field."""
    assert decode([b"event: x\n", b"data: a\n\n"]) == [E("x", "a", None, None)]
    assert decode([b"data: a\n", b"data: b\n\n"]) == [E("message", "a\nb", None, None)]
    assert decode([b"data: a\r", b"\ndata: b\n\n"]) == [E("message", "a\nb", None, None)]
    assert decode([b"\xef\xbb\xbfdata: a\n\n"]) == [E("message", "a", None, None)]
    assert decode([b"", b"\xef\xbb\xbfdata: a\n\n"]) == [E("message", "a", None, None)]
    # One line feed, one byte before the end, is not a whole event: the next line goes on.
    assert decode([b"data: a\ni", b"d: 1\n\n"]) == [E("message", "a", "1", None)]
    assert decode([b"data: a\nd", b"ata: b\n\n"]) == [E("message", "a\nb", None, None)]
    assert decode([b"\xef", b"\xbb\xbfdata: a\n\ndata: b\n\n"]) == [
        E("message", "a", None, None), E("message", "b", None, None)
    ]
    assert decode([b"id: 7\n\n", b"data: a\n\n"]) == [E("message", "a", "7", None)]
    assert decode([b"retry: 5\n", b"data: a\n\n"]) == [E("message", "a", None, 5)]
    assert decode([b"data: a\rb\n\n"]) == decode(one_byte_chunks(b"data: a\rb\n\n"))

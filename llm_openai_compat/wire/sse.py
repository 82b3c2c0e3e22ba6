"""Incremental `text/event-stream` decoder following the WHATWG "server-sent events" rules.

The decoder does no I/O: feed it bytes as they arrive and it returns the events completed so
far, so the same code serves sync and async transports. It works on bytes so that a line ending or a multi-byte UTF-8 character split across
network chunks needs no special casing, and it keeps only the unterminated tail of the stream,
so decoding is linear in the bytes received however the stream is chunked.

One deliberate deviation from the spec: at end of stream the spec discards an event that was
not terminated by a blank line, but many OpenAI-compatible servers end their last `data:` line
without one, so `flush()` dispatches a pending event that has data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import StreamError

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "SSEDecoder", "ServerSentEvent"]

DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event. `id` is the last event ID in force (it persists across events);
    `retry` is set only on the event whose block carried a valid `retry:` field."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


def _starts_event(chunk: bytes, at: int) -> bool:
    return chunk[at : at + 6] == b"data: " or chunk[at : at + 7] == b"event: "


class SSEDecoder:
    """Turns chunks of bytes into `ServerSentEvent`s; call `flush()` once at end of stream.

    `last_event_id` persists across events, as the spec says; `:` lines (keep-alives) are
    skipped.
    A line or event larger than `max_event_bytes` raises `StreamError`, so a hostile server
    cannot grow memory without bound; the decoder is reset and should not be reused after that.
    """

    __slots__ = (
        "_bom_buf",
        "_data",
        "_data_bytes",
        "_event_type",
        "_pending_cr",
        "_retry",
        "_started",
        "_tail",
        "_tail_bytes",
        "last_event_id",
        "max_event_bytes",
    )

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self.last_event_id: str | None = None
        self._started = False  # past the (optional) leading BOM
        self._bom_buf = b""
        self._pending_cr = False  # last chunk ended in CR: drop an LF that starts the next one
        self._tail: list[bytes] = []  # pieces of the unterminated last line (no CR/LF inside)
        self._tail_bytes = 0
        self._data: list[bytes] = []
        self._data_bytes = 0
        self._event_type = b""
        self._retry: int | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes held for an event not complete yet (an unterminated line, data lines)."""
        return self._tail_bytes + self._data_bytes

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one chunk; return the events it completed (often none, sometimes several)."""
        events = self._fast(chunk)
        return events if events is not None else self._general(chunk)

    def _clean(self) -> bool:
        """Nothing pending: the next byte starts a line of a new event."""
        return (
            self._started
            and not self._tail
            and not self._data
            and not self._pending_cr
            and not self._event_type
            and self._retry is None
        )

    def _fast(self, chunk: bytes) -> list[ServerSentEvent] | None:
        """The common case, decoded as the general path would, without a call per line: whole
        events (one per chunk, or all a network read brought), each a `data: ` line, perhaps
        after an `event: ` line; an event cut by the read before or after them goes the
        general way. None: the whole chunk goes the general way. (The decoder gives the same
        events however a stream is cut, so a cut at a blank line changes nothing.)"""
        if b"\r" in chunk:
            return None
        if not self._started and not self._bom_buf and chunk and chunk[:1] != _BOM[:1]:
            self._started = True  # no BOM at the start of the stream: nothing to strip
        if not self._clean():
            cut = chunk.find(b"\n\n") + 2
            if cut < 2 or cut >= len(chunk) or not _starts_event(chunk, cut):
                return None
            head = self._general(chunk[:cut])  # the end of the event before
            rest = chunk[cut:]
            events = self._fast(rest) if self._clean() else None
            return head + (events if events is not None else self._general(rest))
        if chunk[-2:] == b"\n\n" and chunk[:6] == b"data: " and chunk.find(b"\n") == len(chunk) - 2:
            # One event, the chunk that servers send for each.
            if len(chunk) > self.max_event_bytes:
                return None
            return [ServerSentEvent("message", chunk[6:-2].decode("utf-8", "replace"), self.last_event_id)]
        end = chunk.rfind(b"\n\n") + 2
        if end < 2 or not _starts_event(chunk, 0):
            return None
        events = self._whole_events(chunk[:end] if end < len(chunk) else chunk)
        if events is not None and end < len(chunk):
            events += self._general(chunk[end:])  # the start of an event the read cut
        return events

    def _general(self, chunk: bytes) -> list[ServerSentEvent]:
        """Any chunk: split into lines, each line applied by the spec's rules."""
        if not self._started:
            chunk = self._strip_bom(chunk)
            if not self._started:
                return []
        if not chunk:
            return []
        if self._pending_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._pending_cr = False
        if not chunk:
            return []
        if b"\r" in chunk:
            self._pending_cr = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(b"\n")
        if end == -1:
            self._tail.append(chunk)
            self._tail_bytes += len(chunk)
            if self._tail_bytes > self.max_event_bytes:
                self._fail("a line")
            return []
        head = chunk[:end]
        if self._tail:
            self._tail.append(head)
            head = b"".join(self._tail)
        rest = chunk[end + 1 :]
        self._tail = [rest] if rest else []
        self._tail_bytes = len(rest)
        events: list[ServerSentEvent] = []
        for line in head.split(b"\n"):
            self._line(line, events)
        if self._tail_bytes > self.max_event_bytes:
            self._fail("a line")
        return events

    def _whole_events(self, chunk: bytes) -> list[ServerSentEvent] | None:
        """The events of a chunk of whole blocks, each `data: D` or `event: T` + `data: D`
        (one line each); None when any block is something else (the general path decides)."""
        events: list[ServerSentEvent] = []
        last_id, limit = self.last_event_id, self.max_event_bytes
        for block in chunk[:-2].split(b"\n\n"):
            if len(block) > limit:
                return None
            if block[:6] == b"data: ":
                if b"\n" in block:
                    return None
                events.append(ServerSentEvent("message", block[6:].decode("utf-8", "replace"), last_id))
                continue
            line_end = block.find(b"\n")
            if (
                line_end < 0
                or block[:7] != b"event: "
                or block[line_end + 1 : line_end + 7] != b"data: "
                or block.find(b"\n", line_end + 1) != -1
            ):
                return None
            kind = block[7:line_end].decode("utf-8", "replace") or "message"
            data = block[line_end + 7 :].decode("utf-8", "replace")
            events.append(ServerSentEvent(kind, data, last_id))
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: decode an unterminated last line and dispatch a pending event with
        data (see the module docstring for why this deviates from the spec)."""
        events: list[ServerSentEvent] = []
        if not self._started:
            self._started = True
            self._tail = [self._bom_buf] if self._bom_buf else []
            self._bom_buf = b""
        if self._tail:
            line = b"".join(self._tail)
            self._tail = []
            self._tail_bytes = 0
            self._line(line, events)
        self._line(b"", events)
        self._pending_cr = False
        return events

    def _strip_bom(self, chunk: bytes) -> bytes:
        buf = self._bom_buf + chunk
        if len(buf) < len(_BOM) and _BOM.startswith(buf):
            self._bom_buf = buf  # could still become a BOM: wait for more bytes
            return b""
        self._started = True
        self._bom_buf = b""
        return buf[len(_BOM) :] if buf.startswith(_BOM) else buf

    def _line(self, line: bytes, events: list[ServerSentEvent]) -> None:
        if not line:
            if self._data:
                data = b"\n".join(self._data).decode("utf-8", "replace")
                event = self._event_type.decode("utf-8", "replace") or "message"
                events.append(ServerSentEvent(event, data, self.last_event_id, self._retry))
            self._data = []
            self._data_bytes = 0
            self._event_type = b""
            self._retry = None
            return
        if line[0] == 0x3A:  # ":" comment
            return
        colon = line.find(b":")
        if colon == -1:
            name, value = line, b""
        else:
            name, value = line[:colon], line[colon + 1 :]
            if value[:1] == b" ":
                value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._data_bytes += len(value) + 1
            if self._data_bytes > self.max_event_bytes:
                self._fail("an event")
        elif name == b"event":
            self._event_type = value
        elif name == b"id":
            if b"\0" not in value:
                self.last_event_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit() is ASCII digits only
            self._retry = int(value)

    def _fail(self, what: str) -> None:
        self._tail, self._tail_bytes, self._data, self._data_bytes = [], 0, [], 0
        raise StreamError(
            f"The server sent {what} longer than {self.max_event_bytes} bytes in the event stream",
            hint=None,
        )

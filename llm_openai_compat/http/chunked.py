"""HTTP/1.1's chunked transfer coding, decoded without I/O: network reads in, body bytes out.

h11 decodes a chunked body one event per chunk through its state machine, and a streamed answer
is one chunk per event: h11's per-chunk cost was most of what reading an event cost once the
rest was made cheap (docs/performance.md). This decoder does the chunks of a whole read in one
loop, with h11's own grammar for the chunk-size line (`chunk_header_re`) and h11's words for
each fault, and stops at the last chunk: what follows it (trailers, the blank line) goes back to
h11, which ends the message as it always does, so the connection is reused or closed by
httpcore2 exactly as before. `http/direct.py` hands a body over only when h11 has not started
on it; an error here leaves h11 mid-body, so httpcore2 closes that connection.
"""

from __future__ import annotations

import h11
from h11._readers import chunk_header_re as _CHUNK_HEADER  # h11's own grammar of the line

__all__ = ["ChunkedDecoder"]

_CRLF = b"\r\n"


class ChunkedDecoder:
    """`feed` it the body's bytes as they arrive; `take` gives the data decoded from what was
    fed: every piece (`whole`) or the next one only, so a caller that wants a chunk at a time
    does not pay for decoding a whole read first. A piece is a chunk's data, or the part of a
    chunk a read cut. `take` returns nothing when it needs more bytes, or when the body ended
    (`end` then holds the last chunk's line and every byte after it, for h11) or broke (`error`
    holds h11's exception; the data before the fault was given out first, as h11 does).

    A chunk-size line longer than `max_line` without its end is refused, as h11 refuses an
    incomplete event longer than its limit: a hostile server cannot grow the buffer."""

    __slots__ = ("_buf", "_footer", "_left", "_pos", "end", "error", "max_line")

    def __init__(self, max_line: int = 16 * 1024) -> None:
        self._buf = b""
        self._pos = 0  # where `take` goes on in `_buf`
        self._left = 0  # bytes of the current chunk still to come
        self._footer = 0  # bytes of the CRLF after a chunk's data still to come
        self.end: bytes | None = None
        self.error: h11.RemoteProtocolError | None = None
        self.max_line = max_line

    def feed(self, data: bytes) -> None:
        if self.end is not None or self.error is not None:
            raise RuntimeError("the chunked body already ended")
        rest = len(self._buf) - self._pos  # only ever part of a line: `take` had all the rest
        self._buf = self._buf[self._pos :] + data if rest else data
        self._pos = 0

    def ready(self) -> bool:
        """Whether `take` would give data from the bytes already fed, without more: inside a
        chunk with its bytes here, or a whole chunk-size line (not the last chunk's) and a
        byte beyond it. Never True when the next data would need another read."""
        if self.end is not None or self.error is not None:
            return False
        buf, pos = self._buf, self._pos
        if self._left:
            return pos < len(buf)
        footer = self._footer
        if footer:
            if buf[pos : pos + footer] != _CRLF[2 - footer :]:
                return False  # not there yet, or a fault `take` reports
            pos += footer
        end = buf.find(_CRLF, pos)
        if end < 0 or len(buf) <= end + 2:
            return False
        match = _CHUNK_HEADER.fullmatch(buf, pos, end + 2)
        return match is not None and int(match["chunk_size"], 16) > 0

    def take(self, whole: bool = True) -> list[bytes]:
        out: list[bytes] = []
        if self.end is not None or self.error is not None:
            return out
        buf, pos = self._buf, self._pos
        size = len(buf)
        left, footer = self._left, self._footer
        while pos < size:
            if left:
                stop = pos + left if left < size - pos else size
                out.append(buf[pos:stop])
                left -= stop - pos
                pos = stop
                if not left:
                    footer = 2
                if not whole:
                    break
            elif footer:
                got = buf[pos : pos + footer]
                expected = _CRLF[2 - footer :]
                if got != expected[: len(got)]:
                    self.error = h11.RemoteProtocolError(
                        f"malformed chunk footer: {got!r} (expected {expected!r})"
                    )
                    break
                footer -= len(got)
                pos += len(got)
            else:
                end = buf.find(_CRLF, pos)
                if end < 0:
                    if size - pos > self.max_line:
                        self.error = h11.RemoteProtocolError("Receive buffer too long")
                    break
                line = buf[pos : end + 2]
                match = _CHUNK_HEADER.fullmatch(line)
                if match is None:
                    self.error = h11.RemoteProtocolError(f"illegal chunk header: {line!r}")
                    break
                left = int(match["chunk_size"], 16)
                if not left:  # the last chunk: trailers and the end are h11's
                    self.end = buf[pos:]
                    pos = size
                    break
                pos = end + 2
        self._pos, self._left, self._footer = pos, left, footer
        return out

"""Stop sequences for a wire shape whose API has no `stop` field (Responses).

The server cannot stop for us, so the client does: text after the first match is dropped, a
possible start of a match is held back until it is decided, and the finish reason becomes
`stop`. The response is still read to the end, for its usage. Every adapter gets this from
the core (`call.StreamState`), so `llm -o stop` and LangChain's `stop=` behave alike on both
shapes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..events import Event, Finish, ResponseMeta, TextDelta

__all__ = ["StopEmulation", "StopFilter", "emulated_stops"]


def emulated_stops(params: Mapping[str, Any], has_stop_field: bool) -> tuple[str, ...]:
    """The stop sequences the client must apply itself: none where the wire has `stop`."""
    value = params.get("stop")
    if has_stop_field or not value:
        return ()
    stops = [value] if isinstance(value, str) else list(value)
    return tuple(s for s in stops if isinstance(s, str) and s)


class StopFilter:
    """Text in, text up to the first stop sequence out; a possible start of one is held."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.held = ""
        self.hit = False

    def feed(self, text: str) -> str:
        if self.hit:
            return ""
        buffer = self.held + text
        found = [i for i in (buffer.find(s) for s in self.stops) if i >= 0]
        if found:
            self.hit, self.held = True, ""
            return buffer[: min(found)]
        keep = max((_overlap(buffer, s) for s in self.stops), default=0)
        self.held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        held, self.held = self.held, ""
        return held


class StopEmulation:
    """Applies a `StopFilter` to a response's events, in order."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._filter = StopFilter(stops)

    def apply(self, events: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in events:
            if isinstance(event, TextDelta):
                text = self._filter.feed(event.text)
                if text:
                    out.append(TextDelta(text))
                continue
            # Held-back text goes out before any event but text and meta (no content), so it
            # never arrives after a tool call, reasoning or the end of the response.
            if not isinstance(event, ResponseMeta):
                out.extend(self.release())
            if isinstance(event, Finish) and self._filter.hit and event.reason != "stop":
                event = Finish("stop", event.raw_reason, event.inferred)
            out.append(event)
        return out

    def release(self) -> list[Event]:
        """The text held back as a possible start of a stop sequence, as an event (when the
        response ends early, e.g. on an idle timeout, it is still real output)."""
        held = self._filter.flush()
        return [TextDelta(held)] if held else []


def _overlap(text: str, stop: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `stop`."""
    for size in range(min(len(stop) - 1, len(text)), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0

"""`events.coalesce`: what one network read carried, joined into as few events as keep meaning.

Nothing may be dropped or reordered: joining the pieces back gives the same text, reasoning,
refusal and tool arguments, and every other event keeps its place between them.
"""

from __future__ import annotations

import itertools
import random

from llm_openai_compat.events import (
    Event,
    Finish,
    Logprobs,
    ReasoningDelta,
    RefusalDelta,
    ResponseMeta,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
    coalesce,
)


def test_adjacent_text_pieces_become_one_event() -> None:
    assert coalesce([TextDelta("Hel"), TextDelta("lo"), TextDelta("!")]) == [TextDelta("Hello!")]


def test_other_events_keep_their_place_and_break_a_run() -> None:
    meta = ResponseMeta("r1", "m")
    probs = Logprobs(({"token": "a"},))
    events: list[Event] = [
        meta,
        TextDelta("a"),
        TextDelta("b"),
        probs,
        TextDelta("c"),
        Finish("stop"),
    ]
    assert coalesce(events) == [meta, TextDelta("ab"), probs, TextDelta("c"), Finish("stop")]


def test_reasoning_of_two_kinds_and_refusal_are_not_mixed() -> None:
    events: list[Event] = [
        ReasoningDelta("x"),
        ReasoningDelta("y"),
        ReasoningDelta("s", "summary"),
        RefusalDelta("no"),
        RefusalDelta("pe"),
        TextDelta("t"),
    ]
    assert coalesce(events) == [
        ReasoningDelta("xy"),
        ReasoningDelta("s", "summary"),
        RefusalDelta("nope"),
        TextDelta("t"),
    ]


def test_argument_pieces_join_per_call_only() -> None:
    events: list[Event] = [
        ToolCallStart(0, "c0", "f"),
        ToolCallArgumentsDelta(0, "c0", '{"a"'),
        ToolCallArgumentsDelta(0, "c0", ": 1}"),
        ToolCallArgumentsDelta(1, "c1", "{}"),
    ]
    assert coalesce(events) == [
        ToolCallStart(0, "c0", "f"),
        ToolCallArgumentsDelta(0, "c0", '{"a": 1}'),
        ToolCallArgumentsDelta(1, "c1", "{}"),
    ]


def test_a_single_event_or_none_is_returned_as_is() -> None:
    one: list[Event] = [TextDelta("a")]
    assert coalesce(one) is one
    assert coalesce([]) == []


def _text_of(events: list[Event], kind: type) -> str:
    return "".join(getattr(e, "text", "") for e in events if type(e) is kind)


def test_random_streams_lose_and_reorder_nothing() -> None:
    rng = random.Random(19)
    makers = [
        lambda: TextDelta(rng.choice("abc")),
        lambda: ReasoningDelta(rng.choice("xyz")),
        lambda: RefusalDelta("r"),
        lambda: Usage(1, 2, 3),
        lambda: ToolCallArgumentsDelta(rng.randint(0, 1), "c", rng.choice("{}1")),
    ]
    for _ in range(300):
        events = [rng.choice(makers)() for _ in range(rng.randint(0, 30))]
        joined = coalesce(list(events))
        assert len(joined) <= len(events)
        for kind in (TextDelta, ReasoningDelta, RefusalDelta):
            assert _text_of(joined, kind) == _text_of(events, kind)
        assert [e for e in joined if isinstance(e, Usage)] == [
            e for e in events if isinstance(e, Usage)
        ]
        for index in (0, 1):

            def args(seq: list[Event], i: int = index) -> str:
                return "".join(
                    e.delta for e in seq if isinstance(e, ToolCallArgumentsDelta) and e.index == i
                )

            assert args(joined) == args(events)
        # no two neighbours that could have been joined are left apart
        for left, right in itertools.pairwise(joined):
            if type(left) is type(right) and isinstance(left, (TextDelta, RefusalDelta)):
                raise AssertionError(f"{left} and {right} were left apart")

"""What counts as a keep-alive in a body read whole (`http/bodies.py`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llm_openai_compat.http.bodies import BodyReader, only_keepalives


def _by_lines(chunk: bytes) -> bool:
    """The definition: every line blank or a `:` comment."""
    return all(
        not line.strip() or line.strip().startswith(b":") for line in chunk.split(b"\n")
    )


_pieces = st.sampled_from(
    [b" ", b"\n", b"\r\n", b"\t", b": ping", b":", b"{", b"data: x", b"a", b"::", b" :x", b"\x0b"]
)


@given(st.lists(_pieces, max_size=12).map(b"".join))
def test_keepalives_are_blank_and_comment_lines_only(chunk: bytes) -> None:
    assert only_keepalives(chunk) is _by_lines(chunk)


def test_a_chunk_that_starts_with_content_is_content() -> None:
    assert not only_keepalives(b'{"data": [' + b"A" * 65_536)
    assert not only_keepalives(b": comment\n" + b"x" * 10)
    assert only_keepalives(b"  \n: keep-alive\r\n\n")


def test_a_body_of_only_keepalives_stalls_after_the_idle_time() -> None:
    now = [0.0]
    reader = BodyReader(idle_s=5.0, clock=lambda: now[0])
    for _ in range(3):
        now[0] += 2.0
        if not reader.add(b": still here\n"):
            break
    assert reader.stalled
    reader = BodyReader(idle_s=5.0, clock=lambda: now[0])
    for _ in range(3):
        now[0] += 2.0
        assert reader.add(b'{"a": 1}')
    assert not reader.stalled

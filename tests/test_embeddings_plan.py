"""Batch planning and learned limits (pure), and where embeddings are sent (urls.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm_openai_compat import Client, embeddings_endpoint
from llm_openai_compat.embeddings import LearnedLimits, input_size, next_batch, plan_batches
from tests.support.spy import spy


def _spans(batches: list) -> list[tuple[int, int]]:
    return [(b.start, b.stop) for b in batches]


def test_batches_split_on_count() -> None:
    assert _spans(plan_batches([10] * 10, 0, 10, 4, 10_000)) == [(0, 4), (4, 8), (8, 10)]


def test_batches_split_on_bytes() -> None:
    sizes = [30, 30, 30, 50, 10, 10]
    batches = plan_batches(sizes, 0, 6, 100, 60)
    assert _spans(batches) == [(0, 2), (2, 3), (3, 5), (5, 6)]
    assert [b.size for b in batches] == [60, 30, 60, 10]


def test_an_input_larger_than_the_byte_limit_goes_alone() -> None:
    assert _spans(plan_batches([5, 500, 5], 0, 3, 100, 50)) == [(0, 1), (1, 2), (2, 3)]


def test_a_sub_range_is_planned_in_place() -> None:
    assert _spans(plan_batches([1] * 10, 4, 9, 2, 100)) == [(4, 6), (6, 8), (8, 9)]


def test_empty_range_has_no_batch() -> None:
    assert plan_batches([], 0, 0, 10, 10) == []


@given(st.text(alphabet=st.one_of(
    st.characters(codec="utf-8"), st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "é", "😀"])
)))
def test_an_input_size_is_its_bytes_in_the_body(text: str) -> None:
    assert input_size(text) == len(json.dumps(text, ensure_ascii=False).encode()) + 1


def test_input_sizes_count_json_escapes_and_utf8() -> None:
    texts = ['a"b', "é", "\n"]
    expected = [len(json.dumps(t, ensure_ascii=False).encode()) + 1 for t in texts]
    assert [input_size(t) for t in texts] == expected == [7, 5, 5]


def test_next_batch_stops_at_the_range_end() -> None:
    assert next_batch([1] * 10, 7, 9, 5, 100) == plan_batches([1] * 10, 7, 9, 5, 100)[0]
    assert (next_batch([1] * 10, 7, 9, 5, 100).start, next_batch([1] * 10, 7, 9, 5, 100).stop) == (7, 9)


def test_a_job_plans_each_batch_when_it_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing kept per input but the result's slots: a batch's inputs are measured when
    the batch is taken, so memory beside the vectors is flat in the number of batches."""
    import llm_openai_compat.embeddings as module

    measured = spy(monkeypatch, module, "input_size")
    texts = [f"text {i}" for i in range(10_000)]
    client = Client.inline("http://127.0.0.1:9/v1", api_key="k")
    job = client._embed_job(texts, "m", None, "float", 100, None, LearnedLimits(), 4)
    assert len(measured) == 100 and len(job.pending) == 1 and not job.single
    spans = []
    while (request := job.take()) is not None:
        spans.append((request.batch.start, request.batch.stop))
        assert len(measured) <= spans[-1][1]  # never measured ahead of what is sent
    assert spans == [(i, i + 100) for i in range(0, 10_000, 100)]
    one = client._embed_job(texts[:50], "m", None, "float", 100, None, LearnedLimits(), 4)
    assert one.single


def test_learned_limits_only_go_down_and_are_bounded() -> None:
    learned = LearnedLimits(maxsize=2)
    learned.lower(("p", "m"), inputs=64)
    learned.lower(("p", "m"), inputs=128, size=1000)
    assert learned.get(("p", "m")) == (64, 1000)
    learned.lower(("q", "m"), inputs=1)
    learned.lower(("r", "m"), inputs=1)
    assert learned.get(("p", "m")) == (None, None)  # least recently used went first
    assert learned.get(("r", "m")) == (1, None)
    learned.clear()
    assert learned.get(("r", "m")) == (None, None)


@pytest.mark.parametrize(
    ("base", "mode", "expected"),
    [
        ("http://localhost:11434", "auto", "http://localhost:11434/v1/embeddings"),
        ("http://localhost:11434/v1", "auto", "http://localhost:11434/v1/embeddings"),
        ("http://h/v1/chat/completions", "auto", "http://h/v1/embeddings"),
        ("http://h/v1/responses", "auto", "http://h/v1/embeddings"),
        ("http://h/api/v1/embeddings", "auto", "http://h/api/v1/embeddings"),
        ("http://h/proxy", "verbatim", "http://h/proxy/embeddings"),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "auto",
         "https://generativelanguage.googleapis.com/v1beta/openai/embeddings"),
        ("https://r.openai.azure.com/openai/deployments/emb?api-version=2024-10-21", "auto",
         "https://r.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21"),
    ],
)
def test_embeddings_endpoint(base: str, mode: str, expected: str) -> None:
    assert embeddings_endpoint(base, mode) == expected  # type: ignore[arg-type]

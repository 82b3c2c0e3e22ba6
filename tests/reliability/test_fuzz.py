"""Fuzzing the parsers with hypothesis (and atheris when it is installed).

Targets: the SSE decoder (arbitrary bytes, arbitrarily chunked), ChatStreamParser and
ResponsesStreamParser with the Assembler (raw strings, and JSON shaped like real chunks and
events, built from the fields the parsers read), both `parse_body`s, and error classification.
The only exceptions allowed out are `OpenAICompatError`s; every example must finish quickly.

The runs are derandomized with a fixed number of examples, so the number of inputs tried is
the same on every run (the report counts them).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_openai_compat.errors import OpenAICompatError
from tests.support.fixture_paths import TRANSCRIPTS

from . import fuzz_targets as T

pytestmark = pytest.mark.timeout(120)

EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "200"))
SLOWEST_ALLOWED_S = 1.0
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,  # timed below, per example, so a slow CI machine fails on hangs only
    suppress_health_check=list(HealthCheck),
)
ROOT = Path(__file__).resolve().parents[2]

CHAT_KEYS = [
    "id", "model", "object", "choices", "index", "delta", "message", "content", "role",
    "finish_reason", "tool_calls", "function", "name", "arguments", "type", "usage",
    "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
    "completion_tokens_details", "cached_tokens", "reasoning_tokens", "reasoning_content",
    "reasoning", "reasoning_details", "text", "summary", "signature", "thinking", "data",
    "error", "code", "param", "status", "extra_content", "refusal", "logprobs", "x_groq",
]
RESPONSES_TYPES = [
    "response.created", "response.in_progress", "response.queued", "response.completed",
    "response.failed", "response.incomplete", "response.output_item.added",
    "response.output_item.done", "response.output_text.delta", "response.output_text.done",
    "response.refusal.delta", "response.refusal.done", "response.function_call_arguments.delta",
    "response.function_call_arguments.done", "response.reasoning_text.delta",
    "response.reasoning_text.done", "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done", "error", "message", "function_call", "reasoning",
]
RESPONSES_KEYS = [
    "type", "delta", "text", "item", "item_id", "output_index", "content_index",
    "summary_index", "response", "output", "usage", "status", "error", "message", "code",
    "param", "id", "call_id", "name", "arguments", "content", "summary", "refusal",
    "encrypted_content", "incomplete_details", "reason", "input_tokens", "output_tokens",
    "total_tokens", "input_tokens_details", "output_tokens_details", "cached_tokens",
    "reasoning_tokens", "model",
]
SMALL_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "<think>", "</think>", "stop", "length", "tool_calls", "[DONE]", "{", "0", "-1", "\x00"]
)
SCALARS = (
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=True) | SMALL_TEXT
)


def json_like(keys: list[str], values: Any = None) -> st.SearchStrategy[Any]:
    leaf = SCALARS if values is None else SCALARS | values
    return st.recursive(
        leaf,
        lambda inner: st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(keys) | SMALL_TEXT, inner, max_size=6),
        max_leaves=25,
    )


CHAT_VALUE = json_like(CHAT_KEYS)
RESPONSES_VALUE = json_like(RESPONSES_KEYS, st.sampled_from(RESPONSES_TYPES))
RAW_EVENT = st.tuples(st.sampled_from(["message", "error", "", "ping"]), st.text(max_size=40))
PROFILES = st.sampled_from(T.PROFILE_LIST)


class Tally:
    """Counts examples and their slowest run; checks what escaped."""

    def __init__(self) -> None:
        self.count = 0
        self.slowest = 0.0

    def run(self, fn: Any, *args: Any) -> None:
        self.count += 1
        start = time.perf_counter()
        with contextlib.suppress(OpenAICompatError):
            fn(*args)
        self.slowest = max(self.slowest, time.perf_counter() - start)


def _finish(name: str, tally: Tally, figures: Any) -> None:
    assert tally.count >= EXAMPLES // 2, tally.count
    assert tally.slowest < SLOWEST_ALLOWED_S, f"slowest example took {tally.slowest:.3f} s"
    figures.add("fuzz", target=name, tool="hypothesis", inputs=tally.count,
                slowest_ms=round(tally.slowest * 1000, 2))


def test_sse_decoder_any_bytes_any_chunking(figures):
    tally = Tally()

    @FUZZ
    @given(
        data=st.binary(max_size=600)
        | st.lists(
            st.sampled_from([b"data: ", b"event: ", b"id: ", b"retry: ", b":", b"\r", b"\n",
                             b"\r\n", b"\xef\xbb\xbf", b"{}", b"[DONE]", b"x" * 300, b"\xff"]),
            max_size=40,
        ).map(b"".join),
        cuts=st.lists(st.integers(0, 10_000), max_size=12),
    )
    def check(data: bytes, cuts: list[int]) -> None:
        def go() -> None:
            whole = T.decode_sse([data])
            pieces = T.decode_sse(T.split(data, cuts))
            assert whole == pieces  # chunking never changes the events
        tally.run(go)

    check()
    _finish("SSE decoder", tally, figures)


def test_chat_stream_parser_and_assembler(figures):
    tally = Tally()

    @FUZZ
    @given(
        events=st.lists(
            RAW_EVENT | CHAT_VALUE.map(lambda v: ("message", json.dumps(v))), max_size=8
        ),
        profile=PROFILES,
    )
    def check(events: list[tuple[str, str]], profile: Any) -> None:
        tally.run(T.run_chat, events, profile)

    check()
    _finish("ChatStreamParser + Assembler", tally, figures)


def test_responses_stream_parser_and_assembler(figures):
    tally = Tally()

    @FUZZ
    @given(
        events=st.lists(
            RAW_EVENT | RESPONSES_VALUE.map(lambda v: ("message", json.dumps(v))), max_size=8
        ),
        profile=PROFILES,
    )
    def check(events: list[tuple[str, str]], profile: Any) -> None:
        tally.run(T.run_responses, events, profile)

    check()
    _finish("ResponsesStreamParser + Assembler", tally, figures)


@pytest.mark.parametrize("shape", ["chat", "responses"])
def test_parse_body(shape, figures):
    tally = Tally()
    values = CHAT_VALUE if shape == "chat" else RESPONSES_VALUE

    @FUZZ
    @given(body=st.dictionaries(st.sampled_from(CHAT_KEYS + RESPONSES_KEYS), values, max_size=6),
           profile=PROFILES)
    def check(body: dict[str, Any], profile: Any) -> None:
        tally.run(T.parse_body, body, shape, profile)

    check()
    _finish(f"parse_body ({shape})", tally, figures)


def test_error_classification(figures):
    tally = Tally()

    @FUZZ
    @given(
        status=st.integers(100, 599),
        headers=st.dictionaries(
            st.sampled_from(["Retry-After", "retry-after-ms", "content-type", "x"]),
            st.text(max_size=30) | st.sampled_from(["inf", "nan", "-1", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT"]),
            max_size=3,
        ),
        body=st.binary(max_size=300) | CHAT_VALUE.map(lambda v: json.dumps(v).encode()),
    )
    def check(status: int, headers: dict[str, str], body: bytes) -> None:
        tally.run(T.run_classify, status, headers, body)

    check()
    _finish("classify_response", tally, figures)


# -- atheris ---------------------------------------------------------------------------------

ATHERIS_RUNS = int(os.environ.get("RELIABILITY_ATHERIS_RUNS", "3000"))
HARNESS = Path(__file__).with_name("atheris_harness.py")


def _atheris_missing() -> str | None:
    try:
        import atheris  # noqa: F401
    except ImportError as exc:
        return f"atheris is not installed ({exc})"
    return None


@pytest.mark.skipif(_atheris_missing() is not None, reason=str(_atheris_missing()))
def test_atheris_coverage_guided(tmp_path, figures):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(TRANSCRIPTS.glob("*.txt")):
        shutil.copy(path, corpus / path.name)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(HARNESS), f"-runs={ATHERIS_RUNS}", "-seed=1", "-max_len=4096",
         "-timeout=5", str(corpus)],
        capture_output=True, text=True, timeout=90, env=env, cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    done = re.search(r"Done (\d+) runs", output)
    assert done, output[-2000:]
    figures.add("fuzz", target="all parsers (one input, every target)", tool="atheris",
                inputs=int(done.group(1)), slowest_ms=None)

"""Every input dimension stays linear through every adapter (issue 13, issue 19).

For each dimension, an input of size n and one of 10n go through the core client, the llm
plugin and LangChain's public `ChatOpenAICompat.stream()` and `invoke()`, in CPU time (on a
shared machine a short run often has a core to itself and a long one never does). The time at
n is the mean of 10 runs in a row (each workload run on a fresh Runtime with the test's
bounds), as much work and as much exposure to other processes as one run at 10n. A linear path takes about 10x as long (less, with a call's
fixed cost); a quadratic one about 100x. The bound, 12x, is a complexity check, not a
performance target. The measuring code is bench/linearity.py, run here at small sizes and by
`python -m bench --only linearity` at full size (docs/linearity.md).

Response dimensions: bytes of one answer, chunks, tool calls per response, argument pieces per
call, whitespace-only deltas (3.6 s at 10n before the `<think>` splitter was fixed, against
36 ms at n). Workload dimensions: a new API key per call (a multi-tenant service; the server
echoes each key into the answer, so every call has a secret of its own to scrub), a new
inline base URL per call (a breaker each), providers in the settings file (parsed,
validated and registered or resolved by a fresh Runtime), and models listed for one provider
(its duplicate check counted each name in the list: 10,000 models took a second). For the first two the test's Runtime
holds at most 32 secrets and 32 breakers and n is 40, so the bound is reached (and evicting) at
n and at 10n alike, and checked after.

LangChain's `stream()` and `invoke()` merge every chunk at the end (`merge_lists`), scanning
the tool-call chunks merged so far for each new one with an integer index. The adapter sends a
call it received whole with `index=None` (tests/langchain/test_tool_call_chunks.py), which
LangChain appends without a scan; 3,000 whole calls went from 1.5 s to 0.13 s. What remains
upstream: a call still streaming when a network read ends keeps its integer index, so many
calls each split across reads (a slow server sending one event per read) are still merged by
scanning, at about 0.1 us per call merged so far.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.linearity import RATIO, SMALL_SIZES, BodyServer, cases, measure
from llm_openai_compat import Runtime, set_default_runtime

from .harness import RUNNER_BY_NAME

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("clean_state")]

BOUND = 32  # the test Runtime's secrets and breakers


@pytest.fixture(scope="module")
def server() -> Iterator[BodyServer]:
    with BodyServer() as running:
        yield running


@pytest.fixture
def small_runtime() -> Iterator[Runtime]:
    runtime = Runtime(max_secrets=BOUND, max_breakers=BOUND, max_learned=BOUND)
    previous = set_default_runtime(runtime)
    try:
        yield runtime
    finally:
        set_default_runtime(previous)
        runtime.close()


@pytest.mark.parametrize(
    ("dimension", "adapter", "mode"),
    cases(),
    ids=[f"{d}-{a}" + (f"-{m}" if a == "langchain" else "") for d, a, m in cases()],
)
def test_ten_times_the_input_costs_at_most_twelve_times(
    dimension, adapter, mode, server, isolated_user_dir, small_runtime, figures
):
    reason = RUNNER_BY_NAME[adapter].available()
    if reason is not None:
        pytest.skip(reason)
    n = SMALL_SIZES[dimension]
    requests_before, keys_before = server.requests, len(server.keys)
    m = measure(dimension, adapter, n, server, mode=mode)
    figures.add(
        "linearity",
        adapter=m.adapter,
        dimension=dimension,
        n=n,
        small_s=m.small_s,
        large_s=m.large_s,
        ratio=m.ratio,
        bound=RATIO,
        held=m.held,
        state=m.state,
    )
    calls = 11 * n if dimension in ("distinct keys", "distinct base URLs") else 3
    assert server.requests - requests_before >= calls  # the server was reached every time
    if dimension == "distinct keys":
        # every key reached the server, and the Runtime kept no more of them than its bound
        assert len(server.keys) - keys_before >= 10 * n
        assert 0 < m.state["secrets held"] <= BOUND == m.state["secrets bound"]
    if dimension == "distinct base URLs":
        assert m.state["breakers held"] <= BOUND == m.state["breakers bound"]
        assert m.state["breakers held"] == BOUND  # 10n base URLs, each its own breaker
    assert m.held, (
        f"{dimension} via {m.adapter}: {m.small_s} s at n={n}, {m.large_s} s at 10n ({m.ratio}x)"
    )

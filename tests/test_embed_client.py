"""`Client.embed` and `AsyncClient.embed` against the local model server (real HTTP on
127.0.0.1): order kept when the server shuffles, batches split on count, bytes and a learned
413, base64 and floats equal, broken answers typed errors, the transport's retries, redaction
and request log shared with chat. Every test runs the sync and the async client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llm_openai_compat import (
    AsyncClient,
    BadRequest,
    Client,
    ConfigError,
    EmbeddingResult,
    LearnedLimits,
    OpenAICompatError,
    RetryPolicy,
    StreamError,
    Unauthorized,
)
from llm_openai_compat.config.profiles import Profile
from llm_openai_compat.http.retry import CircuitBreaker
from llm_openai_compat.providers import inline_provider_id
from llm_openai_compat.runtime import Runtime
from tests.support.model_server import expected_vector
from tests.support.model_server_fixture import ModelServer

TEXTS = [f"document number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(300)]
EXPECTED = [expected_vector(t) for t in TEXTS]


async def _no_sleep(seconds: float) -> None:
    return None


FAST = RetryPolicy(sleep=lambda s: None, asleep=_no_sleep, jitter=0.0, max_attempts=3)


@pytest.fixture(params=["sync", "async"])
def embed(request: pytest.FixtureRequest) -> Any:
    """`embed(base_url, texts, **kw)` through the sync or the async client."""

    async def run(base_url: str, texts: list[str], *, api_key: str | None = None,
                  client_kw: dict[str, Any] | None = None, **kw: Any) -> EmbeddingResult:
        kw.setdefault("model", "sim-embed")
        kw.setdefault("learned", LearnedLimits())
        fields = {"max_retries": 0, **(client_kw or {})}
        if request.param == "sync":
            return Client.inline(base_url, api_key=api_key, **fields).embed(texts, **kw)
        client = AsyncClient.inline(base_url, api_key=api_key, **fields)
        return await client.embed(texts, **kw)

    return run


def _inputs_per_request(server: ModelServer) -> list[int]:
    return [len(r["body"]["input"]) for r in server.requests() if r["path"].endswith("/embeddings")]


async def test_order_is_kept_when_the_server_shuffles(embed: Any, model_server: ModelServer) -> None:
    model_server.reset()
    result = await embed(model_server.url("shuffle"), TEXTS, batch_size=50)
    assert result.vectors == EXPECTED
    assert sorted(_inputs_per_request(model_server)) == [50] * 6
    assert result.requests == 6
    # The length learned from the first batch is checked, never sent: a server that cannot
    # shorten vectors (LiteLLM for most models, OpenAI's ada-002) refuses `dimensions`.
    assert not [r for r in model_server.requests() if "dimensions" in r["body"]]
    words = sum(len(t.split()) for t in TEXTS)
    assert result.input_tokens == result.total_tokens == words
    assert result.model == "sim-embed"


async def test_batches_split_on_the_profile_count(
    embed: Any, model_server: ModelServer, runtime: Runtime
) -> None:
    model_server.reset()
    result = await embed(model_server.url(), TEXTS)
    assert result.vectors == EXPECTED
    assert _inputs_per_request(model_server) == [300]  # default profile: 512 inputs
    runtime.register_profile(Profile(name="tiny-batches", embedding_max_inputs=64))
    model_server.reset()
    result = await embed(model_server.url(), TEXTS, client_kw={"profile": "tiny-batches"})
    assert result.vectors == EXPECTED
    assert sorted(_inputs_per_request(model_server)) == [44, 64, 64, 64, 64]


async def test_batches_split_on_bytes(embed: Any, model_server: ModelServer, runtime: Runtime) -> None:
    texts = ["word " * 400 + str(i) for i in range(40)]  # ~2 KB each
    runtime.register_profile(Profile(name="small-bodies", embedding_max_bytes=10_000))
    model_server.reset()
    result = await embed(model_server.url(), texts, client_kw={"profile": "small-bodies"})
    assert result.vectors == [expected_vector(t) for t in texts]
    sizes = [len(json.dumps(r["body"]["input"])) for r in model_server.requests()]
    assert len(sizes) == 10 and max(sizes) <= 10_000


@pytest.mark.parametrize("flag", ["max-inputs=40", "too-many=40"])
async def test_a_refused_batch_is_halved_and_the_limit_learned(
    embed: Any, model_server: ModelServer, flag: str
) -> None:
    learned = LearnedLimits()
    model_server.reset()
    result = await embed(model_server.url(flag), TEXTS, learned=learned, max_concurrency=1)
    assert result.vectors == EXPECTED
    counts = _inputs_per_request(model_server)
    assert counts[:4] == [300, 150, 75, 37]  # refused, refused, refused, accepted
    assert all(c <= 37 for c in counts[4:])
    inputs, _size = next(iter(learned._limits.values()))
    assert inputs == 37
    model_server.reset()  # the next call starts from what was learned: no refusal
    again = await embed(model_server.url(flag), TEXTS, learned=learned)
    assert again.vectors == EXPECTED
    assert max(_inputs_per_request(model_server)) <= 37


async def test_a_single_input_refused_is_raised(embed: Any, model_server: ModelServer) -> None:
    with pytest.raises(BadRequest) as caught:
        await embed(model_server.url("max-bytes=100"), ["x" * 500])
    assert caught.value.status == 413 and "/embeddings" in str(caught.value)


async def test_base64_and_float_give_the_same_vectors(embed: Any, model_server: ModelServer) -> None:
    model_server.reset()
    b64 = await embed(model_server.url(), TEXTS[:20], encoding="base64")
    floats = await embed(model_server.url(), TEXTS[:20], encoding="float")
    default = await embed(model_server.url(), TEXTS[:20])
    assert b64.vectors == floats.vectors == default.vectors == EXPECTED[:20]
    formats = [r["body"].get("encoding_format") for r in model_server.requests()]
    assert formats == ["base64", None, "base64"]  # the default profile asks for base64


async def test_a_server_without_base64_is_learned(embed: Any, model_server: ModelServer) -> None:
    model_server.reset()
    result = await embed(model_server.url("no-base64"), TEXTS[:5])
    assert result.vectors == EXPECTED[:5]
    formats = [r["body"].get("encoding_format") for r in model_server.requests()]
    assert formats == ["base64", None]
    model_server.reset()
    await embed(model_server.url("no-base64"), TEXTS[:5])
    assert [r["body"].get("encoding_format") for r in model_server.requests()] == [None]


async def test_a_server_that_ignores_base64_still_works(embed: Any, model_server: ModelServer) -> None:
    result = await embed(model_server.url("float-only"), TEXTS[:5], encoding="base64")
    assert result.vectors == EXPECTED[:5]


async def test_dimensions_are_sent_and_checked(embed: Any, model_server: ModelServer) -> None:
    model_server.reset()
    result = await embed(model_server.url(), TEXTS[:3], dimensions=16)
    assert result.vectors == [expected_vector(t, 16) for t in TEXTS[:3]]
    assert model_server.last_body()["dimensions"] == 16
    with pytest.raises(ConfigError, match="dimensions must be a positive integer"):
        await embed(model_server.url(), TEXTS[:3], dimensions=0)


@pytest.mark.parametrize(
    ("flag", "needle"),
    [
        ("nan", "NaN or infinity in the vector at index 1"),
        ("short", "7 dimensions at index 2, expected 8"),
        ("no-index", "without an integer `index`"),
        ("dup-index", "index 0 twice"),
        ("deep=100000", "nested too deeply"),
        ("huge=65", "larger than 64 MB"),
    ],
)
async def test_a_broken_answer_is_a_typed_error(
    embed: Any, model_server: ModelServer, flag: str, needle: str
) -> None:
    with pytest.raises(StreamError, match=needle) as caught:
        await embed(model_server.url(flag), TEXTS[:3], encoding="float")
    message = str(caught.value)
    assert "\n" not in message and "sim-embed" in message and "/embeddings" in message


async def test_vectors_of_another_length_in_a_later_batch_are_refused(
    embed: Any, model_server: ModelServer
) -> None:
    # The first batch sets the length every later batch must have ("short" cuts each
    # batch's last vector, so the second batch's vectors differ from the first's).
    with pytest.raises(StreamError, match="dimensions"):
        await embed(model_server.url("short"), TEXTS[:4], batch_size=2, max_concurrency=1)


async def test_binary_or_non_text_input_is_refused_before_sending(embed: Any) -> None:
    with pytest.raises(ConfigError, match="input 1 is bytes, not text"):
        await embed("http://127.0.0.1:9/v1", ["a", b"b"])  # type: ignore[list-item]


async def test_text_that_is_not_unicode_is_refused_before_sending(embed: Any) -> None:
    # A lone surrogate (a file name read with surrogateescape) cannot be sent as UTF-8.
    with pytest.raises(ConfigError, match="input 2 is not valid Unicode"):
        await embed("http://127.0.0.1:9/v1", ["a", "é", "bad \udce9 byte"])


async def test_no_input_sends_nothing(embed: Any) -> None:
    result = await embed("http://127.0.0.1:9/v1", [])
    assert result.vectors == [] and result.requests == 0


async def test_retries_and_breaker_are_the_transports(fault_server: Any) -> None:
    """A 503 then a good body: retried by the same policy as chat, then used."""
    good = {"data": [{"index": 0, "embedding": [0.5, 0.25]}], "model": "m"}
    for run in ("sync", "async"):
        fault_server.reset()
        fault_server.enqueue(
            {"status": 503, "json": {"error": {"message": "busy"}}},
            {"status": 200, "json": good},
        )
        kw: dict[str, Any] = {"policy": FAST, "breaker": CircuitBreaker("embed-test")}
        if run == "sync":
            result = Client.inline(fault_server.base_url + "/v1", **kw).embed(["a"], model="m")
        else:
            result = await AsyncClient.inline(fault_server.base_url + "/v1", **kw).embed(["a"], model="m")
        assert result.vectors == [[0.5, 0.25]]
        paths = [r["path"] for r in fault_server.requests()]
        assert paths == ["/v1/embeddings", "/v1/embeddings"]


async def test_an_echoed_key_is_redacted_everywhere(fault_server: Any, tmp_path: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "sk-embed-canary-" + "Z" * 32
    log_path = tmp_path / "requests.jsonl"
    monkeypatch.setenv("OPENAI_COMPAT_REQUEST_LOG", str(log_path))
    fault_server.reset()
    fault_server.enqueue({"status": 401, "json": {"error": {"message": f"bad key {canary}"}}})
    client = AsyncClient.inline(fault_server.base_url + "/v1", api_key=canary, max_retries=0)
    with pytest.raises(Unauthorized) as caught:
        await client.embed(["secret text"], model="m")
    assert canary not in str(caught.value) and canary not in repr(caught.value)
    assert fault_server.requests()[0]["headers"]["authorization"] == f"Bearer {canary}"
    text = log_path.read_text()
    assert canary not in text
    record = json.loads(text.splitlines()[0])
    assert record["shape"] == "embeddings" and record["outcome"] == "Unauthorized"
    assert record["request_headers"]["Authorization"] == "[redacted]"


async def test_request_log_records_each_batch_with_usage(
    embed: Any, model_server: ModelServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_path = tmp_path / "requests.jsonl"
    monkeypatch.setenv("OPENAI_COMPAT_REQUEST_LOG", str(log_path))
    await embed(model_server.url(), TEXTS[:10], batch_size=4)
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [r["shape"] for r in records] == ["embeddings"] * 3
    assert all(r["outcome"] == "ok" and r["status"] == 200 for r in records)
    assert sorted(len(r["request_body"]["input"]) for r in records) == [2, 4, 4]
    assert sum(r["usage"]["input"] for r in records) == sum(len(t.split()) for t in TEXTS[:10])


async def test_unauthorized_against_the_model_server(embed: Any, model_server: ModelServer) -> None:
    with pytest.raises(Unauthorized):
        await embed(model_server.url("key=right"), ["a"], api_key="wrong")
    result = await embed(model_server.url("key=right"), ["a"], api_key="right")
    assert result.vectors == [expected_vector("a")]


async def test_errors_are_the_core_taxonomy(embed: Any, model_server: ModelServer) -> None:
    with pytest.raises(OpenAICompatError) as caught:
        await embed(model_server.url("fail=404"), ["a"])
    assert type(caught.value).__name__ == "NotFound"


def test_limits_learned_belong_to_the_clients_runtime(model_server: ModelServer) -> None:
    """Without `learned=`, what a refusal taught lives in the client's runtime: a client of
    the same runtime starts from it, one of another runtime learns afresh."""
    url = model_server.url("max-inputs=40")
    mine, other = Runtime(), Runtime()
    try:
        model_server.reset()
        Client.inline(url, max_retries=0, runtime=mine).embed(TEXTS, model="sim-embed", max_concurrency=1)
        assert _inputs_per_request(model_server)[:4] == [300, 150, 75, 37]
        assert mine.embed_limits.get((inline_provider_id(url), "sim-embed"))[0] == 37
        model_server.reset()
        Client.inline(url, max_retries=0, runtime=mine).embed(TEXTS, model="sim-embed")
        assert max(_inputs_per_request(model_server)) <= 37  # no refusal: learned before
        model_server.reset()
        Client.inline(url, max_retries=0, runtime=other).embed(TEXTS, model="sim-embed", max_concurrency=1)
        assert _inputs_per_request(model_server)[0] == 300  # another runtime knows nothing
        mine.close()
        assert mine.embed_limits.get((inline_provider_id(url), "sim-embed")) == (None, None)
    finally:
        mine.close()
        other.close()


def test_memory_beside_the_vectors_is_flat_in_the_number_of_batches(
    model_server: ModelServer,
) -> None:
    """A job keeps nothing per input or per batch beyond the vectors it returns: 5x the
    batches, the same extra memory at the peak (within a few KB of noise)."""
    import gc
    import tracemalloc

    client = Client.inline(model_server.url(), max_retries=0)
    texts = [f"text {i}" for i in range(2_000)]

    def extra(count: int) -> int:
        inputs = texts[:count]
        gc.collect()
        tracemalloc.start()
        try:
            vectors = client.embed(
                inputs, model="sim-embed", batch_size=50, max_concurrency=1, learned=LearnedLimits()
            ).vectors
            kept, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(vectors) == count
        return peak - kept

    extra(100)  # the pool's connection, opened once
    small, large = min(extra(400) for _ in range(2)), min(extra(2_000) for _ in range(2))
    assert large - small < 4_096, (small, large)

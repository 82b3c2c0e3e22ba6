"""Issue 15 item 2: one model's failures never block the other models of its provider.

Errors that belong to one model (a 429, a model's 5xx through a gateway) open that model's
breaker; a server that cannot be reached at all (a refused port) opens its origin's breaker,
which blocks every model behind it. The same server is one set of breakers for the core client,
the llm CLI and LangChain (tests/test_one_road.py). Real local servers throughout: the model
server rate-limits one model by name (`fail=429+fail-model=mock-ratelimit`).
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

import llm
import pytest
from langchain_core.exceptions import ModelConnectionError, ModelRateLimitError

from langchain_adapter import ChatOpenAICompat
from llm_openai_compat import (
    CircuitOpen,
    Client,
    ConnectError,
    Conversation,
    Message,
    NotFound,
    RateLimited,
    RequestOptions,
    Runtime,
)
from tests.plugin.conftest import run_llm, settings_file, sim, write_settings

__all__ = ["run_llm", "settings_file", "write_settings"]  # the llm CLI's fixtures, used here

HELLO = Conversation((Message.text("user", "hello"),))
LIMITED, HEALTHY = "mock-ratelimit", "mock-gpt"


def _gateway(model_server: Any) -> tuple[str, str]:
    """A base URL of its own (so no other test's breakers meet it) where LIMITED answers 429."""
    run = f"run={uuid.uuid4().hex[:12]}"
    return model_server.url("fail=429", f"fail-model={LIMITED}", run), run


def _sent(model_server: Any, run: str, model: str) -> int:
    return sum(
        1
        for r in model_server.requests()
        if run in r["path"] and isinstance(r["body"], dict) and r["body"].get("model") == model
    )


def _refused_base() -> str:
    """A base URL on 127.0.0.1 where nothing listens: every connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _open_for(client: Client, model: str, error: type[Exception]) -> None:
    for _ in range(5):  # the default threshold: five failed attempts in a row
        with pytest.raises(error):
            client.complete(HELLO, RequestOptions(model=model))


# -- core --------------------------------------------------------------------------------------


def test_a_rate_limited_model_opens_only_its_own_breaker(model_server):
    base, run = _gateway(model_server)
    client = Client.inline(base, max_retries=0)
    _open_for(client, LIMITED, RateLimited)
    assert _sent(model_server, run, LIMITED) == 5

    with pytest.raises(CircuitOpen) as caught:
        client.complete(HELLO, RequestOptions(model=LIMITED))
    message = str(caught.value)
    assert f"Failing fast for model {LIMITED!r} of provider {client.provider_id!r}" in message
    assert "after 5 consecutive failures, the last HTTP 429" in message
    assert "the next try is allowed in " in message
    assert "other models of the provider are still tried" in message
    assert caught.value.model == LIMITED and caught.value.retry_after is not None
    assert _sent(model_server, run, LIMITED) == 5  # refused without a request

    result = client.complete(HELLO, RequestOptions(model=HEALTHY))
    assert "hello" in result.text
    assert _sent(model_server, run, HEALTHY) == 1


async def test_the_async_client_keeps_the_same_rule(model_server):
    from llm_openai_compat import AsyncClient

    base, run = _gateway(model_server)
    client = AsyncClient.inline(base, max_retries=0)
    for _ in range(5):
        with pytest.raises(RateLimited):
            await client.complete(HELLO, RequestOptions(model=LIMITED))
    with pytest.raises(CircuitOpen, match=f"model {LIMITED!r}"):
        await client.complete(HELLO, RequestOptions(model=LIMITED))
    assert "hello" in (await client.complete(HELLO, RequestOptions(model=HEALTHY))).text
    assert _sent(model_server, run, LIMITED) == 5


def test_a_refused_port_opens_the_origin_breaker_for_every_model():
    client = Client.inline(_refused_base(), max_retries=0)
    _open_for(client, "model-a", ConnectError)

    with pytest.raises(CircuitOpen) as caught:
        client.complete(HELLO, RequestOptions(model="model-b"))  # never tried, still refused
    message = str(caught.value)
    assert (
        f"Failing fast for provider {client.provider_id!r} (every model of its server)" in message
    )
    assert "the last ConnectError" in message and "the next try is allowed in " in message
    assert "check the server is running" in message
    assert caught.value.model is None


def test_a_404_naming_a_model_is_that_models_and_opens_no_breaker(model_server):
    """A gateway's 404 for an unknown model belongs to that model but is no failure: it is
    raised as itself every time (never as "failing fast"), and the other models answer."""
    run = f"run={uuid.uuid4().hex[:12]}"
    base = model_server.url("fail=404", "fail-model=no-such-model", run)
    client = Client.inline(base, max_retries=0)
    for _ in range(7):  # more than the threshold of five
        with pytest.raises(NotFound, match="no-such-model"):
            client.complete(HELLO, RequestOptions(model="no-such-model"))
    assert _sent(model_server, run, "no-such-model") == 7
    assert "hello" in client.complete(HELLO, RequestOptions(model=HEALTHY)).text


def test_model_breakers_are_bounded_with_the_rest_of_the_runtime(model_server):
    runtime = Runtime(max_breakers=4)
    base, _ = _gateway(model_server)
    client = Client.inline(base, max_retries=0, runtime=runtime)
    for number in range(10):
        client.complete(HELLO, RequestOptions(model=f"model-{number}"))
    assert runtime.pools.breaker_count() == 4


# -- one breaker per server and model, whatever the adapter -------------------------------------


def test_llm_cli_refuses_only_the_rate_limited_model(model_server, write_settings, run_llm):
    base, run = _gateway(model_server)
    write_settings(gw=sim(base, HEALTHY, LIMITED))
    for _ in range(5):
        result = run_llm("-m", f"gw/{LIMITED}", "hi")
        assert result.exit_code == 1 and "Rate limited" in result.output, result.output
    refused = run_llm("-m", f"gw/{LIMITED}", "hi")
    assert refused.exit_code == 1
    assert f"Failing fast for model {LIMITED!r} of provider 'gw'" in refused.output
    assert "the next try is allowed in " in refused.output
    assert _sent(model_server, run, LIMITED) == 5

    healthy = run_llm("-m", f"gw/{HEALTHY}", "hello")
    assert healthy.exit_code == 0, healthy.output
    assert "hello" in healthy.output


def test_langchain_refuses_only_the_rate_limited_model(model_server, isolated_user_dir):
    import json

    base, run = _gateway(model_server)
    (isolated_user_dir / "openai-compat.json").write_text(
        json.dumps({"providers": {"gw": sim(base, HEALTHY, LIMITED)}}), encoding="utf-8"
    )
    limited = ChatOpenAICompat(provider="gw", model=LIMITED)
    for _ in range(5):
        with pytest.raises(ModelRateLimitError):
            limited.invoke("hi")
    with pytest.raises(ModelConnectionError, match=f"Failing fast for model {LIMITED!r}"):
        limited.invoke("hi")
    assert "hello" in str(ChatOpenAICompat(provider="gw", model=HEALTHY).invoke("hello").content)
    assert _sent(model_server, run, LIMITED) == 5


def test_a_model_breaker_the_core_opens_is_the_one_llm_and_langchain_see(
    model_server, isolated_user_dir, write_settings
):
    base, run = _gateway(model_server)
    write_settings(gw=sim(base, HEALTHY, LIMITED))
    _open_for(Client("gw"), LIMITED, RateLimited)

    with pytest.raises(llm.ModelError, match=f"Failing fast for model {LIMITED!r}"):
        llm.get_model(f"gw/{LIMITED}").prompt("hi").text()
    with pytest.raises(CircuitOpen):
        ChatOpenAICompat(provider="gw", model=LIMITED).invoke("hi")
    assert "hello" in llm.get_model(f"gw/{HEALTHY}").prompt("hello").text()
    assert "hello" in str(ChatOpenAICompat(provider="gw", model=HEALTHY).invoke("hello").content)
    assert _sent(model_server, run, LIMITED) == 5


def test_a_refused_port_blocks_every_model_in_llm_and_langchain(write_settings, run_llm):
    write_settings(down=sim(_refused_base(), "model-a", "model-b"))
    for _ in range(5):
        result = run_llm("-m", "down/model-a", "hi")
        assert result.exit_code == 1 and "Connection failed" in result.output, result.output
    other = run_llm("-m", "down/model-b", "hi")
    assert other.exit_code == 1
    assert "Failing fast for provider 'down' (every model of its server)" in other.output
    assert "the next try is allowed in " in other.output
    with pytest.raises(ModelConnectionError, match="Failing fast for provider 'down'"):
        ChatOpenAICompat(provider="down", model="model-b").invoke("hi")

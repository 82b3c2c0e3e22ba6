"""An llm model's client (`_Shared._client`): a model sends where the settings file llm made it
from said, as its capabilities do (llm makes models anew for every command and
`llm.get_model`, which then see an edit of the file); prompts with nothing of their own to
say about the client reuse the last one while the runtime is the same; another runtime,
`--key` or `-o timeout` / `-o max_retries` / `-o deadline` are honoured on the very prompt
that brings them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import llm

from llm_openai_compat import set_default_runtime
from llm_openai_compat.runtime import Runtime
from tests.plugin.conftest import sim


def _run_url(model_server: Any) -> tuple[str, str]:
    run = f"run={uuid.uuid4().hex[:12]}"
    return model_server.url(run), run


def _paths(model_server: Any) -> list[str]:
    return [r["path"] for r in model_server.requests() if r["path"].endswith("/chat/completions")]


def test_a_model_keeps_the_settings_it_was_made_from(model_server, write_settings):
    model_server.reset()
    first_url, first = _run_url(model_server)
    write_settings(sim=sim(first_url))
    model = llm.get_model("sim/sim-model")
    assert model.prompt("one").text() == "Hello! You said: one."
    client = model._plan.client
    assert model.prompt("two").text() == "Hello! You said: two."
    assert model._plan.client is client

    second_url, second = _run_url(model_server)
    write_settings(sim=sim(second_url, headers={"X-Edited": "yes"}))
    assert model.prompt("three").text() == "Hello! You said: three."  # made before the edit
    assert model._plan.client is client
    remade = llm.get_model("sim/sim-model")
    assert remade.prompt("four").text() == "Hello! You said: four."
    paths = _paths(model_server)
    assert [first in p for p in paths] == [True, True, True, False]
    assert second in paths[-1]
    assert model_server.requests()[-1]["headers"].get("x-edited") == "yes"


def _prompted_once(model_server: Any, write_settings: Any) -> tuple[Any, Any]:
    """A model of a fresh provider after one plain prompt, and the client it kept."""
    model_server.reset()
    url, _ = _run_url(model_server)
    write_settings(sim=sim(url))
    model = llm.get_model("sim/sim-model")
    model.prompt("one").text()
    return model, model._plan.client


def test_a_prompt_that_shapes_its_client_gets_its_own(model_server, write_settings):
    model, client = _prompted_once(model_server, write_settings)
    model.prompt("keyed", key="sk-given-0123456789").text()
    assert model_server.requests()[-1]["headers"].get("authorization") == (
        "Bearer sk-given-0123456789"
    )
    model.prompt("bounded", timeout=30, max_retries=1, deadline=60).text()
    assert model._plan.client is client  # neither replaced the shared one
    model.prompt("plain").text()
    assert "authorization" not in model_server.requests()[-1]["headers"]
    assert "sk-given" not in repr(model._plan)


def test_another_runtime_gets_another_client(model_server, write_settings):
    model, client = _prompted_once(model_server, write_settings)
    fresh = Runtime()
    previous = set_default_runtime(fresh)
    try:
        for text in ("two", "three"):
            model.prompt(text).text()
        assert model._plan.client is not client
        assert model._plan.client.runtime is fresh
    finally:
        set_default_runtime(previous)
        fresh.close()


def test_the_async_model_shares_its_client_the_same_way(model_server, write_settings):
    model_server.reset()
    first_url, _ = _run_url(model_server)
    write_settings(sim=sim(first_url))
    model = llm.get_async_model("sim/sim-model")

    async def prompts() -> list[str]:
        out = [await model.prompt("one").text()]
        client = model._plan.client
        out.append(await model.prompt("two").text())
        assert model._plan.client is client
        return out

    assert asyncio.run(prompts()) == ["Hello! You said: one.", "Hello! You said: two."]
    second_url, second = _run_url(model_server)
    write_settings(sim=sim(second_url))
    remade = llm.get_async_model("sim/sim-model")
    assert asyncio.run(remade.prompt("three").text()) == "Hello! You said: three."
    assert second in _paths(model_server)[-1]

"""Failover between providers of the settings file (`fallbacks`), against real local servers:
one failing (503s, a closed port, an open breaker), one healthy (the model server)."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest

from llm_openai_compat import (
    AsyncClient,
    BadRequest,
    Client,
    ConnectError,
    Conversation,
    Message,
    MissingKey,
    NotFound,
    Provider5xx,
    RequestOptions,
    ResponseMeta,
    RetryPolicy,
    StreamError,
    Unauthorized,
    load_settings,
)
from tests.support.fault_server_fixture import refused_url
from tests.support.wire_bytes import chunk, sse

pytestmark = pytest.mark.timeout(60)

FAST = RetryPolicy(sleep=lambda s: None, jitter=0.0, max_attempts=2)
HI = Conversation((Message.text("user", "hi"),))


def _write(tmp_path: Path, providers: dict[str, Any], **top: Any) -> Path:
    path = tmp_path / f"settings-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps({"providers": providers, **top}), encoding="utf-8")
    return path


def _entry(base_url: str, *fallbacks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "baseURL": base_url,
        "models": ["m"],
        "maxRetries": 1,
        "fallbacks": list(fallbacks),
        **fields,
    }


def _ours(server: Any, token: str) -> list[dict[str, Any]]:
    return [r for r in server.requests() if f"t={token}" in r["path"]]


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex[:8]


def test_503s_fail_over_to_the_healthy_provider_which_is_named(
    model_server, tmp_path, token, caplog
):
    log = tmp_path / "requests.jsonl"
    path = _write(
        tmp_path,
        {
            "a": _entry(
                model_server.url("fail=503", f"t={token}"), {"provider": "b", "model": "m2"}
            ),
            "b": _entry(model_server.url(f"t={token}")),
        },
        requestLog=str(log),
    )
    client = Client("a", settings_path=path, policy=FAST)
    with caplog.at_level(logging.WARNING, logger="llm_openai_compat"):
        events = list(client.stream(HI, RequestOptions(model="m")))
    text = "".join(getattr(e, "text", "") for e in events if e.type == "text")
    assert text == "Hello! You said: hi."
    meta = [e for e in events if isinstance(e, ResponseMeta) and "served_by" in e.extra]
    assert meta[0].extra == {"served_by": "b", "fallback_from": ["a"]}
    sent = _ours(model_server, token)
    assert [("fail" in r["flags"], r["body"]["model"]) for r in sent] == [
        (True, "m"),
        (True, "m"),
        (False, "m2"),
    ]
    assert any(
        "a failed (Provider5xx); failing over to b (model m2)" in r.getMessage()
        for r in caplog.records
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["provider"], e["outcome"], e["extra"]) for e in entries] == [
        ("a", "Provider5xx", {}),
        ("b", "ok", {"fallback_from": ["a"]}),
    ]


async def test_closed_port_fails_over_async_and_not_streamed(model_server, tmp_path, token):
    path = _write(
        tmp_path,
        {
            "down": _entry(refused_url("/v1"), {"provider": "up"}),
            "up": _entry(model_server.url(f"t={token}")),
        },
    )
    client = AsyncClient("down", settings_path=path, policy=FAST)
    result = await client.complete(HI, RequestOptions(model="m", stream=False))
    assert result.text == "Hello! You said: hi."
    assert result.meta is not None and result.meta.extra["served_by"] == "up"
    assert [r["body"]["model"] for r in _ours(model_server, token)] == ["m"]  # same model id
    streamed = [e async for e in client.stream(HI, RequestOptions(model="m"))]
    assert any(
        isinstance(e, ResponseMeta) and e.extra.get("fallback_from") == ["down"] for e in streamed
    )


def test_no_failover_after_the_first_byte(fault_server, model_server, tmp_path, token):
    fault_server.enqueue(
        {
            "status": 200,
            "headers": {"content-type": "text/event-stream"},
            "body": sse(chunk(content="partial answer ")),
            "chunked": True,
            "reset_after_bytes": 40,
        }
    )
    path = _write(
        tmp_path,
        {
            "a": _entry(fault_server.base_url + "/v1", {"provider": "b"}),
            "b": _entry(model_server.url(f"t={token}")),
        },
    )
    with pytest.raises(StreamError):
        list(Client("a", settings_path=path, policy=FAST).stream(HI, RequestOptions(model="m")))
    assert _ours(model_server, token) == []


@pytest.mark.parametrize(
    ("status", "error"), [(400, BadRequest), (401, Unauthorized), (404, NotFound)]
)
def test_no_failover_on_4xx(model_server, tmp_path, token, status, error):
    path = _write(
        tmp_path,
        {
            "a": _entry(model_server.url(f"fail={status}", f"t={token}"), {"provider": "b"}),
            "b": _entry(model_server.url(f"t={token}", "healthy")),
        },
    )
    with pytest.raises(error) as caught:
        Client("a", settings_path=path, policy=FAST).complete(HI, RequestOptions(model="m"))
    assert "failing over" not in str(caught.value)
    assert [r["flags"].get("healthy") for r in _ours(model_server, token)] == [None]


def test_no_failover_on_a_config_error(model_server, tmp_path, token, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    path = _write(
        tmp_path,
        {
            "a": _entry(
                model_server.url(f"t={token}"),
                {"provider": "b"},
                apiKeyRef={"kind": "env", "name": "NO_SUCH_KEY_VAR"},
            ),
            "b": _entry(model_server.url(f"t={token}")),
        },
    )
    with pytest.raises(MissingKey):
        Client("a", settings_path=path, policy=FAST).complete(HI, RequestOptions(model="m"))
    assert _ours(model_server, token) == []


def test_an_open_breaker_fails_over_without_calling_the_provider(
    model_server, tmp_path, token, runtime
):
    path = _write(
        tmp_path,
        {
            "a": _entry(model_server.url("fail=503", f"t={token}"), {"provider": "b"}),
            "b": _entry(model_server.url(f"t={token}")),
        },
    )
    breaker = runtime.pools.breaker("a")
    for _ in range(breaker.threshold):
        breaker.acquire()
        breaker.record("failure")
    assert breaker.state == "open"
    result = Client("a", settings_path=path, policy=FAST).complete(HI, RequestOptions(model="m"))
    assert result.text == "Hello! You said: hi."
    assert [("fail" in r["flags"]) for r in _ours(model_server, token)] == [False]


def test_both_failing_names_both(model_server, tmp_path, token):
    path = _write(
        tmp_path,
        {
            "a": _entry(model_server.url("fail=503", f"t={token}"), {"provider": "b"}),
            "b": _entry(refused_url("/v1")),
        },
    )
    with pytest.raises(ConnectError) as caught:
        Client("a", settings_path=path, policy=FAST).complete(HI, RequestOptions(model="m"))
    message = str(caught.value)
    assert caught.value.provider == "b"
    assert "after failing over from a: " in message and "HTTP 503" in message
    assert "\n" not in message


def test_a_cycle_is_followed_once(model_server, tmp_path, token):
    path = _write(
        tmp_path,
        {
            "a": _entry(model_server.url("fail=503", f"t={token}", "x=a"), {"provider": "b"}),
            "b": _entry(model_server.url("fail=502", f"t={token}", "x=b"), {"provider": "a"}),
        },
    )
    with pytest.raises(Provider5xx) as caught:
        Client("a", settings_path=path, policy=FAST).complete(HI, RequestOptions(model="m"))
    assert [r["flags"]["x"] for r in _ours(model_server, token)] == ["a", "a", "b", "b"]
    assert "HTTP 502" in str(caught.value) and "from a:" in str(caught.value)


def test_a_broken_fallback_is_skipped_and_named(model_server, tmp_path, token):
    path = _write(
        tmp_path,
        {
            "a": _entry(
                model_server.url("fail=503", f"t={token}"), {"provider": "typo"}, {"provider": "b"}
            ),
            "typo": {"baseURL": "http://127.0.0.1:9/v1", "modelz": []},
            "b": _entry(model_server.url(f"t={token}")),
        },
    )
    events = list(
        Client("a", settings_path=path, policy=FAST).stream(HI, RequestOptions(model="m"))
    )
    meta = [e for e in events if isinstance(e, ResponseMeta) and "served_by" in e.extra]
    assert meta[0].extra == {"served_by": "b", "fallback_from": ["a", "typo"]}


@pytest.mark.parametrize(
    ("fallbacks", "field", "words"),
    [
        ([{"provider": "a"}], "providers.a.fallbacks[0].provider", "itself"),
        ([{"provider": "nope"}], "providers.a.fallbacks[0].provider", "'nope' is not in providers"),
        ([{"provider": "b", "modle": "x"}], "providers.a.fallbacks[0].modle", "unknown field"),
        ([{"model": "x"}], "providers.a.fallbacks[0].provider", "missing"),
        ([{"provider": "b"}, {"provider": "b"}], "providers.a.fallbacks", "twice"),
        ("b", "providers.a.fallbacks", "array"),
    ],
)
def test_a_bad_fallback_breaks_only_its_provider(tmp_path, fallbacks, field, words):
    path = _write(
        tmp_path,
        {
            "a": {"baseURL": "http://127.0.0.1:9/v1", "fallbacks": fallbacks},
            "b": {"baseURL": "http://127.0.0.1:9/v1"},
        },
    )
    settings = load_settings(path)
    assert list(settings.providers) == ["b"]
    error = settings.broken["a"]
    assert error.field == field and words in str(error) and str(path) in str(error)


def test_removing_a_fallback_provider_keeps_the_others_working(tmp_path):
    from llm_openai_compat.config.settings import remove_provider

    path = _write(
        tmp_path,
        {
            "a": _entry("http://127.0.0.1:9/v1", {"provider": "b"}, {"provider": "c"}),
            "b": _entry("http://127.0.0.1:9/v1"),
            "c": _entry("http://127.0.0.1:9/v1", {"provider": "b", "model": "x"}),
        },
    )
    settings = remove_provider("b", path)
    assert list(settings.providers) == ["a", "c"] and not settings.broken
    assert [f.provider for f in settings.providers["a"].fallbacks] == ["c"]
    assert settings.providers["c"].fallbacks == []
    assert json.loads(path.read_text())["providers"]["a"]["fallbacks"] == [{"provider": "c"}]

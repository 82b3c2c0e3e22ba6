"""pluggy hooks: an extension installed with pip (an entry point in the `openai_compat` group)
adds a vendor profile and observes each exchange, redacted."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from llm_openai_compat import Client, Conversation, Message, RequestOptions, RetryPolicy
from llm_openai_compat.config.profiles import PROFILES
from llm_openai_compat.http.retry import CircuitBreaker

HI = Conversation((Message.text("user", "hi"),), system="sys")


@pytest.fixture
def extension(tmp_path, monkeypatch):
    """A real installed distribution with an `openai_compat` entry point, on sys.path."""
    package = tmp_path / "oc_ext_demo.py"
    package.write_text(
        textwrap.dedent(
            """
            from llm_openai_compat.hooks import hookimpl
            from llm_openai_compat.config.profiles import Profile

            SEEN = []

            @hookimpl
            def openai_compat_profiles():
                return [Profile(name="demo-vendor", system_role="developer",
                                supports_stream_options=False)]

            @hookimpl
            def openai_compat_exchange(exchange):
                SEEN.append(exchange)
            """
        )
    )
    dist = tmp_path / "oc_ext_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: oc-ext-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[openai_compat]\ndemo = oc_ext_demo\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("oc_ext_demo", None)


def test_extension_profile_and_observer(extension, fault_server, runtime):
    canary = "canary-" + "K" * 30
    fault_server.enqueue(
        {"status": 500, "headers": {"content-type": "application/json"}, "body": "{}"},
        {
            "status": 200,
            "headers": {"content-type": "text/event-stream"},
            "body": 'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\n'
            "data: [DONE]\n\n",
        },
    )
    runtime.plugin_manager()  # loads the entry point and registers its profiles
    assert "demo-vendor" in runtime.profiles() and "demo-vendor" not in PROFILES
    client = Client.inline(
        fault_server.base_url,
        api_key=canary,
        profile="demo-vendor",
        policy=RetryPolicy(sleep=lambda s: None),
        breaker=CircuitBreaker("hooks"),
    )
    assert client.complete(HI, RequestOptions(model="m")).text == "ok"

    body = json.loads(fault_server.requests()[-1]["body"])
    assert body["messages"][0]["role"] == "developer"  # the extension's profile is used
    assert "stream_options" not in body

    import oc_ext_demo

    (exchange,) = oc_ext_demo.SEEN
    assert exchange.provider == f"127.0.0.1:{fault_server.port}" and exchange.status == 200
    assert [(a.attempt, a.status, a.error, a.will_retry) for a in exchange.attempts] == [
        (1, 500, "Provider5xx", True),
        (2, 200, None, False),
    ]
    assert exchange.outcome == "ok" and exchange.finish_reason == "stop"
    assert canary not in exchange.to_json() and canary not in repr(exchange)
    assert exchange.request_headers["Authorization"] == "[redacted]"


def test_broken_extension_does_not_break_requests(tmp_path, monkeypatch, fault_server):
    (tmp_path / "oc_ext_broken.py").write_text("raise RuntimeError('boom at import')\n")
    dist = tmp_path / "oc_ext_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: oc-ext-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[openai_compat]\nbroken = oc_ext_broken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fault_server.enqueue(
        {
            "status": 200,
            "headers": {"content-type": "text/event-stream"},
            "body": 'data: {"choices":[{"index":0,"delta":{"content":"fine"},"finish_reason":"stop"}]}\n\n',
        }
    )
    client = Client.inline(fault_server.base_url, policy=RetryPolicy(sleep=lambda s: None))
    assert client.complete(HI, RequestOptions(model="m")).text == "fine"

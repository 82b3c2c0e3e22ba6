"""What requests to one target for one model share (`call.RequestTemplate`), worked out once
and kept in the runtime: found again only while the target, the runtime's profile, what it
learned about the server and the key are the same, and each request still gets what is its
own (its params, its deadline, its body)."""

from __future__ import annotations

import json

import pytest

from llm_openai_compat import Conversation, Message, RequestOptions
from llm_openai_compat.call import Secret, Target, call_deadline, prepare, request_template
from llm_openai_compat.config.profiles import ADAPTATIONS, Profile
from llm_openai_compat.config.settings import ProviderSettings
from llm_openai_compat.runtime import Runtime

HI = Conversation((Message.text("user", "hi"),))
URL = "http://127.0.0.1:9/v1"


def _target(**fields) -> Target:  # type: ignore[no-untyped-def]
    return Target("tpl", ProviderSettings(base_url=URL, **fields))


def _body(prepared) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(prepared.body_bytes)


def test_requests_share_the_endpoint_and_keep_their_own_body(runtime: Runtime) -> None:
    target = _target(default_params={"temperature": 0.2}, headers={"X-Team": "a"})
    first = prepare(target, HI, RequestOptions(model="m"), runtime)
    second = prepare(
        target, Conversation((Message.text("user", "bye"),)),
        RequestOptions(model="m", params={"temperature": None, "topP": 0.5}), runtime,
    )
    assert second.endpoint is first.endpoint  # its secrets, too, worked out once
    assert first.endpoint.headers["X-Team"] == "a"
    assert first.endpoint.headers["Accept"] == "text/event-stream"
    assert _body(first)["temperature"] == 0.2 and _body(first)["messages"][0]["content"] == "hi"
    assert "temperature" not in _body(second) and _body(second)["top_p"] == 0.5
    assert _body(second)["messages"][0]["content"] == "bye"
    whole = prepare(target, HI, RequestOptions(model="m", stream=False), runtime)
    other = prepare(target, HI, RequestOptions(model="n"), runtime)
    assert whole.endpoint.headers["Accept"] == "application/json"
    assert len({id(p.endpoint) for p in (first, whole, other)}) == 3
    assert other.endpoint.model == "n"


def test_a_deadline_is_the_requests_own(runtime: Runtime) -> None:
    target = _target()
    deadline = call_deadline(None, 30)
    timed = prepare(target, HI, RequestOptions(model="m"), runtime, deadline)
    plain = prepare(target, HI, RequestOptions(model="m"), runtime)
    assert timed.endpoint.deadline is deadline and plain.endpoint.deadline is None
    assert timed.endpoint.headers == plain.endpoint.headers


def test_a_changed_key_is_sent_at_once(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _target(api_key_ref={"kind": "env", "name": "TPL_TEST_KEY"})
    monkeypatch.setenv("TPL_TEST_KEY", "sk-first-0123456789")
    first = prepare(target, HI, RequestOptions(model="m"), runtime)
    monkeypatch.setenv("TPL_TEST_KEY", "sk-second-0123456789")
    second = prepare(target, HI, RequestOptions(model="m"), runtime)
    assert first.endpoint.headers["Authorization"] == "Bearer sk-first-0123456789"
    assert second.endpoint.headers["Authorization"] == "Bearer sk-second-0123456789"
    assert "sk-second-0123456789" in second.endpoint.secrets
    given = Target("tpl", target.settings, api_key=Secret("sk-given-0123456789"))
    assert prepare(given, HI, RequestOptions(model="m"), runtime).endpoint.headers[
        "Authorization"
    ] == "Bearer sk-given-0123456789"
    assert "sk-" not in repr(runtime.templates) and "sk-" not in repr(runtime)


def test_what_the_runtime_learns_changes_the_next_request(runtime: Runtime) -> None:
    target = _target()
    assert "stream_options" in _body(prepare(target, HI, RequestOptions(model="m"), runtime))
    no_stream_options = next(a for a in ADAPTATIONS if a.name == "no-stream-options")
    runtime.learn(target.id, no_stream_options)
    assert "stream_options" not in _body(prepare(target, HI, RequestOptions(model="m"), runtime))


def test_a_profile_registered_later_is_used(runtime: Runtime) -> None:
    target = _target(profile="tpl-custom")
    with pytest.raises(Exception, match="tpl-custom"):
        prepare(target, HI, RequestOptions(model="m"), runtime)
    runtime.register_profile(Profile(name="tpl-custom", supports_stream_options=False))
    assert "stream_options" not in _body(prepare(target, HI, RequestOptions(model="m"), runtime))
    runtime.register_profile(Profile(name="tpl-custom", supports_stream_options=True))
    assert "stream_options" in _body(prepare(target, HI, RequestOptions(model="m"), runtime))


def test_another_target_of_the_same_id_has_its_own(runtime: Runtime) -> None:
    slow, fast = _target(timeout_ms=60_000), _target(timeout_ms=1_000)
    for _ in range(2):
        assert prepare(slow, HI, RequestOptions(model="m"), runtime).endpoint.timeout_ms == 60_000
        assert prepare(fast, HI, RequestOptions(model="m"), runtime).endpoint.timeout_ms == 1_000


def test_templates_are_per_runtime_and_bounded() -> None:
    one, two = Runtime(), Runtime()
    target = _target()
    assert request_template(target, one, "m", True) is request_template(target, one, "m", True)
    assert request_template(target, one, "m", True) is not request_template(target, two, "m", True)
    for i in range(600):
        request_template(target, one, f"m{i}", True)
    assert len(one.templates._items) <= 256

"""No key in a traceback with locals, nor in a real Sentry event (finding 1 of issue 13).

Error trackers record the local variables of every frame of an exception (Sentry does by
default), and `_open()` is on the stack of every HTTP error. A canary key is sent to a local
server answering 500 or 401 (both echo the auth header back, as a careless server might) and
to a port where nothing listens, through the core client (sync and async, streamed or not),
LangChain and an llm model configured in the settings file; the formatted
`TracebackException(capture_locals=True)` of every exception in the chain, and the Sentry event
of each, are searched for the key.
"""

from __future__ import annotations

import asyncio
import json
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from tests.support.counting_server import counting_server
from tests.support.fault_server_fixture import refused_url

# Module-level, so that no test frame holds it in a local (the test's own frames are on the
# traceback too); every adapter gets it from here or from the environment.
CANARY = f"canary{uuid.uuid4().hex}"
HEADER_CANARY = f"hdr{uuid.uuid4().hex}"
KEY_ENV = "TRACEBACK_CANARY_KEY"

pytestmark = pytest.mark.timeout(120)


class _Events(Transport):
    """Sentry's transport, in memory: the events it would have sent."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.payload.json is not None:
                _Events.seen.append(item.payload.json)


@pytest.fixture
def sentry() -> Iterator[list[dict[str, Any]]]:
    """A real Sentry client with its defaults (local variables included), sending nowhere."""
    _Events.seen = []
    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",  # never contacted: the transport is in memory
        transport=_Events,
        default_integrations=False,  # no global patches left behind for later tests
    )
    assert sentry_sdk.get_client().options["include_local_variables"] is True
    try:
        yield _Events.seen
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(None)


def _chain(error: BaseException) -> list[BaseException]:
    """The error and every cause and context below it, suppressed or not."""
    found: list[BaseException] = []
    while error is not None and error not in found:
        found.append(error)
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return found


def _assert_clean(error: BaseException, events: list[dict[str, Any]]) -> None:
    for one in _chain(error):
        text = "".join(traceback.TracebackException.from_exception(one, capture_locals=True).format())
        assert CANARY not in text, f"key in the locals of {type(one).__name__}'s traceback"
        assert HEADER_CANARY not in text, f"secret header in {type(one).__name__}'s traceback"
        sentry_sdk.capture_exception(one)
    sentry_sdk.flush()
    assert len(events) >= len(_chain(error))
    dumped = json.dumps(events)
    assert "vars" in dumped  # the locals really were recorded
    assert CANARY not in dumped and HEADER_CANARY not in dumped


def _frames(error: BaseException) -> set[str]:
    return {
        frame.name
        for one in _chain(error)
        for frame in traceback.extract_tb(one.__traceback__)
    }


# -- the servers: 500 and 401 echoing the auth header, and nothing listening ---------------


@pytest.fixture(params=[500, 401, "refused"])
def base_url(request) -> Iterator[str]:
    if request.param == "refused":
        yield refused_url("/v1")
        return
    with counting_server(status=request.param) as server:
        yield server.url()


def _caught(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as error:  # the adapters' own error types; checked by the callers
        return error
    raise AssertionError("the call did not fail")


# -- through each adapter -------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_core_client(base_url, stream, sentry):
    error = _caught(lambda: _core(base_url, stream))
    assert "_open" in _frames(error)  # the frame whose locals leaked the key before
    _assert_clean(error, sentry)


def test_core_async_client(base_url, sentry):
    error = _caught(lambda: asyncio.run(_core_async(base_url)))
    assert "_aopen" in _frames(error)
    _assert_clean(error, sentry)


def test_langchain(base_url, sentry):
    error = _caught(lambda: _langchain(base_url))
    assert "_open" in _frames(error)
    _assert_clean(error, sentry)


def test_llm_model_from_the_settings_file(base_url, sentry, isolated_user_dir: Path, monkeypatch):
    settings = {"providers": {"p": {
        "baseURL": base_url, "models": ["m"], "maxRetries": 0,
        "apiKeyRef": {"kind": "env", "name": KEY_ENV},
        "headers": {"X-Tenant-Secret": HEADER_CANARY},
    }}}
    (isolated_user_dir / "openai-compat.json").write_text(json.dumps(settings))
    monkeypatch.setenv(KEY_ENV, CANARY)
    error = _caught(_llm)
    assert "_open" in _frames(error)
    _assert_clean(error, sentry)


def _core(base_url: str, stream: bool) -> None:
    from llm_openai_compat import Client, Conversation, Message, RequestOptions

    client = Client.inline(base_url, api_key=CANARY, headers={"X-Tenant-Secret": HEADER_CANARY}, max_retries=0)
    client.complete(Conversation((Message.text("user", "hi"),)), RequestOptions(model="m", stream=stream))


async def _core_async(base_url: str) -> None:
    from llm_openai_compat import AsyncClient, Conversation, Message, RequestOptions

    client = AsyncClient.inline(base_url, api_key=CANARY, headers={"X-Tenant-Secret": HEADER_CANARY}, max_retries=0)
    await client.complete(Conversation((Message.text("user", "hi"),)), RequestOptions(model="m"))


def _langchain(base_url: str) -> None:
    from langchain_adapter import ChatOpenAICompat

    ChatOpenAICompat(base_url=base_url, model="m", api_key=CANARY, max_retries=0).invoke("hi")


def _llm() -> None:
    import llm

    llm.get_model("p/m").prompt("hi").text()

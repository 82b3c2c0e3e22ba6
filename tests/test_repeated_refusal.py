"""Issue 15 item 4: a 5xx the server repeats word for word, saying something is unsupported or
invalid, is not transient. llama-server answers an image sent to a text-only model with
`500 image input is not supported`: after the second identical answer the request stops
(2 attempts, not 6) and is reported as an `UnsupportedRequest`, with advice that does not say
"try again". A 5xx that changes between attempts, or names no such cause, is still retried, and
a repeated refusal never opens a breaker. Against the model server's `no-images` flag.
"""

from __future__ import annotations

import base64
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from langchain_core.exceptions import ModelInvalidRequestError
from langchain_core.messages import HumanMessage

from langchain_adapter import ChatOpenAICompat
from llm_openai_compat import (
    BadRequest,
    Client,
    Conversation,
    ImagePart,
    Message,
    Provider5xx,
    RequestOptions,
    RetryPolicy,
    TextPart,
    UnsupportedRequest,
)
from tests.plugin.conftest import run_llm, settings_file, sim, write_settings

__all__ = ["run_llm", "settings_file", "write_settings"]  # the llm CLI's fixtures, used here

NO_SLEEP = RetryPolicy(sleep=lambda _: None)


def _png() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


DATA_URL = "data:image/png;base64," + base64.b64encode(_png()).decode()
WITH_IMAGE = Conversation(
    (Message("user", (TextPart("what is in this picture?"), ImagePart(DATA_URL))),)
)
TEXT_ONLY = Conversation((Message.text("user", "hello"),))


def _base(model_server: Any, *flags: str) -> tuple[str, str]:
    run = f"run={uuid.uuid4().hex[:12]}"
    return model_server.url(*flags, run), run


def _sent(model_server: Any, run: str) -> int:
    return sum(1 for r in model_server.requests() if run in r["path"])


def _says_what_it_is(message: str) -> None:
    assert "image input is not supported" in message
    assert "refused this request the same way twice (" in message and "HTTP 500" in message
    assert "[after 2 attempts]" in message
    assert "retrying will not help" in message
    assert "try again" not in message.lower()


def test_core_stops_after_the_second_identical_refusal(model_server):
    base, run = _base(model_server, "no-images")
    client = Client.inline(base, policy=NO_SLEEP)  # six attempts allowed
    with pytest.raises(UnsupportedRequest) as caught:
        client.complete(WITH_IMAGE, RequestOptions(model="sim-model"))
    assert _sent(model_server, run) == 2
    assert isinstance(caught.value, BadRequest) and caught.value.attempts == 2
    assert caught.value.status == 500 and caught.value.retry_after is None
    _says_what_it_is(str(caught.value))


async def test_async_core_stops_after_the_second_identical_refusal(model_server):
    from llm_openai_compat import AsyncClient

    base, run = _base(model_server, "no-images")
    client = AsyncClient.inline(base, policy=NO_SLEEP)
    with pytest.raises(UnsupportedRequest) as caught:
        await client.complete(WITH_IMAGE, RequestOptions(model="sim-model", stream=True))
    assert _sent(model_server, run) == 2
    _says_what_it_is(str(caught.value))


@pytest.mark.parametrize(
    ("flags", "why"),
    [
        (("fail=500", "fail-varies"), "the answer changes between attempts"),
        (("fail=500",), "the same answer names no unsupported or invalid input"),
    ],
)
def test_other_5xx_keep_the_normal_retries(model_server, flags, why):
    base, run = _base(model_server, *flags)
    with pytest.raises(Provider5xx) as caught:
        Client.inline(base, policy=NO_SLEEP).complete(TEXT_ONLY, RequestOptions(model="sim-model"))
    assert not isinstance(caught.value, UnsupportedRequest), why
    # Retried until the model's breaker opens at its threshold of five failed attempts.
    assert _sent(model_server, run) == 5, why
    assert caught.value.attempts == 5


def test_repeated_refusals_never_open_a_breaker(model_server):
    base, run = _base(model_server, "no-images")
    client = Client.inline(base, policy=NO_SLEEP)
    for _ in range(6):  # more than the breaker's threshold of five
        with pytest.raises(UnsupportedRequest):
            client.complete(WITH_IMAGE, RequestOptions(model="sim-model"))
    assert _sent(model_server, run) == 12
    assert "hello" in client.complete(TEXT_ONLY, RequestOptions(model="sim-model")).text


def test_llm_cli_reports_the_refusal_after_two_attempts(
    model_server, write_settings, run_llm, tmp_path: Path
):
    base, run = _base(model_server, "no-images")
    write_settings(ls=sim(base, maxRetries=5))
    image = tmp_path / "dot.png"
    image.write_bytes(_png())
    result = run_llm("-m", "ls/sim-model", "-a", str(image), "what is this?")
    assert result.exit_code == 1, result.output
    assert _sent(model_server, run) == 2
    _says_what_it_is(result.output)
    assert "Traceback" not in result.output


def test_langchain_reports_the_refusal_after_two_attempts(model_server):
    base, run = _base(model_server, "no-images")
    chat = ChatOpenAICompat(base_url=base, model="sim-model", max_retries=5)
    message = HumanMessage(
        content=[
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": DATA_URL}},
        ]
    )
    with pytest.raises(ModelInvalidRequestError) as caught:
        chat.invoke([message])
    assert isinstance(caught.value, UnsupportedRequest)
    assert _sent(model_server, run) == 2
    _says_what_it_is(str(caught.value))

"""One road to a provider: the core client, LangChain and llm resolve a provider the same way
(`resolve_provider`), so requests to one server share its id, hence one circuit breaker and
one set of learned quirks; and the llm plugin and LangChain, which leave every fallback to the
core, send byte-identical bodies for the same conversation, options and provider.

Each test uses a base URL of its own (an ignored `run=` flag of the model server), so the
quirks and breakers of other tests, keyed by that id, never meet these.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import llm
import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from langchain_adapter import ChatOpenAICompat
from llm_openai_compat import (
    CircuitOpen,
    Client,
    ConfigError,
    Conversation,
    Message,
    RequestOptions,
    TextPart,
    resolve_provider,
)
from llm_openai_compat.providers import inline_provider_id
from tests.plugin.conftest import sim

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}
HELLO = Conversation((Message("user", (TextPart("hi"),)),))


def _base(model_server: Any, *flags: str) -> tuple[str, str]:
    run = f"run={uuid.uuid4().hex[:12]}"
    return model_server.url(*flags, run), run


def _sent(model_server: Any, run: str) -> list[dict[str, Any]]:
    return [r for r in model_server.requests() if run in r["path"]]


def _write(isolated_user_dir: Any, **providers: dict[str, Any]) -> None:

    path = isolated_user_dir / "openai-compat.json"
    path.write_text(json.dumps({"providers": providers}), encoding="utf-8")


# -- one id ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.openai.com/v1", "api.openai.com/v1"),
        ("https://user:secret@API.example.com:8443/v1/?q=1", "api.example.com:8443/v1"),
        ("http://127.0.0.1:8000/f/x/v1/", "127.0.0.1:8000/f/x/v1"),
    ],
)
def test_every_adapter_gives_a_server_the_same_inline_id(base_url, expected):
    assert inline_provider_id(base_url) == expected
    assert resolve_provider(base_url).id == expected
    assert Client.inline(base_url).provider_id == expected
    assert Client(base_url).provider_id == expected
    assert ChatOpenAICompat(base_url=base_url, model="m").provider_id == expected


def test_a_quirk_the_core_learns_is_not_relearned_by_langchain(model_server):
    base, run = _base(model_server, "no-stream-options")
    client = Client.inline(base, max_retries=0)
    list(client.stream(HELLO, RequestOptions(model="sim-model", stream=True)))
    rejected, adapted = _sent(model_server, run)
    assert "stream_options" in rejected["body"] and rejected["outcome"] == "error"
    assert "stream_options" not in adapted["body"]

    chat = ChatOpenAICompat(base_url=base, model="sim-model", max_retries=0)
    text = "".join(str(chunk.content) for chunk in chat.stream("hello"))

    assert chat.provider_id == client.provider_id
    assert "hello" in text
    (first,) = _sent(model_server, run)[2:]  # one request, sent adapted at once
    assert first["body"]["stream"] is True and "stream_options" not in first["body"]


def test_a_quirk_the_core_learns_is_not_relearned_by_llm_or_langchain(
    model_server, isolated_user_dir
):
    base, run = _base(model_server, "no-stream-options")
    _write(isolated_user_dir, named=sim(base))
    list(Client("named").stream(HELLO, RequestOptions(model="sim-model", stream=True)))
    assert len(_sent(model_server, run)) == 2  # rejected, then adapted

    assert "hello" in llm.get_model("named/sim-model").prompt("hello").text()
    chat = ChatOpenAICompat(provider="named", model="sim-model")
    assert "again" in "".join(str(chunk.content) for chunk in chat.stream("again"))

    later = _sent(model_server, run)[2:]
    assert [r["body"]["stream"] for r in later] == [True, True]
    assert all("stream_options" not in r["body"] for r in later), later


def test_a_breaker_the_core_opens_refuses_langchain_and_llm(model_server, isolated_user_dir):
    base, run = _base(model_server, "fail=503")
    _write(isolated_user_dir, named=sim(base))
    inline, named = Client.inline(base, max_retries=0), Client("named")
    for client in (inline, named):
        for _ in range(5):  # the default threshold: five failed attempts in a row
            with pytest.raises(Exception, match="503"):
                client.complete(HELLO, RequestOptions(model="sim-model"))
    sent = len(_sent(model_server, run))
    assert sent == 10

    with pytest.raises(CircuitOpen):
        ChatOpenAICompat(base_url=base, model="sim-model", max_retries=0).invoke("hi")
    with pytest.raises(CircuitOpen):
        ChatOpenAICompat(provider="named", model="sim-model").invoke("hi")
    with pytest.raises(llm.ModelError, match="named"):
        llm.get_model("named/sim-model").prompt("hi").text()
    assert len(_sent(model_server, run)) == sent  # refused without a request


# -- one formatter, one error -------------------------------------------------------------------


def test_an_unknown_name_is_one_error_with_a_guess(isolated_user_dir):
    _write(isolated_user_dir, ollama=sim("http://127.0.0.1:9/v1"), openai=sim("https://a/v1"))
    for resolve in (
        lambda: resolve_provider("olama"),
        lambda: Client("olama"),
        lambda: ChatOpenAICompat(provider="olama", model="m"),
    ):
        with pytest.raises(ConfigError) as caught:
            resolve()
        message = str(caught.value)
        assert "no provider named 'olama' (known: ollama, openai); did you mean 'ollama'?" in message
        assert str(isolated_user_dir / "openai-compat.json") in message


def test_overrides_are_validated_by_the_settings_files_formatter(isolated_user_dir):
    _write(isolated_user_dir, local=sim("http://127.0.0.1:9/v1"))
    with pytest.raises(ConfigError) as caught:
        resolve_provider("local", timeout_ms="soon")
    error = caught.value
    assert (error.provider, error.field) == ("local", "timeoutMs")
    assert "soon" not in str(error)  # never the input value: it may be a pasted secret
    with pytest.raises(ConfigError, match=r"unknown field 'timout' \(did you mean timeoutMs\?\)"):
        Client.inline("http://127.0.0.1:9/v1", timout=5)
    overridden = resolve_provider("local", api_shape="responses", timeout_ms=5)
    assert (overridden.settings.api_shape, overridden.settings.timeout_ms) == ("responses", 5)
    assert overridden.settings.models == ["sim-model"]


# -- one body ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["chat-completions", "responses"])
def test_llm_and_langchain_send_the_same_bytes(model_server, isolated_user_dir, shape):
    """The server rejects json_schema and the provider's capabilities say so: both adapters
    leave the fallback (json_object plus the schema in the system text) to the core."""
    base, run = _base(model_server, "no-json-schema")
    _write(
        isolated_user_dir,
        same=sim(base, apiShape=shape, capabilities={"jsonSchema": False}),
    )

    answer = llm.get_model("same/sim-model").prompt(
        "invent a dog", system="Be kind.", schema=SCHEMA, temperature=0.5, max_tokens=50
    )
    assert "name" in json.loads(answer.text())
    chat = ChatOpenAICompat(provider="same", model="sim-model", temperature=0.5, max_tokens=50)
    response_format = {"type": "json_schema", "json_schema": {"name": "dog", "schema": SCHEMA}}
    chunks = list(
        chat.stream(
            [SystemMessage("Be kind."), HumanMessage("invent a dog")],
            response_format=response_format,
        )
    )
    assert "name" in json.loads("".join(str(c.content) for c in chunks))

    from_llm, from_langchain = _sent(model_server, run)
    assert from_llm["outcome"] == from_langchain["outcome"] == "complete"
    assert from_llm["raw"].encode() == from_langchain["raw"].encode()
    body = from_llm["body"]
    if shape == "chat-completions":
        assert body["response_format"] == {"type": "json_object"}
        system = body["messages"][0]["content"]
    else:
        assert body["text"]["format"] == {"type": "json_object"}
        system = body["instructions"]
    assert system.startswith("Be kind.\n\n")
    assert system.endswith(json.dumps(SCHEMA, ensure_ascii=False))

"""A canary key, configured every way a key can be (env, llm's keys.json, the OS keyring through
a fake backend, and passed inline), is searched for everywhere it could leak: every error
(message, repr, args, attributes, the chain, the formatted traceback, its pickle), the request
log, Python logging, the exchange hook, reprs, `llm logs` (its SQLite bytes), the llm CLI's
output, LangChain serialization and tracing. The server must have received the key (so a
clean search means something); the search must find it nowhere else.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import secrets
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from llm_openai_compat import Client, Conversation, Message, RequestOptions
from llm_openai_compat import errors as E
from llm_openai_compat.hooks import hookimpl
from llm_openai_compat.runtime import default_runtime
from tests.support.fake_keyring import FakeKeyring
from tests.support.fault_server_fixture import refused_url

from .harness import MODEL, install_recorder, langchain_available, llm_available, write_provider

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("clean_state")]

CANARY = "cnry" + secrets.token_hex(20)
KEY_NAME = "rel-canary"
SERVICE = "llm-openai-compat"
HI = Conversation((Message.text("user", "hi"),))
ROOT = Path(__file__).resolve().parents[2]
SSE = {"content-type": "text/event-stream"}


def ok_stream() -> dict[str, Any]:
    body = (
        'data: {"choices":[{"index":0,"delta":{"content":"fine"}}]}\n\n'
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    )
    return {"status": 200, "headers": SSE, "body": body}


def hostile_specs() -> dict[str, dict[str, Any]]:
    """Servers that echo the key back in every way we have seen or can imagine."""
    echo = f"Incorrect API key provided: {CANARY}. Authorization: Bearer {CANARY}"
    return {
        "401 echoing the key": {"status": 401, "json": {"error": {"message": echo, "type": "invalid_request_error", "code": "invalid_api_key"}}},
        "400 param echo": {"status": 400, "json": {"error": {"message": f"bad api_key={CANARY}", "param": CANARY}}},
        "500 HTML echoing headers": {"status": 500, "headers": {"content-type": "text/html"}, "body": f"<html><title>Error {CANARY}</title><pre>Authorization: Bearer {CANARY}</pre></html>"},
        "429 with key in the body": {"status": 429, "json": {"error": {"message": f"slow down {CANARY}", "type": "insufficient_quota", "code": "insufficient_quota"}}},
        "redirect to a URL with the key": {"status": 302, "headers": {"location": f"http://u:{CANARY}@127.0.0.1:9/v1?api-key={CANARY}&key={CANARY}"}, "body": ""},
        "200 non-JSON echoing the key": {"status": 200, "body": f"<html>your key {CANARY}</html>"},
        "error event echoing the key": {"status": 200, "headers": SSE, "body": 'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n' + "event: error\ndata: " + json.dumps({"error": {"message": f"key {CANARY} revoked", "code": CANARY}}) + "\n\n"},
        "error chunk echoing the key": {"status": 200, "headers": SSE, "body": "data: " + json.dumps({"error": {"message": f"Bearer {CANARY}", "type": CANARY}}) + "\n\n"},
        "malformed event echoing the key": {"status": 200, "headers": SSE, "body": f"data: {{not json {CANARY}\n\n"},
        "stall before headers": {"delay_before_headers": 1.0},
    }


class Search:
    """Records every place searched and every hit."""

    def __init__(self) -> None:
        self.places = 0
        self.hits: list[str] = []

    def check(self, where: str, content: Any) -> None:
        self.places += 1
        if isinstance(content, bytes):
            found = CANARY.encode() in content
        else:
            found = CANARY in (content if isinstance(content, str) else repr(content))
        if found:
            self.hits.append(where)

    def error(self, where: str, error: BaseException | None) -> None:
        """Every rendering of an error, and of everything chained to it."""
        if error is None:
            return
        self.check(f"{where}: str", str(error))
        self.check(f"{where}: repr", repr(error))
        self.check(f"{where}: args", error.args)
        self.check(f"{where}: traceback", "".join(traceback.format_exception(error)))
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            self.check(f"{where}: attributes of {type(current).__name__}", {k: repr(v) for k, v in vars(current).items()})
            if isinstance(current, E.OpenAICompatError):
                self.check(f"{where}: pickle", pickle.dumps(current))
            current = current.__cause__ or current.__context__


@pytest.fixture(scope="module")
def search() -> Iterator[Search]:
    found = Search()
    yield found


@pytest.fixture(scope="module", autouse=True)
def _report(search: Search, figures: Any) -> Iterator[None]:
    yield
    figures.set("secrets", {"places_searched": search.places, "canary_hits": len(search.hits), "hits": search.hits})


class Exchanges:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl
    def openai_compat_exchange(self, exchange: Any) -> None:
        self.seen.append(exchange)


@pytest.fixture
def observed(monkeypatch, tmp_path, caplog) -> Iterator[tuple[Path, Exchanges]]:
    """The request log, an exchange observer, and every log record at DEBUG."""
    install_recorder(monkeypatch)  # retry sleeps recorded, not slept
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv("OPENAI_COMPAT_REQUEST_LOG", str(log))
    observer = Exchanges()
    pm = default_runtime().plugin_manager()
    pm.register(observer)
    caplog.set_level(logging.DEBUG)
    try:
        yield log, observer
    finally:
        pm.unregister(observer)


def _search_observed(search: Search, kind: str, log: Path, observer: Exchanges, caplog: Any) -> None:
    assert log.exists() and observer.seen
    search.check(f"{kind}: request log", log.read_bytes())
    for exchange in observer.seen:
        search.check(f"{kind}: exchange", repr(asdict(exchange)))
        search.check(f"{kind}: exchange json", exchange.to_json())
    for record in caplog.records:
        if record.name.startswith("httpcore") and "receive_response_headers.complete" in record.getMessage():
            continue  # httpcore's own DEBUG trace of what the server sent (an echo, not our leak)
        search.check(f"{kind}: log record", f"{record.getMessage()} {record.args!r} {record.__dict__!r}")


KINDS = ["env", "llm", "keyring", "inline"]


def configure_key(kind: str, user_dir: Path, monkeypatch: Any) -> dict[str, Any]:
    """Store the canary where `kind` says; the provider fields that point at it."""
    if kind == "env":
        monkeypatch.setenv("REL_CANARY_KEY", CANARY)
        return {"apiKeyRef": {"kind": "env", "name": "REL_CANARY_KEY"}}
    if kind == "llm":
        (user_dir / "keys.json").write_text(json.dumps({KEY_NAME: CANARY}), encoding="utf-8")
        return {"apiKeyRef": {"kind": "llm", "name": KEY_NAME}}
    if kind == "keyring":
        import keyring

        previous = keyring.get_keyring()
        keyring.set_keyring(FakeKeyring({f"{SERVICE}|{KEY_NAME}": CANARY}))
        monkeypatch.setattr("tests.reliability.test_secrets._restore_keyring", previous, raising=False)
        return {"apiKeyRef": {"kind": "keyring", "name": KEY_NAME}}
    return {}


@pytest.fixture(autouse=True)
def _keyring_back() -> Iterator[None]:
    import keyring

    previous = keyring.get_keyring()
    yield
    keyring.set_keyring(previous)


def _core_call(provider_id: str, kind: str, stream: bool) -> tuple[list[str], BaseException | None]:
    client = Client(provider_id, api_key=CANARY if kind == "inline" else None)
    text: list[str] = []
    try:
        for event in client.stream(HI, RequestOptions(model=MODEL, stream=stream)):
            if event.type == "text":
                text.append(event.text)
    except E.OpenAICompatError as error:
        return text, error
    return text, None


@pytest.mark.parametrize("kind", KINDS)
def test_core_client_never_leaks(kind, fault_server, isolated_user_dir, monkeypatch, observed, caplog, search):
    log, observer = observed
    fields = configure_key(kind, isolated_user_dir, monkeypatch)
    pid = f"sec-{kind}"
    write_provider(isolated_user_dir, pid, {"baseURL": fault_server.base_url + "/v1", "timeoutMs": 300, "maxRetries": 1, **fields})

    fault_server.enqueue(ok_stream())
    text, error = _core_call(pid, kind, True)
    assert error is None and text == ["fine"]
    (request,) = fault_server.requests()
    assert request["headers"]["authorization"] == f"Bearer {CANARY}"  # the key really was used

    for name, spec in hostile_specs().items():
        for stream in (True, False) if name != "stall before headers" else (True,):
            fault_server.reset()
            fault_server.set_default(spec)
            default_runtime().pools.breaker(pid).reset()
            _, error = _core_call(pid, kind, stream)
            assert error is not None, name
            search.error(f"core/{kind}/{name}/{'stream' if stream else 'json'}", error)

    write_provider(isolated_user_dir, pid, {"baseURL": refused_url("/v1"), "maxRetries": 0, **fields})
    _, error = _core_call(pid, kind, True)
    assert isinstance(error, E.ConnectError)
    search.error(f"core/{kind}/refused", error)

    client = Client(pid, api_key=CANARY if kind == "inline" else None)
    from llm_openai_compat.call import prepare

    prepared = prepare(client.target, HI, RequestOptions(model=MODEL))
    assert any(CANARY in v for v in prepared.endpoint.headers.values())  # it is there to send
    for where, obj in {"Client": client, "Target": client.target, "Prepared": prepared,
                       "Endpoint": prepared.endpoint, "settings": client.target.settings}.items():
        search.check(f"core/{kind}: repr {where}", repr(obj))
        search.check(f"core/{kind}: str {where}", str(obj))
    _search_observed(search, f"core/{kind}", log, observer, caplog)
    assert search.hits == [], "\n".join(search.hits)


# -- llm --------------------------------------------------------------------------------------


def _run_llm(*args: str, env: dict[str, str]) -> Any:
    import llm.cli
    from click.testing import CliRunner

    return CliRunner().invoke(llm.cli.cli, list(args), env=env, catch_exceptions=True)


@pytest.mark.parametrize("kind", KINDS)
def test_llm_cli_and_logs_never_leak(kind, fault_server, isolated_user_dir, monkeypatch, observed, caplog, search):
    reason = llm_available()
    if reason:
        pytest.skip(reason)
    log, observer = observed
    fields = configure_key(kind, isolated_user_dir, monkeypatch)
    pid = f"secllm-{kind}"
    write_provider(isolated_user_dir, pid, {"baseURL": fault_server.base_url + "/v1", "maxRetries": 0, **fields})
    key_args = ["--key", CANARY] if kind == "inline" else []
    env = {"LLM_USER_PATH": str(isolated_user_dir)}

    fault_server.enqueue(ok_stream())
    ok = _run_llm("-m", f"{pid}/{MODEL}", *key_args, "hi", env=env)
    assert ok.exit_code == 0, ok.output
    assert "fine" in ok.output
    assert fault_server.requests()[0]["headers"]["authorization"] == f"Bearer {CANARY}"
    search.check(f"llm/{kind}: prompt output", ok.output)

    for name, spec in hostile_specs().items():
        if name == "stall before headers":
            continue
        fault_server.reset()
        fault_server.set_default(spec)
        default_runtime().pools.breaker(pid).reset()
        result = _run_llm("-m", f"{pid}/{MODEL}", *key_args, "hi", env=env)
        search.check(f"llm/{kind}/{name}: CLI output", result.output)
        search.error(f"llm/{kind}/{name}: CLI exception", result.exception if not isinstance(result.exception, SystemExit) else None)

    listing = _run_llm("openai-compat", "models", pid, *key_args, env=env)
    search.check(f"llm/{kind}: openai-compat models output", listing.output)
    providers = _run_llm("openai-compat", "providers", env=env)
    search.check(f"llm/{kind}: openai-compat providers output", providers.output)

    logs = _run_llm("logs", "-n", "0", "--json", env=env)
    assert logs.exit_code == 0, logs.output
    assert "fine" in logs.output  # the successful prompt was logged
    search.check(f"llm/{kind}: llm logs --json", logs.output)
    for path in isolated_user_dir.glob("logs.db*"):
        search.check(f"llm/{kind}: {path.name} bytes", path.read_bytes())

    import llm

    model = llm.get_model(f"{pid}/{MODEL}")
    search.check(f"llm/{kind}: model repr", repr(model))
    search.check(f"llm/{kind}: model vars", repr(vars(model)))
    fault_server.reset()
    fault_server.enqueue(ok_stream())
    response = model.prompt("hi", key=CANARY if kind == "inline" else None)
    assert response.text() == "fine"
    search.check(f"llm/{kind}: response json", repr(response.json()) if hasattr(response, "json") else "")
    # llm's Response keeps the key its caller passed in `_key` (llm's design, needed to send
    # it); everything else it holds is searched.
    search.check(f"llm/{kind}: response vars", repr({k: v for k, v in vars(response).items() if k not in ("model", "_key")}))
    _search_observed(search, f"llm/{kind}", log, observer, caplog)
    assert search.hits == [], "\n".join(search.hits)


def test_real_llm_process_and_logs_db_never_leak(fault_server, tmp_path, search):
    """The installed `llm` executable, in its own process, with the key in its environment."""
    reason = llm_available()
    if reason:
        pytest.skip(reason)
    user_dir = tmp_path / "llm-user"
    user_dir.mkdir()
    write_provider(user_dir, "secproc", {"baseURL": fault_server.base_url + "/v1", "maxRetries": 0,
                                         "apiKeyRef": {"kind": "env", "name": "REL_CANARY_KEY"}})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "LLM_"))}
    env.update(LLM_USER_PATH=str(user_dir), REL_CANARY_KEY=CANARY, PYTHONPATH=str(ROOT))
    exe = Path(sys.executable).with_name("llm")
    fault_server.enqueue(ok_stream(), hostile_specs()["401 echoing the key"])
    outputs = []
    for args in (["-m", "secproc/m", "hi"], ["-m", "secproc/m", "again"], ["logs", "-n", "0", "--json"]):
        done = subprocess.run([str(exe), *args], capture_output=True, timeout=60, env=env)
        outputs.append(done)
        search.check(f"llm process {args[0]}: stdout+stderr", done.stdout + done.stderr)
        assert b"Traceback" not in done.stderr
    assert outputs[0].returncode == 0 and b"fine" in outputs[0].stdout
    assert outputs[1].returncode != 0 and b"refused the credentials" in outputs[1].stderr
    assert fault_server.requests()[0]["headers"]["authorization"] == f"Bearer {CANARY}"
    for path in user_dir.glob("logs.db*"):
        search.check(f"llm process: {path.name} bytes", path.read_bytes())
    assert search.hits == [], "\n".join(search.hits)


# -- LangChain --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_langchain_serialization_tracing_and_errors_never_leak(kind, fault_server, isolated_user_dir, monkeypatch, observed, caplog, search):
    reason = langchain_available()
    if reason:
        pytest.skip(reason)
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.load import dumpd, dumps

    from langchain_adapter import ChatOpenAICompat

    log, observer = observed
    fields = configure_key(kind, isolated_user_dir, monkeypatch)
    pid = f"seclc-{kind}"
    write_provider(isolated_user_dir, pid, {"baseURL": fault_server.base_url + "/v1", "maxRetries": 0, **fields})
    if kind == "inline":
        chat = ChatOpenAICompat(base_url=fault_server.base_url + "/v1", model=MODEL, api_key=CANARY, max_retries=0)
    else:
        chat = ChatOpenAICompat(provider=pid, model=MODEL)

    class Tracer(BaseCallbackHandler):
        def __init__(self) -> None:
            self.calls: list[Any] = []

        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            self.calls.append(("start", serialized, kwargs))

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            self.calls.append(("end", response, kwargs))

        def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
            self.calls.append(("error", repr(error), kwargs))

    tracer = Tracer()
    fault_server.enqueue(ok_stream())
    assert chat.invoke("hi", config={"callbacks": [tracer]}).content == "fine"
    assert fault_server.requests()[0]["headers"]["authorization"] == f"Bearer {CANARY}"
    for name, spec in hostile_specs().items():
        if name == "stall before headers":
            continue
        fault_server.reset()
        fault_server.set_default(spec)
        default_runtime().pools.breaker(chat.provider_id).reset()
        for method in ("invoke", "stream"):
            try:
                if method == "invoke":
                    chat.invoke("hi", config={"callbacks": [tracer]})
                else:
                    list(chat.stream("hi", config={"callbacks": [tracer]}))
            except Exception as error:
                assert isinstance(error, E.OpenAICompatError), repr(error)
                search.error(f"langchain/{kind}/{name}/{method}", error)
            else:
                pytest.fail(f"{name}: no error")

    for where, value in {
        "dumps": lambda: dumps(chat),
        "dumps pretty": lambda: dumps(chat, pretty=True),
        "dumpd": lambda: dumpd(chat),
        "to_json": chat.to_json,
        "repr": lambda: repr(chat),
        "str": lambda: str(chat),
        "model_dump": chat.model_dump,
        "model_dump_json": chat.model_dump_json,
        "_identifying_params": lambda: chat._identifying_params,
        "_get_ls_params": chat._get_ls_params,
        "invocation params": lambda: chat._get_invocation_params(),
        "tracer callbacks": lambda: tracer.calls,
    }.items():
        search.check(f"langchain/{kind}: {where}", repr(value()))
    _search_observed(search, f"langchain/{kind}", log, observer, caplog)
    assert search.hits == [], "\n".join(search.hits)

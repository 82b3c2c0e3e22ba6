"""Pickling for worker processes: `Client`, `ChatOpenAICompat` and `OpenAICompatEmbeddings` with
`pickle` and `cloudpickle` (client.py, runtime.py, http/retry.py, langchain_adapter).

Against the real model server, which answers only `Authorization: Bearer <SECRET>` (flag
`key-sha256=`): with a key reference (env, llm's keys.json, the keyring, a settings-file provider's
`apiKeyRef`) the secret is nowhere in the pickle bytes and a separate worker process resolves it
and calls; with an inline key it is in the pickle, as documented. Unpickled objects carry no
pools, no clients and no state learned by the sender.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import cloudpickle
import pytest

from langchain_adapter import ChatOpenAICompat, OpenAICompatEmbeddings
from llm_openai_compat import (
    CircuitBreaker,
    Client,
    Conversation,
    Message,
    Profile,
    Runtime,
    default_runtime,
)
from llm_openai_compat.config.profiles import ADAPTATIONS
from tests.support.file_keyring import FileKeyring
from tests.support.model_server_fixture import ModelServer
from tests.support.pickle_worker import use

pytestmark = pytest.mark.timeout(180)

SECRET = "sk-pickle-canary-7c1f9e42"
DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()  # the server checks it; the URL holds no key
ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "support" / "pickle_worker.py"
SERIALIZERS: dict[str, ModuleType] = {"pickle": pickle, "cloudpickle": cloudpickle}
HI = Conversation((Message.text("user", "hi"),))


def three(base_url: str | None, **key: Any) -> list[Any]:
    """The three picklable objects for one server and one way of giving the key."""
    provider = key.pop("provider", None)
    if provider:
        return [
            Client(provider),
            ChatOpenAICompat(provider=provider, model="m"),
            OpenAICompatEmbeddings(provider=provider, model="m"),
        ]
    assert base_url
    ref = key.get("api_key_ref")
    inline = key.get("api_key")
    client = (
        Client.inline(base_url, api_key_ref=ref) if ref else Client.inline(base_url, api_key=inline)
    )
    return [
        client,
        ChatOpenAICompat(base_url=base_url, model="m", **key),
        OpenAICompatEmbeddings(base_url=base_url, model="m", **key),
    ]


def in_worker(data: bytes, env: dict[str, str]) -> list[Any]:
    """Unpickle and call in a fresh interpreter (tests/support/pickle_worker.py)."""
    done = subprocess.run(
        [sys.executable, str(WORKER)], input=data, capture_output=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env}, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result: list[Any] = json.loads(done.stdout)
    return result


@pytest.fixture
def key_refs(isolated_user_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The secret stored where each kind of reference finds it, in this process and workers."""
    monkeypatch.setenv("PICKLE_TEST_KEY", SECRET)
    (isolated_user_dir / "keys.json").write_text(json.dumps({"pickle-test": SECRET}))
    keyring_file = tmp_path / "keyring.json"
    keyring_file.write_text(json.dumps({"llm-openai-compat": {"pickle-test": SECRET}}))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.file_keyring.FileKeyring")
    monkeypatch.setenv("TEST_KEYRING_FILE", str(keyring_file))
    # This process chose its keyring backend already (the environment is read once): set it.
    import keyring

    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    try:
        yield tmp_path
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize("serializer", SERIALIZERS)
@pytest.mark.parametrize("ref", ["env", "llm", "keyring", "settings-file"])
def test_with_a_key_reference_no_secret_is_pickled_and_the_worker_resolves_it(
    model_server: ModelServer, key_refs: Path, monkeypatch: pytest.MonkeyPatch,
    ref: str, serializer: str,
):
    base_url = model_server.url(f"key-sha256={DIGEST}")
    if ref == "settings-file":
        settings = key_refs / "settings.json"
        settings.write_text(json.dumps({"providers": {"fleet": {
            "baseURL": base_url, "apiKeyRef": {"kind": "env", "name": "PICKLE_TEST_KEY"},
        }}}))
        monkeypatch.setenv("OPENAI_COMPAT_SETTINGS", str(settings))
        objects = three(None, provider="fleet")
    else:
        name = "PICKLE_TEST_KEY" if ref == "env" else "pickle-test"
        objects = three(base_url, api_key_ref={"kind": ref, "name": name})
    here = [use(obj) for obj in objects]  # pools, clients and the auth header now exist here
    assert isinstance(here[0], str) and here[0] and isinstance(here[1], str) and here[2] > 0

    data = SERIALIZERS[serializer].dumps(objects)
    assert SECRET.encode() not in data
    assert SECRET[3:].encode() not in data  # not even without its prefix
    model_server.reset()
    # The worker has no settings file: what it needs travelled, the key it resolves itself.
    env = {"OPENAI_COMPAT_SETTINGS": str(key_refs / "absent.json")}
    assert in_worker(data, env) == here
    seen = model_server.requests()
    assert len(seen) == 3
    assert all(r["headers"].get("authorization") == f"Bearer {SECRET}" for r in seen)


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_without_the_key_where_the_worker_looks_the_call_fails_with_one_line(
    model_server: ModelServer, key_refs: Path, serializer: str
):
    objects = three(model_server.url(f"key-sha256={DIGEST}"),
                    api_key_ref={"kind": "env", "name": "PICKLE_TEST_KEY"})
    data = SERIALIZERS[serializer].dumps(objects)
    env = {k: v for k, v in os.environ.items() if k != "PICKLE_TEST_KEY"}
    done = subprocess.run(
        [sys.executable, str(WORKER)], input=data, capture_output=True, timeout=120,
        env={**env, "PYTHONPATH": str(ROOT)}, check=False,
    )
    results = json.loads(done.stdout)
    assert [r["error"] for r in results] == ["MissingKey"] * 3
    assert all("PICKLE_TEST_KEY" in r["message"] and "\n" not in r["message"] for r in results)


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_an_inline_key_is_in_the_pickle_as_documented(model_server: ModelServer, serializer: str):
    objects = three(model_server.url(f"key-sha256={DIGEST}"), api_key=SECRET)
    here = [use(obj) for obj in objects]
    data = SERIALIZERS[serializer].dumps(objects)
    assert SECRET.encode() in data  # the docstrings say so: use a key reference to keep it out
    assert in_worker(data, {}) == here
    for cls in (Client, ChatOpenAICompat, OpenAICompatEmbeddings):
        doc = (cls.__doc__ or "") + (cls.__getstate__.__doc__ or "")
        assert "inline" in doc and "pickle" in doc


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_unpickled_objects_carry_no_pools_clients_or_learned_state(
    model_server: ModelServer, serializer: str, runtime: Runtime
):
    own = Runtime(max_origins=3)
    own.register_profile(Profile(name="fleet-vendor"))
    base_url = model_server.url()
    objects = [
        Client.inline(base_url, runtime=own),
        Client.inline(base_url, breaker=CircuitBreaker("x", threshold=2, cooldown=7.0)),
        ChatOpenAICompat(base_url=base_url, model="m", runtime=own),
        OpenAICompatEmbeddings(base_url=base_url, model="m"),
    ]
    here = [use(obj) for obj in objects]
    own.learn(objects[0].provider_id, ADAPTATIONS[0])
    breaker = objects[1].breaker
    for _ in range(2):
        breaker.record("failure", probe=breaker.acquire())
    assert breaker.state == "open" and own.pools.sync_keys()

    back = pickle.loads(SERIALIZERS[serializer].dumps(objects))

    moved = back[0].runtime
    assert moved is not own and moved._pools is None and moved.max_origins == 3
    assert moved.learned_adaptations(back[0].provider_id) == []
    assert "fleet-vendor" in moved.profiles()
    assert back[1].runtime is default_runtime() is runtime  # the receiving process's default
    assert back[1].breaker.state == "closed" and back[1].breaker.threshold == 2
    assert back[1].breaker.cooldown == 7.0
    assert back[2].runtime is not own and back[2].runtime._pools is None
    assert back[2]._client is None and back[2]._async_client is None
    assert back[3]._client is None and back[3].runtime is None
    assert [use(obj) for obj in back] == here  # and each works, on its own fresh state


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_the_deadline_travels_and_a_users_http_client_is_refused(
    model_server: ModelServer, serializer: str
) -> None:
    import httpx2

    dump = SERIALIZERS[serializer].dumps
    client = Client.inline(model_server.url(), api_key=SECRET, deadline=7.5)
    assert pickle.loads(dump(client)).deadline == 7.5
    chat = ChatOpenAICompat(base_url=model_server.url(), api_key=SECRET, model="m", deadline=7.5)
    assert pickle.loads(dump(chat)).deadline == 7.5
    own_async = httpx2.AsyncClient()  # never used, so never opened: nothing to close
    with httpx2.Client() as own:
        owned: list[Any] = [
            Client.inline(model_server.url(), api_key=SECRET, http_client=own),
            ChatOpenAICompat(base_url=model_server.url(), api_key=SECRET, model="m", http_client=own),
            ChatOpenAICompat(
                base_url=model_server.url(), api_key=SECRET, model="m", http_async_client=own_async
            ),
            OpenAICompatEmbeddings(base_url=model_server.url(), api_key=SECRET, model="m", http_client=own),
        ]
        for obj in owned:
            with pytest.raises(TypeError, match=r"cannot pickle .* build .* in the worker") as refused:
                dump(obj)
            assert SECRET not in str(refused.value) and "\n" not in str(refused.value)

"""Model discovery (llm_openai_compat.discovery): OpenAI's `/models`, Ollama's `/api/tags`, LM
Studio's `/api/v0/models`, the fallback between them, and the table of local servers. The
ollama and lmstudio profiles are proved here: their native listings differ from `/models`."""

from __future__ import annotations

import pytest

from llm_openai_compat import discovery
from llm_openai_compat.config.profiles import PROFILES
from llm_openai_compat.config.settings import KeyRef, ProviderSettings
from llm_openai_compat.discovery import (
    KNOWN_SERVERS,
    known_server,
    list_models,
    native_models_url,
    parse_models,
    running_servers,
)
from llm_openai_compat.errors import ConnectError, NotFound, Unauthorized
from tests.support.fault_server_fixture import refused_url

OLLAMA_TAGS = {  # the shape of Ollama's GET /api/tags
    "models": [
        {
            "name": "llama3.2:latest",
            "model": "llama3.2:latest",
            "modified_at": "2025-05-01T10:00:00Z",
            "size": 2019393189,
            "digest": "a80c4f17acd5",
            "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B"},
        },
        {"name": "qwen3:8b", "model": "qwen3:8b", "details": {"family": "qwen3"}},
    ]
}
LMSTUDIO_V0 = {  # the shape of LM Studio's GET /api/v0/models
    "object": "list",
    "data": [
        {"id": "qwen2-vl-7b-instruct", "object": "model", "type": "vlm", "state": "not-loaded"},
        {"id": "meta-llama-3.1-8b-instruct", "object": "model", "type": "llm", "state": "loaded"},
        {"id": "text-embedding-nomic-embed-text-v1.5", "object": "model", "type": "embeddings"},
    ],
}
OPENAI_LIST = {
    "object": "list",
    "data": [
        {"id": "meta-llama-3.1-8b-instruct", "object": "model", "owned_by": "organization_owner"},
        {"id": "qwen2-vl-7b-instruct", "object": "model", "owned_by": "organization_owner"},
        {"id": "text-embedding-nomic-embed-text-v1.5", "object": "model", "owned_by": "o"},
    ],
}
NOT_FOUND = {"status": 404, "json": {"error": {"message": "404 page not found"}}}


def paths(server) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in server.requests()]


def test_openai_shape(fault_server):
    fault_server.enqueue({"status": 200, "json": OPENAI_LIST})
    assert list_models(fault_server.base_url + "/v1") == [
        "meta-llama-3.1-8b-instruct",
        "qwen2-vl-7b-instruct",
    ]  # the embedding model, known by its name, is listed apart (test_embedding_discovery.py)
    assert paths(fault_server) == [("GET", "/v1/models")]


def test_ollama_reads_its_native_tags(fault_server):
    fault_server.enqueue({"status": 200, "json": OLLAMA_TAGS})
    assert list_models(fault_server.base_url + "/v1", profile="ollama") == [
        "llama3.2:latest",
        "qwen3:8b",
    ]
    assert paths(fault_server) == [("GET", "/api/tags")]


def test_an_ollama_without_the_openai_listing_is_still_discovered(fault_server):
    """Only /api/tags answers: the ollama profile finds the models, the default gives up."""
    fault_server.set_default(NOT_FOUND)
    fault_server.enqueue({"status": 200, "json": OLLAMA_TAGS})
    assert list_models(fault_server.base_url + "/v1", profile="ollama") == [
        "llama3.2:latest",
        "qwen3:8b",
    ]
    with pytest.raises(NotFound):
        list_models(fault_server.base_url + "/v1")
    flipped = PROFILES["ollama"].with_(native_models_path=None)
    assert native_models_url(fault_server.base_url + "/v1", flipped) is None


def test_native_listing_falls_back_to_models(fault_server):
    fault_server.enqueue(NOT_FOUND, {"status": 200, "json": OPENAI_LIST})
    found = list_models(fault_server.base_url + "/v1", profile="ollama")
    assert len(found) == 2
    assert paths(fault_server) == [("GET", "/api/tags"), ("GET", "/v1/models")]


def test_lmstudio_native_listing_leaves_out_embedding_models(fault_server):
    fault_server.enqueue({"status": 200, "json": LMSTUDIO_V0})
    assert list_models(fault_server.base_url + "/v1", profile="lmstudio") == [
        "meta-llama-3.1-8b-instruct",
        "qwen2-vl-7b-instruct",
    ]
    assert paths(fault_server) == [("GET", "/api/v0/models")]
    # Without the profile's native listing, its name still tells it is no chat model.
    fault_server.enqueue({"status": 200, "json": OPENAI_LIST})
    assert "text-embedding-nomic-embed-text-v1.5" not in list_models(fault_server.base_url + "/v1")


def test_the_key_is_sent_as_the_profile_says(fault_server):
    fault_server.enqueue({"status": 200, "json": OPENAI_LIST}, {"status": 200, "json": OPENAI_LIST})
    list_models(fault_server.base_url + "/v1", api_key="sk-bearer-" + "b" * 20)
    list_models(fault_server.base_url + "/openai/deployments/d?api-version=1", api_key="az-" + "k" * 20, profile="azure")
    bearer, azure = fault_server.requests()
    assert bearer["headers"]["authorization"] == "Bearer sk-bearer-" + "b" * 20
    assert azure["headers"]["api-key"] == "az-" + "k" * 20 and "authorization" not in azure["headers"]
    assert (azure["path"], azure["query"]) == ("/openai/models", "api-version=1")


def test_discover_models_uses_the_providers_settings(fault_server, monkeypatch):
    monkeypatch.setenv("DISCOVERY_TEST_KEY", "sk-disc-" + "d" * 20)
    settings = ProviderSettings(
        base_url=fault_server.base_url + "/v1",
        api_key_ref=KeyRef(kind="env", name="DISCOVERY_TEST_KEY"),
        headers={"X-Team": "blue"},
        profile="lmstudio",
    )
    fault_server.enqueue({"status": 200, "json": LMSTUDIO_V0})
    assert discovery.discover_models("studio", settings) == [
        "meta-llama-3.1-8b-instruct",
        "qwen2-vl-7b-instruct",
    ]
    (request,) = fault_server.requests()
    assert request["headers"]["authorization"] == "Bearer sk-disc-" + "d" * 20
    assert request["headers"]["x-team"] == "blue"


def test_errors_are_the_taxonomys(fault_server):
    fault_server.enqueue({"status": 401, "json": {"error": {"message": "bad key", "code": "invalid_api_key"}}})
    with pytest.raises(Unauthorized):
        list_models(fault_server.base_url + "/v1", api_key="wrong")
    with pytest.raises(ConnectError):
        list_models(refused_url("/v1"), policy=discovery._ONCE)


@pytest.mark.parametrize(
    ("base_url", "profile", "expected"),
    [
        ("http://localhost:11434/v1", "ollama", "http://localhost:11434/api/tags"),
        ("http://localhost:11434", "ollama", "http://localhost:11434/api/tags"),
        ("https://gpu.example/ollama/v1/", "ollama", "https://gpu.example/ollama/api/tags"),
        ("http://localhost:1234/v1", "lmstudio", "http://localhost:1234/api/v0/models"),
        ("http://localhost:8080/v1", "llamacpp", None),
    ],
)
def test_native_listing_urls(base_url, profile, expected):
    assert native_models_url(base_url, PROFILES[profile]) == expected


@pytest.mark.parametrize(
    ("body", "native", "expected"),
    [
        ({"data": [{"id": "b"}, {"id": "a"}, {"id": "a"}]}, False, ["a", "b"]),
        ({"models": [{"name": "x:latest"}, {"model": "y"}]}, False, ["x:latest", "y"]),
        (["m1", "m2"], False, ["m1", "m2"]),
        ({"data": [{"id": ""}, {"nope": 1}, 3, None]}, False, []),
        ({"data": "not a list"}, False, []),
        (LMSTUDIO_V0, False, ["meta-llama-3.1-8b-instruct", "qwen2-vl-7b-instruct"]),
    ],
)
def test_parse_models(body, native, expected):
    assert parse_models(body, native=native) == expected


def test_the_table_of_local_servers():
    assert {s.id: (s.base_url, s.profile) for s in KNOWN_SERVERS.values()} == {
        "ollama": ("http://localhost:11434/v1", "ollama"),
        "lmstudio": ("http://localhost:1234/v1", "lmstudio"),
        "llamacpp": ("http://localhost:8080/v1", "llamacpp"),
        "vllm": ("http://localhost:8000/v1", "default"),
    }
    for server in KNOWN_SERVERS.values():
        assert server.profile in PROFILES
        assert server.provider_settings() == {"baseURL": server.base_url, "profile": server.profile}
    assert known_server("llama.cpp") is KNOWN_SERVERS["llamacpp"]
    assert known_server("LM-Studio") is KNOWN_SERVERS["lmstudio"]
    assert known_server("textgen") is None
    # A URL the table gives detects the same profile, where the port is distinctive.
    assert PROFILES["ollama"].url_patterns and PROFILES["lmstudio"].url_patterns


def test_running_servers_skips_the_ones_that_do_not_answer(fault_server):
    fault_server.enqueue({"status": 200, "json": OLLAMA_TAGS})
    here = discovery.KnownServer("here", "Here", fault_server.base_url + "/v1", "ollama")
    gone = discovery.KnownServer("gone", "Gone", refused_url("/v1"), "default")
    assert running_servers([gone, here]) == [(here, ["llama3.2:latest", "qwen3:8b"])]


def test_importing_discovery_sends_nothing():
    import subprocess
    import sys

    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('network at import')\n"
        "socket.socket.connect = refuse\n"
        "import llm_openai_compat.discovery\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- the client's listing is discovery's ----------------------------------------------------------


async def test_the_clients_listing_is_discoverys(fault_server):
    """`Client.list_models` and `AsyncClient.list_models` read the native listing (embedding
    models left out) with the client's key, headers and profile."""
    from llm_openai_compat import AsyncClient, Client

    base = fault_server.base_url + "/v1"
    expected = ["meta-llama-3.1-8b-instruct", "qwen2-vl-7b-instruct"]
    fault_server.enqueue({"status": 200, "json": LMSTUDIO_V0}, {"status": 200, "json": LMSTUDIO_V0})
    key = "sk-list-" + "l" * 20
    assert Client.inline(base, profile="lmstudio", api_key=key, headers={"X-Team": "a"}).list_models() == expected
    assert await AsyncClient.inline(base, profile="lmstudio", api_key=key).list_models() == expected
    sync, asynchronous = fault_server.requests()
    assert sync["path"] == asynchronous["path"] == "/api/v0/models"
    assert sync["headers"]["authorization"] == f"Bearer {key}" and sync["headers"]["x-team"] == "a"


def test_the_clients_listing_counts_against_its_breaker(fault_server):
    """Unlike a command's listing (a breaker of its own each time), a client's listing is
    refused by the client's open breaker and counts against it."""
    from llm_openai_compat import CircuitBreaker, CircuitOpen, Client
    from llm_openai_compat.errors import Provider5xx

    breaker = CircuitBreaker("listing", threshold=2)
    client = Client.inline(fault_server.base_url + "/v1", breaker=breaker)
    fault_server.enqueue({"status": 503, "json": {"error": {"message": "down"}}})
    fault_server.enqueue({"status": 503, "json": {"error": {"message": "down"}}})
    with pytest.raises(Provider5xx):
        client.list_models()  # /models, tried twice (a listing's policy): two failures
    assert breaker.state == "open"
    sent = len(fault_server.requests())
    with pytest.raises(CircuitOpen):
        client.list_models()
    assert len(fault_server.requests()) == sent

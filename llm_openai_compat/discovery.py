"""Model discovery: what a server offers, and where the usual local servers live.

`KNOWN_SERVERS` is the table of well-known local servers (their usual address and profile), so
`llm openai-compat add ollama` needs no `--base-url`. `list_models` asks a server for its model
ids: OpenAI's `GET /models`, or, where a profile names one, the server's native listing that
says more (Ollama's `/api/tags`; LM Studio's `/api/v0/models`, which tells chat models from
embedding models), falling back from one to the other. Embedding models are told apart from
chat models (`classify_models`), so they go to a provider's `embeddingModels`, never `models`.
`running_servers` finds which known servers answer right now. Nothing here runs at import time: only when a command asks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import urlsplit, urlunsplit

from .call import Secret, Target, auth_headers, key_headers
from .capabilities import (
    capabilities_from_item,
    llamacpp_props_capabilities,
    ollama_show_capabilities,
)
from .config.profiles import Profile
from .config.settings import ProviderSettings
from .errors import MalformedJSON, OpenAICompatError, StreamError, loads_json
from .http import transport
from .http.pools import Pools
from .http.retry import CircuitBreaker, RetryPolicy
from .http.urls import UrlMode, models_endpoint, validate_base_url
from .runtime import Runtime, default_runtime

__all__ = [
    "KNOWN_SERVERS",
    "KnownServer",
    "ModelListing",
    "aprovider_models",
    "classify_models",
    "discover_model_details",
    "discover_model_listing",
    "discover_models",
    "known_server",
    "list_model_listing",
    "list_models",
    "listing_urls",
    "native_models_url",
    "parse_models",
    "provider_model_listing",
    "provider_models",
    "running_servers",
]

# A listing is a diagnosis, not a job: one retry at most, quickly.
_POLICY = RetryPolicy(max_attempts=2, steps=(0.25,))
_ONCE = RetryPolicy(max_attempts=1)
_TIMEOUT_MS = 10_000
# LM Studio's native listing types; everything else (`embeddings`) is not a chat model.
_CHAT_TYPES = frozenset({"llm", "vlm"})
_EMBEDDING_TYPES = frozenset({"embeddings", "embedding"})
# Model families that only embed (Ollama's `details.family`/`families`: nomic-embed-text is
# `nomic-bert`, mxbai-embed-large and all-minilm `bert`, bge-m3 `xlm-roberta`).
_EMBEDDING_FAMILIES = frozenset({"bert", "nomic-bert", "jina-bert", "jina-bert-v2", "xlm-roberta"})
# Ids that say what they are: `text-embedding-3-small`, `nomic-embed-text`, `bge-m3-embedding`.
_EMBEDDING_NAME = re.compile(r"embed", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ModelListing:
    """A server's models, sorted and unique: chat models and embedding models apart, and what
    the listing states about each model (`capabilities.capabilities_from_item`; only models
    with something stated have an entry)."""

    models: list[str] = field(default_factory=list)
    embedding_models: list[str] = field(default_factory=list)
    capabilities: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KnownServer:
    """A well-known local server: its usual base URL and the profile that fits it."""

    id: str
    name: str
    base_url: str
    profile: str
    note: str = ""

    def provider_settings(self) -> dict[str, Any]:
        """The provider entry `add` would write (camelCase, as in the settings file)."""
        return {"baseURL": self.base_url, "profile": self.profile}


KNOWN_SERVERS: Mapping[str, KnownServer] = {
    server.id: server
    for server in (
        KnownServer("ollama", "Ollama", "http://localhost:11434/v1", "ollama"),
        KnownServer("lmstudio", "LM Studio", "http://localhost:1234/v1", "lmstudio"),
        KnownServer(
            "llamacpp", "llama.cpp server (llama-server)", "http://localhost:8080/v1", "llamacpp"
        ),
        KnownServer(
            "vllm", "vLLM", "http://localhost:8000/v1", "default", "vLLM needs no quirks"
        ),
    )
}


def known_server(name: str) -> KnownServer | None:
    """The table entry for `name` (case and `-`/`_`/`.` insensitive: `llama.cpp`, `LMStudio`)."""
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    return KNOWN_SERVERS.get(key)


def _is_embedding(item: Mapping[str, Any], model_id: str) -> bool:
    """Whether a listed model only embeds: its listing says so (LM Studio's `type`, a
    `capabilities` list with `embedding` and no `completion`, an encoder-only family), or,
    where the listing says nothing of the kind, its name does."""
    kind = item.get("type")
    if isinstance(kind, str):
        return kind.lower() in _EMBEDDING_TYPES
    capabilities = item.get("capabilities")
    if isinstance(capabilities, list) and capabilities:
        return "embedding" in capabilities and "completion" not in capabilities
    details = item.get("details")
    if isinstance(details, Mapping):
        families = [details.get("family")]
        more = details.get("families")
        families += more if isinstance(more, list) else []
        if any(isinstance(f, str) and f.lower() in _EMBEDDING_FAMILIES for f in families):
            return True
    return bool(_EMBEDDING_NAME.search(model_id))


def _usable_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip()) and value.isprintable() and len(value) <= 512


def classify_models(body: Any) -> ModelListing:
    """Model ids from a listing: OpenAI's `{"data": [{"id"}]}`, Ollama's `{"models":
    [{"name"|"model"}]}`, a bare list; embedding models apart from the others. LM Studio's
    types other than chat (llm, vlm) and embeddings are left out."""
    items: Any = body
    if isinstance(body, Mapping):
        items = body.get("data", body.get("models", []))
    chat: list[str] = []
    embed: list[str] = []
    capabilities: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            if _usable_id(item):
                (embed if _EMBEDDING_NAME.search(item) else chat).append(item)
            continue
        if not isinstance(item, Mapping):
            continue
        value = item.get("id") or item.get("model") or item.get("name")
        # An id with control characters would act on the terminal `models` prints to.
        if not _usable_id(value):
            continue
        kind = item.get("type")
        if isinstance(kind, str) and kind not in _CHAT_TYPES and kind.lower() not in _EMBEDDING_TYPES:
            continue
        stated = capabilities_from_item(item)
        if stated:
            capabilities[value] = stated
        embedding = stated.get("embedding") is True and stated.get("chat") is not True
        (embed if embedding or _is_embedding(item, value) else chat).append(value)
    return ModelListing(
        sorted(dict.fromkeys(chat)), sorted(dict.fromkeys(embed)), capabilities
    )


def parse_models(body: Any, *, native: bool = False) -> list[str]:
    """The chat model ids of a listing (`classify_models` without the embedding models).
    `native` is kept for callers: every listing is now read for the kinds it states."""
    return classify_models(body).models


def native_models_url(base_url: str, profile: Profile) -> str | None:
    """The profile's native listing on the server behind `base_url`: the path replaces
    everything from the API's version segment on (`http://h:11434/v1` -> `http://h:11434/api/tags`,
    `https://h/ollama/v1` -> `https://h/ollama/api/tags`)."""
    if not profile.native_models_path:
        return None
    return _server_url(base_url, profile.native_models_path)


def _server_url(base_url: str, path: str) -> str:
    """`path` from the server's root: everything from the API's version segment on replaced."""
    validate_base_url(base_url)
    parts = urlsplit(base_url)
    segments = parts.path.rstrip("/").split("/")
    for position, segment in enumerate(segments):
        if segment.lower().startswith("v") and segment[1:2].isdigit():
            segments = segments[:position]
            break
    root = "/".join(segments).rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, root + path, "", ""))


def _plan(
    base_url: str, chosen: Profile, headers: Mapping[str, str], *, url_mode: UrlMode,
    verify_tls: bool, timeout_ms: int | None, provider: str, policy: RetryPolicy,
) -> list[tuple[transport.Endpoint, bool]]:
    """The listings to ask, in order, each with whether it is the profile's native one."""
    return [
        (
            transport.Endpoint(
                provider=provider,
                url=url,
                headers={"Accept": "application/json", **headers},
                timeout_ms=timeout_ms or _TIMEOUT_MS,
                verify_tls=verify_tls,
                max_attempts=policy.max_attempts,
            ),
            is_native,
        )
        for url, is_native in _urls(base_url, chosen, url_mode)
    ]


def _urls(base_url: str, chosen: Profile, url_mode: UrlMode) -> list[tuple[str, bool]]:
    """The listing URLs, in the order they are asked, each with whether it is native."""
    urls: list[tuple[str, bool]] = []
    native = native_models_url(base_url, chosen)
    if native is not None:
        urls.append((native, True))
    urls.append((models_endpoint(base_url, url_mode), False))
    return urls


def listing_urls(settings: ProviderSettings, *, runtime: Runtime | None = None) -> list[str]:
    """Where `discover_models` asks for the provider's models, in order, fit to show."""
    chosen = (runtime or default_runtime()).get_profile(settings.profile, settings.base_url)
    return [transport.redact_url(url) for url, _ in _urls(settings.base_url, chosen, settings.url_mode)]


def _target_plan(
    target: Target, policy: RetryPolicy, runtime: Runtime
) -> list[tuple[transport.Endpoint, bool]]:
    settings = target.settings
    chosen = runtime.get_profile(settings.profile, settings.base_url)
    return _plan(
        settings.base_url, chosen, {**settings.headers, **auth_headers(target, chosen)},
        url_mode=settings.url_mode, verify_tls=settings.verify_tls,
        timeout_ms=settings.timeout_ms, provider=target.id, policy=policy,
    )


def _models_in(content: bytes, endpoint: transport.Endpoint, native: bool) -> ModelListing:
    try:
        body = loads_json(content)
    except MalformedJSON:
        raise StreamError(
            "The server's model list is not JSON",
            url=transport.redact_url(endpoint.url),
            provider=endpoint.provider,
            hint="Check that the base URL points at an OpenAI-compatible API",
        ) from None
    return classify_models(body)


def _listed(
    plan: list[tuple[transport.Endpoint, bool]], policy: RetryPolicy,
    breaker: CircuitBreaker | None, runtime: Runtime, pools: Pools | None = None,
) -> ModelListing:
    """The first listing that answers; the first error when none does. Without a `breaker`,
    each listing has one of its own: a listing that fails must not open the provider's."""
    first: OpenAICompatError | None = None
    for endpoint, native in plan:
        try:
            response = transport.send(
                endpoint, None, pools=runtime.pools if pools is None else pools, method="GET", policy=policy,
                breaker=breaker or CircuitBreaker(endpoint.provider),
            )
            return _models_in(response.content, endpoint, native)
        except OpenAICompatError as error:
            first = first or error
    assert first is not None
    raise first


async def _alisted(
    plan: list[tuple[transport.Endpoint, bool]], policy: RetryPolicy,
    breaker: CircuitBreaker | None, runtime: Runtime, pools: Pools | None = None,
) -> ModelListing:
    """`_listed` on the async transport."""
    first: OpenAICompatError | None = None
    for endpoint, native in plan:
        try:
            response = await transport.asend(
                endpoint, None, pools=runtime.pools if pools is None else pools, method="GET", policy=policy,
                breaker=breaker or CircuitBreaker(endpoint.provider),
            )
            return _models_in(response.content, endpoint, native)
        except OpenAICompatError as error:
            first = first or error
    assert first is not None
    raise first


def list_model_listing(
    base_url: str,
    *,
    api_key: str | None = None,
    profile: str | None = None,
    headers: Mapping[str, str] | None = None,
    url_mode: UrlMode = "auto",
    verify_tls: bool = True,
    timeout_ms: int | None = None,
    provider: str = "discovery",
    policy: RetryPolicy | None = None,
    breaker: CircuitBreaker | None = None,
    runtime: Runtime | None = None,
) -> ModelListing:
    """The models the server at `base_url` offers, chat and embedding apart. `profile` is a profile name (detected
    from the URL when None). Where the profile has a native listing it is tried first and
    `/models` second (or the other way round when the first fails); the first error is raised
    when both fail. `api_key` is sent as the profile says (Bearer, or Azure's `api-key`)."""
    runtime = runtime or default_runtime()
    chosen = runtime.get_profile(profile, base_url)
    policy = policy or _POLICY
    sent = {**(headers or {}), **key_headers(api_key, chosen)}
    plan = _plan(
        base_url, chosen, sent, url_mode=url_mode, verify_tls=verify_tls,
        timeout_ms=timeout_ms, provider=provider, policy=policy,
    )
    return _listed(plan, policy, breaker, runtime)


def list_models(base_url: str, **kwargs: Any) -> list[str]:
    """The chat model ids the server offers (`list_model_listing` for the embedding ones)."""
    return list_model_listing(base_url, **kwargs).models


def provider_model_listing(
    target: Target, *, policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    runtime: Runtime | None = None, pools: Pools | None = None,
) -> ModelListing:
    """`list_model_listing` for a resolved provider: its key (given, or its apiKeyRef resolved
    now), headers, profile, URL mode, TLS setting and timeout. `pools`: where the requests go
    (a client's, with the caller's own `http_client` in front); the runtime's by default."""
    policy = policy or _POLICY
    runtime = runtime or default_runtime()
    return _listed(_target_plan(target, policy, runtime), policy, breaker, runtime, pools)


def provider_models(
    target: Target, *, policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    runtime: Runtime | None = None, pools: Pools | None = None,
) -> list[str]:
    """The chat model ids of `provider_model_listing`."""
    return provider_model_listing(
        target, policy=policy, breaker=breaker, runtime=runtime, pools=pools
    ).models


async def aprovider_models(
    target: Target, *, policy: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
    runtime: Runtime | None = None, pools: Pools | None = None,
) -> list[str]:
    """`provider_models` on the async transport."""
    policy = policy or _POLICY
    runtime = runtime or default_runtime()
    plan = _target_plan(target, policy, runtime)
    return (await _alisted(plan, policy, breaker, runtime, pools)).models


def discover_model_listing(
    provider_id: str, settings: ProviderSettings, *, api_key: str | None = None,
    runtime: Runtime | None = None,
) -> ModelListing:
    """`provider_model_listing` for a configured provider; `api_key` overrides its key
    reference."""
    secret = Secret(api_key) if api_key else None
    return provider_model_listing(Target(provider_id, settings, api_key=secret), runtime=runtime)


def discover_models(
    provider_id: str, settings: ProviderSettings, *, api_key: str | None = None,
    runtime: Runtime | None = None,
) -> list[str]:
    """The chat model ids of `discover_model_listing`."""
    return discover_model_listing(provider_id, settings, api_key=api_key, runtime=runtime).models


# Per-model detail endpoints: Ollama's `POST /api/show {"model"}` (capabilities, context length)
# and llama-server's `GET /props` (modalities, context size; one model per server).
_DETAILS: Mapping[str, tuple[str, bool]] = {"ollama": ("/api/show", True), "llamacpp": ("/props", False)}


def discover_model_details(
    provider_id: str,
    settings: ProviderSettings,
    model: str,
    *,
    api_key: str | None = None,
    runtime: Runtime | None = None,
) -> dict[str, Any]:
    """What the server's per-model endpoint states about `model` (see `capabilities`); empty
    when the provider's profile has none. Errors are raised as `OpenAICompatError`."""
    runtime = runtime or default_runtime()
    chosen = runtime.get_profile(settings.profile, settings.base_url)
    detail = _DETAILS.get(chosen.name)
    if detail is None:
        return {}
    path, post = detail
    target = Target(provider_id, settings, api_key=Secret(api_key) if api_key else None)
    endpoint = transport.Endpoint(
        provider=provider_id,
        url=_server_url(settings.base_url, path),
        headers={
            "Accept": "application/json", "Content-Type": "application/json",
            **settings.headers, **auth_headers(target, chosen),
        },
        timeout_ms=settings.timeout_ms or _TIMEOUT_MS,
        verify_tls=settings.verify_tls,
        max_attempts=_POLICY.max_attempts,
    )
    body = json.dumps({"model": model}).encode() if post else None
    response = transport.send(
        endpoint, body, method="POST" if post else "GET", pools=runtime.pools, policy=_POLICY,
        breaker=CircuitBreaker(provider_id),
    )
    try:
        answer = loads_json(response.content)
    except MalformedJSON:
        raise StreamError(
            "The server's model details are not JSON",
            url=transport.redact_url(endpoint.url),
            provider=provider_id,
            hint="Check the provider's profile and base URL",
        ) from None
    if post:
        return ollama_show_capabilities(answer)
    return llamacpp_props_capabilities(answer)


def running_servers(
    servers: Sequence[KnownServer] | None = None, *, timeout_ms: int = 1500,
    runtime: Runtime | None = None,
) -> list[tuple[KnownServer, list[str]]]:
    """The known local servers that answer now, each with its model ids (one quick attempt
    each; a server that is not running is skipped, never an error)."""
    found: list[tuple[KnownServer, list[str]]] = []
    for server in servers if servers is not None else KNOWN_SERVERS.values():
        try:
            models = list_models(
                server.base_url, profile=server.profile, timeout_ms=timeout_ms,
                provider=f"discovery:{server.id}", policy=_ONCE, runtime=runtime,
            )
        except OpenAICompatError:
            continue
        found.append((server, models))
    return found

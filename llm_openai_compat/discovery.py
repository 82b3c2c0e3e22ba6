"""Model discovery: what a server offers, and where the usual local servers live.

`KNOWN_SERVERS` is the table of well-known local servers (their usual address and profile), so
`llm openai-compat add ollama` needs no `--base-url`. `list_models` asks a server for its model
ids: OpenAI's `GET /models`, or, where a profile names one, the server's native listing that
says more (Ollama's `/api/tags`; LM Studio's `/api/v0/models`, which tells chat models from
embedding models), falling back from one to the other. `running_servers` finds which known
servers answer right now. Nothing here runs at import time: only when a command asks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .config.profiles import Profile
from .config.settings import ProviderSettings
from .errors import OpenAICompatError, StreamError
from .http import transport
from .http.retry import CircuitBreaker, RetryPolicy
from .http.urls import UrlMode, models_endpoint, validate_base_url
from .runtime import Runtime, default_runtime

__all__ = [
    "KNOWN_SERVERS",
    "KnownServer",
    "discover_models",
    "known_server",
    "list_models",
    "native_models_url",
    "parse_models",
    "running_servers",
]

# A listing is a diagnosis, not a job: one retry at most, quickly.
_POLICY = RetryPolicy(max_attempts=2, steps=(0.25,))
_ONCE = RetryPolicy(max_attempts=1)
_TIMEOUT_MS = 10_000
# LM Studio's native listing types; everything else (`embeddings`) is not a chat model.
_CHAT_TYPES = frozenset({"llm", "vlm"})


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


def parse_models(body: Any, *, native: bool = False) -> list[str]:
    """Model ids from a listing, sorted and unique: OpenAI's `{"data": [{"id"}]}`, Ollama's
    `{"models": [{"name"|"model"}]}`, a bare list. With `native`, LM Studio's `type` is read
    and embedding models are left out."""
    items: Any = body
    if isinstance(body, Mapping):
        items = body.get("data", body.get("models", []))
    ids: list[str] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str):
            value: Any = item
        elif isinstance(item, Mapping):
            kind = item.get("type")
            if native and isinstance(kind, str) and kind not in _CHAT_TYPES:
                continue
            value = item.get("id") or item.get("model") or item.get("name")
        else:
            continue
        if isinstance(value, str) and value.strip():
            ids.append(value)
    return sorted(dict.fromkeys(ids))


def native_models_url(base_url: str, profile: Profile) -> str | None:
    """The profile's native listing on the server behind `base_url`: the path replaces
    everything from the API's version segment on (`http://h:11434/v1` -> `http://h:11434/api/tags`,
    `https://h/ollama/v1` -> `https://h/ollama/api/tags`)."""
    if not profile.native_models_path:
        return None
    validate_base_url(base_url)
    parts = urlsplit(base_url)
    segments = parts.path.rstrip("/").split("/")
    for position, segment in enumerate(segments):
        if segment.lower().startswith("v") and segment[1:2].isdigit():
            segments = segments[:position]
            break
    root = "/".join(segments).rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, root + profile.native_models_path, "", ""))


def _get_json(
    url: str, headers: Mapping[str, str], *, provider: str, verify_tls: bool,
    timeout_ms: int | None, policy: RetryPolicy, runtime: Runtime,
) -> Any:
    endpoint = transport.Endpoint(
        provider=provider,
        url=url,
        headers={"Accept": "application/json", **headers},
        timeout_ms=timeout_ms or _TIMEOUT_MS,
        verify_tls=verify_tls,
        max_attempts=policy.max_attempts,
    )
    # A breaker of its own: a listing that fails must not open the provider's breaker.
    response = transport.send(
        endpoint, None, pools=runtime.pools, method="GET", policy=policy,
        breaker=CircuitBreaker(provider),
    )
    try:
        return json.loads(response.content)
    except ValueError:
        raise StreamError(
            "The server's model list is not JSON",
            url=transport.redact_url(url),
            provider=provider,
            hint="Check that the base URL points at an OpenAI-compatible API",
        ) from None


def list_models(
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
    runtime: Runtime | None = None,
) -> list[str]:
    """The model ids the server at `base_url` offers. `profile` is a profile name (detected
    from the URL when None). Where the profile has a native listing it is tried first and
    `/models` second (or the other way round when the first fails); the first error is raised
    when both fail. `api_key` is sent as the profile says (Bearer, or Azure's `api-key`)."""
    runtime = runtime or default_runtime()
    chosen = runtime.get_profile(profile, base_url)
    sent = dict(headers or {})
    if api_key:
        if chosen.auth_header == "api-key":
            sent["api-key"] = api_key
        else:
            sent["Authorization"] = f"Bearer {api_key}"
    urls: list[tuple[str, bool]] = []
    native = native_models_url(base_url, chosen)
    if native is not None:
        urls.append((native, True))
    urls.append((models_endpoint(base_url, url_mode), False))
    first: OpenAICompatError | None = None
    for url, is_native in urls:
        try:
            body = _get_json(
                url, sent, provider=provider, verify_tls=verify_tls, timeout_ms=timeout_ms,
                policy=policy or _POLICY, runtime=runtime,
            )
        except OpenAICompatError as error:
            first = first or error
            continue
        return parse_models(body, native=is_native)
    assert first is not None
    raise first


def discover_models(
    provider_id: str, settings: ProviderSettings, *, api_key: str | None = None,
    runtime: Runtime | None = None,
) -> list[str]:
    """`list_models` for a configured provider: its key reference (resolved now), headers,
    profile, URL mode, TLS setting and timeout. `api_key` overrides the key reference."""
    from .config.settings import resolve_api_key

    key = api_key or resolve_api_key(provider_id, settings)
    return list_models(
        settings.base_url,
        api_key=key,
        profile=settings.profile,
        headers=settings.headers,
        url_mode=settings.url_mode,
        verify_tls=settings.verify_tls,
        timeout_ms=settings.timeout_ms,
        provider=provider_id,
        runtime=runtime,
    )


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

"""Helpers for `llm openai-compat add` and `models`: the well-known local servers, the
profile check, a provider entry's validation, and model discovery (through `discovery`).

Imported by the command functions only; everything heavy is imported when a helper runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..config.settings import ProviderSettings
    from ..discovery import KnownServer

__all__ = [
    "checked_profile",
    "discover",
    "known_server_for",
    "parse_headers",
    "validated",
]


def _progress(message: str) -> None:
    click.echo(message, err=True)


def parse_headers(values: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r} is not 'Name: value'", param_hint="--header")
        headers[name.strip()] = content.strip()
    return headers


def validated(provider_id: str, raw: dict[str, Any]) -> ProviderSettings:
    """The provider as ProviderSettings, or the one-line ConfigError for what is wrong."""
    from pydantic import ValidationError

    from ..config.settings import ProviderSettings, settings_path
    from ..errors import ConfigError

    try:
        return ProviderSettings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"])
    raise ConfigError(message, file=str(settings_path()), provider=provider_id, field=field)


def discover(provider_id: str, prov: ProviderSettings, api_key: str | None = None) -> list[str]:
    """The models the server lists: its native listing where the profile names one (Ollama's
    /api/tags, LM Studio's), else OpenAI's /models; progress on stderr."""
    from ..discovery import discover_models, native_models_url
    from ..errors import redact
    from ..http.transport import redact_url
    from ..http.urls import models_endpoint
    from ..runtime import default_runtime

    models_url = redact_url(models_endpoint(prov.base_url, prov.url_mode))
    native = native_models_url(prov.base_url, default_runtime().get_profile(prov.profile, prov.base_url))
    where = f"{redact_url(native)} (else {models_url})" if native else models_url
    if api_key:  # the key may sit in the URL's path, where no pattern finds it
        where = redact(where, (api_key,))
    _progress(f"Listing models at {where} ...")
    return discover_models(provider_id, prov, api_key=api_key)


def _known_names() -> str:
    from ..discovery import KNOWN_SERVERS

    return ", ".join(sorted(KNOWN_SERVERS))


def known_server_for(
    provider_id: str, server: str | None, base_url: str | None, existing: ProviderSettings | None
) -> tuple[KnownServer | None, bool]:
    """The well-known local server whose address and profile `add` uses, and whether it was
    named with --server. Without --base-url, an ID like `ollama` names one, unless the ID is
    an existing provider at another address (whose address is then kept)."""
    from ..discovery import known_server

    if server:
        found = known_server(server)
        if found is None:
            raise click.ClickException(
                f"--server {server!r} is not a well-known local server (known: {_known_names()})"
            )
        return found, True
    if base_url:
        return None, False
    found = known_server(provider_id)
    if existing is not None and (found is None or existing.base_url != found.base_url):
        return None, False
    if found is None:
        raise click.ClickException(
            f"{provider_id!r} is not a well-known local server (known: {_known_names()}): "
            "pass --base-url URL, or --server NAME"
        )
    return found, False


def checked_profile(name: str) -> str:
    """`name` if it is a known vendor profile; else a one-line error listing them."""
    from ..errors import ConfigError
    from ..runtime import default_runtime

    runtime = default_runtime()
    try:
        runtime.get_profile(name or "?", "")  # with the profiles extensions register
    except ConfigError:
        raise click.ClickException(
            f"unknown profile {name!r} (known: {', '.join(sorted(runtime.profiles()))})"
        ) from None
    return name

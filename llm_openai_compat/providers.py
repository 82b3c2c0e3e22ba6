"""One road to a provider: a name in the settings file, or a base URL, becomes the `Target`
a client calls.

Every adapter resolves through here (`Client`, `ChatOpenAICompat`, the llm models and the
`llm openai-compat` commands), so a server given by the same base URL has one id everywhere,
hence one circuit breaker and one set of learned quirks, and a wrong name or field is the same
one-line `ConfigError` whichever adapter met it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from .call import Fallback, Secret, Target
from .config.settings import (
    Active,
    ProviderSettings,
    Settings,
    error_from_validation,
    usable,
)
from .config.settings import settings_path as default_settings_path
from .errors import ConfigError
from .runtime import Runtime, default_runtime

__all__ = [
    "Secret",
    "Target",
    "inline_provider_id",
    "is_base_url",
    "named_or_active",
    "resolve_provider",
    "unknown_provider",
    "validate_provider",
]


def is_base_url(value: str) -> bool:
    """Whether `value` names a server (`http://`, `https://`) rather than a provider id."""
    return value[:8].lower().startswith(("http://", "https://"))


def inline_provider_id(base_url: str) -> str:
    """`host[:port]/path` of a base URL: the identity of a provider given in code. Unique per
    server, so quirks learned from one server and its circuit breaker never apply to another;
    never the scheme, credentials or query string (it appears in errors and logs)."""
    parts = urlsplit(base_url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.hostname or 'inline'}{port}{parts.path.rstrip('/')}"


def unknown_provider(name: str, known: Mapping[str, Any], file: str | Path) -> ConfigError:
    """The error for a provider id that is not in the settings file, with the closest id."""
    import difflib  # only for a misspelling: not on every command's path

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(
        f"no provider named {name!r} (known: {', '.join(sorted(known)) or 'none'}){guess}",
        file=str(file),
        provider=name or None,
        hint="Add it with `llm openai-compat add ID --base-url URL`, or fix the name",
    )


def _secret(api_key: str | Secret | None) -> Secret | None:
    if isinstance(api_key, Secret):
        return api_key
    return Secret(api_key) if api_key else None


def validate_provider(
    provider_id: str, fields: Mapping[str, Any], *, file: str | Path | None = None
) -> ProviderSettings:
    """`fields` (Python or camelCase names) as ProviderSettings, or the one-line ConfigError
    the settings file's own errors use, naming the provider and the camelCase field."""
    try:
        return ProviderSettings.model_validate(fields)
    except ValidationError as exc:
        error = error_from_validation(exc, None if file is None else str(file), provider=provider_id)
    raise error  # outside the handler: no ValidationError (holding input values) is chained


def resolve_provider(
    name_or_base_url: str,
    *,
    settings_path: str | Path | None = None,
    api_key: str | Secret | None = None,
    provider_id: str | None = None,
    runtime: Runtime | None = None,
    settings: Settings | None = None,
    **overrides: Any,
) -> Target:
    """The provider to call: a provider id from the settings file, or a server's base URL.

    `overrides` are `ProviderSettings` fields by their Python names (`api_shape`, `headers`,
    `timeout_ms`, ...) and replace the file's values for this target only. A base URL makes
    an inline provider whose id is `inline_provider_id(base_url)` unless `provider_id` says
    otherwise. `api_key` is sent instead of what the provider's `apiKeyRef` names. The settings
    file is read through `runtime` (the default one when None), whose cache keeps it parsed;
    `settings`, a parse of it made earlier, is used as it is instead (the llm models resolve
    from the parse llm made them from)."""
    secret = _secret(api_key)
    runtime = runtime or default_runtime()
    memo = _memo_key(name_or_base_url, provider_id, secret, overrides)
    if is_base_url(name_or_base_url):
        hit = runtime.resolved.get(memo, None) if memo is not None else None
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        pid = provider_id or inline_provider_id(name_or_base_url)
        inline = validate_provider(pid, {**overrides, "base_url": name_or_base_url})
        target = Target(pid, inline, api_key=secret)
        if memo is not None:
            runtime.resolved.put(memo, None, target)
        return target
    path = Path(settings_path) if settings_path else None
    loaded = settings if settings is not None else runtime.load_settings(path)
    if memo is not None and (hit := runtime.resolved.get(memo, loaded)) is not None:
        return hit  # type: ignore[no-any-return]
    found = loaded.providers.get(name_or_base_url)
    if found is None:
        usable(loaded, name_or_base_url, str(path or default_settings_path()))
        raise unknown_provider(name_or_base_url, loaded.providers, path or default_settings_path())
    if provider_id not in (None, name_or_base_url):
        raise ConfigError(
            "provider_id renames only a provider given by its base URL",
            provider=name_or_base_url,
            field="provider_id",
            hint="Leave provider_id out for a provider from the settings file",
        )
    if overrides:
        found = validate_provider(name_or_base_url, {**found.model_dump(), **overrides})
    fallbacks = (
        _fallbacks(found, loaded, str(path or default_settings_path())) if found.fallbacks else ()
    )
    target = Target(
        name_or_base_url, found, api_key=secret, request_log=loaded.request_log,
        fallbacks=fallbacks,
    )
    if memo is not None:
        runtime.resolved.put(memo, loaded, target)
    return target


def _memo_key(
    name: str, provider_id: str | None, secret: Secret | None, overrides: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """What decides a resolved target besides the settings file, as a key of the runtime's
    memo (`Runtime.resolved`); None when an override is not hashable (a headers dict): such
    targets are built anew each time."""
    key = (name, provider_id, secret, tuple(sorted(overrides.items())) if overrides else ())
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _fallbacks(settings: ProviderSettings, loaded: Settings, file: str) -> tuple[Fallback, ...]:
    """A provider's `fallbacks` resolved in the same file, each with its own settings (auth,
    URL, breaker). Not transitive: a fallback's own fallbacks are not followed, so a cycle in
    the file cannot make a call loop."""
    out = []
    for entry in settings.fallbacks:
        other = loaded.providers.get(entry.provider)
        if other is None:
            try:
                usable(loaded, entry.provider, file)
                problem = unknown_provider(entry.provider, loaded.providers, file)
            except ConfigError as error:
                problem = error
            out.append(Fallback(entry.provider, entry.model, problem=problem))
            continue
        target = Target(entry.provider, other, request_log=loaded.request_log)
        out.append(Fallback(entry.provider, entry.model, target=target))
    return tuple(out)


def named_or_active(
    provider: str | None, *, settings_path: str | Path | None = None, runtime: Runtime | None = None
) -> tuple[str, Active | None]:
    """The provider a model configured from the settings file uses: the one named, else the
    file's active one; with the file's `active` pair (whose model is the default model)."""
    settings = (runtime or default_runtime()).load_settings(settings_path)
    active = settings.active
    name = provider or (active.provider if active else "")
    if not name:
        raise ConfigError(
            "no provider, no base_url and no active provider in the settings file",
            file=str(settings_path or default_settings_path()),
            hint="Pass base_url=..., or add the provider with `llm openai-compat add`",
        )
    return name, active

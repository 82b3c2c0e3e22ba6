"""llm hooks: one model per (provider, model) in the settings file, and `llm openai-compat`.

Registration runs on every llm command (`llm models`, `llm --help`, other plugins' prompts), so
it must never fail and never be slow: it parses the settings file (cached per process), does
no network I/O, imports no HTTP client, and turns any problem with the file into one warning
line on stderr that names the file and field, after which llm carries on without our models.
"""

from __future__ import annotations

import sys

import llm

__all__ = ["ACTIVE_ALIAS", "register_commands", "register_models"]

ACTIVE_ALIAS = "openai-compat"
_warned: set[str] = set()


def _warn(message: str) -> None:
    """One line on stderr, once per process (llm registers models several times per command)."""
    if message in _warned:
        return
    _warned.add(message)
    print(f"llm-openai-compat: {message}", file=sys.stderr)


def _load() -> object | None:
    from .errors import OpenAICompatError
    from .settings import load_settings, settings_path

    try:
        return load_settings()
    except OpenAICompatError as error:
        _warn(f"skipping its models: {error}")
    except Exception as error:  # never let a surprise here break llm itself
        _warn(
            f"skipping its models: {settings_path()}: could not be loaded "
            f"({type(error).__name__}). Fix or remove the file (see `llm openai-compat path`)."
        )
    return None


@llm.hookimpl
def register_models(register):  # type: ignore[no-untyped-def]
    settings = _load()
    if settings is None or not settings.providers:  # type: ignore[attr-defined]
        return
    from .llm_models import model_pair

    active = settings.active  # type: ignore[attr-defined]
    for provider_id, provider in settings.providers.items():  # type: ignore[attr-defined]
        active_model = None
        if active is not None and active.provider == provider_id:
            active_model = active.model or (provider.models[0] if provider.models else None)
        for model_name in provider.models:
            sync_model, async_model = model_pair(provider_id, model_name, provider)
            aliases = [ACTIVE_ALIAS] if model_name == active_model else []
            register(sync_model, async_model, aliases=aliases)


@llm.hookimpl
def register_commands(cli):  # type: ignore[no-untyped-def]
    try:
        from .llm_cli import openai_compat
    except Exception as error:  # a broken install must not take every llm command down
        _warn(f"its commands are unavailable ({type(error).__name__}: {error})")
        return
    cli.add_command(openai_compat)

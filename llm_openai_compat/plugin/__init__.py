"""llm hooks: one model per (provider, model) in the settings file, and `llm openai-compat`.

Registration runs on every llm command (`llm models`, `llm --help`, other plugins' prompts), so
it must never fail and never be slow: it parses the settings file (cached per process), does
no network I/O, imports no HTTP client, and turns any problem with the file into one warning
line on stderr that names the file and field, after which llm carries on without our models.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import llm

if TYPE_CHECKING:
    from .. import Settings

__all__ = ["ACTIVE_ALIAS", "register_commands", "register_embedding_models", "register_models"]

ACTIVE_ALIAS = "openai-compat"


def _warn(message: str) -> None:
    """One line on stderr, once per runtime (llm registers models several times per command)."""
    from .. import default_runtime

    shown = default_runtime().notices
    if message in shown:
        return
    shown.add(message)
    print(f"llm-openai-compat: {message}", file=sys.stderr)


def _load() -> Settings | None:
    try:
        from .. import default_runtime

        return default_runtime().load_settings()
    except Exception as error:  # never let anything here break llm itself
        from .. import OpenAICompatError

        if isinstance(error, OpenAICompatError):
            _warn(f"skipping its models: {error}")
        else:
            _warn(
                f"skipping its models: the settings file could not be loaded "
                f"({type(error).__name__}). See `llm openai-compat path`."
            )
    return None


def _aliases(
    provider_id: str, model_name: str, configured: dict[str, list[str]], listed: set[str]
) -> list[str]:
    """The names people type: `ollama/llama3.2` for `llama3.2:latest` (as llm-ollama does,
    unless `llama3.2` is itself listed), and the model's `modelAliases` as given."""
    names: list[str] = []
    base, tag = model_name.rpartition(":")[::2]
    if tag == "latest" and base and base not in listed:
        names.append(f"{provider_id}/{base}")
    names += [a for a in configured.get(model_name, []) if a.strip()]
    return names


@llm.hookimpl
def register_models(register: Any) -> None:
    settings = _load()
    if settings is None:
        return
    for error in settings.broken.values():  # the others keep working
        _warn(f"skipping one provider: {error}")
    if not settings.providers:
        return
    try:
        from .models import model_pair

        pairs = []
        active = settings.active
        for provider_id, provider in settings.providers.items():
            active_model = None
            if active is not None and active.provider == provider_id:
                active_model = active.model or (provider.models[0] if provider.models else None)
            listed = set(provider.models)
            for model_name in provider.models:
                aliases = [ACTIVE_ALIAS] if model_name == active_model else []
                aliases += _aliases(provider_id, model_name, provider.model_aliases, listed)
                pairs.append((*model_pair(provider_id, model_name, provider, settings), aliases))
    except Exception as error:  # a bug here must not take llm down either
        _warn(f"skipping its models ({type(error).__name__}: {error})")
        return
    for sync_model, async_model, aliases in pairs:
        register(sync_model, async_model, aliases=aliases)


@llm.hookimpl
def register_embedding_models(register: Any) -> None:
    settings = _load()
    if settings is None or not settings.providers:
        return
    try:
        from .embeddings import embedding_models

        models = [
            model
            for provider_id, provider in settings.providers.items()
            for model in embedding_models(provider_id, provider, settings)
        ]
    except Exception as error:  # a bug here must not take llm down either
        _warn(f"skipping its embedding models ({type(error).__name__}: {error})")
        return
    for model in models:
        register(model)


@llm.hookimpl
def register_commands(cli: Any) -> None:
    try:
        from .commands import openai_compat
        from .notices import install_stderr_handler

        install_stderr_handler()  # only the CLI calls this hook: notices go to its stderr
    except Exception as error:  # a broken install must not take every llm command down
        _warn(f"its commands are unavailable ({type(error).__name__}: {error})")
        return
    cli.add_command(openai_compat)

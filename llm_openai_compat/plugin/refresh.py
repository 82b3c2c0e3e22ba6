"""Fresh model lists without slowing llm down (issue 18, like llm-openrouter's cache).

A provider with `refreshHours` has its model list (and each model's capabilities) listed
anew once `modelsRefreshedAt` is older than that: by `llm openai-compat models ID --refresh`,
or in a thread started by a prompt to that provider, never during registration, `llm
--version` or `llm models`. The attempt is stamped in the settings file before it starts, so
concurrent prompts and processes start one refresh, and a failed one keeps the old list, says
so once (a notice on stderr under the CLI) and is tried again only after `refreshHours`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .notices import LOGGER

if TYPE_CHECKING:
    from .. import ModelListing, ProviderSettings

__all__ = ["is_stale", "model_capabilities", "refresh_in_background", "stored_listing"]

Progress = Callable[[str], None]


def is_stale(provider: ProviderSettings, now: float) -> bool:
    """Whether an opted-in provider's list is older than its `refreshHours`."""
    if provider.refresh_hours is None:
        return False
    last = provider.models_refreshed_at or 0
    return now - last >= provider.refresh_hours * 3600


def model_capabilities(
    provider_id: str, prov: ProviderSettings, listing: ModelListing, key: str | None,
    progress: Progress,
) -> dict[str, dict[str, Any]]:
    """Per chat model, what the listing stated and what the server's per-model endpoint
    (Ollama's /api/show, llama-server's /props) adds; when that endpoint fails, every model
    keeps what the listing said and the first failure is reported once."""
    from .. import OpenAICompatError, discover_model_details

    found = {m: dict(listing.capabilities.get(m, {})) for m in listing.models}
    total = len(listing.models)
    for number, model in enumerate(listing.models, 1):
        if total > 1:
            progress(f"[{number}/{total}] details of {provider_id}/{model}")
        try:
            found[model].update(discover_model_details(provider_id, prov, model, api_key=key))
        except OpenAICompatError as error:
            progress(f"Model details unavailable, using the listing only: {error}")
            break  # one failing endpoint fails for every model: do not ask again per model
    return {m: caps for m, caps in found.items() if caps}


def stored_listing(
    raw: dict[str, Any], listing: ModelListing, capabilities: dict[str, dict[str, Any]]
) -> None:
    """Write a listing into a provider's raw settings: models, embedding models (keeping the
    `dimensions` of those already configured), capabilities and the time of the refresh."""
    old = raw.get("embeddingModels", [])
    by_id = {(m if isinstance(m, str) else m.get("id")): m for m in old}
    raw["models"] = list(listing.models)
    raw["embeddingModels"] = [by_id.get(m, m) for m in listing.embedding_models]
    if capabilities:
        raw["modelCapabilities"] = capabilities
    else:
        raw.pop("modelCapabilities", None)
    raw["modelsRefreshedAt"] = int(time.time())


def _stamp(provider_id: str, now: float) -> ProviderSettings | None:
    """Claim the refresh: the provider (re-read) with `modelsRefreshedAt` set to now, or None
    when it is no longer stale (another prompt or process claimed it)."""
    from .. import load_settings, upsert_provider

    current = load_settings().providers.get(provider_id)
    if current is None or not is_stale(current, now):
        return None
    stamped = current.model_copy(update={"models_refreshed_at": int(now)})
    upsert_provider(provider_id, stamped)
    return stamped


def _refresh(provider_id: str) -> None:
    from .. import OpenAICompatError, discover_model_listing, upsert_provider, validate_provider

    try:
        prov = _stamp(provider_id, time.time())
        if prov is None:
            return
        listing = discover_model_listing(provider_id, prov)
        caps = model_capabilities(provider_id, prov, listing, None, lambda _: None)
        raw = prov.model_dump(by_alias=True, exclude_unset=True, mode="json")
        stored_listing(raw, listing, caps)
        upsert_provider(provider_id, validate_provider(provider_id, raw))
        LOGGER.info("refreshed the models of %r (%d)", provider_id,
                    len(listing.models))
    except OpenAICompatError as error:
        LOGGER.warning(
            "the models of %r could not be refreshed; keeping the old list "
            "(next try in its refreshHours): %s", provider_id, error,
        )
    except Exception as error:  # a background thread must never take a prompt down
        LOGGER.warning(
            "the models of %r could not be refreshed (%s); keeping the "
            "old list", provider_id, type(error).__name__,
        )


def refresh_in_background(provider_id: str, provider: ProviderSettings) -> threading.Thread | None:
    """Start a refresh of a stale provider's model list; None when it is fresh (or not
    opted in). The thread is not a daemon: a CLI prompt's process waits for the listing
    (bounded by the listing's timeouts) rather than cut a settings write short."""
    if not is_stale(provider, time.time()):
        return None
    thread = threading.Thread(
        target=_refresh, args=(provider_id,), name=f"refresh-{provider_id}", daemon=False
    )
    thread.start()
    return thread

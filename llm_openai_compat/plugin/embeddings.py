"""llm embedding models for every (provider, embedding model) in the settings file.

`embed_batch` hands llm's batch (llm's own batch size, 100 by default) to `Client.embed`,
which splits it again by the profile's limits and sends the parts concurrently. The HTTP
client is imported inside `embed_batch`: registering costs no network and no heavy imports.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import click
import llm
from llm.models import EmbeddingModel

if TYPE_CHECKING:
    from .. import ProviderSettings, Settings

__all__ = ["EmbeddingError", "OpenAICompatEmbeddingModel", "embedding_models"]


class EmbeddingError(click.ClickException, llm.ModelError):
    """An llm `ModelError` that llm's embed commands print as one `Error:` line (they catch
    no model errors themselves, so a plain one would end in a traceback)."""


class OpenAICompatEmbeddingModel(EmbeddingModel):
    """`<provider>/<model>` at the provider's `/embeddings`."""

    supports_text = True
    supports_binary = False

    def __init__(
        self,
        provider_id: str,
        model_name: str,
        *,
        settings: Settings | None = None,
        dimensions: int | None = None,
        binary: bool = False,
        needs_key: str | None = None,
        key_env_var: str | None = None,
    ) -> None:
        # The parse of the settings file llm made this model from: it embeds where that said,
        # as the chat models send (None: the file as it is at each call).
        self._settings = settings
        self.model_id = f"{provider_id}/{model_name}"
        self.provider_id = provider_id
        self.model_name = model_name
        self.dimensions = dimensions
        self.supports_binary = binary
        # Shown by llm; the key itself is resolved by the core per request (apiKeyRef).
        self.needs_key = needs_key
        self.key_env_var = key_env_var

    def __str__(self) -> str:
        return f"OpenAI-compatible embeddings: {self.model_id}"

    def get_key(self, explicit_key: str | None = None) -> str | None:
        """Only `--key` or `model.key`; otherwise the core reads the provider's apiKeyRef
        (which never falls back to another provider's key)."""
        if self.key:
            return self.key
        if explicit_key:
            found = llm.get_key(explicit_key=explicit_key)
            return found if isinstance(found, str) else None
        return None

    def embed_batch(
        self, items: Iterable[str | bytes], *, key: str | None = None
    ) -> Iterator[list[float]]:
        from .. import Client, OpenAICompatError, resolve_provider

        texts: list[str] = []
        for item in items:
            if isinstance(item, bytes):
                if not self.supports_binary:
                    raise EmbeddingError(
                        f"{self.model_id} embeds text only; this server's profile does not "
                        "take binary content (set embedding_binary_input in a profile if it does)"
                    )
                item = base64.b64encode(item).decode("ascii")
            texts.append(item)
        try:
            try:
                client = Client(
                    resolve_provider(self.provider_id, settings=self._settings, api_key=key)
                )
            finally:
                del key  # no frame of the call keeps the raw key (tracebacks with locals)
            result = client.embed(texts, model=self.model_name, dimensions=self.dimensions)
        except OpenAICompatError as error:
            raise EmbeddingError(str(error)) from None
        yield from result.vectors


def embedding_models(
    provider_id: str, provider: ProviderSettings, settings: Settings | None = None
) -> list[OpenAICompatEmbeddingModel]:
    """The provider's embedding models (of `settings`, the parse llm's registration read). The
    profile is the built-in or a registered one, without loading extension profiles (those load
    at request time, never while llm starts)."""
    from .. import default_runtime

    dimensions_of = provider.embedding_dimensions()
    if not dimensions_of:  # no profile to look up (its module costs ms of every llm command)
        return []
    profile = default_runtime().registered_profile(provider.profile, provider.base_url)
    ref = provider.api_key_ref
    return [
        OpenAICompatEmbeddingModel(
            provider_id,
            name,
            settings=settings,
            dimensions=dimensions,
            binary=profile.embedding_binary_input,
            needs_key=ref.name if ref is not None and ref.kind == "llm" else None,
            key_env_var=ref.name if ref is not None and ref.kind == "env" else None,
        )
        for name, dimensions in dimensions_of.items()
    ]

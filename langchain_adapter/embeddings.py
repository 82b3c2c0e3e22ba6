"""`OpenAICompatEmbeddings`: LangChain `Embeddings` for any OpenAI-compatible server.

Raw strings go to the server's `/embeddings` (no tiktoken pre-tokenizing, which breaks
servers other than OpenAI's), through the same core as `ChatOpenAICompat`: the provider from
the settings file or given inline, its auth, retries, breaker and request log, batching by the
profile's limits with bounded concurrency, and vectors in input order. Async runs on the
core's `AsyncClient`, never in a thread pool.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)

from llm_openai_compat import (
    AsyncClient,
    Client,
    ConfigError,
    Runtime,
    Target,
    named_or_active,
    resolve_provider,
)

from .errors import translated_errors
from .held_clients import HeldClients

__all__ = ["OpenAICompatEmbeddings"]


class OpenAICompatEmbeddings(HeldClients, BaseModel, Embeddings):
    """Embeddings from a provider in the settings file, `OpenAICompatEmbeddings(provider=
    "ollama", model="nomic-embed-text")` (the model defaults to the provider's first embedding
    model), or inline, `OpenAICompatEmbeddings(base_url="http://localhost:8000/v1", model="m")`.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    model: str | None = None
    """Embedding model id; defaults to the provider's first `embeddingModels` entry."""
    provider: str | None = None
    """A provider id from the settings file (default: the file's active provider)."""
    settings_path: str | None = None
    base_url: str | None = None
    """The server's base URL, for a provider given inline (instead of `provider`)."""
    api_key: SecretStr | None = None
    api_key_ref: dict[str, str] | None = None
    """Where the key lives instead: `{"kind": "env" | "keyring" | "llm", "name": ...}`."""
    vendor_profile: str | None = None
    headers: dict[str, str] | None = None
    timeout: float | None = None
    """Read timeout in seconds."""
    deadline: float | None = Field(None, gt=0)
    """Seconds a whole embed call may take, every batch and retry included (over the
    provider's `deadlineMs`). None: no total bound."""
    max_retries: int | None = None
    dimensions: int | None = Field(None, gt=0)
    """Vector length to ask for (models that shorten vectors); None: the model's own, or the
    provider's `dimensions` for this model."""
    chunk_size: int | None = Field(None, gt=0)
    """Inputs per request at most (None: the profile's limit, e.g. 2048 for OpenAI)."""
    max_concurrency: int = Field(4, gt=0)
    """Requests in flight at once for one call."""
    encoding: Literal["float", "base64"] | None = None
    """Wire encoding of vectors; None: base64 where the profile says the server supports it."""
    http_client: Any = Field(default=None, exclude=True, repr=False)
    """An `httpx2.Client` you own, used as is for sync requests (never closed here)."""
    http_async_client: Any = Field(default=None, exclude=True, repr=False)
    """An `httpx2.AsyncClient` you own, used as is for async requests."""
    runtime: Runtime | None = Field(default=None, exclude=True, repr=False)
    """The `Runtime` that owns connection pools, breakers and learned limits (the process's
    default one when None); never serialized."""

    _target: Target = PrivateAttr()
    _client: Client | None = PrivateAttr(default=None)
    _async_client: AsyncClient | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _connect(self) -> OpenAICompatEmbeddings:
        """Resolve the provider now, so a bad setting fails at construction with its name."""
        if self.provider and self.base_url:
            raise ConfigError("give either provider or base_url, not both", field="base_url")
        if self.base_url:
            name = self.base_url
        else:
            name, _ = named_or_active(
                self.provider, settings_path=self.settings_path, runtime=self._runtime()
            )
        secret = self.api_key.get_secret_value() if self.api_key else None
        target = resolve_provider(
            name, settings_path=self.settings_path, api_key=secret, runtime=self._runtime()
        )
        dimensions = target.settings.embedding_dimensions()
        if self.model is None and dimensions:
            self.model = next(iter(dimensions))
        if not self.model:
            raise ConfigError(
                "no embedding model given", provider=target.id, field="model",
                hint="Pass model=..., or list the provider's embeddingModels",
            )
        if self.dimensions is None:
            self.dimensions = dimensions.get(self.model)
        overrides = self._overrides(target.settings.model_dump())
        if overrides:
            target = resolve_provider(
                name, settings_path=self.settings_path, api_key=secret, runtime=self._runtime(),
                **overrides,
            )
        self._target = target
        self._bind_given_clients()
        return self

    def _overrides(self, base: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.api_key_ref is not None:
            out["api_key_ref"] = self.api_key_ref
        if self.vendor_profile is not None:
            out["profile"] = self.vendor_profile
        if self.headers:
            out["headers"] = {**base.get("headers", {}), **self.headers}
        if self.timeout is not None:
            out["timeout_ms"] = max(1, round(self.timeout * 1000))
        if self.max_retries is not None:
            out["max_retries"] = self.max_retries
        return out

    def _client_target(self) -> Target:
        return self._target

    @property
    def provider_id(self) -> str:
        return self._target.id

    def _options(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dimensions": self.dimensions,
            "encoding": self.encoding,
            "batch_size": self.chunk_size,
            "max_concurrency": self.max_concurrency,
        }

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with translated_errors():
            return self._sync().embed(texts, **self._options()).vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        with translated_errors():
            result = await self._async().embed(texts, **self._options())
        return result.vectors

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]

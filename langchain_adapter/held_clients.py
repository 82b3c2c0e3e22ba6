"""The core clients a LangChain object of this package holds, and what it pickles.

Both `ChatOpenAICompat` and `OpenAICompatEmbeddings` hold one `Client` and one `AsyncClient`,
made on first use with the model's runtime, deadline and any HTTP client the user gave. A
given `http_client=`/`http_async_client=` is bound at construction, so a client of the wrong
kind fails there, not at the first call. Pickled for a worker process, the object carries no
client, pool or auth header; one given an HTTP client refuses to pickle (those connections
belong to this process)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from llm_openai_compat import AsyncClient, Client, Runtime, Target, default_runtime

__all__ = ["HeldClients"]


class HeldClients:
    """Mixin for `ChatOpenAICompat` and `OpenAICompatEmbeddings`: each declares the fields and
    private attributes named under TYPE_CHECKING and says which `Target` its clients serve."""

    if TYPE_CHECKING:
        runtime: Runtime | None
        deadline: float | None
        http_client: Any
        http_async_client: Any
        _client: Client | None
        _async_client: AsyncClient | None

    def _client_target(self) -> Target:
        raise NotImplementedError

    def _runtime(self) -> Runtime:
        return self.runtime or default_runtime()

    def _sync(self) -> Client:
        if self._client is None:
            self._client = Client(self._client_target(), runtime=self._runtime(),
                                  http_client=self.http_client, deadline=self.deadline)
        return self._client

    def _async(self) -> AsyncClient:
        if self._async_client is None:
            self._async_client = AsyncClient(self._client_target(), runtime=self._runtime(),
                                             http_client=self.http_async_client,
                                             deadline=self.deadline)
        return self._async_client

    def _bind_given_clients(self) -> None:
        """Make the clients for a given HTTP client now: one of the wrong kind fails here."""
        if self.http_client is not None:
            self._sync()
        if self.http_async_client is not None:
            self._async()

    def __getstate__(self) -> dict[Any, Any]:
        """Pickled without clients, pools or the auth header last sent: an inline `api_key` IS
        in the pickle bytes (like any field); with `api_key_ref` or a settings-file provider's
        `apiKeyRef` (env, keyring, llm) no secret is, and the worker resolves it when it sends.
        `runtime`, if given, arrives fresh (same limits); if not, the worker's default runtime
        serves. With `http_client=`/`http_async_client=`, pickling is refused."""
        if self.http_client is not None or self.http_async_client is not None:
            raise TypeError(
                f"cannot pickle a {type(self).__name__} given http_client=/http_async_client=: "
                "those connections belong to this process; build the model in the worker instead"
            )
        state: dict[Any, Any] = dict(cast("dict[Any, Any]", super().__getstate__()))
        private = dict(state.get("__pydantic_private__") or {})
        private.update(_client=None, _async_client=None)
        state["__pydantic_private__"] = private
        return state

"""The core's errors, also catchable as langchain_core's model errors.

Each class here subclasses both the core error and the matching `langchain_core.exceptions`
class, as LangChain asks provider integrations to do, so `except Unauthorized` and `except
ModelAuthenticationError` both work. Errors with no LangChain counterpart (settings, capability,
broken streams) are raised unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

import llm_openai_compat as core

__all__ = ["as_langchain_error", "translated_errors"]


class Unauthorized(core.Unauthorized, ModelAuthenticationError):
    # core.Unauthorized is also a core.ProviderTransient (seed 003's name for a 401); stated
    # here so no later base can make LangChain's retries treat a refused key as transient.
    is_retryable = False


class PermissionDenied(core.Unauthorized, ModelPermissionDeniedError):
    is_retryable = False


class NotFound(core.NotFound, ModelNotFoundError):
    pass


class BadRequest(core.BadRequest, ModelInvalidRequestError):
    pass


class UnsupportedRequest(core.UnsupportedRequest, ModelInvalidRequestError):
    """A 5xx the server repeated exactly, saying something is unsupported: not retryable."""

    is_retryable = False


class ContextOverflow(core.BadRequest, ContextOverflowError):
    pass


class MissingToolCalling(core.MissingToolCalling, ModelInvalidRequestError):
    """The server's own 400 saying it has no tools (raised before sending, it stays core's)."""


class RateLimited(core.RateLimited, ModelRateLimitError):
    pass


class QuotaExceeded(core.QuotaExceeded, ModelRateLimitError):
    is_retryable = False  # waiting does not refill a quota


class Provider5xx(core.Provider5xx, ModelAPIError):
    pass


class NetworkTimeout(core.NetworkTimeout, ModelTimeoutError):
    pass


class DeadlineExceeded(core.DeadlineExceeded, ModelTimeoutError):
    pass


class ConnectError(core.ConnectError, ModelConnectionError):
    pass


class CircuitOpen(core.CircuitOpen, ModelConnectionError):
    pass


_DUALS: dict[type[core.OpenAICompatError], type[core.OpenAICompatError]] = {
    core.Unauthorized: Unauthorized,
    core.NotFound: NotFound,
    core.BadRequest: BadRequest,
    core.UnsupportedRequest: UnsupportedRequest,
    core.MissingToolCalling: MissingToolCalling,
    core.RateLimited: RateLimited,
    core.QuotaExceeded: QuotaExceeded,
    core.Provider5xx: Provider5xx,
    core.NetworkTimeout: NetworkTimeout,
    core.DeadlineExceeded: DeadlineExceeded,
    core.ConnectError: ConnectError,
    core.CircuitOpen: CircuitOpen,
}
_CONTEXT = re.compile(r"context[_ ]length|context window|maximum context|too many tokens", re.I)


def as_langchain_error(error: core.OpenAICompatError) -> core.OpenAICompatError:
    """The same error (message, status, attributes) as its dual class, when one exists."""
    dual = _DUALS.get(type(error))
    if dual is None or (dual is MissingToolCalling and error.status is None):
        return error
    if dual is Unauthorized and error.status == 403:
        dual = PermissionDenied
    elif dual is BadRequest and _CONTEXT.search(f"{error.code} {error.server_message}"):
        dual = ContextOverflow
    rebuild, (_, message, state) = error.__reduce__()
    if dual is Unauthorized:  # LangChain users fix a key in code, not with a CLI flag
        state = {**state, "hint": "The key was refused: pass the right one as api_key=..., "
                 "or fix the provider's apiKeyRef"}
    converted: core.OpenAICompatError = rebuild(dual, message, state)
    return converted


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise core errors as their dual classes, keeping the original traceback."""
    try:
        yield
    except core.OpenAICompatError as error:
        converted = as_langchain_error(error)
        if converted is error:
            raise
        raise converted.with_traceback(error.__traceback__) from None

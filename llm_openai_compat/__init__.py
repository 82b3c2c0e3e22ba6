"""llm-openai-compat: any OpenAI-compatible server from llm and LangChain, on one core.

The public API is below; submodules are private. Names load on first use, so importing this
package (which the llm plugin does at start-up) costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .config.profiles import Profile
    from .config.settings import ProviderSettings, Settings, load_settings, settings_path
    from .errors import (
        BadRequest,
        CircuitOpen,
        ConfigError,
        ConnectError,
        MissingKey,
        MissingStructuredOutput,
        MissingToolCalling,
        NetworkTimeout,
        NotFound,
        OpenAICompatError,
        Provider5xx,
        ProviderCapability,
        ProviderError,
        ProviderTransient,
        QuotaExceeded,
        RateLimited,
        StreamError,
        Unauthorized,
    )
    from .events import (
        Event,
        Finish,
        ReasoningDelta,
        ReasoningItem,
        ResponseMeta,
        StreamFailure,
        TextDelta,
        ToolCall,
        ToolCallArgumentsDelta,
        ToolCallStart,
        Usage,
    )
    from .http.retry import CircuitBreaker, RetryPolicy
    from .http.urls import models_endpoint, resolve_endpoint
    from .messages import (
        Conversation,
        FilePart,
        ImagePart,
        Message,
        ReasoningPart,
        RequestOptions,
        ResponseFormat,
        TextPart,
        ToolCallPart,
        ToolResultPart,
        ToolSpec,
    )
    from .result import Result
    from .runtime import Runtime, default_runtime

__all__ = [
    "AsyncClient",
    "BadRequest",
    "CircuitBreaker",
    "CircuitOpen",
    "Client",
    "ConfigError",
    "ConnectError",
    "Conversation",
    "Event",
    "FilePart",
    "Finish",
    "ImagePart",
    "Message",
    "MissingKey",
    "MissingStructuredOutput",
    "MissingToolCalling",
    "NetworkTimeout",
    "NotFound",
    "OpenAICompatError",
    "Profile",
    "Provider5xx",
    "ProviderCapability",
    "ProviderError",
    "ProviderSettings",
    "ProviderTransient",
    "QuotaExceeded",
    "RateLimited",
    "ReasoningDelta",
    "ReasoningItem",
    "ReasoningPart",
    "RequestOptions",
    "ResponseFormat",
    "ResponseMeta",
    "Result",
    "RetryPolicy",
    "Runtime",
    "Settings",
    "StreamError",
    "StreamFailure",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallPart",
    "ToolCallStart",
    "ToolResultPart",
    "ToolSpec",
    "Unauthorized",
    "Usage",
    "default_runtime",
    "load_settings",
    "models_endpoint",
    "resolve_endpoint",
    "settings_path",
]

_EXPORTS: dict[str, str] = {
    "AsyncClient": "client",
    "Client": "client",
    "BadRequest": "errors",
    "CircuitOpen": "errors",
    "ConfigError": "errors",
    "ConnectError": "errors",
    "MissingKey": "errors",
    "MissingStructuredOutput": "errors",
    "MissingToolCalling": "errors",
    "NetworkTimeout": "errors",
    "NotFound": "errors",
    "OpenAICompatError": "errors",
    "Provider5xx": "errors",
    "ProviderCapability": "errors",
    "ProviderError": "errors",
    "ProviderTransient": "errors",
    "QuotaExceeded": "errors",
    "RateLimited": "errors",
    "StreamError": "errors",
    "Unauthorized": "errors",
    "Event": "events",
    "Finish": "events",
    "ReasoningDelta": "events",
    "ReasoningItem": "events",
    "ResponseMeta": "events",
    "StreamFailure": "events",
    "TextDelta": "events",
    "ToolCall": "events",
    "ToolCallArgumentsDelta": "events",
    "ToolCallStart": "events",
    "Usage": "events",
    "Conversation": "messages",
    "FilePart": "messages",
    "ImagePart": "messages",
    "Message": "messages",
    "ReasoningPart": "messages",
    "RequestOptions": "messages",
    "ResponseFormat": "messages",
    "TextPart": "messages",
    "ToolCallPart": "messages",
    "ToolResultPart": "messages",
    "ToolSpec": "messages",
    "Profile": "config.profiles",
    "Result": "result",
    "Runtime": "runtime",
    "default_runtime": "runtime",
    "CircuitBreaker": "http.retry",
    "RetryPolicy": "http.retry",
    "ProviderSettings": "config.settings",
    "Settings": "config.settings",
    "load_settings": "config.settings",
    "settings_path": "config.settings",
    "models_endpoint": "http.urls",
    "resolve_endpoint": "http.urls",
}

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llm_openai_compat' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)

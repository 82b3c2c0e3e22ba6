"""llm-openai-compat: any OpenAI-compatible server from llm and LangChain, on one core.

The public API is below; submodules are private. Names load on first use, so importing this
package (which the llm plugin does at start-up) costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The public API, written three times on purpose, each for its reader; the imports below are the
# source and tests/test_public_api.py fails when `__all__` or `_EXPORTS` drift from them.
# - The imports let mypy and IDEs see each name's type without importing anything at run time.
# - `__all__` must be a literal list: type checkers read it statically (it is what makes the
#   imports above public under mypy --strict); a list computed at run time would hide them.
# - `_EXPORTS` tells `__getattr__` which module to import on first use, so importing the package
#   (the llm plugin does at start-up) loads none of its modules. Deriving it from the imports
#   would mean parsing this file on every start-up.
if TYPE_CHECKING:
    from .capabilities import CAPABILITY_KEYS, capabilities_from_item, capability_cause
    from .client import AsyncClient, Client
    from .config.params import OPTION_PARAMS, merge_params, validate_params
    from .config.profiles import ADAPTATIONS, Adaptation, Profile, builtin_profile, get_profile
    from .config.settings import (
        EmbeddingModelSettings,
        ProviderSettings,
        Settings,
        load_settings,
        remove_provider,
        set_active,
        settings_path,
        upsert_provider,
    )
    from .discovery import (
        KNOWN_SERVERS,
        KnownServer,
        ModelListing,
        discover_model_details,
        discover_model_listing,
        discover_models,
        known_server,
        listing_urls,
    )
    from .embeddings import EmbeddingResult
    from .errors import (
        BadRequest,
        CircuitOpen,
        ConfigError,
        ConnectError,
        DeadlineExceeded,
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
        UnsupportedRequest,
    )
    from .events import (
        Annotation,
        Event,
        Finish,
        Logprobs,
        OtherChoice,
        ReasoningDelta,
        ReasoningItem,
        RefusalDelta,
        ResponseMeta,
        ServerToolItem,
        StreamFailure,
        TextDelta,
        ToolCall,
        ToolCallArgumentsDelta,
        ToolCallStart,
        Usage,
    )
    from .http.retry import CircuitBreaker, RetryPolicy
    from .http.urls import display_url, embeddings_endpoint, models_endpoint, resolve_endpoint
    from .limits import LearnedLimits
    from .messages import (
        Conversation,
        FilePart,
        ImagePart,
        Message,
        Part,
        ReasoningPart,
        RequestOptions,
        ResponseFormat,
        Role,
        TextPart,
        ToolCallPart,
        ToolResultPart,
        ToolSpec,
    )
    from .probe import ProbeReport, run_probes

    # What the adapters (the llm plugin, LangChain) need beyond the client API.
    from .providers import Secret, Target, named_or_active, resolve_provider, validate_provider
    from .result import Result
    from .runtime import Runtime, default_runtime, set_default_runtime
    from .token_count import TokenCount

__all__ = [
    "ADAPTATIONS",
    "CAPABILITY_KEYS",
    "KNOWN_SERVERS",
    "OPTION_PARAMS",
    "Adaptation",
    "Annotation",
    "AsyncClient",
    "BadRequest",
    "CircuitBreaker",
    "CircuitOpen",
    "Client",
    "ConfigError",
    "ConnectError",
    "Conversation",
    "DeadlineExceeded",
    "EmbeddingModelSettings",
    "EmbeddingResult",
    "Event",
    "FilePart",
    "Finish",
    "ImagePart",
    "KnownServer",
    "LearnedLimits",
    "Logprobs",
    "Message",
    "MissingKey",
    "MissingStructuredOutput",
    "MissingToolCalling",
    "ModelListing",
    "NetworkTimeout",
    "NotFound",
    "OpenAICompatError",
    "OtherChoice",
    "Part",
    "ProbeReport",
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
    "RefusalDelta",
    "RequestOptions",
    "ResponseFormat",
    "ResponseMeta",
    "Result",
    "RetryPolicy",
    "Role",
    "Runtime",
    "Secret",
    "ServerToolItem",
    "Settings",
    "StreamError",
    "StreamFailure",
    "Target",
    "TextDelta",
    "TextPart",
    "TokenCount",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallPart",
    "ToolCallStart",
    "ToolResultPart",
    "ToolSpec",
    "Unauthorized",
    "UnsupportedRequest",
    "Usage",
    "builtin_profile",
    "capabilities_from_item",
    "capability_cause",
    "default_runtime",
    "discover_model_details",
    "discover_model_listing",
    "discover_models",
    "display_url",
    "embeddings_endpoint",
    "get_profile",
    "known_server",
    "listing_urls",
    "load_settings",
    "merge_params",
    "models_endpoint",
    "named_or_active",
    "remove_provider",
    "resolve_endpoint",
    "resolve_provider",
    "run_probes",
    "set_active",
    "set_default_runtime",
    "settings_path",
    "upsert_provider",
    "validate_params",
    "validate_provider",
]

_EXPORTS: dict[str, str] = {
    "CAPABILITY_KEYS": "capabilities",
    "capabilities_from_item": "capabilities",
    "capability_cause": "capabilities",
    "AsyncClient": "client",
    "Client": "client",
    "OPTION_PARAMS": "config.params",
    "merge_params": "config.params",
    "validate_params": "config.params",
    "ADAPTATIONS": "config.profiles",
    "Adaptation": "config.profiles",
    "Profile": "config.profiles",
    "builtin_profile": "config.profiles",
    "get_profile": "config.profiles",
    "EmbeddingModelSettings": "config.settings",
    "ProviderSettings": "config.settings",
    "Settings": "config.settings",
    "load_settings": "config.settings",
    "remove_provider": "config.settings",
    "set_active": "config.settings",
    "settings_path": "config.settings",
    "upsert_provider": "config.settings",
    "KNOWN_SERVERS": "discovery",
    "KnownServer": "discovery",
    "ModelListing": "discovery",
    "discover_model_details": "discovery",
    "discover_model_listing": "discovery",
    "discover_models": "discovery",
    "known_server": "discovery",
    "listing_urls": "discovery",
    "EmbeddingResult": "embeddings",
    "BadRequest": "errors",
    "CircuitOpen": "errors",
    "ConfigError": "errors",
    "ConnectError": "errors",
    "DeadlineExceeded": "errors",
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
    "UnsupportedRequest": "errors",
    "Annotation": "events",
    "Event": "events",
    "Finish": "events",
    "Logprobs": "events",
    "OtherChoice": "events",
    "ReasoningDelta": "events",
    "ReasoningItem": "events",
    "RefusalDelta": "events",
    "ResponseMeta": "events",
    "ServerToolItem": "events",
    "StreamFailure": "events",
    "TextDelta": "events",
    "ToolCall": "events",
    "ToolCallArgumentsDelta": "events",
    "ToolCallStart": "events",
    "Usage": "events",
    "CircuitBreaker": "http.retry",
    "RetryPolicy": "http.retry",
    "display_url": "http.urls",
    "embeddings_endpoint": "http.urls",
    "models_endpoint": "http.urls",
    "resolve_endpoint": "http.urls",
    "LearnedLimits": "limits",
    "Conversation": "messages",
    "FilePart": "messages",
    "ImagePart": "messages",
    "Message": "messages",
    "Part": "messages",
    "ReasoningPart": "messages",
    "RequestOptions": "messages",
    "ResponseFormat": "messages",
    "Role": "messages",
    "TextPart": "messages",
    "ToolCallPart": "messages",
    "ToolResultPart": "messages",
    "ToolSpec": "messages",
    "ProbeReport": "probe",
    "run_probes": "probe",
    "Secret": "providers",
    "Target": "providers",
    "named_or_active": "providers",
    "resolve_provider": "providers",
    "validate_provider": "providers",
    "Result": "result",
    "Runtime": "runtime",
    "default_runtime": "runtime",
    "set_default_runtime": "runtime",
    "TokenCount": "token_count",
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

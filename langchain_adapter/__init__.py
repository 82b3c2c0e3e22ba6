"""LangChain chat model and embeddings for any OpenAI-compatible server, on one core.

`ChatOpenAICompat` is a `BaseChatModel` and `OpenAICompatEmbeddings` an `Embeddings`; their
errors are the core's, also catchable as `langchain_core.exceptions` model errors.

The classes load on first use, as `langchain_core.language_models` loads `BaseChatModel`: importing
this package costs nothing until the model is used (docs/performance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .chat_model import ChatOpenAICompat
    from .embeddings import OpenAICompatEmbeddings

__all__ = ["ChatOpenAICompat", "OpenAICompatEmbeddings"]


def __getattr__(name: str) -> Any:
    if name == "ChatOpenAICompat":
        from .chat_model import ChatOpenAICompat

        globals()[name] = ChatOpenAICompat
        return ChatOpenAICompat
    if name == "OpenAICompatEmbeddings":
        from .embeddings import OpenAICompatEmbeddings

        globals()[name] = OpenAICompatEmbeddings
        return OpenAICompatEmbeddings
    raise AttributeError(f"module 'langchain_adapter' has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)

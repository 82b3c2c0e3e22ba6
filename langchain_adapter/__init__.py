"""LangChain chat model for any OpenAI-compatible server, on the llm-openai-compat core.

`ChatOpenAICompat` is a `BaseChatModel`; its errors are the core's, also catchable as
`langchain_core.exceptions` model errors.
"""

from __future__ import annotations

from .chat_model import ChatOpenAICompat

__all__ = ["ChatOpenAICompat"]

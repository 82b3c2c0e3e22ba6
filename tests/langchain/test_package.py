"""`langchain_adapter` loads its chat model on first use, as `langchain_core.language_models`
loads `BaseChatModel`: importing the package alone costs nothing (docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_importing_the_package_loads_no_chat_model_machinery():
    code = (
        "import sys, langchain_adapter\n"
        "heavy = [m for m in ('langchain_core.language_models.chat_models', "
        "'langchain_adapter.chat_model', 'langchain_adapter.embeddings', "
        "'llm_openai_compat.client', 'langsmith') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from langchain_adapter import ChatOpenAICompat\n"
        "from langchain_core.language_models import BaseChatModel\n"
        "assert issubclass(ChatOpenAICompat, BaseChatModel)\n"
        "assert langchain_adapter.ChatOpenAICompat is ChatOpenAICompat\n"
        "assert dir(langchain_adapter) == ['ChatOpenAICompat', 'OpenAICompatEmbeddings']\n"
        "from langchain_adapter import OpenAICompatEmbeddings\n"
        "from langchain_core.embeddings import Embeddings\n"
        "assert issubclass(OpenAICompatEmbeddings, Embeddings)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_unknown_names_raise_attribute_error():
    import langchain_adapter

    with pytest.raises(AttributeError, match="no attribute 'ChatOpenAI'"):
        langchain_adapter.ChatOpenAI  # noqa: B018
    with pytest.raises(ImportError):
        from langchain_adapter import Missing  # noqa: F401

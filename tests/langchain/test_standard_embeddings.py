"""LangChain's standard embeddings suites for `OpenAICompatEmbeddings`: the unit suite (no
server contacted) and the integration suite against the local model server, once asking for
base64 and once for floats, with the server shuffling `data` in both."""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_adapter import OpenAICompatEmbeddings
from tests.support.model_server import expected_vector
from tests.support.model_server_fixture import ModelServer


@cache
def _settings_file() -> str:
    """A settings file for the init-from-environment test (found via OPENAI_COMPAT_SETTINGS)."""
    folder = tempfile.TemporaryDirectory(prefix="openai-compat-embed-unit-")
    _settings_file.folder = folder  # type: ignore[attr-defined]  # lives as long as the process
    path = Path(folder.name) / "openai-compat.json"
    settings = {
        "providers": {
            "from-env": {
                "baseURL": "http://127.0.0.1:9/v1",
                "embeddingModels": [{"id": "env-embed", "dimensions": 64}],
            }
        },
        "active": {"provider": "from-env"},
    }
    path.write_text(json.dumps(settings))
    return str(path)


class TestOpenAICompatEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[OpenAICompatEmbeddings]:
        return OpenAICompatEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "sim-embed", "base_url": "http://127.0.0.1:9/v1"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        # No key ever comes from the environment (see DESIGN.md); the settings file does.
        return (
            {"OPENAI_COMPAT_SETTINGS": _settings_file()},
            {},
            {"provider_id": "from-env", "model": "env-embed", "dimensions": 64},
        )


class _OnLocalServer(EmbeddingsIntegrationTests):
    encoding: ClassVar[str] = "base64"
    server: ClassVar[ModelServer]

    @pytest.fixture(autouse=True)
    def _local_server(self, model_server: ModelServer) -> None:
        type(self).server = model_server

    @property
    def embeddings_class(self) -> type[OpenAICompatEmbeddings]:
        return OpenAICompatEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {
            "model": "sim-embed",
            "base_url": self.server.url("shuffle"),
            "encoding": self.encoding,
            "chunk_size": 2,
            "max_retries": 0,
        }

    def test_vectors_are_the_servers_in_input_order(self, model: OpenAICompatEmbeddings) -> None:
        texts = [f"text {i}" for i in range(7)]
        assert model.embed_documents(texts) == [expected_vector(t) for t in texts]


class TestBase64(_OnLocalServer):
    encoding = "base64"


class TestFloat(_OnLocalServer):
    encoding = "float"

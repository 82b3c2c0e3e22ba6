"""LangChain's standard integration tests for `ChatOpenAICompat`, offline.

Every variant runs the whole suite against the local deterministic server
(`tests/support/model_server.py`), which answers from what it receives. Variants differ by the
wire shape and by server behaviours switched on with URL flags: plain Chat Completions, the
Responses shape, tool-call deltas without `index`, and reasoning streamed as
`reasoning_content`. Tests that download their assets from the internet are skipped.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_tests.integration_tests import ChatModelIntegrationTests

from tests.langchain.capabilities import ChatOpenAICompatCapabilities
from tests.support.model_server_fixture import ModelServer

DOWNLOADS = "downloads its test asset from the internet; this suite runs offline on 127.0.0.1"
_DOWNLOADING = frozenset({"test_image_inputs", "test_pdf_inputs", "test_audio_inputs"})
LONG_PROMPT = "Summarise the following notes. " + "The cat sat on the mat. " * 200


def _invoke(model: BaseChatModel, prompt: str, *, stream: bool) -> AIMessage:
    if not stream:
        result = model.invoke(prompt)
        assert isinstance(result, AIMessage)
        return result
    full: AIMessageChunk | None = None
    for chunk in model.stream(prompt):
        full = chunk if full is None else full + chunk
    assert full is not None
    return full


class _OnLocalServer(ChatOpenAICompatCapabilities, ChatModelIntegrationTests):
    """The suite against one flavour of the local server."""

    flags: ClassVar[tuple[str, ...]] = ()
    api_shape: ClassVar[str] = "chat-completions"
    server: ClassVar[ModelServer]

    @pytest.fixture(autouse=True)
    def _local_server(
        self, request: pytest.FixtureRequest, model_server: ModelServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Point the class at the session's server; keep every test offline."""
        type(self).server = model_server
        name = request.node.originalname
        if name in _DOWNLOADING:
            pytest.skip(f"{name} {DOWNLOADS} (covered offline with generated files in test_chat_model.py)")
        if name == "test_anthropic_inputs":
            # Its optional image part is downloaded; run the rest (Anthropic-format tools,
            # tool_use and thinking blocks) with that part switched off.
            monkeypatch.setattr(type(self), "supports_image_inputs", property(lambda _: False))

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "sim-model",
            "base_url": self.server.url(*self.flags),
            "api_shape": self.api_shape,
            "max_retries": 0,
        }

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return "sim-model-mini"

    @property
    def enable_vcr_tests(self) -> bool:
        # No cassettes: the core's HTTP client (httpx2) is not one VCR patches, so the test
        # streams from the local server once instead of replaying a recording.
        return True

    @property
    def supported_usage_metadata_details(self) -> dict[Any, Any]:
        details = ["cache_read_input", "reasoning_output"]
        return {"invoke": details, "stream": details}

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        model = self.chat_model_class(**self.chat_model_params)
        return _invoke(model, LONG_PROMPT, stream=stream)

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        params = {**self.chat_model_params, "base_url": self.server.url(*self.flags, "reasoning")}
        return _invoke(self.chat_model_class(**params), "Think, then say hi.", stream=stream)


class TestChatCompletions(_OnLocalServer):
    """Chat Completions, every capability on."""


class TestResponses(_OnLocalServer):
    """The Responses shape (`POST /responses`), structured output through json_schema."""

    api_shape = "responses"

    @property
    def structured_output_kwargs(self) -> dict[str, Any]:
        return {"method": "json_schema"}


class TestNoIndex(_OnLocalServer):
    """Chat Completions where streamed tool-call deltas carry no `index` key."""

    flags = ("no-index",)


class TestReasoningContent(_OnLocalServer):
    """Chat Completions streaming reasoning as `reasoning_content` before every answer."""

    flags = ("reasoning",)

"""What `ChatOpenAICompat` declares to LangChain's standard suites, once for both of them."""

from __future__ import annotations

from langchain_adapter import ChatOpenAICompat


class ChatOpenAICompatCapabilities:
    """Mixed into the unit and integration suites so their declarations cannot drift."""

    @property
    def chat_model_class(self) -> type[ChatOpenAICompat]:
        return ChatOpenAICompat

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

"""The neutral conversation model both adapters convert into, and both wire shapes render.

Immutable and host-agnostic: llm prompts and LangChain messages become a `Conversation` plus
`RequestOptions`; `wire.chat` and `wire.responses` turn those into request bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Conversation",
    "FilePart",
    "ImagePart",
    "Message",
    "Part",
    "ReasoningPart",
    "RequestOptions",
    "ResponseFormat",
    "Role",
    "TextPart",
    "ToolCallPart",
    "ToolChoice",
    "ToolResultPart",
    "ToolSpec",
]

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image by URL: `https://...` or a `data:image/png;base64,...` URL."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None
    type: Literal["image"] = "image"


@dataclass(frozen=True, slots=True)
class FilePart:
    """A non-image attachment (audio, PDF, video) as base64 data with its MIME type, or a
    URL."""

    mime_type: str
    data_base64: str | None = None
    url: str | None = None
    filename: str | None = None
    type: Literal["file"] = "file"


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A tool call the assistant made on an earlier turn. `arguments` is the raw JSON text."""

    id: str
    name: str
    arguments: str
    extra: Mapping[str, Any] | None = None
    type: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """The output of a tool call, sent back to the model."""

    call_id: str
    output: str
    name: str | None = None
    type: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    """Reasoning from an earlier assistant turn, carried so multi-turn reasoning works without
    server-side state (Responses reasoning items; `reasoning_content` on chat servers that
    want it back)."""

    text: str = ""
    id: str | None = None
    summary: tuple[str, ...] = ()
    encrypted_content: str | None = None
    type: Literal["reasoning"] = "reasoning"


Part = (
    TextPart
    | ImagePart
    | FilePart
    | ToolCallPart
    | ToolResultPart
    | ReasoningPart
)


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]

    @classmethod
    def text(cls, role: Role, text: str) -> Message:
        return cls(role, (TextPart(text),))


@dataclass(frozen=True, slots=True)
class Conversation:
    """The whole history sent with one request. `system` is the assembled system text; a
    leading `system` message is also accepted and merged into it by the wire builders.
    `id` identifies the conversation across turns (it feeds the prompt cache key)."""

    messages: tuple[Message, ...]
    system: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str | None = None
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    strict: bool | None = None


# "auto" | "none" | "required" | the name of one tool that must be called.
ToolChoice = str


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """Structured output: a JSON schema (`json_schema`) or any JSON object (`json_object`)."""

    kind: Literal["json_schema", "json_object"]
    schema: Mapping[str, Any] | None = None
    name: str = "response"
    strict: bool | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """Everything about one call except the conversation.

    `params` uses the camelCase names of `params.py` (temperature, maxOutputTokens,
    reasoningEffort, ...), already merged from every layer. `extra_body` is passed to the
    server untouched, merged last over the built body.
    """

    model: str
    stream: bool = True
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    include_usage: bool = True
    # How system text is rendered; None means the profile's choice.
    system_message_mode: Literal["system", "developer", "remove"] | None = None
    # Sent as `prompt_cache_key` where the profile allows it (derived from Conversation.id).
    prompt_cache_key: str | None = None
    # Built-in tools the server runs itself (`{"type": "web_search"}`, ...), sent as given after
    # the function tools; their output arrives as `ServerToolItem` events.
    server_tools: tuple[Mapping[str, Any], ...] = ()
    # Deliver the response's HTTP headers as a first `ResponseMeta` (extra["headers"]).
    include_headers: bool = False
    # This call's total budget in seconds (retries, backoff, fallbacks included), over the
    # client's `deadline` and the provider's `deadlineMs`.
    deadline: float | None = None

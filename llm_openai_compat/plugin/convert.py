"""llm's prompt -> the core's conversation and options; the core's events -> llm's.

The only translation layer between llm and the core. History comes from `prompt.messages`
alone: llm documents it as exactly what the model sees for this turn (system, earlier turns,
tool calls and results, this turn's text and attachments), so nothing here reads
`conversation.responses` or the legacy prompt fields.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import llm
from llm.parts import (
    AttachmentPart,
    ReasoningPart,
    StreamEvent,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

from .. import (
    OPTION_PARAMS,
    Annotation,
    Conversation,
    Event,
    FilePart,
    Finish,
    ImagePart,
    Logprobs,
    Message,
    Part,
    ReasoningDelta,
    ReasoningItem,
    RefusalDelta,
    RequestOptions,
    ResponseFormat,
    ResponseMeta,
    Role,
    ServerToolItem,
    TextDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallStart,
    ToolSpec,
    Usage,
)
from .. import ReasoningPart as CoreReasoningPart
from .. import TextPart as CoreTextPart
from .. import ToolCallPart as CoreToolCallPart
from .. import ToolResultPart as CoreToolResultPart

__all__ = [
    "META_KEY",
    "EventTranslator",
    "build_conversation",
    "build_options",
]

# Our key inside llm's provider_metadata; what must be echoed back on the next turn lives here.
META_KEY = "openai_compat"

_ROLES: dict[str, Role] = {
    "system": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}


ImageDetail = Literal["auto", "low", "high"]

# -- prompt -> conversation --------------------------------------------------------------------


def _attachment_part(attachment: Any, detail: ImageDetail | None = None) -> ImagePart | FilePart:
    """An image or video by URL when llm has only the URL, else a data URL; audio and PDF as
    base64."""
    mime = (attachment.resolve_type() or "application/octet-stream").split(";")[0].lower()
    by_url = bool(attachment.url and not attachment.content and not attachment.path)
    if mime.startswith("video/") and by_url:  # the server fetches it: never downloaded here
        return FilePart(mime_type=mime, url=attachment.url)
    if mime.startswith("image/"):
        if by_url:
            return ImagePart(url=attachment.url, detail=detail)
        return ImagePart(url=f"data:{mime};base64,{attachment.base64_content()}", detail=detail)
    name = os.path.basename(attachment.path) if attachment.path else None
    return FilePart(mime_type=mime, data_base64=attachment.base64_content(), filename=name)


def _ours(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    found = (metadata or {}).get(META_KEY)
    return found if isinstance(found, Mapping) else {}


def _tool_result(part: Any) -> CoreToolResultPart:
    # llm already writes "Error: ..." into the output of a tool that raised.
    output = part.output or (f"Error: {part.exception}" if part.exception else "")
    return CoreToolResultPart(call_id=part.tool_call_id or "", output=output, name=part.name)


def _arguments_text(arguments: Any) -> str:
    """Arguments as the model sent them: llm keeps unparseable JSON as {"_raw": text}."""
    if isinstance(arguments, Mapping) and set(arguments) == {"_raw"}:
        return str(arguments["_raw"])
    return json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)


def _convert_message(message: Any, detail: ImageDetail | None = None) -> list[Message]:
    parts: list[Part] = []
    extra_images: list[Part] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            if part.text:
                parts.append(CoreTextPart(part.text))
        elif isinstance(part, AttachmentPart):
            if part.attachment is not None:
                parts.append(_attachment_part(part.attachment, detail))
        elif isinstance(part, ReasoningPart):
            ours = _ours(part.provider_metadata)
            if part.text or ours:
                parts.append(
                    CoreReasoningPart(
                        text=part.text,
                        id=ours.get("id"),
                        summary=tuple(ours.get("summary") or ()),
                        encrypted_content=ours.get("encrypted_content"),
                    )
                )
        elif isinstance(part, ToolCallPart):
            extra = _ours(part.provider_metadata).get("extra")
            parts.append(
                CoreToolCallPart(
                    id=part.tool_call_id or "",
                    name=part.name,
                    arguments=_arguments_text(part.arguments),
                    extra=extra if isinstance(extra, Mapping) else None,
                )
            )
        elif isinstance(part, ToolResultPart):
            parts.append(_tool_result(part))
            # Tool messages cannot carry images: they follow as a user message.
            extra_images.extend(_attachment_part(a, detail) for a in part.attachments or [])
    role: Role = _ROLES.get(message.role, "user")
    out = [Message(role, tuple(parts))] if parts else []
    if extra_images:
        out.append(Message("user", tuple(extra_images)))
    return out


def build_conversation(prompt: Any, conversation_id: str | None) -> Conversation:
    """The core conversation for `prompt.messages` (images at `-o image_detail`, if given)."""
    detail = getattr(prompt.options, "image_detail", None)
    converted: list[Message] = []
    for message in prompt.messages:
        converted.extend(_convert_message(message, detail))
    return Conversation(tuple(converted), id=conversation_id)


def _tool_spec(tool: Any) -> ToolSpec:
    schema = tool.input_schema or {"type": "object", "properties": {}}
    return ToolSpec(name=tool.name, description=tool.description or None, parameters=schema)


def build_options(model_name: str, prompt: Any, stream: bool) -> RequestOptions:
    """The request options for one prompt. What the provider cannot do (json_schema, the
    developer role, stream_options) is the core's to work around, from the provider's
    `capabilities` and what its server taught this process: never decided here."""
    opts = prompt.options
    # The values by name (pydantic keeps them in `__dict__`): a getattr per option cost more
    # than the rest of building the request.
    values = (
        opts.__dict__ if isinstance(opts, llm.Options)
        else {name: getattr(opts, name, None) for name in OPTION_PARAMS}
    )
    params = {
        param: value
        for name, param in OPTION_PARAMS.items()
        if (value := values.get(name)) is not None
    }
    top = getattr(opts, "top_logprobs", None)
    if top is not None and getattr(opts, "logprobs", None) is not False:
        params["logprobs"] = top if top else True
    if getattr(prompt, "hide_reasoning", False):
        # -R: no summary asked for, so none is shown.
        params.pop("reasoningSummary", None)
    response_format = None
    if prompt.schema:
        response_format = ResponseFormat(kind="json_schema", schema=prompt.schema)
    elif getattr(opts, "json_object", None):
        response_format = ResponseFormat(kind="json_object")
    tools = tuple(_tool_spec(t) for t in prompt.tools if isinstance(t, llm.Tool))
    # `-T 'ServerSideTool(spec={"type": "web_search"})'`: built-in tools, sent as given.
    server_tools = tuple(
        dict(t.spec) for t in prompt.tools if isinstance(t, llm.ServerSideTool) and t.spec
    )
    return RequestOptions(
        model=model_name,
        stream=stream,
        tools=tools,
        response_format=response_format,
        params=params,
        extra_body=dict(getattr(opts, "extra_body", None) or {}),
        server_tools=server_tools,
    )


# -- events -> llm -------------------------------------------------------------------------------


class EventTranslator:
    """Turns core events into llm `StreamEvent`s and records the rest on the llm response:
    tool calls, usage, and `response_json` (finish reason and ids) for `llm logs`."""

    def __init__(self, response: Any, provider_id: str, shape: str, model: str) -> None:
        self.response = response
        self.provider_id = provider_id
        self.shape = shape
        self.model = model
        self._started: set[str] = set()
        self._saw_reasoning = False
        self._usage: Usage | None = None
        self._finish: Finish | None = None
        self._meta: ResponseMeta | None = None
        self._refusal: list[str] = []
        self._logprobs: dict[str, list[Any]] = {}
        self._annotations: list[Any] = []
        self._server_tools: list[Any] = []

    def translate(self, event: Event) -> tuple[StreamEvent, ...]:
        """The llm events for one core event: none for what is only recorded. A tuple, not a
        generator: most events give one or none, and a stream has thousands."""
        if isinstance(event, TextDelta):
            return (StreamEvent(type="text", chunk=event.text),) if event.text else ()
        if isinstance(event, ReasoningDelta):
            if not event.text:
                return ()
            self._saw_reasoning = True
            return (StreamEvent(type="reasoning", chunk=event.text),)
        if isinstance(event, Logprobs):
            self._logprobs.setdefault(event.of, []).extend(event.entries)
        elif isinstance(event, RefusalDelta):
            # The refusal is the answer llm shows; response_json marks it as one.
            self._refusal.append(event.text)
            return (StreamEvent(type="text", chunk=event.text),)
        elif isinstance(event, Annotation):
            self._annotations.append(event.raw)
        elif isinstance(event, ServerToolItem):
            self._server_tools.append(event.raw)
        elif isinstance(event, ReasoningItem):
            return tuple(self._reasoning_item(event))
        elif isinstance(event, ToolCallStart):
            self._started.add(event.id)
            return (StreamEvent(type="tool_call_name", chunk=event.name, tool_call_id=event.id),)
        elif isinstance(event, ToolCallArgumentsDelta):
            if event.delta:
                return (
                    StreamEvent(type="tool_call_args", chunk=event.delta, tool_call_id=event.id),
                )
        elif isinstance(event, ToolCall):
            return tuple(self._tool_call(event))
        elif isinstance(event, Usage):
            self._usage = event
        elif isinstance(event, Finish):
            self._finish = event
        elif isinstance(event, ResponseMeta):
            meta = self._meta  # a failover or headers meta may come first: merged, not replaced
            self._meta = event if meta is None else ResponseMeta(
                event.id or meta.id, event.model or meta.model, {**meta.extra, **event.extra}
            )
            if event.model and event.model != self.model:
                # A router (OpenRouter, LiteLLM) answered with another model: llm logs it.
                self.response.set_resolved_model(event.model)
        return ()

    def _reasoning_item(self, item: ReasoningItem) -> Iterator[StreamEvent]:
        """Opaque reasoning state (Responses items) rides on provider_metadata so llm stores it
        with the message and hands it back on the next turn."""
        data: dict[str, Any] = {}
        if item.id:
            data["id"] = item.id
        if item.summary:
            data["summary"] = list(item.summary)
        if item.encrypted_content:
            data["encrypted_content"] = item.encrypted_content
        if data:
            yield StreamEvent(type="reasoning", chunk="", provider_metadata={META_KEY: data})

    def _tool_call(self, call: ToolCall) -> Iterator[StreamEvent]:
        if call.id not in self._started:
            # No start/delta events came for this call (e.g. a whole-body response).
            self._started.add(call.id)
            yield StreamEvent(type="tool_call_name", chunk=call.name, tool_call_id=call.id)
            if call.arguments_raw:
                yield StreamEvent(
                    type="tool_call_args", chunk=call.arguments_raw, tool_call_id=call.id
                )
        if call.extra:
            yield StreamEvent(
                type="tool_call_args",
                chunk="",
                tool_call_id=call.id,
                provider_metadata={META_KEY: {"extra": dict(call.extra)}},
            )
        arguments: dict[str, Any] = (
            dict(call.arguments) if call.arguments is not None else {"_raw": call.arguments_raw}
        )
        self.response.add_tool_call(
            llm.ToolCall(name=call.name, arguments=arguments, tool_call_id=call.id)
        )

    def finish(self) -> Iterator[StreamEvent]:
        """Usage and `response_json`, once the stream is over."""
        usage = self._usage
        if usage is not None:
            details = {
                name: value
                for name, value in (
                    ("cached_tokens", usage.cached_input_tokens),
                    ("reasoning_tokens", usage.reasoning_tokens),
                )
                if value
            }
            self.response.set_usage(
                input=usage.input_tokens, output=usage.output_tokens, details=details or None
            )
            if usage.reasoning_tokens and not self._saw_reasoning:
                # Reasoning happened but its text was withheld: llm records the fact.
                yield StreamEvent(type="reasoning", chunk="", redacted=True)
        self.response.response_json = self.response_json()

    def response_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"provider": self.provider_id, "shape": self.shape}
        meta = self._meta
        if meta is not None:
            if meta.id:
                data["id"] = meta.id
            if meta.model:
                data["model"] = meta.model
            extra = dict(meta.extra)
            if "served_by" in extra:  # a fallback answered: `provider` is the one that did
                data["provider"] = extra.pop("served_by")
                data["fallback_from"] = _jsonable(extra.pop("fallback_from", []))
            if extra:
                data["extra"] = _jsonable(extra)
        if self._finish is not None:
            data["finish_reason"] = self._finish.reason
            if self._finish.raw_reason and self._finish.raw_reason != self._finish.reason:
                data["raw_finish_reason"] = self._finish.raw_reason
        if self._usage is not None and self._usage.raw:
            data["usage"] = _jsonable(self._usage.raw)
        if self._refusal:
            data["refusal"] = "".join(self._refusal)
        if self._logprobs:
            data["logprobs"] = _jsonable(self._logprobs)
        if self._annotations:
            data["annotations"] = _jsonable(self._annotations)
        if self._server_tools:
            data["server_tool_calls"] = _jsonable(self._server_tools)
        return data


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)

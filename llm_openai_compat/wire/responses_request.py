"""Responses request bodies (`POST {base}/responses`) from the neutral conversation model.

Stateless by default: the whole history is sent every turn with `store: false`, so nothing
depends on what the server kept. Reasoning then round-trips through `encrypted_content`
(asked for with `include: ["reasoning.encrypted_content"]`), and a reasoning item without it
is only sent back when the server stores responses, because a stateless server cannot resolve
a bare item id. The body is built in one deterministic order and encoded with sorted keys, so
turn 2's `input` starts with exactly the bytes of turn 1's (the server's prefix cache hits).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any

from ..config.params import to_wire
from ..config.profiles import Profile
from ..errors import ConfigError, MissingStructuredOutput, ProviderCapability
from ..messages import (
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
from .request_common import (
    SystemRole,
    deep_merge,
    plain,
    require_tool_support,
    schema_instruction,
    system_role,
    tool_choice_mode,
)

__all__ = [
    "ENCRYPTED_REASONING",
    "build_request",
    "render_format",
    "render_input",
    "render_tool",
    "render_tool_choice",
]

ENCRYPTED_REASONING = "reasoning.encrypted_content"
_TOOL_CHOICE_MODES = ("auto", "none", "required")


def build_request(
    conversation: Conversation, options: RequestOptions, profile: Profile
) -> dict[str, Any]:
    """The JSON body for one Responses call (keys in a fixed order; see `encode_body`)."""
    require_tool_support(options, profile)
    params = options.params
    store = params.get("store") is True
    role = system_role(options, profile)
    instructions, messages = _split_system(conversation, role)
    text_format, schema_note = (
        render_format(options.response_format, params, profile)
        if options.response_format is not None
        else (None, None)
    )
    if schema_note:
        if role is None:
            raise MissingStructuredOutput(
                "This server takes no JSON schema and systemMessageMode 'remove' leaves no "
                "instructions to describe it in",
                model=options.model,
            )
        instructions = f"{instructions}\n\n{schema_note}" if instructions else schema_note

    body: dict[str, Any] = {"model": options.model}
    if instructions is not None:
        body["instructions"] = instructions
    body["input"] = render_input(messages, store=store, system_role=role or "system")
    if options.tools or options.server_tools:
        body["tools"] = [
            *(render_tool(spec) for spec in options.tools),
            *(dict(tool) for tool in options.server_tools),
        ]
        choice = tool_choice_mode(options, profile)
        if choice is not None:
            body["tool_choice"] = render_tool_choice(choice)
    if text_format is not None:
        body["text"] = {"format": text_format}

    wire = to_wire(params, "responses")
    if not options.tools or not profile.supports_parallel_tool_calls:
        wire.pop("parallel_tool_calls", None)  # as on chat: meaningless without tools
    include: list[Any] = list(wire.pop("include", ()))
    body = deep_merge(body, wire)
    if not store and _reasoning_requested(params) and ENCRYPTED_REASONING not in include:
        include.append(ENCRYPTED_REASONING)
    if include:
        body["include"] = include
    body["store"] = store
    if options.stream:
        body["stream"] = True
    if options.prompt_cache_key and profile.supports_prompt_cache_key:
        body["prompt_cache_key"] = options.prompt_cache_key
    if options.extra_body:
        body = deep_merge(body, options.extra_body)
    return body


# -- system text ----------------------------------------------------------------------------


def _split_system(
    conversation: Conversation, role: SystemRole | None
) -> tuple[str | None, Sequence[Message]]:
    """`conversation.system` plus leading system messages become `instructions`."""
    texts = [conversation.system] if conversation.system else []
    messages = conversation.messages
    start = 0
    while start < len(messages) and messages[start].role == "system":
        texts.extend(_texts(messages[start]))
        start += 1
    rest = messages[start:]
    if role is None:
        later = sum(len("".join(_texts(m))) for m in rest if m.role == "system")
        total = sum(len(t) for t in texts) + later
        if total:
            raise ConfigError(
                f"systemMessageMode 'remove' would silently drop {total} characters of system "
                "text this conversation carries; the assembled system prompt is load-bearing, "
                "so it is rejected rather than removed",
                field="systemMessageMode",
                hint="Use 'system' or 'developer' (rendered as instructions on responses), "
                "or send the conversation without system text",
            )
    text = "\n\n".join(t for t in texts if t)
    return (text or None), rest


def _texts(message: Message) -> list[str]:
    return [part.text for part in message.parts if isinstance(part, TextPart)]


# -- input items ----------------------------------------------------------------------------


def render_input(
    messages: Sequence[Message], *, store: bool = False, system_role: SystemRole = "system"
) -> list[dict[str, Any]]:
    """Render messages as Responses input items, one message at a time and independently of
    later ones, so an earlier turn always renders to the same items."""
    items: list[dict[str, Any]] = []
    for message in messages:
        _render_message(message, items, store=store, system_role=system_role)
    return items


def _render_message(
    message: Message, items: list[dict[str, Any]], *, store: bool, system_role: SystemRole
) -> None:
    reasoning: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    content: list[dict[str, Any]] = []
    texts: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            texts.append(part.text)
            content.append({"type": "input_text", "text": part.text})
        elif isinstance(part, ImagePart):
            content.append(
                {"type": "input_image", "image_url": part.url, "detail": part.detail or "auto"}
            )
        elif isinstance(part, FilePart):
            content.append(_render_file(part))
        elif isinstance(part, ToolCallPart):
            calls.append(_render_call(part))
        elif isinstance(part, ToolResultPart):
            results.append(
                {"type": "function_call_output", "call_id": part.call_id, "output": part.output}
            )
        elif isinstance(part, ReasoningPart):
            item = _render_reasoning(part, store=store)
            if item is not None:
                reasoning.append(item)
    # Tool outputs answer the previous turn's calls, so they come before anything new.
    items.extend(results)
    if message.role == "assistant":
        # The order the server produced them in: reasoning, then the message, then calls.
        items.extend(reasoning)
        text = "".join(texts)
        if text:
            items.append({"type": "message", "role": "assistant", "content": text})
    elif message.role == "system":
        text = "\n\n".join(texts)
        if text:
            items.append({"type": "message", "role": system_role, "content": text})
    elif content:
        items.append({"type": "message", "role": "user", "content": content})
    if message.role != "assistant":
        items.extend(reasoning)
    items.extend(calls)


def _render_file(part: FilePart) -> dict[str, Any]:
    mime = part.mime_type.lower()
    if mime.startswith(("audio/", "video/")):
        kind = mime.split("/", 1)[0]
        raise ProviderCapability(
            f"The Responses API takes no {kind} input ({part.mime_type})",
            hint=f"Use apiShape 'chat-completions' for {kind} attachments",
        )
    if part.data_base64 is not None:
        data_url = f"data:{part.mime_type};base64,{part.data_base64}"
        if mime.startswith("image/"):
            return {"type": "input_image", "image_url": data_url, "detail": "auto"}
        return {
            "type": "input_file",
            "filename": part.filename or _default_filename(mime),
            "file_data": data_url,
        }
    if part.url is not None:
        if mime.startswith("image/"):
            return {"type": "input_image", "image_url": part.url, "detail": "auto"}
        item: dict[str, Any] = {"type": "input_file", "file_url": part.url}
        if part.filename:
            item["filename"] = part.filename
        return item
    raise ProviderCapability(f"An attachment ({part.mime_type}) has neither data nor a URL")


def _default_filename(mime: str) -> str:
    # The server wants a name with file_data; the extension tells it how to read the bytes.
    return "attachment" + (mimetypes.guess_extension(mime, strict=False) or "")


def _render_call(part: ToolCallPart) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "function_call", "call_id": part.id}
    # Only a real output-item id the caller kept (extra["item_id"]); the call id is not one.
    item_id = (part.extra or {}).get("item_id")
    if isinstance(item_id, str) and item_id:
        item["id"] = item_id
    item["name"] = part.name
    item["arguments"] = part.arguments
    return item


def _render_reasoning(part: ReasoningPart, *, store: bool) -> dict[str, Any] | None:
    """A reasoning item to send back, or None when the server could not use it (no id; or a
    stateless call without `encrypted_content`, where the bare id names nothing stored)."""
    if not part.id or not (part.encrypted_content or store):
        return None
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": part.id,
        "summary": [{"type": "summary_text", "text": text} for text in part.summary],
    }
    if part.encrypted_content:
        item["encrypted_content"] = part.encrypted_content
    return item


# -- tools and formats ----------------------------------------------------------------------


def render_tool(spec: ToolSpec) -> dict[str, Any]:
    """A function tool, flattened (Responses has no nested `function` object; `strict` is
    required, default False since strict schemas need every property listed as required)."""
    tool: dict[str, Any] = {"type": "function", "name": spec.name}
    if spec.description is not None:
        tool["description"] = spec.description
    tool["parameters"] = plain(spec.parameters)
    tool["strict"] = bool(spec.strict) if spec.strict is not None else False
    return tool


def render_tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in _TOOL_CHOICE_MODES:
        return choice
    return {"type": "function", "name": choice}


def render_format(
    fmt: ResponseFormat, params: Mapping[str, Any], profile: Profile
) -> tuple[dict[str, Any], str | None]:
    """`text.format`: a JSON schema (strict unless told otherwise) or any JSON object. Where
    the profile says the server takes no schema, JSON mode plus the schema as an instruction
    (the returned note), as on chat-completions."""
    if fmt.kind == "json_object" or fmt.schema is None:
        return {"type": "json_object"}, None
    schema = plain(fmt.schema)
    if not profile.supports_json_schema:
        return {"type": "json_object"}, schema_instruction(schema)
    strict = fmt.strict
    if strict is None:
        default = params.get("strictJsonSchema")
        strict = default if isinstance(default, bool) else True
    out: dict[str, Any] = {"type": "json_schema", "name": fmt.name}
    if fmt.description:
        out["description"] = fmt.description
    out["schema"] = schema
    out["strict"] = strict
    return out, None


def _reasoning_requested(params: Mapping[str, Any]) -> bool:
    if params.get("forceReasoning") is True or params.get("reasoningSummary"):
        return True
    effort = params.get("reasoningEffort")
    return effort is not None and effort != "none"


# -- helpers --------------------------------------------------------------------------------

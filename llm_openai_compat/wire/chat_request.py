"""Chat Completions request bodies: a `Conversation` plus `RequestOptions` rendered for a profile.

Deterministic on purpose: the same inputs give the same dict with the same insertion order, and
earlier turns render to the same messages whatever follows them, so `encode.encode_body` gives
byte-identical prefixes turn after turn and server-side prompt caches keep hitting.
Every vendor difference is read from the `Profile`; nothing here asks which vendor it is.
"""

from __future__ import annotations

from typing import Any

from ..config.params import to_wire
from ..config.profiles import Profile
from ..errors import ConfigError, ProviderCapability
from ..messages import (
    Conversation,
    FilePart,
    ImagePart,
    Message,
    Part,
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

__all__ = ["build_request"]


_TOOL_CHOICE_MODES = frozenset({"auto", "none", "required"})
_TOOL_CALL_KEYS = frozenset({"id", "type", "function"})
# MIME types the Chat Completions `input_audio` part names "wav" or "mp3".
_AUDIO_FORMATS: dict[str, str] = {
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mpeg3": "mp3",
    "audio/x-mpeg-3": "mp3",
}


def build_request(
    conversation: Conversation, options: RequestOptions, profile: Profile
) -> dict[str, Any]:
    """The JSON body for `POST .../chat/completions`."""
    require_tool_support(options, profile)
    system_texts, rest = _split_system(conversation)
    response_format, schema_note = _response_format(options, profile)
    if schema_note:
        system_texts.append(schema_note)
    role = system_role(options, profile)
    if role is None and (system_texts or any(m.role == "system" for m in rest)):
        raise ConfigError(
            'systemMessageMode "remove" would drop the system prompt',
            field="systemMessageMode",
            hint='Use "system" or "developer" instead, or send no system prompt',
        )

    messages: list[dict[str, Any]] = []
    if system_texts:
        messages.append({"role": role, "content": "\n\n".join(system_texts)})
    for message in rest:
        _render_message(message, role or "system", profile, messages)

    body: dict[str, Any] = {"model": options.model, "messages": messages}
    stream = options.stream
    if options.tools or options.server_tools:
        body["tools"] = [
            *(_tool(spec) for spec in options.tools),
            *(dict(tool) for tool in options.server_tools),
        ]
        choice = tool_choice_mode(options, profile)
        if choice is not None:
            body["tool_choice"] = _tool_choice(choice)
        if choice in ("auto", None) and not profile.stream_auto_tool_calls:
            stream = False  # the answer is read whole (the client parses a JSON body as such)
    if response_format is not None:
        body["response_format"] = response_format
    if stream:
        body["stream"] = True
        if options.include_usage and profile.supports_stream_options:
            body["stream_options"] = {"include_usage": True}

    params = to_wire(options.params, "chat-completions", max_tokens_field=profile.max_tokens_field)
    if not options.tools or not profile.supports_parallel_tool_calls:
        # OpenAI rejects parallel_tool_calls without tools; some servers reject it always.
        params.pop("parallel_tool_calls", None)
    for key, value in params.items():
        body[key] = plain(value)
    if options.prompt_cache_key and profile.supports_prompt_cache_key:
        body["prompt_cache_key"] = options.prompt_cache_key
    if options.extra_body:
        body = deep_merge(body, options.extra_body)
    return body


# -- messages -------------------------------------------------------------------------------


def _split_system(conversation: Conversation) -> tuple[list[str], tuple[Message, ...]]:
    """System text from `Conversation.system` and any leading `system` messages."""
    texts = [conversation.system] if conversation.system else []
    messages = conversation.messages
    start = 0
    while start < len(messages) and messages[start].role == "system":
        texts.extend(p.text for p in messages[start].parts if isinstance(p, TextPart) and p.text)
        start += 1
    return texts, messages[start:]


def _render_message(
    message: Message, system: SystemRole, profile: Profile, out: list[dict[str, Any]]
) -> None:
    role = message.role
    if role == "user":
        _render_user(message.parts, out)
    elif role == "assistant":
        _render_assistant(message.parts, profile, out)
    elif role == "tool":
        out.extend(_tool_result(p) for p in message.parts if isinstance(p, ToolResultPart))
    else:  # a system message later in the conversation stays where it was
        text = "\n\n".join(p.text for p in message.parts if isinstance(p, TextPart) and p.text)
        out.append({"role": system, "content": text})


def _render_user(parts: tuple[Part, ...], out: list[dict[str, Any]]) -> None:
    # Tool results answer the previous assistant turn, so they go first, one message each.
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ToolResultPart):
            out.append(_tool_result(part))
        elif isinstance(part, TextPart):
            content.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            content.append(_image(part.url, part.detail))
        elif isinstance(part, FilePart):
            content.append(_file(part))
    if not content and any(isinstance(p, ToolResultPart) for p in parts):
        return
    if len(content) == 1 and content[0]["type"] == "text":
        out.append({"role": "user", "content": content[0]["text"]})
    else:
        out.append({"role": "user", "content": content or ""})


def _render_assistant(parts: tuple[Part, ...], profile: Profile, out: list[dict[str, Any]]) -> None:
    texts = [p.text for p in parts if isinstance(p, TextPart)]
    calls = [p for p in parts if isinstance(p, ToolCallPart)]
    text = "".join(texts)
    empty = None if calls and profile.null_tool_call_content else ""
    message: dict[str, Any] = {"role": "assistant", "content": text or empty}
    if calls:
        message["tool_calls"] = [_tool_call(call, profile) for call in calls]
    field = profile.replay_reasoning_field
    if field:
        reasoning = "".join(p.text for p in parts if isinstance(p, ReasoningPart))
        if reasoning:
            message[field] = reasoning
    out.append(message)
    out.extend(_tool_result(p) for p in parts if isinstance(p, ToolResultPart))


def _tool_call(call: ToolCallPart, profile: Profile) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }
    if call.extra:  # e.g. Gemini's extra_content (thought signatures) must come back verbatim
        keep = profile.tool_call_extra_fields
        for key, value in call.extra.items():
            if key not in _TOOL_CALL_KEYS and (keep is None or key in keep):
                wire[key] = plain(value)
    return wire


def _tool_result(part: ToolResultPart) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": part.call_id, "content": part.output}


def _image(url: str, detail: str | None) -> dict[str, Any]:
    image: dict[str, Any] = {"url": url}
    if detail:
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


def _base64_of(part: FilePart) -> str | None:
    if part.data_base64:
        return part.data_base64
    url = part.url or ""
    if url.startswith("data:"):
        header, sep, data = url.partition(",")
        if sep and header.endswith(";base64"):
            return data
    return None


def _file(part: FilePart) -> dict[str, Any]:
    mime = part.mime_type.lower()
    data = _base64_of(part)
    if mime.startswith("image/"):
        return _image(f"data:{mime};base64,{data}" if data else part.url or "", None)
    if mime.startswith("video/"):  # vLLM's, OpenRouter's and llama.cpp's video part
        url = f"data:{mime};base64,{data}" if data else part.url or ""
        return {"type": "video_url", "video_url": {"url": url}}
    if data is None:
        raise ProviderCapability(
            f"Chat Completions cannot fetch a {mime} attachment by URL ({part.url})",
            hint="Attach the file's content instead of a link",
        )
    if mime.startswith("audio/"):
        fmt = _AUDIO_FORMATS.get(mime) or mime.split("/", 1)[1].removeprefix("x-")
        return {"type": "input_audio", "input_audio": {"data": data, "format": fmt}}
    filename = part.filename or f"attachment.{mime.rsplit('/', 1)[-1]}"
    return {
        "type": "file",
        "file": {"filename": filename, "file_data": f"data:{mime};base64,{data}"},
    }


# -- tools and structured output ---------------------------------------------------------------


def _tool(spec: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": spec.name}
    if spec.description:
        function["description"] = spec.description
    function["parameters"] = plain(spec.parameters)
    if spec.strict is not None:
        function["strict"] = spec.strict
    return {"type": "function", "function": function}


def _tool_choice(choice: str) -> str | dict[str, Any]:
    if choice in _TOOL_CHOICE_MODES:
        return choice
    return {"type": "function", "function": {"name": choice}}


def _response_format(
    options: RequestOptions, profile: Profile
) -> tuple[dict[str, Any] | None, str | None]:
    """The `response_format` field, and a system instruction when the schema cannot be sent."""
    fmt: ResponseFormat | None = options.response_format
    if fmt is None:
        return None, None
    if fmt.kind == "json_object" or fmt.schema is None:
        return {"type": "json_object"}, None
    schema = plain(fmt.schema)
    if not profile.supports_json_schema:
        return {"type": "json_object"}, schema_instruction(schema)
    spec: dict[str, Any] = {"name": fmt.name, "schema": schema}
    strict = fmt.strict if fmt.strict is not None else options.params.get("strictJsonSchema")
    if strict is not None:
        spec["strict"] = bool(strict)
    if fmt.description:
        spec["description"] = fmt.description
    return {"type": "json_schema", "json_schema": spec}, None

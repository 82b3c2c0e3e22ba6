"""LangChain messages in, core events out as `AIMessageChunk`s: the one conversion path.

Inputs go through LangChain's own `content_blocks` normalisation (OpenAI, Anthropic and v1
block formats all arrive as standard blocks), so this module only maps standard blocks onto
the core's neutral `Conversation`. Outputs come from `ChunkBuilder`, used by invoke and stream,
sync and async alike, so every path produces the same message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import ToolCallChunk, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.utils.function_calling import convert_to_openai_tool

from llm_openai_compat import (
    Annotation,
    Conversation,
    Event,
    FilePart,
    Finish,
    ImagePart,
    Logprobs,
    Message,
    OtherChoice,
    Part,
    ReasoningDelta,
    ReasoningItem,
    ReasoningPart,
    RefusalDelta,
    ResponseFormat,
    ResponseMeta,
    Role,
    ServerToolItem,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallPart,
    ToolCallStart,
    ToolResultPart,
    ToolSpec,
    Usage,
)

__all__ = [
    "ChunkBuilder",
    "as_responses_message",
    "is_server_tool",
    "to_conversation",
    "to_response_format",
    "to_tool_specs",
    "to_usage_metadata",
]

_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "tool": "tool",
}


# -- LangChain messages -> Conversation ---------------------------------------------------------


def to_conversation(messages: Sequence[BaseMessage]) -> Conversation:
    return Conversation(tuple(_message(m) for m in messages))


def _message(message: BaseMessage) -> Message:
    if isinstance(message, AIMessage):
        return Message("assistant", _assistant_parts(message))
    if isinstance(message, ToolMessage):
        output = _tool_output(message)
        return Message("tool", (ToolResultPart(message.tool_call_id, output, message.name),))
    if isinstance(message, SystemMessage):
        return Message("system", _input_parts(message))
    if isinstance(message, HumanMessage):
        return Message("user", _input_parts(message))
    if isinstance(message, ChatMessage) and message.role in _ROLES:
        role = _ROLES[message.role]
        if role == "assistant":
            return Message(role, _assistant_parts(AIMessage(content=message.content)))
        if role != "tool":
            return Message(role, _input_parts(message))
    raise ValueError(
        f"Cannot send a {type(message).__name__} (role {getattr(message, 'role', message.type)!r}) "
        "to an OpenAI-compatible server; use System/Human/AI/ToolMessage"
    )


def _input_parts(message: BaseMessage) -> tuple[Part, ...]:
    content = message.content
    if isinstance(content, str):  # plain text: what `content_blocks` would give, without it
        return (TextPart(content),) if content else ()
    parts: list[Part] = []
    for block in message.content_blocks:
        part = _input_part(block)
        if part is not None:
            parts.append(part)
    return tuple(parts)


def _input_part(block: Mapping[str, Any]) -> Part | None:
    kind = block.get("type")
    if kind in ("text", "text-plain"):
        text = block.get("text")
        return TextPart(text) if isinstance(text, str) and text else None
    if kind == "non_standard":
        value = block.get("value") or {}
        if value.get("type") == "image_url" and isinstance(value.get("image_url"), str):
            return ImagePart(value["image_url"])  # the legacy {"image_url": "https://..."} form
        raise ValueError(f"Unsupported content block for an OpenAI-compatible server: {value!r}")
    if kind in ("image", "file", "audio", "video"):
        return _data_part(block)
    if kind in ("reasoning", "tool_call", "tool_call_chunk", "invalid_tool_call"):
        return None  # assistant-side blocks carry nothing a server reads from user turns
    raise ValueError(f"Unsupported content block type {kind!r}")


def _data_part(block: Mapping[str, Any]) -> Part:
    kind = block["type"]
    extras = block.get("extras") or {}
    mime = block.get("mime_type") or ("image/png" if kind == "image" else None)
    data, url = block.get("base64"), block.get("url")
    if block.get("file_id"):
        raise ValueError(
            "File ids are provider-side references; send the content as base64 or a URL"
        )
    if kind == "image":
        if data:
            return ImagePart(f"data:{mime};base64,{data}", extras.get("detail"))
        if url:
            return ImagePart(url, extras.get("detail"))
    elif data or url:
        if not mime:
            raise ValueError(f"A {kind} block needs a mime_type")
        return FilePart(mime, data_base64=data, url=url, filename=extras.get("filename"))
    raise ValueError(f"A {kind} block needs base64 data or a url")


def _assistant_parts(message: AIMessage) -> tuple[Part, ...]:
    parts: list[Part] = []
    items = message.additional_kwargs.get("reasoning_items")
    if not (isinstance(items, list) and items):  # Responses-style blocks (output responses/v1)
        items = [b for b in _blocks(message.content)
                 if b.get("type") == "reasoning" and "reasoning" not in b
                 and (b.get("id") or b.get("encrypted_content"))]
    if isinstance(items, list) and items:
        parts.extend(_reasoning_item(item) for item in items if isinstance(item, Mapping))
    else:
        reasoning = message.additional_kwargs.get("reasoning_content")
        if not isinstance(reasoning, str):
            reasoning = "".join(
                str(b.get("reasoning", ""))
                for b in _blocks(message.content)
                if b.get("type") == "reasoning"
            )
        if reasoning:
            parts.append(ReasoningPart(text=reasoning))
    text = message.content if isinstance(message.content, str) else "".join(
        str(b.get("text", "")) for b in _blocks(message.content) if b.get("type") == "text"
    )
    if text:
        parts.append(TextPart(text))
    for call in message.tool_calls:
        arguments = json.dumps(call["args"], ensure_ascii=False)
        parts.append(ToolCallPart(call["id"] or "", call["name"], arguments))
    for bad in message.invalid_tool_calls:
        parts.append(ToolCallPart(bad.get("id") or "", bad.get("name") or "", bad.get("args") or ""))
    return tuple(parts)


def _reasoning_item(item: Mapping[str, Any]) -> ReasoningPart:
    summary = item.get("summary") or ()
    return ReasoningPart(
        id=item.get("id"),
        # strings (reasoning_items), or Responses' `summary_text` parts (content blocks)
        summary=tuple(str(s.get("text", "")) if isinstance(s, Mapping) else str(s)
                      for s in summary),
        encrypted_content=item.get("encrypted_content"),
    )


def _blocks(content: Any) -> Iterator[Mapping[str, Any]]:
    for block in content if isinstance(content, list) else ():
        if isinstance(block, Mapping):
            yield block
        elif isinstance(block, str):
            yield {"type": "text", "text": block}


def _tool_output(message: ToolMessage) -> str:
    """Tool results are text on both wire shapes: text blocks are joined, anything else is
    sent as JSON rather than dropped."""
    if isinstance(message.content, str):
        return message.content
    pieces = []
    for block in message.content:
        if isinstance(block, str):
            pieces.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            pieces.append(str(block.get("text", "")))
        else:
            pieces.append(json.dumps(block, ensure_ascii=False, default=str))
    return "".join(pieces)


# -- tools and formats (OpenAI dict forms, as bound by bind_tools / with_structured_output) --------


def is_server_tool(tool: Mapping[str, Any]) -> bool:
    """A built-in tool dict (`{"type": "web_search"}`, `{"type": "file_search", ...}`): one
    with a type other than "function" and no function to call here."""
    return tool.get("type") not in (None, "function") and "function" not in tool


def to_tool_specs(tools: Iterable[Mapping[str, Any]]) -> tuple[ToolSpec, ...]:
    """Function tools (built-in ones are left to `is_server_tool` and sent as given)."""
    specs = []
    for tool in tools:
        if is_server_tool(tool):
            continue
        function = tool.get("function", tool)
        specs.append(
            ToolSpec(
                name=function["name"],
                description=function.get("description") or None,
                parameters=function.get("parameters") or {"type": "object", "properties": {}},
                strict=function.get("strict"),
            )
        )
    return tuple(specs)


def to_response_format(value: Mapping[str, Any] | type | None) -> ResponseFormat | None:
    """`{"type": "json_object"}`, `{"type": "json_schema", "json_schema": {...}}`, or a schema
    (Pydantic or TypedDict class, JSON schema dict) as ChatOpenAI also accepts."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind == "json_schema" and isinstance(value, Mapping) and "json_schema" in value:
        spec = value["json_schema"]
        return ResponseFormat(
            "json_schema",
            schema=spec.get("schema") or {"type": "object"},
            name=spec.get("name") or "response",
            strict=spec.get("strict"),
            description=spec.get("description"),
        )
    function = convert_to_openai_tool(value)["function"]
    return ResponseFormat(
        "json_schema",
        schema=function.get("parameters") or {"type": "object"},
        name=function["name"],
        description=function.get("description") or None,
    )


# -- events -> AIMessageChunks ---------------------------------------------------------------


def to_usage_metadata(usage: Usage) -> UsageMetadata:
    inputs, outputs = usage.input_tokens or 0, usage.output_tokens or 0
    metadata = UsageMetadata(
        input_tokens=inputs,
        output_tokens=outputs,
        total_tokens=usage.total_tokens if usage.total_tokens is not None else inputs + outputs,
    )
    if usage.cached_input_tokens is not None:
        metadata["input_token_details"] = InputTokenDetails(cache_read=usage.cached_input_tokens)
    if usage.reasoning_tokens is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=usage.reasoning_tokens)
    return metadata


class ChunkBuilder:
    """Turns one response's events into `ChatGenerationChunk`s.

    Usage and the response metadata (finish_reason, model_name, id) ride on one final chunk,
    so merging chunks never double-counts tokens or concatenates names. Tool-call chunks use
    the core's dense index, which is stable even when the server sent none. For
    `output_version="v1"` the chunks carry v1 content blocks with their own block index, so
    a reasoning block and the first tool call never merge into one block.

    `output_version="responses/v1"` (`responses=True`) gives ChatOpenAI's Responses-style
    blocks instead, whichever wire shape answered: `reasoning` with `summary` parts (or
    `content` `reasoning_text` parts for raw chain of thought), `text` with `annotations`,
    `function_call` (name, arguments, call_id), `refusal`, and built-in tool items as the
    server sent them.
    """

    def __init__(self, requested_model: str, *, v1: bool = False,
                 responses: bool = False) -> None:
        self._model = requested_model
        self._v1 = v1 or responses  # content is a list of blocks either way
        self._responses = self.responses = responses
        self._id: str | None = None
        self._extra: dict[str, Any] = {}
        self._usage: Usage | None = None
        # Pieces, joined once when the call completes: `+=` on a string held in a dict copies
        # it every time (quadratic in the arguments' length; docs/performance.md).
        self._streamed_args: dict[int, list[str]] = {}
        self._sent_whole: set[int] = set()  # calls sent whole, with index=None (`_calls`)
        self._block = -1  # v1 block index: a new block whenever the kind or the call changes
        self._block_key: object = None
        self._call_blocks: dict[int, int] = {}
        self._logprobs: dict[str, list[Any]] = {}
        self._annotations: list[Annotation] = []
        self._text_block: int | None = None
        self.other_choices: list[OtherChoice] = []

    def for_other_choice(self) -> ChunkBuilder:
        """A builder for another of the call's `n` choices: the same id, model, response
        extras and usage (the server reports usage once, for all choices; ChatOpenAI puts it
        on every generation too)."""
        other = ChunkBuilder(self._model, v1=self._v1, responses=self._responses)
        other._id, other._extra, other._usage = self._id, dict(self._extra), self._usage
        return other

    def feed(self, event: Event) -> ChatGenerationChunk | None:
        match event:
            case TextDelta(text=text):
                return self._text(text) if text else None
            case ReasoningDelta(text=text, kind=kind):
                index = self._index("reasoning")
                block = {"type": "reasoning", "reasoning": text, "index": index}
                if self._responses:
                    part, field = (("summary_text", "summary") if kind == "summary"
                                   else ("reasoning_text", "content"))
                    block = {"type": "reasoning", field: [{"type": part, "text": text, "index": 0}],
                             "index": index}
                return self._emit(block, additional_kwargs={"reasoning_content": text})
            case ToolCallStart(index=index, id=call_id, name=name):
                self._streamed_args[index] = []
                return self._call(index, name=name, args="", id=call_id)
            case ToolCallArgumentsDelta(index=index, delta=delta):
                if index in self._sent_whole and not delta.strip():
                    return None  # whitespace after arguments already sent whole
                self._streamed_args.setdefault(index, []).append(delta)
                return self._call(index, args=delta)
            case ToolCall():
                return self._complete_call(event)
            case RefusalDelta(text=text):  # the same block in both block formats
                block = {"type": "refusal", "refusal": text, "index": self._index("refusal")}
                return self._emit(block, additional_kwargs={"refusal": text})
            case Logprobs(entries=entries, of=of):
                self._logprobs.setdefault(of, []).extend(dict(e) for e in entries)
            case Annotation():
                self._annotations.append(event)
            case OtherChoice():
                self.other_choices.append(event)
            case ServerToolItem(kind=kind, id=item_id, raw=raw) if self._responses:
                block = {**raw, "index": self._index(("server", item_id))}
                return self._emit(block, additional_kwargs={"server_tool_calls": [dict(raw)]})
            case ServerToolItem(kind=kind, id=item_id, raw=raw):
                block = {"type": "server_tool_call", "id": item_id,
                         "name": kind.removesuffix("_call"), "args": dict(raw.get("action") or {}),
                         "index": self._index(("server", item_id))}
                return self._emit(block, additional_kwargs={"server_tool_calls": [dict(raw)]})
            case ReasoningItem():
                item: dict[str, Any] = {"id": event.id, "summary": list(event.summary)}
                if event.encrypted_content:
                    item["encrypted_content"] = event.encrypted_content
                # responses/v1: the item's id (and encrypted content) on its reasoning block
                on_block = {"type": "reasoning", "summary": [], "index": self._index("reasoning"),
                            **{k: v for k, v in item.items() if k != "summary" and v}
                            } if self._responses else None
                return self._emit(on_block, additional_kwargs={"reasoning_items": [item]})
            case ResponseMeta():
                self._id = event.id or self._id
                self._model = event.model or self._model
                self._extra.update(event.extra)
            case Usage():
                self._usage = event
            case Finish(reason=reason, raw_reason=raw_reason):
                return self._final(reason, raw_reason)
        return None

    def feed_batch(self, events: Sequence[Event]) -> Iterator[ChatGenerationChunk]:
        """The chunks for what one network read delivered (`Client.stream_reads`): the
        tool-call events of a run are coalesced into one chunk, one `tool_call_chunk` per call
        with its pieces joined; every other event is fed as by `feed`. Nothing waits for more
        data: everything here has already arrived."""
        run: list[_CallEvent] = []
        for event in events:
            if isinstance(event, _CALL_EVENTS):
                run.append(event)
                continue
            if run:
                yield from self._calls(run)
                run = []
            chunk = self.feed(event)
            if chunk is not None:
                yield chunk
        if run:
            yield from self._calls(run)

    def _calls(self, run: list[_CallEvent]) -> Iterator[ChatGenerationChunk]:
        """One chunk for a run of tool-call events. A call whose start and arguments are all
        in the run, with the arguments complete (its `ToolCall` is in the run, or they parse
        as one JSON object), is sent whole with `index=None`, as LangChain itself makes chunks
        from whole `tool_calls`: its `merge_lists` then appends it instead of scanning every
        call merged so far for the same index (quadratic in calls per response). A call still
        streaming keeps its integer index so its later pieces merge into it. (A server that
        went on after complete JSON with more than whitespace would break the arguments anyway:
        what it adds then arrives as a separate, invalid call with the same id; whitespace is
        dropped.)"""
        if len(run) == 1 and type(run[0]) is not ToolCall:
            chunk = self.feed(run[0])
            if chunk is not None:
                yield chunk
            return
        calls: dict[int, _Pieces] = {}
        for event in run:
            index = event.index
            pieces = calls.get(index)
            if pieces is None:
                pieces = calls[index] = _Pieces()
            match event:
                case ToolCallStart(id=call_id, name=name):
                    self._streamed_args[index] = []
                    pieces.started, pieces.name, pieces.id = True, name, call_id
                case ToolCallArgumentsDelta(delta=delta):
                    if index in self._sent_whole and not delta.strip():
                        continue  # whitespace after arguments already sent whole
                    self._streamed_args.setdefault(index, []).append(delta)
                    pieces.args.append(delta)
                case ToolCall():
                    pieces.complete = True
                    if index not in self._streamed_args:  # never started (no name until the end)
                        pieces.started, pieces.name, pieces.id = True, event.name, event.id
                    topup = self._topup(event)
                    if topup:
                        pieces.args.append(topup)
        chunks: list[ToolCallChunk] = []
        blocks: list[dict[str, Any]] = []
        for index, pieces in calls.items():
            args = "".join(pieces.args)
            if not pieces.started and not args:
                continue
            whole = pieces.started and index not in self._sent_whole and (
                pieces.complete or _complete_json(args)
            )
            if whole:
                self._sent_whole.add(index)
            chunks.append(tool_call_chunk(name=pieces.name, args=args, id=pieces.id,
                                          index=None if whole else index))
            blocks.append(self._call_block(index, args=args, name=pieces.name, id=pieces.id))
        if chunks:
            yield self._emit(None, blocks=blocks, tool_call_chunks=chunks)

    def _topup(self, event: ToolCall) -> str:
        """What the complete call carries beyond the streamed arguments (servers that send
        arguments only in a final `.done` event); records the call as complete."""
        pieces = self._streamed_args.get(event.index)
        raw = event.arguments_raw
        self._streamed_args[event.index] = [raw]
        if pieces is None:
            return raw
        if event.index in self._sent_whole:
            return ""  # complete JSON was sent: more would only break it
        streamed = "".join(pieces)
        if raw.startswith(streamed) and len(raw) > len(streamed):
            return raw[len(streamed) :]
        return ""

    def _complete_call(self, event: ToolCall) -> ChatGenerationChunk | None:
        """Top up the streamed arguments when the complete call carries more."""
        if event.index not in self._streamed_args:  # never started (no name until the end)
            return self._call(event.index, name=event.name, args=self._topup(event), id=event.id)
        topup = self._topup(event)
        return self._call(event.index, args=topup) if topup else None

    def _final(self, reason: str, raw_reason: str | None) -> ChatGenerationChunk:
        """Normalised reason (stop, length, tool_calls, ...) whatever the shape; raw kept."""
        metadata: dict[str, Any] = {
            **{k: v for k, v in self._extra.items() if isinstance(k, str)},
            "finish_reason": reason,
            "model_name": self._model,
            # The wire dialect, as ChatOpenAI says it: LangChain picks the translator of
            # `content_blocks` (refusal, citations) by this name.
            "model_provider": "openai",
        }
        if raw_reason and raw_reason != reason:
            metadata["raw_finish_reason"] = raw_reason
        if self._id:
            metadata["id"] = self._id
        if self._usage is not None and self._usage.raw:
            metadata["token_usage"] = dict(self._usage.raw)  # the server's own, with `cost`
        # ChatOpenAI's key, None when no logprobs came.
        metadata["logprobs"] = {"content": self._logprobs.get("content"),
                                "refusal": self._logprobs.get("refusal")} if self._logprobs else None
        fields: dict[str, Any] = {}
        block = None
        if self._annotations:
            fields["additional_kwargs"] = {"annotations": [dict(a.raw) for a in self._annotations]}
            if self._v1:
                index = self._text_block if self._text_block is not None else self._index("text")
                convert = _responses_annotation if self._responses else _citation
                block = {"type": "text", "text": "", "index": index,
                         "annotations": [convert(a) for a in self._annotations]}
        return self._emit(
            block,
            usage_metadata=to_usage_metadata(self._usage) if self._usage else None,
            response_metadata=metadata,
            chunk_position="last",
            **fields,
        )

    def _text(self, text: str) -> ChatGenerationChunk:
        self._text_block = index = self._index("text")
        return self._emit({"type": "text", "text": text, "index": index}, text=text)

    def _call(self, index: int, *, args: str, name: str | None = None,
              id: str | None = None) -> ChatGenerationChunk:
        chunk = tool_call_chunk(name=name, args=args, id=id, index=index)
        return self._emit(self._call_block(index, args=args, name=name, id=id),
                          tool_call_chunks=[chunk])

    def _call_block(self, index: int, *, args: str, name: str | None,
                    id: str | None) -> dict[str, Any]:
        """The v1 content block of a tool call's piece (`responses/v1`: Responses' own
        `function_call` item with its call_id)."""
        block_index = self._index(("call", index))
        if self._responses:
            block: dict[str, Any] = {"type": "function_call", "arguments": args,
                                     "index": block_index}
            if name is not None:
                block.update(name=name, call_id=id)
            return block
        return {"type": "tool_call_chunk", "id": id, "name": name, "args": args,
                "index": block_index}

    def _index(self, key: object) -> int:
        """The v1 block index for text, reasoning or one tool call (`("call", index)`)."""
        if isinstance(key, tuple) and key[1] in self._call_blocks:
            self._block_key = key
            return self._call_blocks[key[1]]
        if key != self._block_key:
            self._block += 1
            self._block_key = key
            if isinstance(key, tuple):
                self._call_blocks[key[1]] = self._block
        return self._block

    def _emit(self, block: dict[str, Any] | None, *, text: str = "",
              blocks: list[dict[str, Any]] | None = None, **fields: Any) -> ChatGenerationChunk:
        content: str | list[str | dict[str, Any]] = text
        if self._v1:
            content = [*blocks] if blocks is not None else [block] if block is not None else []
            if not self._responses:  # ChatOpenAI marks v1 only
                fields["response_metadata"] = {**fields.get("response_metadata", {}),
                                               "output_version": "v1"}
        return ChatGenerationChunk(message=AIMessageChunk(content=content, id=self._id, **fields))


def as_responses_message(message: BaseMessage) -> None:
    """A non-streamed `responses/v1` message as ChatOpenAI's `invoke` gives it: blocks without
    the `index` that merged the chunks, and every text block with its `annotations` list."""
    if not isinstance(message.content, list):
        return
    for block in message.content:
        if not isinstance(block, dict):
            continue
        block.pop("index", None)
        for part in block.get("summary") or block.get("content") or ():
            if isinstance(part, dict):
                part.pop("index", None)
        if block.get("type") == "text":
            block.setdefault("annotations", [])


def _responses_annotation(annotation: Annotation) -> dict[str, Any]:
    """A Responses-style annotation as ChatOpenAI keeps it: the server's flat object (a chat
    server's nested `url_citation` flattened), `index` renamed `file_index` (LangChain
    reserves `index` for merging chunks)."""
    raw = dict(annotation.raw)
    nested = raw.get(annotation.kind)
    if isinstance(nested, Mapping):  # chat: {"type": "url_citation", "url_citation": {...}}
        raw = {"type": annotation.kind, **nested}
    if "index" in raw:
        raw["file_index"] = raw.pop("index")
    return raw


_CALL_EVENTS = (ToolCallStart, ToolCallArgumentsDelta, ToolCall)
_CallEvent = ToolCallStart | ToolCallArgumentsDelta | ToolCall


class _Pieces:
    """One call's part of a run of tool-call events."""

    __slots__ = ("args", "complete", "id", "name", "started")

    def __init__(self) -> None:
        self.started = False
        self.complete = False
        self.name: str | None = None
        self.id: str | None = None
        self.args: list[str] = []


def _complete_json(args: str) -> bool:
    """Whether `args` is one whole JSON object: arguments a server sent whole."""
    text = args.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _citation(annotation: Annotation) -> dict[str, Any]:
    """A v1 `citation` block for a url_citation, else a `non_standard_annotation`."""
    if annotation.kind != "url_citation" or not annotation.url:
        return {"type": "non_standard_annotation", "value": dict(annotation.raw)}
    out: dict[str, Any] = {"type": "citation", "url": annotation.url}
    if annotation.title is not None:
        out["title"] = annotation.title
    if annotation.start_index is not None:
        out["start_index"] = annotation.start_index
    if annotation.end_index is not None:
        out["end_index"] = annotation.end_index
    return out

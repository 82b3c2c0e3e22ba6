"""Responses shape (`POST {base}/responses`): request bodies, stream events and bodies.

The request side lives in `responses_request` and is re-exported here. The parsing side turns
typed Responses events into the assembler's deltas. Servers differ in ways the parser absorbs
without asking which server it is:

- the SSE `event:` line may be present or absent, so dispatch is on the JSON `type`;
- item ids may rotate between events for the same output item (GitHub Copilot), so tool calls
  are keyed by `output_index`, and the call id seen first for an index is kept;
- some servers send no argument or text deltas, only `.done` events (LM Studio), so `.done`
  arguments always replace the deltas, and `.done` text is used when no delta came;
- `data: [DONE]` may or may not follow `response.completed`.

A non-streamed `Response` object is parsed by replaying its output items through the same
code, so streamed and non-streamed results agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from ..config.profiles import Profile
from ..errors import (
    MalformedJSON,
    OpenAICompatError,
    StreamError,
    clip,
    error_from_payload,
    loads_json,
)
from ..events import (
    ReasoningDelta,
    ReasoningItem,
    RefusalDelta,
    ResponseMeta,
    ServerToolItem,
    StreamFailure,
    TextDelta,
    Usage,
)
from .assemble import (
    Delta,
    DoneSignal,
    FinishSignal,
    ToolCallFragment,
    annotation_of,
    count_of,
    logprobs_of,
)
from .responses_request import build_request, render_input

__all__ = [
    "ResponsesStreamParser",
    "build_request",
    "parse_body",
    "parse_usage",
    "render_input",
]

# `dict` first: parsed JSON is always a dict, and an exact type match skips the ABC check
# (a few hundred ns, paid dozens of times per body); other mappings are still accepted.
_MAPPING = (dict, Mapping)
_Handler = Callable[["ResponsesStreamParser", Mapping[str, Any], list[Delta]], None]
_SUMMARY_SEPARATOR = "\n\n"


class ResponsesStreamParser:
    """Parses one response's events (one parser per response). Cheap per event: one
    `json.loads`, one dict lookup, and small per-output-index bookkeeping."""

    __slots__ = (
        "_call_ids",
        "_filled",
        "_saw_call",
        "_saw_items",
        "_streamed",
        "_summary_key",
        "profile",
    )

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        # output_index -> call id (None when the server gave none); the only stable key.
        self._call_ids: dict[int, str | None] = {}
        self._saw_call = False
        self._saw_items = False
        # Kinds of text ("text", "raw", "summary") that arrived as deltas: their `.done`
        # events repeat what was streamed and are ignored. Servers that send no deltas get
        # the `.done` text instead, once per (kind, output_index, part index) in `_filled`.
        self._streamed: set[str] = set()
        self._filled: set[tuple[str, int, int]] = set()
        self._summary_key: tuple[int, int] | None = None

    # -- entry points ------------------------------------------------------------------------

    def feed_event(self, event: str, data: str) -> list[Delta]:
        """One SSE event. `event` is only a fallback: the JSON `type` decides."""
        if data == "[DONE]":
            return [DoneSignal()]
        if not data.strip():
            return []
        try:
            obj = loads_json(data)
        except MalformedJSON as exc:
            shown = clip(data, 200)
            why = exc.message.rstrip(".")
            return [StreamFailure(StreamError(f"The server sent a malformed event ({why}): {shown!r}"))]
        if not isinstance(obj, dict):
            return []
        return self.parse_event(obj, event)

    def parse_event(self, obj: Mapping[str, Any], event: str | None = None) -> list[Delta]:
        """One already-decoded event object."""
        kind = obj.get("type")
        if not isinstance(kind, str):
            kind = event or ""
        handler = _HANDLERS.get(kind)
        out: list[Delta] = []
        if handler is not None:
            handler(self, obj, out)
        return out

    # -- handlers ----------------------------------------------------------------------------

    def _meta(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        response = obj.get("response")
        if isinstance(response, _MAPPING):
            out.append(_meta_of(response))

    def _text_delta(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        delta = obj.get("delta")
        if isinstance(delta, str) and delta:
            self._streamed.add("text")
            out.append(TextDelta(delta))
            logprobs = logprobs_of(obj.get("logprobs"))
            if logprobs is not None:
                out.append(logprobs)

    def _text_done(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        text = obj.get("text")
        if self._fill(text, "text", obj, "content_index"):
            out.append(TextDelta(text))
            logprobs = logprobs_of(obj.get("logprobs"))
            if logprobs is not None:
                out.append(logprobs)

    def _refusal_delta(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        delta = obj.get("delta")
        if isinstance(delta, str) and delta:
            self._streamed.add("refusal")
            out.append(RefusalDelta(delta))

    def _refusal_done(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        text = obj.get("refusal")
        if self._fill(text, "refusal", obj, "content_index"):
            out.append(RefusalDelta(text))

    def _annotation_added(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        raw = obj.get("annotation")
        annotation = annotation_of(raw) if isinstance(raw, _MAPPING) else None
        if annotation is not None:
            self._streamed.add("annotation")
            out.append(annotation)

    def _raw_delta(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        delta = obj.get("delta")
        if isinstance(delta, str) and delta:
            self._streamed.add("raw")
            out.append(ReasoningDelta(delta, "raw"))

    def _raw_done(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        text = obj.get("text")
        if self._fill(text, "raw", obj, "content_index"):
            out.append(ReasoningDelta(text, "raw"))

    def _summary_delta(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        delta = obj.get("delta")
        if isinstance(delta, str) and delta:
            self._streamed.add("summary")
            self._summary(_key(obj, "summary_index"), delta, out)

    def _summary_done(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        text = obj.get("text")
        if self._fill(text, "summary", obj, "summary_index"):
            self._summary(_key(obj, "summary_index"), text, out)

    def _fill(self, text: Any, kind: str, obj: Mapping[str, Any], sub: str) -> TypeGuard[str]:
        """Whether a `.done` text is new: nothing of its kind streamed, this part not yet
        filled in (a `.done` event and the finished item both carry it)."""
        if kind in self._streamed or not isinstance(text, str) or not text:
            return False
        key = (kind, *_key(obj, sub))
        if key in self._filled:
            return False
        self._filled.add(key)
        return True

    def _summary(self, key: tuple[int, int], text: str, out: list[Delta]) -> None:
        """Summary parts are separate paragraphs: a blank line goes between them."""
        if key != self._summary_key:
            if self._summary_key is not None:
                text = _SUMMARY_SEPARATOR + text
            self._summary_key = key
        out.append(ReasoningDelta(text, "summary"))

    def _item_added(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        item = obj.get("item")
        if not isinstance(item, _MAPPING):
            return
        self._saw_items = True
        if item.get("type") == "function_call":
            index = _index(obj)
            call_id = self._call_id(index, item)
            arguments = item.get("arguments")
            out.append(
                ToolCallFragment(
                    id=call_id,
                    index=index,
                    name=_str(item.get("name")),
                    arguments=arguments if isinstance(arguments, str) and arguments else None,
                )
            )

    def _arguments_delta(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        delta = obj.get("delta")
        if isinstance(delta, str) and delta:
            index = _index(obj)
            out.append(
                ToolCallFragment(id=self._call_id(index, None), index=index, arguments=delta)
            )

    def _arguments_done(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        arguments = obj.get("arguments")
        if isinstance(arguments, str):
            index = _index(obj)
            out.append(
                ToolCallFragment(
                    id=self._call_id(index, None),
                    index=index,
                    name=_str(obj.get("name")),
                    arguments=arguments,
                    replace_arguments=True,
                )
            )

    def _item_done(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        item = obj.get("item")
        if isinstance(item, _MAPPING):
            self._saw_items = True
            self._output_item(_index(obj), item, out)

    def _output_item(self, index: int, item: Mapping[str, Any], out: list[Delta]) -> None:
        """A finished output item: fill in what no delta carried, then the item itself."""
        kind = item.get("type")
        if kind == "function_call":
            arguments = item.get("arguments")
            out.append(
                ToolCallFragment(
                    id=self._call_id(index, item),
                    index=index,
                    name=_str(item.get("name")),
                    arguments=arguments if isinstance(arguments, str) else None,
                    replace_arguments=isinstance(arguments, str),
                )
            )
        elif kind == "message":
            for position, part in enumerate(_list(item.get("content"))):
                if not isinstance(part, _MAPPING):
                    continue
                where = {"output_index": index, "content_index": position}
                if part.get("type") == "refusal":
                    self._refusal_done({**where, "refusal": part.get("refusal")}, out)
                    continue
                self._text_done(
                    {**where, "text": part.get("text"), "logprobs": part.get("logprobs")}, out
                )
                annotations = _list(part.get("annotations"))
                key = ("annotation", index, position)
                if annotations and "annotation" not in self._streamed and key not in self._filled:
                    self._filled.add(key)
                    for raw in annotations:
                        annotation = annotation_of(raw) if isinstance(raw, _MAPPING) else None
                        if annotation is not None:
                            out.append(annotation)
        elif kind == "reasoning":
            for position, part in enumerate(_list(item.get("content"))):
                if isinstance(part, _MAPPING):
                    done = {
                        "output_index": index,
                        "content_index": position,
                        "text": part.get("text"),
                    }
                    self._raw_done(done, out)
            summary = tuple(
                part["text"]
                for part in _list(item.get("summary"))
                if isinstance(part, _MAPPING) and isinstance(part.get("text"), str)
            )
            for position, text in enumerate(summary):
                self._summary_done(
                    {"output_index": index, "summary_index": position, "text": text}, out
                )
            encrypted = item.get("encrypted_content")
            out.append(
                ReasoningItem(
                    id=_str(item.get("id")),
                    summary=summary,
                    encrypted_content=encrypted if isinstance(encrypted, str) else None,
                    raw=dict(item),
                )
            )
        elif isinstance(kind, str) and kind.endswith("_call"):
            # A built-in tool the server ran (web_search_call, file_search_call, ...).
            out.append(ServerToolItem(kind, _str(item.get("id")), dict(item)))

    def _completed(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        response = obj.get("response")
        if not isinstance(response, _MAPPING):
            response = {"status": str(obj.get("type", "")).removeprefix("response.")}
        self.finish(response, out)

    def _failed(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        response = obj.get("response")
        self.finish(response if isinstance(response, _MAPPING) else {"status": "failed"}, out)

    def _error(self, obj: Mapping[str, Any], out: list[Delta]) -> None:
        nested = obj.get("error")
        if isinstance(nested, str):
            nested = {"message": nested, "code": obj.get("code")}
        out.append(StreamFailure(_error_of(nested if isinstance(nested, _MAPPING) else obj)))

    # -- shared with parse_body ----------------------------------------------------------------

    def finish(self, response: Mapping[str, Any], out: list[Delta]) -> None:
        """The terminal response object: usage, then the finish reason (or the failure)."""
        if response.get("id") or response.get("model"):
            out.append(_meta_of(response))  # first for a body; merged away in a stream
        if not (self._saw_items or self._streamed or self._filled or self._call_ids):
            # A server that streamed nothing but the final object: take the output from it.
            for index, item in enumerate(_list(response.get("output"))):
                if isinstance(item, _MAPPING):
                    self._output_item(index, item, out)
        usage = response.get("usage")
        if isinstance(usage, _MAPPING):
            out.append(parse_usage(usage))
        status = response.get("status")
        if status == "failed":
            error = response.get("error")
            out.append(
                StreamFailure(
                    _error_of(error)
                    if isinstance(error, _MAPPING)
                    else StreamError("The server reported that the response failed")
                )
            )
            return
        if status == "incomplete":
            details = response.get("incomplete_details")
            reason = details.get("reason") if isinstance(details, _MAPPING) else None
            out.append(FinishSignal(reason if isinstance(reason, str) and reason else "incomplete"))
        elif status in (None, "completed"):
            out.append(FinishSignal("tool_calls" if self._saw_call else "stop"))
        else:
            out.append(FinishSignal(str(status)))  # cancelled, ...: normalizes to "other"
        out.append(DoneSignal())

    def _call_id(self, index: int, item: Mapping[str, Any] | None) -> str | None:
        """The call id for an output index: the first one seen wins, because ids may rotate
        (a call first seen without one keeps being found by its index)."""
        self._saw_call = True
        if index not in self._call_ids:
            self._call_ids[index] = (
                _str(item.get("call_id")) or _str(item.get("id")) if item is not None else None
            )
        return self._call_ids[index]


_HANDLERS: dict[str, _Handler] = {
    "response.created": ResponsesStreamParser._meta,
    "response.in_progress": ResponsesStreamParser._meta,
    "response.queued": ResponsesStreamParser._meta,
    "response.output_text.delta": ResponsesStreamParser._text_delta,
    "response.output_text.done": ResponsesStreamParser._text_done,
    "response.refusal.delta": ResponsesStreamParser._refusal_delta,
    "response.output_text.annotation.added": ResponsesStreamParser._annotation_added,
    "response.refusal.done": ResponsesStreamParser._refusal_done,
    "response.reasoning_text.delta": ResponsesStreamParser._raw_delta,
    "response.reasoning_text.done": ResponsesStreamParser._raw_done,
    "response.reasoning_summary_text.delta": ResponsesStreamParser._summary_delta,
    "response.reasoning_summary_text.done": ResponsesStreamParser._summary_done,
    "response.output_item.added": ResponsesStreamParser._item_added,
    "response.output_item.done": ResponsesStreamParser._item_done,
    "response.function_call_arguments.delta": ResponsesStreamParser._arguments_delta,
    "response.function_call_arguments.done": ResponsesStreamParser._arguments_done,
    "response.completed": ResponsesStreamParser._completed,
    "response.incomplete": ResponsesStreamParser._completed,
    "response.failed": ResponsesStreamParser._failed,
    "error": ResponsesStreamParser._error,
}


def parse_body(obj: Mapping[str, Any], profile: Profile) -> list[Delta]:
    """A non-streamed `Response` object as the same deltas its stream would have produced.

    An error body (`{"error": {...}}` without output) becomes a `StreamFailure`."""
    parser = ResponsesStreamParser(profile)
    out: list[Delta] = []
    if "output" not in obj and isinstance(obj.get("error"), _MAPPING):
        out.append(StreamFailure(_error_of(obj["error"])))
        return out
    parser.finish(obj, out)
    return out


def parse_usage(usage: Mapping[str, Any]) -> Usage:
    """Responses usage: input/output/total, cached input and reasoning tokens."""
    input_details = usage.get("input_tokens_details")
    output_details = usage.get("output_tokens_details")
    return Usage(
        input_tokens=_int(usage.get("input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        total_tokens=_int(usage.get("total_tokens")),
        cached_input_tokens=_int(input_details.get("cached_tokens"))
        if isinstance(input_details, _MAPPING)
        else None,
        reasoning_tokens=_int(output_details.get("reasoning_tokens"))
        if isinstance(output_details, _MAPPING)
        else None,
        raw=dict(usage),
    )


# -- helpers --------------------------------------------------------------------------------


# The response object's own fields kept beside the answer (as ChatOpenAI keeps them in
# `response_metadata`); `status` of the final object wins over `in_progress` when streamed.
_META_FIELDS = ("service_tier", "created_at", "object", "status", "model")


def _meta_of(response: Mapping[str, Any]) -> ResponseMeta:
    return ResponseMeta(
        id=_str(response.get("id")),
        model=_str(response.get("model")),
        extra={
            name: value for name in _META_FIELDS
            if isinstance(value := response.get(name), (str, int, float))
            and not isinstance(value, bool) and value != ""
        },
    )


def _error_of(error: Mapping[str, Any]) -> OpenAICompatError:
    """An error object from an `error` event (nested or flat) or `response.error`."""
    etype = _str(error.get("type"))
    return error_from_payload(
        _str(error.get("message")),
        _str(error.get("code")),
        None if etype == "error" else etype,
        param=_str(error.get("param")),
        in_stream=True,
    )


def _index(obj: Mapping[str, Any]) -> int:
    value = obj.get("output_index")
    return value if isinstance(value, int) else 0


def _key(obj: Mapping[str, Any], sub: str) -> tuple[int, int]:
    value = obj.get(sub)
    return _index(obj), value if isinstance(value, int) else 0


def _str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


_int = count_of


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []

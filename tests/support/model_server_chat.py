"""The model server's Chat Completions shape: reading the request, rendering the body and stream."""

from __future__ import annotations

from typing import Any

from .model_server_answers import (
    CREATED,
    ApiError,
    Ask,
    Plan,
    Turn,
    pieces,
    split3,
    stop_list,
    text_of,
    tool_choice_of,
)


def read_chat(body: dict[str, Any], flags: dict[str, Any]) -> Ask:
    system: list[str] = []
    turns: list[Turn] = []
    names: dict[str, str] = {}
    for position, message in enumerate(body.get("messages") or []):
        role = message.get("role")
        if role == "developer" and "no-developer" in flags:
            raise ApiError(
                400,
                f"Invalid value: 'developer'. 'messages[{position}].role' does not support "
                "'developer' with this model.",
                param=f"messages[{position}].role",
                code="invalid_value",
            )
        turn = Turn(role=str(role))
        turn.text = text_of(message.get("content"), turn)
        if role in ("system", "developer"):
            system.append(turn.text)
            continue
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            names[str(call.get("id"))] = str(function.get("name"))
        if role == "tool":
            turn.tool_output = turn.text
            turn.tool_name = names.get(str(message.get("tool_call_id")))
        turns.append(turn)
    fmt = None
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        if "no-json-schema" in flags:
            raise ApiError(400, "response_format of type json_schema is not supported",
                           param="response_format")
        fmt = {"kind": "json_schema", "schema": (response_format.get("json_schema") or {}).get("schema")}
    elif response_format.get("type") == "json_object":
        fmt = {"kind": "json_object", "schema": None}
    return Ask(
        model=str(body.get("model") or "sim-model"),
        system="\n".join(system),
        turns=turns,
        tools=[dict(t.get("function") or {}) for t in body.get("tools") or []],
        tool_choice=tool_choice_of(body.get("tool_choice")),
        parallel=body.get("parallel_tool_calls") is not False,
        fmt=fmt,
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        stop=stop_list(body.get("stop")),
        reasoning="reasoning" in flags or "reasoning-field" in flags,
        call_names=names,
    )


# -- rendering: chat completions ---------------------------------------------------------------


def _chat_usage(p: Plan, output_tokens: int | None = None) -> dict[str, Any]:
    out = p.output_tokens if output_tokens is None else output_tokens
    return {
        "prompt_tokens": p.input_tokens,
        "completion_tokens": out,
        "total_tokens": p.input_tokens + out,
        "prompt_tokens_details": {"cached_tokens": p.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": p.reasoning_tokens},
    }


def chat_body(ask: Ask, p: Plan, rid: str, flags: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": p.text if p.text or not p.calls else None}
    if p.reasoning:
        message["reasoning" if "reasoning-field" in flags else "reasoning_content"] = p.reasoning
    if p.calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in p.calls
        ]
    return {
        "id": rid, "object": "chat.completion", "created": CREATED, "model": ask.model,
        "choices": [{"index": 0, "message": message, "finish_reason": p.finish, "logprobs": None}],
        "usage": _chat_usage(p),
    }


def chat_events(ask: Ask, p: Plan, rid: str, flags: dict[str, Any], usage: bool) -> list[Any]:
    every = "usage-every-chunk" in flags
    emitted = 0

    def chunk(delta: dict[str, Any], finish: str | None = None, tokens: int = 0) -> dict[str, Any]:
        nonlocal emitted
        emitted += tokens
        obj: dict[str, Any] = {
            "id": rid, "object": "chat.completion.chunk", "created": CREATED, "model": ask.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if every:
            obj["usage"] = _chat_usage(p, emitted)
        return obj

    field_name = "reasoning" if "reasoning-field" in flags else "reasoning_content"
    out: list[Any] = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({field_name: piece}, tokens=1) for piece in pieces(p.reasoning)]
    out += [chunk({"content": piece}, tokens=1) for piece in pieces(p.text)]
    for index, (cid, name, args) in enumerate(p.calls):
        head: dict[str, Any] = {"index": index, "id": cid, "type": "function",
                                "function": {"name": name, "arguments": ""}}
        rest = [{"index": index, "function": {"arguments": part}} for part in split3(args)]
        if "no-index" in flags:
            head.pop("index")
            for part in rest:
                part.pop("index")
        out.append(chunk({"tool_calls": [head]}))
        out += [chunk({"tool_calls": [part]}) for part in rest if part["function"]["arguments"]]
    out.append(chunk({}, p.finish, tokens=p.output_tokens - emitted))
    if usage and not every:
        out.append({"id": rid, "object": "chat.completion.chunk", "created": CREATED,
                    "model": ask.model, "choices": [], "usage": _chat_usage(p)})
    out.append("[DONE]")
    return out

"""The model server's Responses-API shape: reading the request, rendering the body and stream."""

from __future__ import annotations

import hashlib
from typing import Any

from .model_server_answers import (
    CREATED,
    ApiError,
    Ask,
    Plan,
    Turn,
    pieces,
    split3,
    text_of,
    tool_choice_of,
)


def read_responses(body: dict[str, Any], flags: dict[str, Any]) -> Ask:
    system = [str(body["instructions"])] if body.get("instructions") else []
    turns: list[Turn] = []
    names: dict[str, str] = {}
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items or []:
        if "typed-items" in flags and "type" not in item:
            # llama.cpp's server: every input item must say what it is.
            raise ApiError(400, "Cannot determine type of 'item'")
        kind = item.get("type", "message")
        if "no-history" in flags and item.get("role") == "assistant":
            raise ApiError(400, "Cannot determine type of 'item'")
        if kind == "function_call":
            names[str(item.get("call_id"))] = str(item.get("name"))
            turns.append(Turn(role="assistant"))
        elif kind == "function_call_output":
            output = item.get("output")
            turn = Turn(role="tool", tool_name=names.get(str(item.get("call_id"))))
            turn.tool_output = turn.text = text_of(output, turn)
            turns.append(turn)
        elif kind == "message":
            turn = Turn(role=str(item.get("role")))
            turn.text = text_of(item.get("content"), turn)
            if turn.role in ("system", "developer"):
                system.append(turn.text)
            else:
                turns.append(turn)
    fmt = None
    text_format = (body.get("text") or {}).get("format") or {}
    if text_format.get("type") == "json_schema":
        if "no-json-schema" in flags:
            raise ApiError(400, "text.format of type json_schema is not supported",
                           param="text.format")
        fmt = {"kind": "json_schema", "schema": text_format.get("schema")}
    elif text_format.get("type") == "json_object":
        fmt = {"kind": "json_object", "schema": None}
    return Ask(
        model=str(body.get("model") or "sim-model"),
        system="\n".join(system),
        turns=turns,
        tools=[t for t in body.get("tools") or [] if t.get("type") == "function"],
        tool_choice=tool_choice_of(body.get("tool_choice")),
        parallel=body.get("parallel_tool_calls") is not False,
        fmt=fmt,
        max_tokens=body.get("max_output_tokens"),
        stop=[],
        reasoning="reasoning" in flags or "reasoning-field" in flags or bool(body.get("reasoning")),
        call_names=names,
    )


# -- rendering: responses --------------------------------------------------------------------


def _responses_usage(p: Plan) -> dict[str, Any]:
    return {
        "input_tokens": p.input_tokens,
        "input_tokens_details": {"cached_tokens": p.cached_tokens},
        "output_tokens": p.output_tokens,
        "output_tokens_details": {"reasoning_tokens": p.reasoning_tokens},
        "total_tokens": p.input_tokens + p.output_tokens,
    }


def _output_items(p: Plan, rid: str, encrypted: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if p.reasoning:
        item: dict[str, Any] = {"type": "reasoning", "id": f"rs_{rid[5:]}",
                                "summary": [{"type": "summary_text", "text": p.reasoning}]}
        if encrypted:
            item["encrypted_content"] = "enc_" + hashlib.sha1(p.reasoning.encode()).hexdigest()
        items.append(item)
    if p.text or not p.calls:
        items.append({
            "type": "message", "id": f"msg_{rid[5:]}", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": p.text, "annotations": []}],
        })
    for index, (cid, name, args) in enumerate(p.calls):
        items.append({"type": "function_call", "id": f"fc_{index}_{rid[5:]}", "call_id": cid,
                      "name": name, "arguments": args, "status": "completed"})
    return items


def responses_body(ask: Ask, p: Plan, rid: str, encrypted: bool) -> dict[str, Any]:
    incomplete = p.finish == "length"
    return {
        "id": rid, "object": "response", "created_at": CREATED, "model": ask.model,
        "status": "incomplete" if incomplete else "completed",
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "output": _output_items(p, rid, encrypted), "usage": _responses_usage(p),
        "error": None,
    }


def responses_events(ask: Ask, p: Plan, rid: str, encrypted: bool) -> list[Any]:
    final = responses_body(ask, p, rid, encrypted)
    start = {**final, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    out: list[dict[str, Any]] = [
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
    ]
    for index, item in enumerate(final["output"]):
        iid, kind = item["id"], item["type"]
        at = {"item_id": iid, "output_index": index}
        if kind == "reasoning":
            out.append({"type": "response.output_item.added", "output_index": index,
                        "item": {**item, "summary": [], "encrypted_content": None}})
            part = {"type": "summary_text", "text": ""}
            out.append({"type": "response.reasoning_summary_part.added", **at, "summary_index": 0, "part": part})
            out += [{"type": "response.reasoning_summary_text.delta", **at, "summary_index": 0, "delta": d}
                    for d in pieces(p.reasoning)]
            out.append({"type": "response.reasoning_summary_text.done", **at, "summary_index": 0, "text": p.reasoning})
            out.append({"type": "response.reasoning_summary_part.done", **at, "summary_index": 0,
                        "part": {**part, "text": p.reasoning}})
        elif kind == "message":
            out.append({"type": "response.output_item.added", "output_index": index,
                        "item": {**item, "status": "in_progress", "content": []}})
            part = {"type": "output_text", "text": "", "annotations": []}
            out.append({"type": "response.content_part.added", **at, "content_index": 0, "part": part})
            out += [{"type": "response.output_text.delta", **at, "content_index": 0, "delta": d}
                    for d in pieces(p.text)]
            out.append({"type": "response.output_text.done", **at, "content_index": 0, "text": p.text})
            out.append({"type": "response.content_part.done", **at, "content_index": 0,
                        "part": {**part, "text": p.text}})
        else:
            out.append({"type": "response.output_item.added", "output_index": index,
                        "item": {**item, "arguments": "", "status": "in_progress"}})
            out += [{"type": "response.function_call_arguments.delta", **at, "delta": d}
                    for d in split3(item["arguments"]) if d]
            out.append({"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]})
        out.append({"type": "response.output_item.done", "output_index": index, "item": item})
    kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
    out.append({"type": kind, "response": final})
    for number, event in enumerate(out):
        event["sequence_number"] = number
    return out

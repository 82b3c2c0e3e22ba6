#!/usr/bin/env python3
"""A deterministic OpenAI-compatible model server for tests. Standard library only.

Run `python tests/support/model_server.py --port 0`: the first stdout line is `PORT <n>`; it
serves on 127.0.0.1 only (HTTP/1.1 keep-alive, chunked SSE) until killed (with `--watch-stdin`,
also when its stdin closes, so it never outlives the test process that started it).

URLs. `http://127.0.0.1:PORT/v1/...` has every capability. `/f/<flag>+<flag>/v1/...` switches
capabilities off or behaviours on, per request, so one process serves every variant:

    no-stream-options   400 (OpenAI-style, param "stream_options") when the body has stream_options
    no-tools            400 when tools are sent
    no-auto-tool-choice 400 like vLLM without --enable-auto-tool-choice (its own error shape,
                        param null) when tool_choice is "auto"
    missing-choice-none tools without a tool_choice are never called (llama-cpp-python's
                        chatml-function-calling reads a missing choice as "none")
    no-responses        404 on /responses
    no-json-schema      400 on a json_schema response format (chat or responses);
                        `no-json-schema=<MODEL>`: for that model only
    no-json-object=<MODEL>  400 on a json_object response format for that model (bare: every one)
    no-developer        400 like OpenAI's "'messages[0].role' does not support 'developer'"
    typed-items         400 "Cannot determine type of 'item'" (llama.cpp's server) for a Responses
                        input item without `type`
    no-history          the same 400 for any assistant message in Responses input (a server
                        that serves turn one and breaks on turn two)
    no-index            streamed chat tool-call deltas carry no `index` key
    reasoning           reasoning before the answer: chat `reasoning_content` deltas, responses
                        a reasoning item with summary events
    reasoning-field     like `reasoning`, in the chat `reasoning` field instead
    usage-every-chunk   every streamed chat chunk carries the running usage (stream_options or not)
    no-tokenize         404 on `/tokenize` and `/v1/responses/input_tokens`
    llamacpp-tokenize   `/tokenize` answers as llama.cpp's server (`content` -> `tokens`), not
                        as vLLM's (`messages` -> `count`)
    refusal             chat answers are refusals (`refusal` with `content: null`, streamed as
                        `delta.refusal`), as OpenAI's structured outputs refuse
    key=<KEY>           require `Authorization: Bearer <KEY>`, else 401 invalid_api_key
    key-sha256=<HEX>    the same for the key whose SHA-256 is HEX (a URL that does not hold the key)
    fail=<STATUS>       answer every API request with that status and an OpenAI-style error
    fail-model=<MODEL>  with fail=: only requests for that model fail (one model rate limited
                        or broken behind a gateway, the others healthy)
    fail-varies         with fail=: the error message names the request's number, so no two
                        attempts get the same answer
    no-images           500 with llama-server's "image input is not supported" body (a
                        text-only model sent an image), the same answer every time
    delay=<MS>          sleep between streamed events
    hold=<MS>           hold every API request that long before answering (each record's
                        `in_flight` counts the API requests being served when it arrived, itself
                        included: what a limit in front of the server let through at once)
    stall-first=<N>     the first N streamed answers under these exact flags (since `/_reset`)
                        send their headers, then nothing for `stall=<MS>` ms (default 3000,
                        at most 30000), then close: a server that stalls before its first byte
    words=<N>           the plain text answer is N words long (for long streams)
    drop-streamed-tools a streamed chat answer that would call a tool is empty instead (a gateway
                        that loses tool calls when streaming)
    models=<A>,<B>      the models Ollama's native listing (`GET /api/tags`) names
    lmstudio            `GET /api/v0/models` answers LM Studio's recorded native listing
    openrouter          `GET /v1/models` answers OpenRouter's recorded listing excerpt
    shuffle, max-inputs=<N>, too-many=<N>, max-bytes=<N>, no-base64, float-only, nan, short,
    no-index, dup-index, deep=<N>, huge=<MB>
                        `/embeddings` behaviours (see "the embeddings endpoint" below)

Endpoints: `POST /v1/chat/completions` and `POST /v1/responses` (streamed or not), `POST
/v1/embeddings` (vectors derived from each text's SHA-256, float or base64), `GET /v1/models`,
Ollama's `GET /api/tags` and `POST /api/show`; `GET /_requests` returns the recorded API requests as a
JSON list of {method, path, flags, headers (lowercased), body, raw (the body's exact text),
outcome}, where outcome is "complete", "error" or
"disconnected" (the client closed the stream early); `POST /_reset` clears them.

Answers depend only on the request:
- `model` is echoed back;
- after a tool result, a text answer naming the tool and quoting its output;
- a tool call when the choice forces one (required/any, or a named tool), or when a tool's name
  (or a distinctive word of it) appears in the last user message, or a single tool and the prompt
  says to use the tool; with parallel_tool_calls not false, every matching tool is called.
  Arguments follow the tool's JSON schema: numbers found in the prompt for integer/number
  fields, quoted text, then capitalised phrases, then content words for strings, the first value
  of an enum, nested objects and arrays recursively, every property present;
- json_schema formats get JSON conforming to the schema; json_object gets an object whose keys
  are the quoted identifiers in the prompt (or the schema named in the system text);
- otherwise "Hello! You said: <last user message>." (mentioning an image, a document or a
  video when one was attached), streamed one word per event;
- max_tokens / max_completion_tokens / max_output_tokens cut the answer (finish_reason length);
- chat: `n` gives that many identical choices (not streamed); `logprobs` gives one entry per
  streamed piece (`top_logprobs` alternatives each); every body carries `system_fingerprint`
  and `service_tier`;
  stop sequences cut it before the first match; usage counts words and punctuation.

One module, standard library only, in four parts: the request normalised across both shapes
and its deterministic answer; the Chat Completions shape; the Responses shape; the HTTP server.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import re
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

MAX_DEPTH = 6
MAX_WORDS = 2000
CREATED = 1_700_000_000
_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and are about as at be by call can do for from function get give how i in is it me "
        "my of on or please return say tell that the this to tool tools use using value what "
        "with write you your",
    )
)


# -- the request, normalised across both shapes ------------------------------------------------


@dataclass
class Turn:
    role: str
    text: str = ""
    images: int = 0
    files: int = 0
    videos: int = 0
    tool_output: str | None = None
    tool_name: str | None = None


@dataclass
class Ask:
    model: str
    system: str
    turns: list[Turn]
    tools: list[dict[str, Any]]
    tool_choice: str | None
    parallel: bool
    fmt: dict[str, Any] | None  # {"kind": "json_schema"|"json_object", "schema": ...}
    max_tokens: int | None
    stop: list[str]
    reasoning: bool
    call_names: dict[str, str] = field(default_factory=dict)  # call id -> tool name
    logprobs: int | None = None  # None: not asked; else how many top logprobs per token
    n: int = 1


@dataclass
class Plan:
    text: str
    reasoning: str
    calls: list[tuple[str, str, str]]  # (call id, name, arguments JSON)
    finish: str  # stop | length | tool_calls
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int


def applies(flags: dict[str, Any], name: str, body: Any) -> bool:
    """A flag given bare applies to every model; `name=<MODEL>` to that model's requests only."""
    value = flags.get(name)
    if value is True:
        return True
    return isinstance(value, str) and isinstance(body, dict) and body.get("model") == value


# llama-server's answer to an image for a model loaded without a projector (tools/server).
LLAMA_NO_IMAGES = ("image input is not supported - hint: if this is unexpected, you may need "
                   "to provide the mmproj")


def has_image(body: Any) -> bool:
    """Whether a chat or Responses body carries an image part."""
    items = (body.get("messages") or body.get("input") or []) if isinstance(body, dict) else []
    for item in items if isinstance(items, list) else []:
        content = item.get("content") if isinstance(item, dict) else None
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and part.get("type") in ("image_url", "input_image"):
                return True
    return False


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, etype: str = "invalid_request_error",
                 param: str | None = None, code: Any = None, vllm: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = (
            # vLLM's shape: the error's fields at the top level, `code` the HTTP status.
            {"object": "error", "message": message, "type": "BadRequestError", "param": param,
             "code": status}
            if vllm
            else {"error": {"message": message, "type": etype, "param": param, "code": code}}
        )


FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "transcripts-more"


def fixture_listing(name: str) -> Any:
    """The JSON body of a recorded listing fixture (comment lines `# ...` before it)."""
    text = (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")
    return json.loads("\n".join(line for line in text.splitlines() if not line.startswith("#")))


def ollama_show(body: Any, flags: dict[str, Any]) -> dict[str, Any]:
    """Ollama's `POST /api/show` shape (docs/api.md, "Show Model Information"): `capabilities`
    and `model_info`. What a model can do follows its name: `embed` only embeds, `llava` or
    `vision` also sees, `notools` has no tools; others complete and call tools."""
    name = str(body.get("model", "")) if isinstance(body, dict) else ""
    if "embed" in name:
        caps = ["embedding"]
    else:
        caps = ["completion"] + ([] if "notools" in name else ["tools"])
        caps += ["vision"] if "llava" in name or "vision" in name else []
    return {
        "details": {"format": "gguf", "family": "llama"},
        "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
        "capabilities": caps,
    }


def text_of(content: Any, turn: Turn) -> str:
    """Text of a chat or responses content value; counts images and files on `turn`."""
    if isinstance(content, str):
        return content
    texts = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            texts.append(str(part.get("text", "")))
        elif kind in ("image_url", "input_image"):
            turn.images += 1
        elif kind in ("file", "input_file", "input_audio"):
            turn.files += 1
        elif kind == "video_url":  # vLLM's and OpenRouter's chat video part
            turn.videos += 1
    return "\n".join(texts)


def stop_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    return [s for s in value if isinstance(s, str) and s] if isinstance(value, list) else []


def tool_choice_of(value: Any) -> str | None:
    if isinstance(value, str):
        return "required" if value == "any" else value
    if isinstance(value, dict):
        named = value.get("function", value)
        return str(named.get("name")) if isinstance(named, dict) else None
    return None


# -- deterministic answers -----------------------------------------------------------------------


def count_tokens(text: str) -> int:
    return len(re.findall(r"\w+|[^\w\s]", text))


def tokenize(api: str, body: Any, flags: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """`/tokenize` as vLLM (`messages` -> `count`) or llama.cpp (`content` -> `tokens`) answer
    it, and the Responses `input_tokens` endpoint; 404 with the `no-tokenize` flag."""
    if "no-tokenize" in flags or not isinstance(body, dict):
        return 404, ApiError(404, f"Unknown endpoint POST {api}", code="not_found").body
    if api == "/responses/input_tokens":
        ask = read_responses(body, flags)
        texts = [ask.system, *(t.text for t in ask.turns)]
        return 200, {"object": "response.input_tokens",
                     "input_tokens": sum(count_tokens(t) for t in texts)}
    if "llamacpp-tokenize" in flags:
        return 200, {"tokens": list(range(count_tokens(str(body.get("content") or ""))))}
    ask = read_chat(body, flags)
    count = sum(count_tokens(t) for t in [ask.system, *(t.text for t in ask.turns)])
    return 200, {"count": count, "max_model_len": 4096, "tokens": list(range(count))}


def pieces(text: str) -> list[str]:
    """The streaming unit and the token unit: each word with its leading whitespace."""
    return re.findall(r"\s*\S+\s*$|\s*\S+", text)


def _content_words(prompt: str) -> list[str]:
    words = re.findall(r"[^\W\d_][\w'-]*", prompt)
    return [w for w in words if w.lower() not in _STOPWORDS]


class Values:
    """Argument values taken from the prompt, each used once, then reused."""

    def __init__(self, prompt: str) -> None:
        self.numbers = [float(n) for n in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?", prompt)]
        quoted = re.findall(r"'([^']+)'|\"([^\"]+)\"|\u201c([^\u201d]+)\u201d", prompt)
        strings = [next(q for q in group if q) for group in quoted]
        first = re.match(r"\s*\S+", prompt)
        rest = prompt[first.end():] if first else prompt
        strings += re.findall(r"\b[A-Z][\w-]*(?:,? [A-Z][\w-]*)*", rest)
        phrase = " ".join(_content_words(prompt)[:6]) or "something"
        self.strings = [s for s in strings if s.strip()] + [phrase]
        self.used_numbers = 0
        self.used_strings = 0

    def number(self) -> float | None:
        if not self.numbers:
            return None
        value = self.numbers[self.used_numbers % len(self.numbers)]
        self.used_numbers += 1
        return value

    def string(self) -> str:
        value = self.strings[min(self.used_strings, len(self.strings) - 1)]
        self.used_strings += 1
        return value


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    for _ in range(MAX_DEPTH):
        if not isinstance(schema, dict) or "$ref" not in schema:
            break
        node: Any = root
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            node = node.get(part, {}) if isinstance(node, dict) and part else node
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema if isinstance(schema, dict) else {}


def value_for(schema: Any, root: dict[str, Any], values: Values, depth: int = 0) -> Any:
    """A value conforming to `schema` (the common JSON Schema subset tools and formats use).
    Bounded: past a fixed depth, recursive schemas end in null."""
    if depth > 2 * MAX_DEPTH:
        return None
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        options = [_resolve(o, root) for o in schema.get(key) or []]
        if options:
            usable = [o for o in options if o.get("type") != "null"] or options
            return value_for(usable[0], root, values, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, root))
        return value_for(merged, root, values, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        properties = schema.get("properties") or {}
        if depth >= MAX_DEPTH:
            properties = {k: v for k, v in properties.items() if k in (schema.get("required") or [])}
        return {name: value_for(sub, root, values, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 0))) if depth < MAX_DEPTH else int(schema.get("minItems", 0))
        count = min(count, int(schema.get("maxItems", count)), 3)
        return [value_for(schema.get("items") or {}, root, values, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, values, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = values.string()
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    text = text.ljust(low, "x")
    return text[: int(high)] if high is not None else text


def _number(schema: dict[str, Any], values: Values, *, integer: bool) -> float | int:
    found = values.number()
    value = 1.0 if found is None else found
    step = 1 if integer else 0.5
    bounds = [(schema.get("minimum"), 0), (schema.get("exclusiveMinimum"), step)]
    for bound, gap in bounds:
        if isinstance(bound, (int, float)) and not isinstance(bound, bool):
            value = max(value, bound + gap)
    bounds = [(schema.get("maximum"), 0), (schema.get("exclusiveMaximum"), step)]
    for bound, gap in bounds:
        if isinstance(bound, (int, float)) and not isinstance(bound, bool):
            value = min(value, bound - gap)
    return int(value) if integer else value


def _mentions(prompt: str, name: str) -> bool:
    lowered = prompt.lower()
    if name.lower() in lowered:
        return True
    words = [w for w in re.split(r"[_\W]+", name.lower()) if len(w) >= 4 and w not in _STOPWORDS]
    return any(re.search(rf"\b{re.escape(w)}", lowered) for w in words)


def _choose_tools(ask: Ask, prompt: str) -> list[dict[str, Any]]:
    if not ask.tools or ask.tool_choice == "none":
        return []
    if ask.tool_choice not in (None, "auto", "required"):
        named = [t for t in ask.tools if t.get("name") == ask.tool_choice]
        if not named:
            raise ApiError(400, f"tool_choice names an unknown tool {ask.tool_choice!r}",
                           param="tool_choice")
        return named
    matched = [t for t in ask.tools if _mentions(prompt, str(t.get("name", "")))]
    says_use = re.search(r"\b(use|using|call|with) (the|a|your|this) (tool|function)", prompt, re.I)
    if not matched and (ask.tool_choice == "required" or (len(ask.tools) == 1 and says_use)):
        matched = ask.tools[:1]
    return matched if ask.parallel else matched[:1]


def _schema_in_system(system: str) -> dict[str, Any] | None:
    found = re.search(r"JSON schema:\s*(\{.*\})", system, re.S)
    if found:
        try:
            schema = json.loads(found.group(1))
        except ValueError:
            return None
        return schema if isinstance(schema, dict) else None
    return None


def _plain_text(ask: Ask, last_user: Turn | None, words: int | None) -> str:
    prompt = " ".join(last_user.text.split()) if last_user else ""
    seen = ""
    if last_user and last_user.images:
        seen += "I see an image. "
    if last_user and last_user.files:
        seen += "I see a document. "
    if last_user and last_user.videos:
        seen += "I see a video. "
    said = " ".join(prompt.split()[:30]) or "nothing"
    text = f"{seen}Hello! You said: {said}."
    if words:
        filler = (text.split() * (words // max(1, len(text.split())) + 1))[: min(words, MAX_WORDS)]
        text = " ".join(filler)
    return text


def plan(ask: Ask, flags: dict[str, Any]) -> Plan:
    """What to answer: the whole decision, shared by both shapes and both modes."""
    last = ask.turns[-1] if ask.turns else None
    last_user = next((t for t in reversed(ask.turns) if t.role == "user"), None)
    prompt = last_user.text if last_user else ""
    calls: list[tuple[str, str, str]] = []
    text = ""
    if last is not None and last.role == "tool":
        output = " ".join((last.tool_output or "").split())[:200]
        text = f"The tool {last.tool_name or 'call'} returned {output or 'nothing'}."
    elif chosen := _choose_tools(ask, prompt):
        values = Values(prompt)
        for position, tool in enumerate(chosen):
            schema = tool.get("parameters") or {"type": "object", "properties": {}}
            arguments = json.dumps(value_for(schema, schema, values), ensure_ascii=False)
            digest = hashlib.sha1(f"{position}{tool.get('name')}{arguments}".encode()).hexdigest()
            calls.append((f"call_{digest[:20]}", str(tool.get("name")), arguments))
    elif ask.fmt is not None:
        schema = ask.fmt.get("schema") or _schema_in_system(ask.system)
        if schema is not None:
            answer = value_for(schema, schema, Values(prompt))
        else:
            keys = re.findall(r"['\"`]([A-Za-z_]\w*)['\"`]", prompt) or ["answer"]
            values = Values(prompt)
            answer = {key: values.string() for key in dict.fromkeys(keys)}
        text = json.dumps(answer, ensure_ascii=False)
    else:
        words = flags.get("words")
        text = _plain_text(ask, last_user, int(words) if words else None)
    finish = "tool_calls" if calls else "stop"
    if ask.stop and text:
        cut = min((text.find(s) for s in ask.stop if s in text), default=-1)
        if cut >= 0:
            text = text[:cut]
    reasoning = f"The user said {' '.join(prompt.split()[:12]) or 'nothing'}; I will answer briefly." if ask.reasoning else ""
    text_pieces = pieces(text)
    if ask.max_tokens is not None and len(text_pieces) > int(ask.max_tokens):
        text = "".join(text_pieces[: int(ask.max_tokens)])
        finish = "length"
    all_text = ask.system + "".join(t.text for t in ask.turns) + json.dumps(ask.tools)
    input_tokens = count_tokens(all_text) + 3 * len(ask.turns) + 1
    reasoning_tokens = len(pieces(reasoning))
    output_tokens = len(pieces(text)) + reasoning_tokens + sum(count_tokens(a) + 1 for _, _, a in calls)
    return Plan(text, reasoning, calls, finish, input_tokens, input_tokens // 2,
                max(1, output_tokens), reasoning_tokens)


def split3(text: str) -> list[str]:
    if len(text) < 3:
        return [text]
    third = len(text) // 3
    return [text[:third], text[third : 2 * third], text[2 * third :]]


# == the Chat Completions shape ================================================================


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
        if applies(flags, "no-json-schema", body):
            raise ApiError(400, "response_format of type json_schema is not supported",
                           param="response_format")
        fmt = {"kind": "json_schema", "schema": (response_format.get("json_schema") or {}).get("schema")}
    elif response_format.get("type") == "json_object":
        if applies(flags, "no-json-object", body):
            raise ApiError(400, "response_format of type json_object is not supported",
                           param="response_format")
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
        logprobs=int(body.get("top_logprobs") or 0) if body.get("logprobs") else None,
        n=int(body.get("n") or 1),
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


def logprob_entries(text: str, top: int) -> list[dict[str, Any]]:
    """Deterministic logprobs: one entry per streamed piece, `top` alternatives each."""
    def entry(token: str, rank: int) -> dict[str, Any]:
        return {"token": token, "logprob": -0.25 * (rank + len(token) % 3),
                "bytes": list(token.encode("utf-8"))}
    return [{**entry(piece, 0), "top_logprobs": [entry(piece, r) for r in range(top)]}
            for piece in pieces(text)]


_REFUSAL = "I'm sorry, I can't help with that."
_FINGERPRINT = {"system_fingerprint": "fp_sim0001", "service_tier": "default"}


def chat_body(ask: Ask, p: Plan, rid: str, flags: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": p.text if p.text or not p.calls else None}
    logprobs: dict[str, Any] | None = None
    if "refusal" in flags:
        message.update(content=None, refusal=_REFUSAL)
        if ask.logprobs is not None:
            logprobs = {"content": None, "refusal": logprob_entries(_REFUSAL, ask.logprobs)}
    elif ask.logprobs is not None:
        logprobs = {"content": logprob_entries(p.text, ask.logprobs), "refusal": None}
    if p.reasoning:
        message["reasoning" if "reasoning-field" in flags else "reasoning_content"] = p.reasoning
    if p.calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in p.calls
        ]
    return {
        "id": rid, "object": "chat.completion", "created": CREATED, "model": ask.model,
        "choices": [{"index": i, "message": message, "finish_reason": p.finish,
                     "logprobs": logprobs} for i in range(max(1, ask.n))],
        "usage": _chat_usage(p), **_FINGERPRINT,
    }


def chat_events(ask: Ask, p: Plan, rid: str, flags: dict[str, Any], usage: bool) -> list[Any]:
    every = "usage-every-chunk" in flags
    emitted = 0

    def chunk(delta: dict[str, Any], finish: str | None = None, tokens: int = 0) -> dict[str, Any]:
        nonlocal emitted
        emitted += tokens
        text = delta.get("content") or delta.get("refusal")
        logprobs = None
        if ask.logprobs is not None and text:
            of = "refusal" if "refusal" in delta else "content"
            logprobs = {"content": None, "refusal": None}
            logprobs[of] = logprob_entries(text, ask.logprobs)
        obj: dict[str, Any] = {
            "id": rid, "object": "chat.completion.chunk", "created": CREATED, "model": ask.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                         "logprobs": logprobs}],
            **_FINGERPRINT,
        }
        if every:
            obj["usage"] = _chat_usage(p, emitted)
        return obj

    field_name = "reasoning" if "reasoning-field" in flags else "reasoning_content"
    out: list[Any] = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({field_name: piece}, tokens=1) for piece in pieces(p.reasoning)]
    if "refusal" in flags:
        out += [chunk({"refusal": piece}, tokens=1) for piece in pieces(_REFUSAL)]
    else:
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
                    "model": ask.model, "choices": [], "usage": _chat_usage(p), **_FINGERPRINT})
    out.append("[DONE]")
    return out


# == the Responses shape =======================================================================


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
        if applies(flags, "no-json-schema", body):
            raise ApiError(400, "text.format of type json_schema is not supported",
                           param="text.format")
        fmt = {"kind": "json_schema", "schema": text_format.get("schema")}
    elif text_format.get("type") == "json_object":
        if applies(flags, "no-json-object", body):
            raise ApiError(400, "text.format of type json_object is not supported",
                           param="text.format")
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


# == the embeddings endpoint ==================================================================
# `POST /v1/embeddings` of the model server: deterministic vectors derived from each text.
#
# A vector is `DIMENSIONS` (or the request's `dimensions`) float32 values in [-1, 1) taken from
# the SHA-256 of the text, so a test can compute the expected vector itself (`expected_vector`)
# and base64 and float answers carry the very same values. Flags (see model_server.py):
#
#     shuffle           `data` in reverse order (each item keeps its `index`)
#     max-inputs=<N>    413 when a request has more than N inputs
#     too-many=<N>      400 "Too many inputs. The max number of inputs is N." above N inputs
#     max-bytes=<N>     413 when the request body is larger than N bytes
#     no-base64         400 (param encoding_format) when base64 is asked for
#     float-only        floats even when base64 is asked for
#     nan               the second vector's first value is NaN
#     short             the last vector is one value short
#     no-index          the first item has no `index`
#     dup-index         the last item repeats the first's index
#     deep=<N>          the body is the answer nested N arrays deep
#     huge=<MB>         the body is padded with a string of MB megabytes

__all__ = ["DIMENSIONS", "embeddings_response", "expected_vector"]

DIMENSIONS = 8


def expected_vector(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """The vector the server answers for `text`: float32 values, so exact after a round trip."""
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    while len(seed) < dimensions * 2:
        seed += hashlib.sha256(seed).digest()
    raw = [(int.from_bytes(seed[2 * i : 2 * i + 2], "little") - 32768) / 32768 for i in range(dimensions)]
    packed = struct.pack(f"<{dimensions}f", *raw)
    return list(struct.unpack(f"<{dimensions}f", packed))


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def embeddings_response(body: Any, flags: dict[str, Any], raw_size: int) -> bytes:
    """The JSON body answering one `/embeddings` request (or raise ApiError)."""
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object")
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
        raise ApiError(400, "input must be a string or a list of strings", param="input")
    limit = flags.get("max-bytes")
    if limit and raw_size > int(limit):
        raise ApiError(413, f"Request body of {raw_size} bytes is larger than {limit}")
    limit = flags.get("max-inputs")
    if limit and len(inputs) > int(limit):
        raise ApiError(413, f"Payload too large: {len(inputs)} inputs")
    limit = flags.get("too-many")
    if limit and len(inputs) > int(limit):
        raise ApiError(400, f"Too many inputs. The max number of inputs is {limit}.", param="input")
    encoding = body.get("encoding_format", "float")
    if encoding == "base64" and "no-base64" in flags:
        raise ApiError(400, "Unsupported value: 'encoding_format'", param="encoding_format")
    dimensions = body.get("dimensions") or DIMENSIONS
    data = []
    for index, text in enumerate(inputs):
        vector: list[float] = expected_vector(text, dimensions)
        if "nan" in flags and index == 1:
            vector[0] = float("nan")
        if "short" in flags and index == len(inputs) - 1:
            vector = vector[:-1]
        embedding: Any = vector
        if encoding == "base64" and "float-only" not in flags:
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        item: dict[str, Any] = {"object": "embedding", "index": index, "embedding": embedding}
        data.append(item)
    if "no-index" in flags and data:
        del data[0]["index"]
    if "dup-index" in flags and len(data) > 1:
        data[-1]["index"] = data[0]["index"]
    if "shuffle" in flags:
        data.reverse()
    tokens = sum(_tokens(t) for t in inputs)
    answer: dict[str, Any] = {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    if flags.get("huge"):
        answer["padding"] = "x" * int(float(flags["huge"]) * 2**20)
    data_bytes = json.dumps(answer).encode()
    if flags.get("deep"):  # written, not dumped: json.dumps itself would recurse too deep
        depth = int(flags["deep"])
        data_bytes = b"[" * depth + data_bytes + b"]" * depth
    return data_bytes


# == the HTTP server ===========================================================================


MODELS = ("sim-model", "sim-model-mini", "sim-reasoner", "sim-embed")
VLLM_NO_AUTO = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'


# -- HTTP ------------------------------------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.counter = 0
        self.in_flight = 0  # API requests being served now
        self.stalled: dict[str, int] = {}  # flags -> streamed answers stalled (stall-first)


def parse_flags(path: str) -> tuple[dict[str, Any], str]:
    """`/f/a+b=c/v1/x` -> ({"a": True, "b": "c"}, "/v1/x")."""
    flags: dict[str, Any] = {}
    if path.startswith("/f/"):
        _, _, spec, rest = [*path.split("/", 3), ""][:4]
        for flag in unquote(spec).split("+"):
            name, sep, value = flag.partition("=")
            if name:
                flags[name] = value if sep else True
        path = "/" + rest
    return flags, path


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        if path == "/_requests" and method == "GET":
            with self.server.lock:
                return self._send_json(200, list(self.server.records))
        if path == "/_reset" and method == "POST":
            with self.server.lock:
                self.server.records.clear()
                self.server.stalled.clear()
            return self._send_json(200, {"ok": True})
        flags, api = parse_flags(path)
        api = api.removeprefix("/v1")
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = {"method": method, "path": self.path, "flags": flags,
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body, "raw": raw.decode("utf-8", "replace"), "outcome": "pending"}
        with self.server.lock:
            self.server.records.append(record)
            self.server.counter += 1
            self.server.in_flight += 1
            record["in_flight"] = self.server.in_flight
            number = self.server.counter
        try:
            if flags.get("hold"):
                time.sleep(min(float(flags["hold"]), 5000) / 1000)
            if method == "POST" and api == "/embeddings":
                self._embeddings(flags, body, record, len(raw))
            else:
                self._api(method, api, flags, body, record, number)
        except ApiError as error:
            record["outcome"] = "error"
            self._send_json(error.status, error.body)
        except (BrokenPipeError, ConnectionResetError):
            record["outcome"] = "disconnected"
            self.close_connection = True
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def _check_key(self, flags: dict[str, Any]) -> None:
        key, digest = flags.get("key"), flags.get("key-sha256")
        sent = self.headers.get("Authorization") or ""
        given = sent.removeprefix("Bearer ")
        if (key and sent != f"Bearer {key}") or (
            digest and hashlib.sha256(given.encode()).hexdigest() != digest
        ):
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")

    def _embeddings(self, flags: dict[str, Any], body: Any, record: dict[str, Any], size: int) -> None:
        self._check_key(flags)
        if flags.get("fail"):
            status = int(flags["fail"])
            record["outcome"] = "error"
            error = ApiError(status, f"Simulated failure with HTTP {status}")
            return self._send_json(status, error.body, {"Retry-After": "0"})
        answer = embeddings_response(body, flags, size)
        record["outcome"] = "complete"
        self._send_json(200, answer)

    def _api(self, method: str, api: str, flags: dict[str, Any], body: Any,
             record: dict[str, Any], number: int) -> None:
        self._check_key(flags)
        only = flags.get("fail-model")
        if flags.get("fail") and (not only or (isinstance(body, dict) and body.get("model") == only)):
            status = int(flags["fail"])
            etype = "server_error" if status >= 500 else "invalid_request_error"
            code = "rate_limit_exceeded" if status == 429 else None
            text = f"Simulated failure with HTTP {status}"
            if "fail-varies" in flags:
                text += f" (request {number})"
            error = ApiError(status, text, etype=etype, code=code)
            record["outcome"] = "error"
            return self._send_json(status, error.body, {"Retry-After": "0"})
        if "no-images" in flags and has_image(body):
            raise ApiError(500, LLAMA_NO_IMAGES, etype="server_error", code=500)
        if method == "GET" and api == "/api/tags":  # Ollama's native listing
            record["outcome"] = "complete"
            names = str(flags["models"]).split(",") if flags.get("models") else MODELS
            return self._send_json(200, {"models": [{"name": m, "model": m} for m in names]})
        if method == "POST" and api == "/api/show":  # Ollama's per-model details
            record["outcome"] = "complete"
            return self._send_json(200, ollama_show(body, flags))
        if method == "GET" and api == "/api/v0/models" and "lmstudio" in flags:
            record["outcome"] = "complete"
            return self._send_json(200, fixture_listing("lmstudio__models__listing_api_v0_models"))
        if method == "GET" and api == "/models" and "openrouter" in flags:
            record["outcome"] = "complete"
            return self._send_json(
                200, fixture_listing("openrouter__models__listing_api_v1_models_excerpt"))
        if method == "GET" and api == "/models":
            record["outcome"] = "complete"
            return self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "sim"} for m in MODELS]})
        if method == "POST" and api in ("/tokenize", "/responses/input_tokens"):
            record["outcome"] = "complete"
            return self._send_json(*tokenize(api, body, flags))
        if method != "POST" or api not in ("/chat/completions", "/responses"):
            raise ApiError(404, f"Unknown endpoint {method} {self.path}", code="not_found")
        if api == "/responses" and "no-responses" in flags:
            raise ApiError(404, f"Unknown endpoint {method} {self.path}", code="not_found")
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        if "no-tools" in flags and body.get("tools"):
            raise ApiError(400, "tools is not supported by this server", param="tools")
        if "no-auto-tool-choice" in flags and body.get("tool_choice") == "auto":
            raise ApiError(400, VLLM_NO_AUTO, vllm=True)
        if "missing-choice-none" in flags and body.get("tools") and "tool_choice" not in body:
            body = {**body, "tool_choice": "none"}
        stream = bool(body.get("stream"))
        digest = hashlib.sha1(f"{number}".encode()).hexdigest()[:24]
        if api == "/chat/completions":
            if "no-stream-options" in flags and "stream_options" in body:
                raise ApiError(400, "Unrecognized request argument supplied: stream_options",
                               param="stream_options")
            ask = read_chat(body, flags)
            p, rid = plan(ask, flags), f"chatcmpl-{digest}"
            if "drop-streamed-tools" in flags and stream and p.calls:
                p = dataclasses.replace(p, text="", calls=[], finish="stop")
            if not stream:
                self._send_json(200, chat_body(ask, p, rid, flags))
            else:
                usage = bool((body.get("stream_options") or {}).get("include_usage"))
                self._stream(chat_events(ask, p, rid, flags, usage), flags, named=False)
        else:
            ask = read_responses(body, flags)
            p, rid = plan(ask, flags), f"resp_{digest}"
            encrypted = "reasoning.encrypted_content" in (body.get("include") or [])
            if not stream:
                self._send_json(200, responses_body(ask, p, rid, encrypted))
            else:
                self._stream(responses_events(ask, p, rid, encrypted), flags, named=True)
        record["outcome"] = "complete"

    def _stream(self, events: list[Any], flags: dict[str, Any], *, named: bool) -> None:
        delay = float(flags.get("delay") or 0) / 1000.0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if flags.get("stall-first"):
            key = json.dumps(flags, sort_keys=True)
            with self.server.lock:
                done = self.server.stalled.get(key, 0)
                stall = done < int(flags["stall-first"])
                if stall:
                    self.server.stalled[key] = done + 1
            if stall:
                self.wfile.flush()
                time.sleep(min(float(flags.get("stall") or 3000), 30000) / 1000)
                self.close_connection = True
                return
        for position, event in enumerate(events):
            if delay and position:
                time.sleep(delay)
            if event == "[DONE]":
                frame = "data: [DONE]\n\n"
            else:
                data = json.dumps(event, ensure_ascii=False)
                frame = f"event: {event['type']}\ndata: {data}\n\n" if named else f"data: {data}\n\n"
            payload = frame.encode()
            self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _exit_when_stdin_closes(server: Server) -> None:
    try:
        while sys.stdin.buffer.read(1024):
            pass
    except (OSError, ValueError):
        pass
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes")
    args = parser.parse_args()
    server = Server(args.port)
    print(f"PORT {server.server_address[1]}", flush=True)
    if args.watch_stdin:
        threading.Thread(target=_exit_when_stdin_closes, args=(server,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

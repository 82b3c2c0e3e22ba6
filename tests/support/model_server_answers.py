"""The model server's request, normalised across both wire shapes, and its deterministic answer."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

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


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, etype: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, vllm: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = (
            # vLLM's shape: the error's fields at the top level, `code` the HTTP status.
            {"object": "error", "message": message, "type": "BadRequestError", "param": param,
             "code": status}
            if vllm
            else {"error": {"message": message, "type": etype, "param": param, "code": code}}
        )


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

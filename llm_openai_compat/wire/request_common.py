"""What both request builders share: the system role, the tool-support check, JSON-ready
copies and the deep merge of `extraBody`, so the two shapes cannot drift apart on them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from ..config.profiles import Profile
from ..errors import MissingToolCalling
from ..messages import RequestOptions, ToolChoice

__all__ = [
    "JSON_SCHEMA_INSTRUCTION",
    "SystemRole",
    "deep_merge",
    "plain",
    "require_tool_support",
    "schema_instruction",
    "system_role",
    "tool_choice_mode",
]

JSON_SCHEMA_INSTRUCTION = "Respond with a JSON object that matches this JSON schema: "


def schema_instruction(schema: Any) -> str:
    """The instruction sent instead of a schema the server cannot take. Keys keep the caller's
    order: models write fields in the order the schema lists them."""
    return JSON_SCHEMA_INSTRUCTION + json.dumps(schema, ensure_ascii=False)


SystemRole = Literal["system", "developer"]


def require_tool_support(options: RequestOptions, profile: Profile) -> None:
    if options.tools and not profile.supports_tools:
        raise MissingToolCalling(
            f"The {profile.name!r} profile says this server cannot call tools, "
            f"but {len(options.tools)} tool(s) were given",
            model=options.model,
        )


def tool_choice_mode(options: RequestOptions, profile: Profile) -> ToolChoice | None:
    """The tool choice to send with tools: the caller's, else an explicit "auto". OpenAI's
    default with tools is "auto", but llama-cpp-python's `chatml-function-calling` reads a
    missing choice as "none". A server that rejects "auto" (vLLM without
    `--enable-auto-tool-choice`) gets none: its own default is the nearest it offers."""
    choice = options.tool_choice or "auto"
    if choice == "auto" and not profile.supports_auto_tool_choice:
        return None
    return choice


def system_role(options: RequestOptions, profile: Profile) -> SystemRole | None:
    """The role system text is sent with; None for mode "remove". `developer` falls back to
    `system` where the profile says the server rejects it."""
    mode = options.system_message_mode or profile.system_role
    if mode == "remove":
        return None
    if mode == "developer" and not profile.supports_developer_role:
        return "system"
    return mode


def plain(value: Any) -> Any:
    """A JSON-ready copy: any Mapping becomes a dict, tuples become lists. Copying also means
    later merges never write into the caller's objects."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` merged into a copy of `base`: nested objects merge, anything else is replaced.
    Neither input is modified."""
    merged = dict(base)
    for key, value in over.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = plain(value)
    return merged

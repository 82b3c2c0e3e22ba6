"""Vendor quirks as data.

The wire code reads these fields and never asks which vendor it is talking to. A profile is
chosen by the provider's `profile` setting, else detected from the base URL, else `default`.
Third-party packages add profiles through the `openai_compat_profiles` pluggy hook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = ["PROFILES", "Profile", "detect_profile", "get_profile", "register_profile"]


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    # Base URLs this profile is detected from (regular expressions, searched).
    url_patterns: tuple[str, ...] = ()
    # -- requests --
    system_role: Literal["system", "developer"] = "system"
    supports_developer_role: bool = True
    supports_stream_options: bool = True
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    supports_prompt_cache_key: bool = False
    supports_json_schema: bool = True
    supports_tools: bool = True
    supports_parallel_tool_calls: bool = True
    # Send earlier reasoning back as `reasoning_content` on assistant messages (DeepSeek's
    # tool-call turns require it; most servers ignore or reject it).
    replay_reasoning_field: str | None = None
    auth_header: Literal["bearer", "api-key"] = "bearer"
    # -- responses --
    # Delta/message fields that carry raw reasoning text, in the order they are looked for.
    reasoning_fields: tuple[str, ...] = ("reasoning_content", "reasoning")
    # Split `<think>...</think>` at the start of content into reasoning.
    think_tags: bool = True
    # Top-level response/chunk fields kept in `ResponseMeta.extra` (Perplexity's citations,
    # Azure's prompt filter results, OpenRouter's upstream provider).
    response_meta_fields: tuple[str, ...] = (
        "citations",
        "search_results",
        "prompt_filter_results",
        "provider",
    )
    # Objects that may carry `usage` when the top-level field is absent (Groq's `x_groq`).
    nested_usage_fields: tuple[str, ...] = ("x_groq",)
    extra: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> Profile:
        return replace(self, **changes)


DEFAULT = Profile(name="default")

PROFILES: dict[str, Profile] = {
    "default": DEFAULT,
    "openai": Profile(
        name="openai",
        url_patterns=(r"^https://api\.openai\.com(/|$)",),
        supports_prompt_cache_key=True,
        max_tokens_field="max_completion_tokens",
    ),
    "azure": Profile(
        name="azure",
        url_patterns=(r"\.openai\.azure\.com(/|$)", r"\.cognitiveservices\.azure\.com(/|$)"),
        auth_header="api-key",
        max_tokens_field="max_completion_tokens",
    ),
    "deepseek": Profile(
        name="deepseek",
        url_patterns=(r"^https://api\.deepseek\.com(/|$)",),
        supports_developer_role=False,
    ),
    "mistral": Profile(
        name="mistral",
        url_patterns=(r"^https://api\.mistral\.ai(/|$)",),
        supports_developer_role=False,
    ),
    "groq": Profile(name="groq", url_patterns=(r"^https://api\.groq\.com(/|$)",)),
    "openrouter": Profile(name="openrouter", url_patterns=(r"^https://openrouter\.ai(/|$)",)),
    "gemini": Profile(
        name="gemini",
        url_patterns=(r"generativelanguage\.googleapis\.com",),
        supports_developer_role=False,
    ),
}


def register_profile(profile: Profile) -> None:
    PROFILES[profile.name] = profile


def detect_profile(base_url: str) -> Profile:
    for profile in PROFILES.values():
        if any(re.search(pattern, base_url) for pattern in profile.url_patterns):
            return profile
    return DEFAULT


def get_profile(name: str | None, base_url: str) -> Profile:
    """The profile named by the provider's settings, else the one its URL suggests."""
    if name:
        try:
            return PROFILES[name]
        except KeyError:
            from .errors import ConfigError

            raise ConfigError(
                f"unknown profile {name!r}; known: {', '.join(sorted(PROFILES))}",
                field="profile",
                hint="Remove the field to detect the profile from the base URL",
            ) from None
    return detect_profile(base_url)


@dataclass(frozen=True, slots=True)
class Adaptation:
    """A quirk learned from a server's 400: when the error names `param` (a regular expression
    matched against the error's param, else its message) and its message contains every one of
    `needles`, retry once with `changes` applied to the profile, and keep them for the process.
    """

    name: str
    param: str
    needles: tuple[str, ...]
    changes: dict[str, Any]

    def matches(self, param: str | None, message: str | None) -> bool:
        text = (message or "").lower()
        if not re.search(self.param, param or text):
            return False
        return all(needle in text for needle in self.needles)


ADAPTATIONS: tuple[Adaptation, ...] = (
    Adaptation("no-stream-options", r"stream_options", (), {"supports_stream_options": False}),
    Adaptation(
        "no-developer-role",
        r"^messages\[\d+\]\.role$|role",
        ("developer",),
        {"supports_developer_role": False, "system_role": "system"},
    ),
    Adaptation(
        "max-completion-tokens",
        r"^max_tokens$",
        ("max_completion_tokens",),
        {"max_tokens_field": "max_completion_tokens"},
    ),
)

"""Endpoint resolution: one pure function from a provider's base URL to the URL we POST to.

People paste base URLs in every form a vendor documents (`https://host`, `.../v1`, `.../v4`,
`.../v1beta/openai/`, a full `.../chat/completions`, an Azure deployment with `?api-version=`),
so the rules below accept all of them and table tests pin each one. Stdlib only: this module
is imported on the `llm --version` path.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import SplitResult, urlsplit, urlunsplit

from ..errors import ConfigError
from ..redaction import redact_url

__all__ = [
    "ApiShape",
    "UrlMode",
    "base_url_problem",
    "display_url",
    "embeddings_endpoint",
    "models_endpoint",
    "resolve_endpoint",
    "validate_base_url",
]

ApiShape = Literal["chat-completions", "responses"]
UrlMode = Literal["auto", "verbatim"]

_SUFFIX: dict[str, str] = {"chat-completions": "/chat/completions", "responses": "/responses"}
# `v1`, `v4`, `v1beta`, `v1beta1`, `v2alpha`, `v1preview`: an API version path segment.
_VERSION = re.compile(r"v\d+(?:(?:alpha|beta|preview)\d*)?", re.IGNORECASE)
_AZURE_DEPLOYMENTS = "/openai/deployments/"


def _display(url: str) -> str:
    """The URL as safe to show: no userinfo (it may hold a password), no query, bounded."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        if parts.netloc and "@" in parts.netloc:
            host = parts.netloc.rsplit("@", 1)[1]
            text = urlunsplit((parts.scheme, "***@" + host, parts.path, "", ""))
        elif parts.query:
            text = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    except ValueError:
        pass
    return text if len(text) <= 120 else text[:119] + "…"


def base_url_problem(url: object) -> str | None:
    """Why `url` cannot be a base URL, or None if it can. Used by settings validation too."""
    if not isinstance(url, str):
        return "must be a string"
    if not url.strip():
        return "must not be empty"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return f"must not contain spaces or control characters: {_display(url)!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return f"is not a valid URL: {_display(url)!r}"
    if "://" not in url:
        guess = "" if url.startswith("/") else f" (did you mean 'http://{_display(url)}'?)"
        return f"must be an absolute http:// or https:// URL, got {_display(url)!r}{guess}"
    if parts.scheme not in ("http", "https"):
        return f"must use http:// or https://, not {parts.scheme}://"
    if not parts.hostname:
        return f"has no host: {_display(url)!r}"
    return None


def validate_base_url(url: str, *, field: str = "baseURL", provider: str | None = None) -> str:
    """Return `url` unchanged, or raise `ConfigError` naming the field."""
    problem = base_url_problem(url)
    if problem is not None:
        raise ConfigError(
            f"the base URL {problem}",
            field=field,
            provider=provider,
            hint="Use the server's address, e.g. http://localhost:11434/v1",
        )
    return url


def _split(base_url: str) -> tuple[SplitResult, str]:
    """Validated parts, and the path without trailing slashes."""
    validate_base_url(base_url)
    parts = urlsplit(base_url)
    return parts, parts.path.rstrip("/")


def _join(parts: SplitResult, path: str) -> str:
    # The query (Azure's api-version) stays at the end; a fragment is never sent anyway.
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _strip_endpoint(path: str) -> str | None:
    """The path before a trailing `/chat/completions` or `/responses`, or None."""
    for suffix in _SUFFIX.values():
        if path.lower().endswith(suffix):
            return path[: -len(suffix)]
    return None


def _is_versioned(path: str) -> bool:
    """True when the path already says which API it is: a version segment or Azure deployment."""
    if _AZURE_DEPLOYMENTS in path.lower() + "/":
        return True
    return any(_VERSION.fullmatch(segment) for segment in path.split("/"))


def resolve_endpoint(
    base_url: str, shape: ApiShape = "chat-completions", mode: UrlMode = "auto"
) -> str:
    """The URL to POST a `shape` request to, following DESIGN.md's endpoint rules.

    A base that already ends with an endpoint is used as is (with `/chat/completions` and
    `/responses` swapped when `shape` asks for the other), in both modes: doubling the path is
    never what anyone means.
    """
    suffix = _SUFFIX[shape]
    parts, path = _split(base_url)
    prefix = _strip_endpoint(path)
    if prefix is not None:
        return _join(parts, prefix + suffix)
    if mode == "verbatim" or _is_versioned(path):
        return _join(parts, path + suffix)
    return _join(parts, path + "/v1" + suffix)


def models_endpoint(base_url: str, mode: UrlMode = "auto") -> str:
    """The sibling `/models` listing for a base URL (or a full endpoint URL)."""
    parts, path = _split(base_url)
    azure = path.lower().find(_AZURE_DEPLOYMENTS)
    if azure >= 0:
        # Azure lists models per resource, not per deployment: /openai/models?api-version=...
        return _join(parts, path[:azure] + "/openai/models")
    prefix = _strip_endpoint(path)
    if prefix is not None:
        return _join(parts, prefix + "/models")
    if mode == "verbatim" or _is_versioned(path):
        return _join(parts, path + "/models")
    return _join(parts, path + "/v1/models")


def embeddings_endpoint(base_url: str, mode: UrlMode = "auto") -> str:
    """The sibling `/embeddings` of the chat endpoint: the same rules as `resolve_endpoint`
    (verbatim mode, a full endpoint URL, an Azure deployment keeping its `api-version`)."""
    parts, path = _split(base_url)
    prefix = _strip_endpoint(path)
    if prefix is not None:
        return _join(parts, prefix + "/embeddings")
    if path.lower().endswith("/embeddings"):
        return _join(parts, path)
    if mode == "verbatim" or _is_versioned(path):
        return _join(parts, path + "/embeddings")
    return _join(parts, path + "/v1/embeddings")


def display_url(url: str) -> str:
    """A URL as it may be shown (tables, reprs): any `user:password@` and secret query
    values (`key=`, `sig=`, `code=`, ...) are masked."""
    return redact_url(url)

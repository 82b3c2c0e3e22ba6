"""Pydantic validation errors as one line a settings file's author understands.

Names the camelCase field path and the provider, suggests the closest field for a typo, and
never repeats the input value (it may be a secret pasted into the wrong field).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError

__all__ = ["JSON_TYPES", "error_from_validation"]


_HINTS = {
    "secret_header": 'Point apiKeyRef at the key: {"kind": "env"|"llm"|"keyring", "name": ...}',
    "bad_url": "Use the server's address, e.g. http://localhost:11434/v1",
    "bad_provider_id": "Rename the provider; model ids are <provider>/<model>",
    "unknown_provider": "Add that provider, or point active.provider at one that exists",
    "unknown_model": "Add the model to the provider's models, or pick one that is listed",
}
# Python's names for things, as a JSON file's author knows them.
JSON_TYPES = {
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "bool": "true/false",
    "list": "an array",
    "dict": "an object",
    "NoneType": "null",
}
_WORDS = {
    "Input should be": "should be",
    "a valid dictionary": "an object",
    "a valid list": "an array",
    "a valid integer": "an integer",
    "a valid boolean": "true or false",
    "a valid string": "a string",
}


def _known_fields(loc: tuple[Any, ...]) -> list[str]:
    """The JSON names allowed in the object that holds `loc`'s last part."""
    from .settings import Active, KeyRef, ProviderSettings

    models: dict[tuple[Any, ...], type[BaseModel]] = {
        ("providers", 3): ProviderSettings,
        ("apiKeyRef", 4): KeyRef,
        ("active", 2): Active,
    }
    key = (loc[2] if len(loc) == 4 else loc[0], len(loc)) if loc else ()
    model = models.get(key)
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _suggest(name: str, known: list[str]) -> str | None:
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(err: Mapping[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    """(message, field path, provider id, hint) for one pydantic error, never its input value."""
    loc, etype, ctx = tuple(err["loc"]), err["type"], err.get("ctx") or {}
    provider = ctx.get("provider") or (
        str(loc[1]) if loc[:1] == ("providers",) and len(loc) > 1 else None
    )
    field, hint = ctx.get("path") or _path(loc) or None, _HINTS.get(etype)
    msg = str(err["msg"])
    if etype == "extra_forbidden":
        known = _known_fields(loc)
        guess = _suggest(str(loc[-1]), known)
        msg = f"unknown field {loc[-1]!r}" + (f" (did you mean {guess}?)" if guess else "")
        hint = f"Rename or remove it; known fields: {', '.join(known)}" if known else "Remove it"
    elif etype == "missing":
        msg = f"required field {loc[-1]!r} is missing"
    elif etype.endswith("_type"):
        msg += f" (got {JSON_TYPES.get(type(err.get('input')).__name__, 'something else')})"
    for python, plain in _WORDS.items():
        msg = msg.replace(python, plain)
    return " ".join(msg.split()), field, provider, hint


def error_from_validation(exc: ValidationError, file: str | None) -> ConfigError:
    errors = exc.errors(include_url=False)
    typos = {
        (tuple(e["loc"][:-1]), _suggest(str(e["loc"][-1]), _known_fields(tuple(e["loc"]))))
        for e in errors
        if e["type"] == "extra_forbidden"
    }
    # A misspelt field also shows up as a missing one: report the typo, once, first.
    errors = [
        e
        for e in errors
        if not (e["type"] == "missing" and (tuple(e["loc"][:-1]), e["loc"][-1]) in typos)
    ]
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    msg, field, provider, hint = _describe(errors[0])
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more)"
    return ConfigError(msg, file=file, provider=provider, field=field, hint=hint)

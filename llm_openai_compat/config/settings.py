"""The providers file: load, validate and save it; resolve key references when asked.

Both adapters read the same JSON file (DESIGN.md, "The settings file"). A broken file must
never break `llm`, so every problem becomes one `ConfigError` whose one-line message names the
file, the provider and the camelCase field path. Keys are references only: resolved when a
request is sent, never at load time, and never held by a model (so never in a repr).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ..errors import ConfigError
from ..http.urls import ApiShape, UrlMode, base_url_problem, display_url

__all__ = [
    "KEYRING_SERVICE",
    "MAX_FILE_BYTES",
    "Active",
    "EmbeddingModelSettings",
    "FallbackSettings",
    "KeyRef",
    "ProviderSettings",
    "Settings",
    "SettingsCache",
    "error_from_validation",
    "llm_user_dir",
    "load_settings",
    "remove_provider",
    "resolve_api_key",
    "save_settings",
    "set_active",
    "settings_file",
    "settings_path",
    "upsert_provider",
    "usable",
]

KEYRING_SERVICE = "llm-openai-compat"
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64  # of free-form JSON (extraBody, params, capabilities)
SETTINGS_ENV = "OPENAI_COMPAT_SETTINGS"
FILE_NAME = "openai-compat.json"
LLM_APP_NAME = "io.datasette.llm"  # llm's directory name (click.get_app_dir)
# Headers that carry credentials: a secret must come from apiKeyRef, never from the file.
_SECRET_HEADERS = frozenset({"authorization", "api-key"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a valid HTTP header name


def llm_user_dir() -> Path:
    """llm's user directory, found the way llm finds it, without importing llm."""
    env = os.environ.get("LLM_USER_PATH")
    if env:
        return Path(env).expanduser()
    return _app_dir(LLM_APP_NAME)


def _app_dir(name: str) -> Path:
    """Where click's `get_app_dir(name)` puts an app's files (llm uses it), so the core needs
    no host library: %APPDATA% on Windows, Application Support on macOS, else XDG."""
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home()) / name
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / name
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / name


def settings_path() -> Path:
    """`$OPENAI_COMPAT_SETTINGS`, else `openai-compat.json` in llm's user directory."""
    env = os.environ.get(SETTINGS_ENV)
    return Path(env).expanduser() if env else llm_user_dir() / FILE_NAME


# What decides `settings_path()` when neither variable names the file: the home directory.
_HOME_ENV = (
    ("USERPROFILE", "APPDATA", "HOMEDRIVE", "HOMEPATH") if sys.platform == "win32"
    else ("HOME", "XDG_CONFIG_HOME")
)


def settings_file() -> str:
    """`settings_path()` as text, built once per value of what decides it: every call stats
    the file through here, and building the `Path` each time was most of resolving a
    provider (docs/performance.md). A change of any of those variables is seen at once; only
    the variables that matter are read (each read of `os.environ` costs about a microsecond)."""
    get = os.environ.get
    env = get(SETTINGS_ENV)
    if env and env[0] != "~":
        return _settings_file((env,))
    user = get("LLM_USER_PATH")
    if not env and user and user[0] != "~":
        return _settings_file((None, user))
    return _settings_file((env, user, *(get(name) for name in _HOME_ENV)))


@functools.lru_cache(maxsize=8)
def _settings_file(decided_by: tuple[str | None, ...]) -> str:
    return os.fspath(settings_path())


# -- models -----------------------------------------------------------------------------------


def _custom(kind: str, message: str, **ctx: str) -> PydanticCustomError:
    """A validation error; ctx may name the `provider` and `path` for the one-line message."""
    return PydanticCustomError(kind, message, ctx)


def _empty_list() -> list[Any]:
    return []


def _empty_dict() -> dict[str, Any]:
    return {}


# Python functions as default factories, not `list` / `dict`: pydantic inspects a factory's
# signature when it builds the models, and a builtin's goes through `tokenize`, whose first
# use costs ~10 ms of every `llm` command that lists models (docs/performance.md).


class KeyRef(BaseModel):
    """Where a provider's key lives. Never the key itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["env", "keyring", "llm"]
    name: str = Field(min_length=1, strict=True)


class EmbeddingModelSettings(BaseModel):
    """An embedding model given as an object: its id, and the `dimensions` to ask for (for
    servers and models that shorten vectors, such as OpenAI's text-embedding-3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, strict=True)
    dimensions: int | None = Field(None, gt=0, strict=True)


MAX_FALLBACKS = 8


class FallbackSettings(BaseModel):
    """One entry of a provider's `fallbacks`: another provider of the file, and the model to
    ask it for (None: the same model id as the failed call)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(min_length=1, strict=True)
    model: str | None = Field(None, min_length=1, strict=True)


class ProviderSettings(BaseModel):
    """One entry of `providers`. Unknown fields are refused, with a suggestion."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    protocol: Literal["openai-compatible"] = "openai-compatible"
    api_key_ref: KeyRef | None = Field(None, alias="apiKeyRef")
    base_url: str = Field(alias="baseURL")
    models: list[str] = Field(default_factory=_empty_list)
    # Ids, or {"id", "dimensions"} objects: served at `/embeddings`, registered with llm as
    # embedding models (never as chat models).
    embedding_models: list[str | EmbeddingModelSettings] = Field(
        default_factory=_empty_list, alias="embeddingModels"
    )
    api_shape: ApiShape = Field("chat-completions", alias="apiShape")
    url_mode: UrlMode = Field("auto", alias="urlMode")
    # None: the transport decides (600 s read, 10 s connect).
    timeout_ms: int | None = Field(None, alias="timeoutMs", gt=0, strict=True)
    # The whole call's budget, retries, backoff and fallbacks included. None: no total bound.
    deadline_ms: int | None = Field(None, alias="deadlineMs", gt=0, strict=True)
    headers: dict[str, str] = Field(default_factory=_empty_dict)
    default_params: dict[str, Any] = Field(default_factory=_empty_dict, alias="defaultParams")
    model_params: dict[str, dict[str, Any]] = Field(default_factory=_empty_dict, alias="modelParams")
    extra_body: dict[str, Any] = Field(default_factory=_empty_dict, alias="extraBody")
    profile: str | None = None
    system_message_mode: Literal["system", "developer", "remove"] | None = Field(
        None, alias="systemMessageMode"
    )
    verify_tls: bool = Field(True, alias="verifyTls", strict=True)
    max_retries: int | None = Field(None, alias="maxRetries", ge=0, le=10, strict=True)
    capabilities: dict[str, Any] = Field(default_factory=_empty_dict)
    # Per model: what its server published about it (`capabilities.capabilities_from_item`),
    # over the provider-level `capabilities`; and the other names llm knows it by.
    model_capabilities: dict[str, dict[str, Any]] = Field(
        default_factory=_empty_dict, alias="modelCapabilities"
    )
    model_aliases: dict[str, list[str]] = Field(default_factory=_empty_dict, alias="modelAliases")
    # Opt-in: the model list is refreshed (in the background of a prompt) once it is older
    # than this; `modelsRefreshedAt` (epoch seconds) is when it was last tried.
    refresh_hours: float | None = Field(None, alias="refreshHours", gt=0)
    models_refreshed_at: int | None = Field(None, alias="modelsRefreshedAt", ge=0, strict=True)
    # Tried in order when a call fails transiently (after its retries, or its breaker is open)
    # before any byte reached the caller. Not transitive: only this provider's own list.
    fallbacks: list[FallbackSettings] = Field(default_factory=_empty_list, max_length=MAX_FALLBACKS)

    def __repr_args__(self) -> Any:
        # A base URL may carry `user:password@`: never show it in a repr.
        for name, value in super().__repr_args__():
            if name == "base_url" and isinstance(value, str):
                value = display_url(value)
            yield name, value

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        problem = base_url_problem(value)
        if problem is not None:
            raise _custom("bad_url", f"the base URL {problem}")
        return value

    @field_validator("models")
    @classmethod
    def _check_models(cls, value: list[str]) -> list[str]:
        if any(not m.strip() for m in value):
            raise _custom("blank", "model names must not be blank")
        seen: set[str] = set()
        repeated: set[str] = set()
        for name in value:  # a set, not `value.count` per name: a long list stays linear
            (repeated if name in seen else seen).add(name)
        twice = sorted(repeated)
        if twice:
            raise _custom("duplicate", f"model {twice[0]!r} is listed twice")
        return value

    @field_validator("fallbacks")
    @classmethod
    def _check_fallbacks(cls, value: list[FallbackSettings]) -> list[FallbackSettings]:
        pairs = [(f.provider, f.model) for f in value]
        twice = sorted({p for p in pairs if pairs.count(p) > 1}, key=str)
        if twice:
            raise _custom("duplicate", f"fallback {twice[0][0]!r} is listed twice")
        return value

    @field_validator("embedding_models")
    @classmethod
    def _check_embedding_models(
        cls, value: list[str | EmbeddingModelSettings]
    ) -> list[str | EmbeddingModelSettings]:
        ids = [m if isinstance(m, str) else m.id for m in value]
        if any(not m.strip() for m in ids):
            raise _custom("blank", "embedding model names must not be blank")
        twice = sorted({m for m in ids if ids.count(m) > 1})
        if twice:
            raise _custom("duplicate", f"embedding model {twice[0]!r} is listed twice")
        return value

    def capabilities_of(self, model: str) -> dict[str, Any]:
        """What is known of one model: the provider's probe, overridden by what was stored
        for the model (by its id, or by one of its `modelAliases`)."""
        return {**self.capabilities, **self.own_capabilities(model)}

    def own_capabilities(self, model: str) -> dict[str, Any]:
        """What was stored for this model alone (by its id or one of its `modelAliases`)."""
        own = self.model_capabilities.get(model)
        if own is None:
            named = next((m for m, names in self.model_aliases.items() if model in names), None)
            own = self.model_capabilities.get(named or "", {})
        return own

    def embedding_dimensions(self) -> dict[str, int | None]:
        """Each embedding model's id and the dimensions to ask for (None: the model's own)."""
        return {
            (m if isinstance(m, str) else m.id): (None if isinstance(m, str) else m.dimensions)
            for m in self.embedding_models
        }

    @field_validator("headers")
    @classmethod
    def _check_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if name.strip().lower() in _SECRET_HEADERS:
                raise _custom(
                    "secret_header",
                    f"the {name!r} header must not be set here; secrets do not belong in this file",
                )
            if not _TOKEN.fullmatch(name) or "\r" in header or "\n" in header:
                raise _custom("bad_header", f"header {name!r} is malformed")
        return value


class Active(BaseModel):
    """The default provider (and model) for `llm` and LangChain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str | None = None


class Settings(BaseModel):
    """The whole file. Unknown top-level keys are kept: the file may be shared with other tools.

    `providers` holds only the entries that validated: a broken entry is in `broken` (its
    one-line error), one of another adapter's `protocol` in `foreign`; both stay in the file
    as they are when it is rewritten, so one typo never disables the other providers.
    """

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    providers: dict[str, ProviderSettings] = Field(default_factory=_empty_dict)
    active: Active | None = None
    request_log: str | None = Field(None, alias="requestLog")
    _broken: dict[str, ConfigError] = PrivateAttr(default_factory=dict)
    _foreign: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def broken(self) -> Mapping[str, ConfigError]:
        """Provider id -> why that entry was skipped (names the file, provider and field)."""
        return dict(self._broken)

    @property
    def foreign(self) -> Mapping[str, str]:
        """Provider id -> the `protocol` of an entry another adapter serves (left alone)."""
        return dict(self._foreign)

    @field_validator("providers")
    @classmethod
    def _check_ids(cls, value: dict[str, ProviderSettings]) -> dict[str, ProviderSettings]:
        for pid in value:
            if not pid or "/" in pid or any(c.isspace() for c in pid):
                raise _custom(
                    "bad_provider_id",
                    f"provider id {pid!r} must be non-empty, without '/' or spaces",
                    provider=pid,
                    path=f"providers.{pid}",
                )
        return value

    @model_validator(mode="after")
    def _check_active(self, info: ValidationInfo) -> Settings:
        if self.active is None:
            return self
        pid, model = self.active.provider, self.active.model
        skipped = (info.context or {}).get("skipped", ())
        if pid in skipped:  # broken or foreign: resolving it names the reason
            return self
        provider = self.providers.get(pid)
        if provider is None:
            known = ", ".join(self.providers) or "none"
            raise _custom(
                "unknown_provider",
                f"active provider {pid!r} is not in providers (known: {known})",
                provider=pid,
                path="active.provider",
            )
        if model is not None and provider.models and model not in provider.models:
            raise _custom(
                "unknown_model",
                f"active model {model!r} is not in the models of provider {pid!r}",
                provider=pid,
                path="active.model",
            )
        return self


# -- validation errors as one line ---------------------------------------------------------
# A pydantic error names the camelCase field path and the provider, suggests the closest field
# for a typo, and never repeats the input value (it may be a secret pasted into the wrong field).


_HINTS = {
    "secret_header": 'Point apiKeyRef at the key: {"kind": "env"|"llm"|"keyring", "name": ...}',
    "bad_url": "Use the server's address, e.g. http://localhost:11434/v1",
    "bad_provider_id": "Rename the provider; model ids are <provider>/<model>",
    "unknown_provider": "Add that provider, or point active.provider at one that exists",
    "unknown_model": "Add the model to the provider's models, or pick one that is listed",
}
# Python's names for things, as a JSON file's author knows them.
_JSON_TYPES = {
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
    models: dict[tuple[Any, ...], type[BaseModel]] = {
        ("providers", 3): ProviderSettings,
        ("apiKeyRef", 4): KeyRef,
        ("active", 2): Active,
    }
    key = (loc[2] if len(loc) == 4 else loc[0], len(loc)) if loc else ()
    model = models.get(key)
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _suggest(name: str, known: list[str]) -> str | None:
    import difflib  # only for a misspelt field: not at every llm command's registration

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
        msg += f" (got {_JSON_TYPES.get(type(err.get('input')).__name__, 'something else')})"
    for python, plain in _WORDS.items():
        msg = msg.replace(python, plain)
    return " ".join(msg.split()), field, provider, hint


def _in_provider(err: Mapping[str, Any], provider: str) -> dict[str, Any]:
    """An error about one provider's fields, located as if in the file (`providers.ID.field`),
    with the Python field name given in code replaced by its camelCase name."""
    loc = list(err["loc"])
    if loc and isinstance(loc[0], str) and loc[0] in ProviderSettings.model_fields:
        loc[0] = ProviderSettings.model_fields[loc[0]].alias or loc[0]
    return {**err, "loc": ("providers", provider, *loc)}


def error_from_validation(
    exc: ValidationError, file: str | None, *, provider: str | None = None
) -> ConfigError:
    """The one-line ConfigError for a failed validation: of the whole file, or (`provider`
    given) of one provider's fields, e.g. overrides given in code to `resolve_provider`."""
    errors: list[Mapping[str, Any]] = list(exc.errors(include_url=False))
    if provider is not None:
        errors = [_in_provider(e, provider) for e in errors]
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
    msg, field, named, hint = _describe(errors[0])
    if provider is not None and field is not None:
        field = field.removeprefix(f"providers.{provider}.")  # a field of that provider
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more)"
    if file is None and hint is None:  # values given in code: no file to fix
        hint = "Correct the value passed for that field"
    return ConfigError(msg, file=file, provider=named, field=field, hint=hint)


# -- loading ----------------------------------------------------------------------------------

_Stamp = tuple[int, int, int, int]  # (mtime_ns, size, inode, device)


class SettingsCache:
    """Parsed settings by what a path points at, a regular file's (mtime, size, inode, device):
    a file unchanged since it was parsed is found with one stat of the path as given, without
    resolving it (a syscall per part) or reading it; a symlink pointed elsewhere, or an edit,
    is another stamp. At most `limit` entries (a runtime owns one: `Runtime.settings`)."""

    def __init__(self, limit: int = 16) -> None:
        self.limit = limit
        self._files: dict[_Stamp, Settings] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SettingsCache({len(self._files)} files)"

    def load(self, path: Path | None = None) -> Settings:
        """`load_settings` through this cache."""
        return load_settings(path, cache=self)

    def get(self, stamp: _Stamp) -> Settings | None:
        return self._files.get(stamp)

    def put(self, stamp: _Stamp, settings: Settings) -> None:
        with self._lock:
            if stamp not in self._files and len(self._files) >= self.limit:
                self._files.pop(next(iter(self._files)))
            self._files[stamp] = settings


def _stamp(path: str) -> _Stamp | None:
    """What `path` points at (symlinks followed), if a regular file; else None (no file, or
    one `_read_raw` must judge)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)


def _read_raw(path: Path) -> dict[str, Any] | None:
    """The file's JSON object, or None when there is no file."""
    problem, hint = None, None
    try:
        st = path.stat()
        if path.is_dir():
            problem, hint = "is a directory, not a file", f"Point {SETTINGS_ENV} at a JSON file"
        elif stat.S_ISFIFO(st.st_mode):  # opening a pipe with no writer would block forever
            problem, hint = "is a named pipe, not a file", f"Point {SETTINGS_ENV} at a JSON file"
        elif st.st_size > MAX_FILE_BYTES:
            problem = f"is {st.st_size / 1048576:.1f} MB; settings files over 5 MB are refused"
        else:
            with path.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        problem, hint = (
            f"cannot be read ({exc.strerror or type(exc).__name__})",
            "Check its permissions",
        )
    if problem is None:
        raw, problem, hint = _parse(data)
        if raw is not None:
            return raw
    raise ConfigError(f"the settings file {problem}", file=str(path), hint=hint)


def _parse(data: bytes) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """(object, None, None), or (None, problem, hint) for bytes that are no settings file."""
    if len(data) > MAX_FILE_BYTES:
        return None, "is over 5 MB; settings files that large are refused", None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return (
            None,
            f"is not UTF-8 text (bad byte at offset {exc.start})",
            "Replace it with a JSON file",
        )
    if not text.strip():
        return None, "is empty", 'Write {"providers": {}} into it, or delete it'
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", None
    except RecursionError:
        return None, "is nested too deeply to be a settings file", None
    if not isinstance(raw, dict):
        kind = _JSON_TYPES.get(type(raw).__name__, "something else")
        return None, f"must hold a JSON object, not {kind}", 'Start it with {"providers": {...}}'
    return raw, None, None


PROTOCOL = "openai-compatible"


def _validate_one(
    provider_id: str, entry: Any, file: str | None
) -> ProviderSettings | ConfigError:
    """One `providers` entry validated, or why it is unusable (the error the whole file would
    give)."""
    try:
        alone = Settings.model_validate({"providers": {provider_id: entry}})
    except ValidationError as exc:
        # Returned, not chained: no ValidationError (holding input values) travels on.
        return error_from_validation(exc, file)
    try:
        _check_params(alone, file)
    except ConfigError as error:
        return error
    return alone.providers[provider_id]


def _fallback_problem(
    provider_id: str, entry: Mapping[str, Any], providers: Mapping[str, Any], file: str | None
) -> ConfigError | None:
    """Why a provider's `fallbacks` cannot be followed: one names the provider itself or one
    that is not in the file. (A fallback that is itself broken is skipped when called, so one
    typo elsewhere never disables this provider.)"""
    for index, fallback in enumerate(entry.get("fallbacks") or ()):
        other = fallback["provider"]
        problem = None
        if other == provider_id:
            problem = "a provider cannot fall back to itself"
        elif other not in providers:
            problem = f"fallback provider {other!r} is not in providers (known: {', '.join(providers)})"
        if problem is not None:
            return ConfigError(
                problem, file=file, provider=provider_id, field=f"providers.{provider_id}.fallbacks[{index}].provider",
                hint="Name another provider of this file, or remove the entry",
            )
    return None


def _validate(raw: Mapping[str, Any], file: str | None) -> Settings:
    """The settings of a file: each provider validated alone (a broken one is skipped and
    recorded, another adapter's is set aside quietly); a broken top level fails as a whole."""
    providers = raw.get("providers")
    broken: dict[str, ConfigError] = {}
    foreign: dict[str, str] = {}
    good: Any = providers
    if isinstance(providers, dict):
        good = {}
        for pid, entry in providers.items():
            protocol = entry.get("protocol", PROTOCOL) if isinstance(entry, dict) else PROTOCOL
            if isinstance(protocol, str) and protocol != PROTOCOL and protocol.strip():
                foreign[pid] = protocol
                continue
            validated = _validate_one(pid, entry, file)
            problem = validated if isinstance(validated, ConfigError) else (
                _fallback_problem(pid, entry, providers, file)
            )
            if problem is None:
                good[pid] = validated  # taken as it is by the file's validation below
            else:
                broken[pid] = problem
    try:
        settings = Settings.model_validate(
            {**raw, "providers": good}, context={"skipped": {*broken, *foreign}}
        )
    except ValidationError as exc:
        error = error_from_validation(exc, file)
    else:
        settings._broken.update(broken)
        settings._foreign.update(foreign)
        return settings
    # Raised outside the except block so no ValidationError (holding input values) is chained.
    raise error


def usable(settings: Settings, provider_id: str, file: str | None) -> None:
    """Raise why `provider_id` cannot be used: its own error if broken, another adapter's."""
    if provider_id in settings.broken:
        raise settings.broken[provider_id]
    protocol = settings.foreign.get(provider_id)
    if protocol is not None:
        raise ConfigError(
            f"provider {provider_id!r} has protocol {protocol!r}, not {PROTOCOL!r}",
            file=file,
            provider=provider_id,
            field=f"providers.{provider_id}.protocol",
            hint="Another adapter serves it; pick a provider of this plugin",
        )


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether objects and arrays nest more than `limit` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children and depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _check_params(settings: Settings, file: str | None) -> None:
    """Every provider's defaultParams and modelParams, checked for its shape; free-form JSON
    nested deeper than any request needs (it could not even be sent) is refused here."""
    from .params import validate_params

    for provider_id, provider in settings.providers.items():
        free_form = {
            "extraBody": provider.extra_body,
            "defaultParams": provider.default_params,
            "modelParams": provider.model_params,
            "capabilities": provider.capabilities,
        }
        for name, value in free_form.items():
            if _too_deep(value):
                raise ConfigError(
                    f"nested more than {MAX_DEPTH} levels deep",
                    file=file, provider=provider_id, field=f"providers.{provider_id}.{name}",
                )
        layers = [("defaultParams", provider.default_params)]
        layers += [(f"modelParams.{m}", p) for m, p in provider.model_params.items()]
        for where, params in layers:
            try:
                validate_params(
                    params, provider.api_shape, where=f"providers.{provider_id}.{where}"
                )
            except ConfigError as exc:
                problem = exc
            else:
                continue
            raise ConfigError(
                problem.message,
                file=file,
                provider=provider_id,
                field=problem.field,
                hint=problem.hint,
            )


def _where(path: Path | None) -> Path:
    """The real file: symlinks followed, so saves replace the target, not the link."""
    path = (path or settings_path()).expanduser()
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        return path.absolute()


def load_settings(path: Path | None = None, *, cache: SettingsCache | None = None) -> Settings:
    """The parsed settings; no file means empty settings. With a `cache` (a runtime's), a file
    unchanged since it was parsed (same mtime, size, inode and device) is not parsed again:
    every call resolves its provider through here."""
    stamp = None
    if cache is not None:
        # Stat before anything is read: a file changed meanwhile has another stamp next time.
        stamp = _stamp(os.fspath(path) if path is not None else settings_file())
        hit = cache.get(stamp) if stamp is not None else None
        if hit is not None:
            return hit
    where = _where(path)
    raw = _read_raw(where)
    if raw is None:
        return Settings.model_validate({})
    settings = _validate(raw, str(where))
    if cache is not None and stamp is not None:
        cache.put(stamp, settings)
    return settings


# -- saving -----------------------------------------------------------------------------------


def _provider_raw(provider: ProviderSettings, old: Any) -> dict[str, Any]:
    """A provider as JSON: non-default fields, plus defaults the user spelt out, in their order."""
    full = provider.model_dump(by_alias=True, mode="json")
    keep = set(provider.model_dump(by_alias=True, mode="json", exclude_defaults=True))
    fields = ProviderSettings.model_fields
    keep |= {fields[name].alias or name for name in provider.model_fields_set}
    old = old if isinstance(old, dict) else {}
    keep |= {k for k in old if k in full and full[k] == old[k]}
    return {k: full[k] for k in [*old, *full] if k in keep}


def _settings_raw(settings: Settings, old: dict[str, Any]) -> dict[str, Any]:
    old_providers = old.get("providers")
    old_providers = old_providers if isinstance(old_providers, dict) else {}
    raw = {k: v for k, v in old.items() if k not in ("providers", "active", "requestLog")}
    raw.update(settings.model_extra or {})
    kept = {**settings.broken, **settings.foreign}  # left as the user (or adapter) wrote them
    raw["providers"] = {pid: v for pid, v in old_providers.items() if pid in kept}
    raw["providers"].update(
        {pid: _provider_raw(p, old_providers.get(pid)) for pid, p in settings.providers.items()}
    )
    if settings.active is not None:
        raw["active"] = settings.active.model_dump(exclude_none=True)
    if settings.request_log is not None:
        raw["requestLog"] = settings.request_log
    return raw


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), 0o600)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# How long a writer waits for another process's write to finish (a write takes milliseconds).
_LOCK_WAIT_S = 15.0


@contextlib.contextmanager
def _write_lock(path: Path) -> Iterator[None]:
    """Serialize every read-modify-write of `path` across threads and processes.

    `os.replace` keeps the file whole, but two writers that both read the old file lose one
    update (ten concurrent `llm openai-compat add` left seven providers). Writers therefore
    hold an exclusive lock on a sibling `.NAME.lock` while they re-read, change and replace
    the file: `fcntl.flock` on POSIX (released by the OS if the process dies); elsewhere a
    lock file created with O_EXCL, taken over when older than a minute (a crashed writer)."""
    release = _acquire(path)
    try:
        yield
    finally:
        release()


def _acquire(path: Path) -> Callable[[], None]:
    """Take the lock (waiting up to `_LOCK_WAIT_S`); returns what releases it."""
    lock = path.with_name(f".{path.name}.lock")
    deadline = time.monotonic() + _LOCK_WAIT_S
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Windows
            return _acquire_exclusive_file(lock, deadline)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return functools.partial(os.close, fd)  # closing releases the lock
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise TimeoutError from None
                time.sleep(0.005)
    except TimeoutError:
        hint = f"Another process is writing it; try again, or delete {lock.name} if none is"
        raise ConfigError(
            f"the settings file is locked for over {_LOCK_WAIT_S:.0f} s", file=str(path), hint=hint
        ) from None
    except OSError as exc:
        hint = "Check the directory exists and is writable"
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"could not lock the settings file ({reason})", file=str(path), hint=hint) from None


def _acquire_exclusive_file(lock: Path, deadline: float) -> Callable[[], None]:
    """The portable fallback: whoever creates the lock file holds the lock."""
    while True:
        try:
            os.close(os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return functools.partial(lock.unlink, missing_ok=True)
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - lock.stat().st_mtime > 60:
                    lock.unlink()
                    continue
            if time.monotonic() > deadline:
                raise TimeoutError from None
            time.sleep(0.005)


def _commit(
    raw: dict[str, Any], old: Mapping[str, Any], path: Path, *, check: Iterable[str] = ()
) -> Settings:
    """Validate the whole new file, then replace the old one; on any failure nothing changes.
    `check`: the providers this change is about, which must be usable; an entry it did not
    touch may stay broken (or another adapter's), as it was."""
    settings = _validate(raw, str(path))
    for provider_id in check:
        usable(settings, provider_id, str(path))
    ordered = {k: raw[k] for k in old if k in raw} | raw  # the file's key order, new keys last
    try:
        _write_atomic(path, json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    else:
        return settings  # a cached parse of the old file no longer matches its stamp
    hint = "Check the directory exists and is writable"
    raise ConfigError(f"could not write the settings file ({reason})", file=str(path), hint=hint)


def save_settings(
    settings_or_raw: Settings | Mapping[str, Any], path: Path | None = None
) -> Settings:
    """Write settings (a `Settings` or the raw JSON object) atomically, mode 0600.

    Keeps the existing file's unknown top-level keys and key order; fields at their defaults
    are left out unless the user spelt them out, so the file stays as small as they wrote it.
    """
    where = _where(path)
    with _write_lock(where):
        old = _read_raw(where) or {}
        if isinstance(settings_or_raw, Settings):
            return _commit(_settings_raw(settings_or_raw, old), old, where)
        raw = dict(settings_or_raw)
        before, after = old.get("providers"), raw.get("providers")
        before = before if isinstance(before, dict) else {}
        changed = [p for p, v in after.items() if before.get(p) != v] if isinstance(after, dict) else []
        return _commit(raw, old, where, check=changed)


@contextlib.contextmanager
def _edit(path: Path | None) -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    """(file, its raw object, a copy of its providers) for a read-modify-write, read and
    written back under the file's write lock (so concurrent edits all survive)."""
    where = _where(path)
    with _write_lock(where):
        yield _edit_read(where)


def _edit_read(where: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    old = _read_raw(where) or {}
    providers = old.get("providers", {})
    if not isinstance(providers, dict):
        raise ConfigError("providers must be a JSON object", file=str(where), field="providers")
    return where, old, dict(providers)


def upsert_provider(
    provider_id: str, provider: ProviderSettings, path: Path | None = None
) -> Settings:
    """Add or replace one provider; everything else in the file stays as it was."""
    with _edit(path) as (where, old, providers):
        providers[provider_id] = _provider_raw(provider, providers.get(provider_id))
        return _commit({**old, "providers": providers}, old, where, check=[provider_id])


def remove_provider(provider_id: str, path: Path | None = None) -> Settings:
    """Remove one provider; `active` goes too if it pointed there, and so do other providers'
    `fallbacks` entries naming it (else removing a fallback would break those providers)."""
    with _edit(path) as (where, old, providers):
        if provider_id not in providers:
            hint = f"Known providers: {', '.join(providers) or 'none'}"
            message = f"there is no provider {provider_id!r} to remove"
            raise ConfigError(message, file=str(where), provider=provider_id, hint=hint)
        del providers[provider_id]
        for pid, entry in providers.items():
            fallbacks = entry.get("fallbacks") if isinstance(entry, dict) else None
            if isinstance(fallbacks, list) and any(
                isinstance(f, dict) and f.get("provider") == provider_id for f in fallbacks
            ):
                kept = [f for f in fallbacks if not (isinstance(f, dict) and f.get("provider") == provider_id)]
                providers[pid] = {**entry, "fallbacks": kept}
        raw = {**old, "providers": providers}
        if isinstance(raw.get("active"), dict) and raw["active"].get("provider") == provider_id:
            del raw["active"]
        return _commit(raw, old, where)


def set_active(provider: str, model: str | None = None, path: Path | None = None) -> Settings:
    """Make `provider` (and `model`) the default, checked against the providers listed."""
    with _edit(path) as (where, old, _):
        active = {"provider": provider} if model is None else {"provider": provider, "model": model}
        return _commit({**old, "active": active}, old, where, check=[provider])


def resolve_api_key(
    provider_id: str, provider: ProviderSettings, *, environ: Mapping[str, str] | None = None
) -> str | None:
    """The provider's key, read now (see `keys.resolve_api_key`)."""
    from .keys import resolve_api_key as resolve

    return resolve(provider_id, provider, environ=environ)

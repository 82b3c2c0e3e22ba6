"""Key references, resolved when a request is sent and never earlier.

`env` reads an environment variable, `llm` reads a key stored with `llm keys set NAME` from
llm's keys.json (llm is not imported), `keyring` asks the OS keyring through the optional
`keyring` package, imported only here and only when used. A resolved key goes into the call's
auth header, whose value the call's errors are scrubbed of (`redaction.call_secrets`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..errors import ConfigError, MissingKey, loads_json
from .settings import KEYRING_SERVICE, ProviderSettings, llm_user_dir

__all__ = ["resolve_api_key"]


def _llm_key(name: str) -> str | None:
    """A key stored with `llm keys set NAME`, read from llm's keys.json (llm is not imported)."""
    path = llm_user_dir() / "keys.json"
    try:
        data = loads_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # MalformedJSON is a ValueError
        data = None
    if not isinstance(data, dict):
        hint = f"Check it, or store the key again with `llm keys set {name}`"
        raise ConfigError("llm's keys file is not a JSON object", file=str(path), hint=hint)
    value = data.get(name)
    return value if isinstance(value, str) else None


def _keyring_key(provider_id: str, name: str) -> str | None:
    where = {"provider": provider_id, "field": f"providers.{provider_id}.apiKeyRef"}
    try:
        import keyring
    except ImportError:
        hint = "pip install 'llm-openai-compat[keyring]', or use an env or llm key reference"
        message = f"apiKeyRef names the OS keyring ({name!r}) but keyring is not installed"
        raise MissingKey(message, hint=hint, **where) from None
    try:
        value = keyring.get_password(KEYRING_SERVICE, name)
    except Exception as exc:  # backends raise many kinds; none may hide the clear message below
        reason = type(exc).__name__
    else:
        return value if isinstance(value, str) else None
    hint = f"Check it works (`keyring get {KEYRING_SERVICE} {name}`), or use an env or llm key"
    raise MissingKey(f"the OS keyring could not be read ({reason})", hint=hint, **where)


def resolve_api_key(
    provider_id: str, provider: ProviderSettings, *, environ: Mapping[str, str] | None = None
) -> str | None:
    """The provider's key, read now; None when the provider has no key reference.

    Never falls back to another provider's key or to OPENAI_API_KEY: a wrong key sent to the
    wrong server is worse than a clear error.
    """
    ref = provider.api_key_ref
    if ref is None:
        return None
    if ref.kind == "env":
        value = (os.environ if environ is None else environ).get(ref.name)
    elif ref.kind == "llm":
        value = _llm_key(ref.name)
    else:
        value = _keyring_key(provider_id, ref.name)
    value = value.strip() if value else None
    if value:
        return value
    fix = {
        "env": f"Set the environment variable {ref.name} to the key",
        "llm": f"Store the key with `llm keys set {ref.name}`",
        "keyring": f"Store the key with `keyring set {KEYRING_SERVICE} {ref.name}`",
    }[ref.kind]
    raise MissingKey(
        f"no API key found for the {ref.kind} reference {ref.name!r}",
        provider=provider_id,
        field=f"providers.{provider_id}.apiKeyRef",
        hint=fix,
    )

"""`llm openai-compat ...`: manage providers in the settings file and test their servers.

Every change goes through `settings.upsert_provider` / `remove_provider` / `set_active`, which
validate the whole new file and replace it atomically, keeping keys they do not know. Every
failure a user can cause is one `Error:` line (no traceback) naming what and where; no command
ever prints a key, only where it comes from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .cli_add import checked_profile, discover, known_server_for, parse_headers, validated

if TYPE_CHECKING:
    from ..config.profiles import Adaptation
    from ..config.settings import ProviderSettings, Settings
    from ..probe import ProbeReport

__all__ = ["openai_compat"]

_SHAPES = ("chat-completions", "responses")


@contextmanager
def _user_errors() -> Iterator[None]:
    """Core errors become one `Error: ...` line and exit status 1."""
    from ..errors import OpenAICompatError

    try:
        yield
    except OpenAICompatError as error:
        raise click.ClickException(str(error)) from None


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _load() -> Settings:
    from ..runtime import default_runtime

    return default_runtime().load_settings()


def _provider(settings: Settings, provider_id: str) -> ProviderSettings:
    from ..config.settings import settings_path
    from ..errors import ConfigError

    found = settings.providers.get(provider_id)
    if found is None:
        known = ", ".join(sorted(settings.providers)) or "none yet"
        raise ConfigError(
            f"no provider named {provider_id!r} (known: {known})",
            file=str(settings_path()),
            hint="Add it with `llm openai-compat add ID --base-url URL`",
        )
    return found


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def _key_source(settings: ProviderSettings) -> str:
    ref = settings.api_key_ref
    if ref is None:
        return "none"
    return {
        "env": f"env {ref.name}",
        "llm": f"llm key {ref.name}",
        "keyring": f"keyring {ref.name}",
    }[ref.kind]


@click.group(name="openai-compat")
def openai_compat() -> None:
    """Any OpenAI-compatible server: providers, their models, and a connection test.

    Providers live in one JSON settings file (see `llm openai-compat path`); each model
    of each provider is the llm model PROVIDER/MODEL, and the active one is also
    `openai-compat`.
    """


@openai_compat.command()
def path() -> None:
    """Print where the settings file is (OPENAI_COMPAT_SETTINGS overrides it)."""
    from ..config.settings import settings_path

    where = settings_path()
    click.echo(str(where))
    if not where.exists():
        _progress("(it does not exist yet; `llm openai-compat add` creates it)")


@openai_compat.command()
def providers() -> None:
    """List the providers: base URL, resolved endpoint, shape, models and where the key is."""
    from ..http.urls import display_url, resolve_endpoint

    with _user_errors():
        settings = _load()
    if not settings.providers:
        _progress(
            "No providers yet. Add one with `llm openai-compat add ollama` (or lmstudio, "
            "llamacpp, vllm), or `llm openai-compat add ID --base-url URL`."
        )
        return
    active = settings.active
    rows = []
    for pid, prov in settings.providers.items():
        try:
            endpoint = display_url(resolve_endpoint(prov.base_url, prov.api_shape, prov.url_mode))
        except Exception as error:  # a URL the resolver refuses is shown, not fatal
            endpoint = f"(unresolvable: {error})"
        mark = "*" if active is not None and active.provider == pid else ""
        rows.append(
            [
                mark + pid,
                display_url(prov.base_url),
                endpoint,
                prov.api_shape,
                ", ".join(prov.models) or "-",
                _key_source(prov),
            ]
        )
    click.echo(_table(["id", "base URL", "endpoint", "shape", "models", "key"], rows))
    if active is not None:
        _progress(f"* active: {active.provider}" + (f"/{active.model}" if active.model else ""))


@openai_compat.command()
@click.argument("provider_id")
@click.option(
    "--base-url",
    help="The server's base URL, e.g. http://localhost:11434/v1 (not needed for a well-known "
    "local server)",
)
@click.option(
    "--server",
    help="A well-known local server (ollama, lmstudio, llamacpp, vllm): its usual address and "
    "profile; without --base-url, an ID of that name does the same",
)
@click.option("--profile", help="The vendor profile (quirks), e.g. openai, azure, deepseek, ollama")
@click.option("models", "--model", "-m", multiple=True, help="A model id (repeatable)")
@click.option("--key-env", help="Read the key from this environment variable")
@click.option("--key-keyring", help="Read the key from this OS keyring entry")
@click.option("--key-llm", help="Use the key stored with `llm keys set NAME`")
@click.option("--shape", type=click.Choice(_SHAPES), help="Wire shape (default chat-completions)")
@click.option(
    "headers", "--header", multiple=True, help="An extra header, 'Name: value' (repeatable)"
)
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), help="Read timeout in seconds"
)
@click.option("listing", "--discover", is_flag=True, help="Store the models the server lists")
def add(
    provider_id: str,
    base_url: str | None,
    server: str | None,
    profile: str | None,
    models: tuple[str, ...],
    key_env: str | None,
    key_keyring: str | None,
    key_llm: str | None,
    shape: str | None,
    headers: tuple[str, ...],
    timeout: float | None,
    listing: bool,
) -> None:
    """Add a provider, or update one: fields not given keep their values.

    A well-known local server needs no --base-url: `add ollama` (or `add ID --server
    ollama`) uses its usual address and profile and stores the models it lists (unless
    you name them with --model).

    \b
    llm openai-compat add ollama
    llm openai-compat add gpu --server vllm --base-url http://gpu-box:8000/v1
    llm openai-compat add openai --base-url https://api.openai.com/v1 \\
        --key-llm openai -m gpt-4o-mini --shape responses
    """
    from ..config.settings import set_active, settings_path, upsert_provider

    refs = [(k, v) for k, v in (("env", key_env), ("keyring", key_keyring), ("llm", key_llm)) if v]
    if len(refs) > 1:
        raise click.UsageError("Give at most one of --key-env, --key-keyring, --key-llm")
    if profile is not None:
        profile = checked_profile(profile)
    with _user_errors():
        settings = _load()
        existing = settings.providers.get(provider_id)
        known, named = known_server_for(provider_id, server, base_url, existing)
        raw: dict[str, Any] = (
            existing.model_dump(by_alias=True, exclude_unset=True, mode="json") if existing else {}
        )
        if known is not None:
            defaults = known.provider_settings()
            raw["baseURL"] = base_url or defaults["baseURL"]
            if named or "profile" not in raw:
                raw["profile"] = defaults["profile"]
            listing = listing or not models
            _progress(f"{known.name} at {raw['baseURL']} (profile {raw['profile']})")
        elif base_url:
            raw["baseURL"] = base_url
        if profile:
            raw["profile"] = profile
        if models:
            raw["models"] = list(dict.fromkeys(models))
        if refs:
            raw["apiKeyRef"] = {"kind": refs[0][0], "name": refs[0][1]}
        if shape:
            raw["apiShape"] = shape
        if headers:
            raw["headers"] = {**raw.get("headers", {}), **parse_headers(headers)}
        if timeout is not None:
            raw["timeoutMs"] = max(1, round(timeout * 1000))
        prov = validated(provider_id, raw)
        if listing:
            found = discover(provider_id, prov)
            raw["models"] = list(dict.fromkeys([*models, *found]))
            prov = validated(provider_id, raw)
        _keep_active_valid(settings, provider_id, prov.models)
        saved = upsert_provider(provider_id, prov)
        if saved.active is None:
            set_active(provider_id, prov.models[0] if prov.models else None)
    verb = "Updated" if existing else "Added"
    count = len(prov.models)
    click.echo(
        f"{verb} provider {provider_id!r} with {count} model{'s' * (count != 1)} "
        f"in {settings_path()}"
    )
    if saved.active is None:
        click.echo("It is the active provider (alias `openai-compat`).")
    if not prov.models:
        _progress(
            f"No models yet: add some with --model, or run `llm openai-compat models "
            f"{provider_id} --refresh`."
        )
    elif known is not None:
        _progress(f"Try: llm -m {provider_id}/{prov.models[0]} hi")


def _keep_active_valid(settings: Settings, provider_id: str, models: Sequence[str]) -> None:
    """Before the provider's models become `models`: an active model no longer among them
    would make the file invalid, so the active pair falls back to the provider's first."""
    from ..config.settings import set_active

    active = settings.active
    if active is None or active.provider != provider_id or not active.model:
        return
    if active.model not in models:
        set_active(provider_id, None)
        now = f"{provider_id}/{models[0]}" if models else provider_id
        _progress(f"The active model {active.model!r} is no longer listed; the active one is {now}.")


@openai_compat.command()
@click.argument("provider_id")
def remove(provider_id: str) -> None:
    """Remove a provider (and the active choice, if it pointed there)."""
    from ..config.settings import remove_provider, settings_path

    with _user_errors():
        remove_provider(provider_id)
    click.echo(f"Removed provider {provider_id!r} from {settings_path()}")


@openai_compat.command(name="models")
@click.argument("provider_id")
@click.option("--refresh", is_flag=True, help="Store the listed models as the provider's models")
@click.option("--key", help="An API key (or the name of one stored with `llm keys set`)")
def models_(provider_id: str, refresh: bool, key: str | None) -> None:
    """List the models the server offers (its /models, or the native listing of Ollama and
    LM Studio)."""
    from ..config.settings import upsert_provider

    with _user_errors():
        settings = _load()
        prov = _provider(settings, provider_id)
        found = discover(provider_id, prov, _explicit_key(key))
        if refresh:
            _keep_active_valid(settings, provider_id, found)
            upsert_provider(provider_id, prov.model_copy(update={"models": found}))
    configured = set(prov.models)
    for model in found:
        click.echo(
            f"{provider_id}/{model}"
            + ("" if refresh or model in configured else "  (not configured)")
        )
    if refresh:
        _progress(f"Stored {len(found)} models for provider {provider_id!r}.")


@openai_compat.command()
@click.argument("provider_id")
@click.argument("model", required=False)
def use(provider_id: str, model: str | None) -> None:
    """Make PROVIDER (and MODEL) the active one: the `openai-compat` alias points there."""
    from ..config.settings import set_active

    with _user_errors():
        settings = _load()
        prov = _provider(settings, provider_id)
        set_active(provider_id, model)
    chosen = model or (prov.models[0] if prov.models else None)
    click.echo(
        f"Active: {provider_id}" + (f"/{chosen}" if chosen else "") + " (alias openai-compat)"
    )


def _explicit_key(key: str | None) -> str | None:
    if not key:
        return None
    import llm

    return llm.get_key(explicit_key=key)


def _mark(ok: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[ok]


# Probes whose NO the provider's requests work around, and the adaptation that says how.
_ADAPTED_BY = {"stream_options": "no-stream-options", "developer_role": "no-developer-role"}


def _adaptations(provider_id: str, report: ProbeReport) -> list[Adaptation]:
    """What requests to this provider do differently: for the probes that said NO, and for
    what this process learned from the server's 400s (each once, in that order)."""
    from ..config.profiles import ADAPTATIONS
    from ..runtime import default_runtime

    by_name = {a.name: a for a in ADAPTATIONS}
    found: dict[str, Adaptation] = {}
    for check in report.checks:
        name = _ADAPTED_BY.get(check.name)
        if check.ok is False and name in by_name:
            found[name] = by_name[name]
    for adaptation in default_runtime().learned_adaptations(provider_id):
        found.setdefault(adaptation.name, adaptation)
    return [a for a in found.values() if a.description]


@openai_compat.command()
@click.argument("provider_id")
@click.option("--model", "-m", help="The model to test (default: the active or first one)")
@click.option("--key", help="An API key (or the name of one stored with `llm keys set`)")
@click.option("--no-store", is_flag=True, help="Do not store the capabilities found")
def test(provider_id: str, model: str | None, key: str | None, no_store: bool) -> None:
    """Test the connection and probe what the server supports.

    Checks the resolved URL, the key and the latency, then streaming, usage in
    streams (and whether stream_options is rejected), tool calling, structured
    output (json_schema and json_object), the developer role and the other wire
    shape. The result is stored in the provider's `capabilities`, which the llm
    models follow (tools, schemas, streaming); an `Adapted:` line under the table
    says what requests do differently because of a NO (or of a server's error
    earlier in this process).
    """
    from ..config.settings import settings_path, upsert_provider
    from ..probe import run_probes

    with _user_errors():
        settings = _load()
        prov = _provider(settings, provider_id)
        if model is None:
            active = settings.active
            if active is not None and active.provider == provider_id and active.model:
                model = active.model
            elif prov.models:
                model = prov.models[0]
            else:
                raise click.UsageError(
                    f"Provider {provider_id!r} lists no models: pass --model, or run "
                    f"`llm openai-compat models {provider_id} --refresh` first"
                )
        _progress(f"Testing {provider_id}/{model} ...")
        report = run_probes(
            provider_id,
            prov,
            model,
            api_key=_explicit_key(key),
            on_progress=lambda label: _progress(f"  probing {label} ..."),
        )
    latency = f"{report.latency_s * 1000:.0f} ms" if report.latency_s is not None else "-"
    click.echo(
        f"Provider:  {provider_id}\nModel:     {model}\n"
        f"Endpoint:  {report.endpoint} ({report.shape})\n"
        f"Auth:      {report.auth}\nLatency:   {latency}\n"
    )
    rows = [[c.label, _mark(c.ok), c.detail] for c in report.checks]
    click.echo(_table(["check", "works", "detail"], rows))
    for adaptation in _adaptations(provider_id, report):
        click.echo(f"Adapted: {adaptation.description}")
    if not report.connected:
        raise click.ClickException(f"Could not talk to {provider_id}/{model}; nothing was stored")
    if no_store:
        return
    with _user_errors():
        caps = {**prov.capabilities, **report.capabilities()}
        upsert_provider(provider_id, prov.model_copy(update={"capabilities": caps}))
    _progress(f"Stored the capabilities of {provider_id!r} in {settings_path()}")

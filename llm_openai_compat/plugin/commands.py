"""`llm openai-compat ...`: manage providers in the settings file, list their models and test
their servers.

Every change goes through `settings.upsert_provider` / `remove_provider` / `set_active`, which
validate the whole new file and replace it atomically, keeping keys they do not know. Every
failure a user can cause is one `Error:` line (no traceback) naming what and where; no command
ever prints a key, only where it comes from.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .refresh import model_capabilities, stored_listing

if TYPE_CHECKING:
    from .. import Adaptation, KnownServer, ModelListing, ProbeReport, ProviderSettings, Settings

__all__ = ["openai_compat"]

_SHAPES = ("chat-completions", "responses")


@contextmanager
def _user_errors() -> Iterator[None]:
    """Core errors become one `Error: ...` line and exit status 1."""
    from .. import OpenAICompatError

    try:
        yield
    except OpenAICompatError as error:
        raise click.ClickException(str(error)) from None


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _load() -> Settings:
    from .. import default_runtime

    return default_runtime().load_settings()


def _provider(provider_id: str) -> ProviderSettings:
    """The settings of a provider in the file (`resolve_provider`: one error for a bad name)."""
    from .. import ConfigError, resolve_provider

    target = resolve_provider(provider_id)
    if target.id != provider_id:  # a base URL: these commands manage the file's providers
        raise ConfigError(
            f"{provider_id!r} is a base URL, not a provider id",
            hint=f"Add it first: `llm openai-compat add ID --base-url {provider_id}`",
        )
    return target.settings


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

    \b
    Examples:
      llm openai-compat add ollama
      llm openai-compat models ollama
      llm -m ollama/llama3.2 hi
    """


@openai_compat.command()
def path() -> None:
    """Print where the settings file is (OPENAI_COMPAT_SETTINGS overrides it).

    \b
    Examples:
      llm openai-compat path
      $EDITOR "$(llm openai-compat path)"
      OPENAI_COMPAT_SETTINGS=./team.json llm openai-compat path
    """
    from .. import settings_path

    where = settings_path()
    click.echo(str(where))
    if not where.exists():
        _progress("(it does not exist yet; `llm openai-compat add` creates it)")


@openai_compat.command()
@click.option("as_json", "--json", is_flag=True, help="Print the providers as a JSON object")
def providers(as_json: bool) -> None:
    """List the providers: base URL, resolved endpoint, shape, models and where the key is.

    \b
    Examples:
      llm openai-compat providers
      llm openai-compat providers --json | jq '.ollama.models'
    """
    from .. import display_url, resolve_endpoint

    with _user_errors():
        settings = _load()
    if as_json:
        click.echo(json.dumps(_providers_json(settings), indent=2))
        return
    if not settings.providers and not settings.broken:
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
    for pid, problem in settings.broken.items():
        reason = problem.message + (f" ({problem.field})" if problem.field else "")
        rows.append([pid, "BROKEN: " + reason, "-", "-", "-", "-"])
    click.echo(_table(["id", "base URL", "endpoint", "shape", "models", "key"], rows))
    for pid, problem in settings.broken.items():
        _progress(f"{pid} is skipped until fixed: {problem}")
    if active is not None:
        _progress(f"* active: {active.provider}" + (f"/{active.model}" if active.model else ""))


class _AddCommand(click.Command):
    """`add`, whose unknown key-like options (--api-key, --key, --token) point at the three
    ways a key is given instead of click's closest spelling (which was --shape)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as error:
            if any(w in error.option_name.lower() for w in ("key", "token", "secret", "auth")):
                message = (
                    f"No such option: {error.option_name}. Keys are never stored in the file; "
                    "name where it is: --key-env VAR, --key-llm NAME (`llm keys set NAME`) "
                    "or --key-keyring NAME"
                )
                raise click.NoSuchOption(error.option_name, message, ctx=error.ctx) from None
            raise


@openai_compat.command(cls=_AddCommand)
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
@click.option(
    "models", "--model", "-m", multiple=True,
    help="A model id (repeatable); added to an existing provider's models",
)
@click.option(
    "--replace-models", is_flag=True, help="Make the --model ids the provider's only models"
)
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
    replace_models: bool,
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
    Examples:
      llm openai-compat add ollama
      llm openai-compat add gpu --server vllm --base-url http://gpu-box:8000/v1
      llm openai-compat add openai --base-url https://api.openai.com/v1 \\
          --key-llm openai -m gpt-4o-mini --shape responses
    """
    from .. import ConfigError, set_active, settings_path, upsert_provider

    refs = [(k, v) for k, v in (("env", key_env), ("keyring", key_keyring), ("llm", key_llm)) if v]
    if len(refs) > 1:
        raise click.UsageError("Give at most one of --key-env, --key-keyring, --key-llm")
    if profile is not None:
        profile = _checked_profile(profile)
    with _user_errors():
        settings = _load()
        if provider_id in settings.broken:  # an update would start from a guess: say why
            raise settings.broken[provider_id]
        if provider_id in settings.foreign:  # another adapter's entry is never overwritten
            raise ConfigError(
                f"provider {provider_id!r} belongs to another adapter "
                f"(protocol {settings.foreign[provider_id]!r})",
                file=str(settings_path()),
                provider=provider_id,
                hint="Choose another ID for this provider",
            )
        existing = settings.providers.get(provider_id)
        known, named = _known_server_for(provider_id, server, base_url, existing)
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
        if models:  # added to what the provider has, unless told to replace
            kept = [] if replace_models else list(raw.get("models", []))
            raw["models"] = list(dict.fromkeys([*kept, *models]))
        if refs:
            raw["apiKeyRef"] = {"kind": refs[0][0], "name": refs[0][1]}
        if shape:
            raw["apiShape"] = shape
        if headers:
            raw["headers"] = {**raw.get("headers", {}), **_parse_headers(headers)}
        if timeout is not None:
            raw["timeoutMs"] = max(1, round(timeout * 1000))
        typed = [
            field
            for field, given in (
                ("baseURL", base_url), ("models", models), ("apiKeyRef", refs),
                ("headers", headers), ("timeoutMs", timeout is not None), ("profile", profile),
            )
            if given
        ]  # fmt: skip
        prov = _validated(provider_id, raw, typed)
        if listing:
            found = _discover(provider_id, prov)
            raw["models"] = list(dict.fromkeys([*models, *found.models]))  # the listing, as it is now
            caps = model_capabilities(provider_id, prov, found, None, _progress)
            if caps:
                raw["modelCapabilities"] = caps
            if found.embedding_models:
                raw["embeddingModels"] = _merged_embedding_models(
                    raw.get("embeddingModels", []), found.embedding_models
                )
            prov = _validated(provider_id, raw)
        _keep_active_valid(settings, provider_id, prov.models)
        saved = upsert_provider(provider_id, prov)
        if saved.active is None:
            set_active(provider_id, prov.models[0] if prov.models else None)
    verb = "Updated" if existing else "Added"
    count = len(prov.models)
    embeds = len(prov.embedding_models)
    also = f" and {embeds} embedding model{'s' * (embeds != 1)}" if embeds else ""
    click.echo(
        f"{verb} provider {provider_id!r} with {count} model{'s' * (count != 1)}{also} "
        f"in {settings_path()}"
    )
    if saved.active is None:
        click.echo("It is the active provider (alias `openai-compat`).")
    if not prov.models:
        _progress(
            f"No models yet: add some with --model, or run `llm openai-compat models "
            f"{provider_id} --refresh`."
        )
    else:
        _progress(f"Try: llm -m {provider_id}/{prov.models[0]} hi")


# `models ID`: the table's capability columns (header, the capability key).
_CAPABILITY_COLUMNS = (
    ("tools", "tools"), ("schema", "jsonSchema"), ("images", "images"), ("audio", "audio"),
    ("pdf", "pdf"), ("video", "video"), ("reasoning", "reasoning"),
)


def _capability_cells(caps: Mapping[str, Any]) -> list[str]:
    """yes / no / - (nobody said) per capability column, then the context length."""
    cells = [
        ("yes" if caps[key] else "no") if isinstance(caps.get(key), bool) else "-"
        for _, key in _CAPABILITY_COLUMNS
    ]
    context = caps.get("contextLength") or caps.get("contextWindow")
    return [*cells, str(context) if isinstance(context, int) and context > 0 else "-"]


def _merged_embedding_models(old: list[Any], found: Sequence[str]) -> list[Any]:
    """The embedding models listed now, keeping the entries (with `dimensions`) of those
    already configured; ones no longer listed are dropped, as `models` drops them."""
    by_id = {(m if isinstance(m, str) else m.get("id")): m for m in old}
    return [by_id.get(model, model) for model in found]


def _keep_active_valid(settings: Settings, provider_id: str, models: Sequence[str]) -> None:
    """Before the provider's models become `models`: an active model no longer among them
    would make the file invalid, so the active pair falls back to the provider's first."""
    from .. import set_active

    active = settings.active
    if active is None or active.provider != provider_id or not active.model:
        return
    if active.model not in models:
        set_active(provider_id, None)
        now = f"{provider_id}/{models[0]}" if models else provider_id
        _progress(f"The active model {active.model!r} is no longer listed; the active one is {now}.")


def _providers_json(settings: Settings) -> dict[str, Any]:
    """Each provider as `providers` prints it: URLs without credentials, the key's source
    (never the key), models with their aliases and capabilities."""
    from .. import display_url

    active = settings.active
    return {
        pid: {
            "baseURL": display_url(prov.base_url),
            "apiShape": prov.api_shape,
            "profile": prov.profile,
            "key": _key_source(prov),
            "active": active is not None and active.provider == pid,
            "models": prov.models,
            "embeddingModels": list(prov.embedding_dimensions()),
            "modelAliases": prov.model_aliases,
            "capabilities": prov.capabilities,
            "modelCapabilities": prov.model_capabilities,
            "refreshHours": prov.refresh_hours,
        }
        for pid, prov in settings.providers.items()
    }


@openai_compat.command()
@click.argument("provider_id")
@click.option("--yes", "-y", is_flag=True, help="Remove without asking")
def remove(provider_id: str, yes: bool) -> None:
    """Remove a provider (and the active choice, if it pointed there).

    \b
    Examples:
      llm openai-compat remove lmstudio        # asks first
      llm openai-compat remove lmstudio -y
    """
    from .. import remove_provider, settings_path

    with _user_errors():
        known = provider_id in _load().providers  # an unknown id is an error, not a question
    if known and not yes and not click.confirm(
        f"Remove provider {provider_id!r} from {settings_path()}?", err=True
    ):
        raise click.ClickException(f"Provider {provider_id!r} was not removed")
    with _user_errors():
        remove_provider(provider_id)
    click.echo(f"Removed provider {provider_id!r} from {settings_path()}")


@openai_compat.command(name="models")
@click.argument("provider_id")
@click.option("--refresh", is_flag=True, help="Store the listed models as the provider's models")
@click.option("--key", help="An API key (or the name of one stored with `llm keys set`)")
@click.option("as_json", "--json", is_flag=True, help="Print the models as a JSON list")
def models_(provider_id: str, refresh: bool, key: str | None, as_json: bool) -> None:
    """List the models the server offers (its /models, or the native listing of Ollama and
    LM Studio) as a table: each model's kind, whether the settings file has it, and what is
    known of it (yes, no, or - when nobody said): tools, structured output (schema), image,
    audio, PDF and video input, reasoning, context length; from what the server publishes
    about it, over the provider's probe and what was stored for it.

    With --refresh the list and each model's capabilities (`modelCapabilities`) are stored,
    Ollama's per-model details with progress on stderr.

    \b
    Examples:
      llm openai-compat models ollama
      llm openai-compat models openrouter --refresh
      llm openai-compat models lmstudio --json | jq '.[] | select(.capabilities.images)'

    """
    from .. import CAPABILITY_KEYS, upsert_provider

    with _user_errors():
        settings = _load()
        prov = _provider(provider_id)
        listing = _discover(provider_id, prov, _explicit_key(key))
        found = listing.models
        if refresh:
            _keep_active_valid(settings, provider_id, found)
            raw = prov.model_dump(
                by_alias=True, exclude_unset=True, exclude_none=True, mode="json"
            )
            caps = model_capabilities(provider_id, prov, listing, _explicit_key(key), _progress)
            stored_listing(raw, listing, caps)
            upsert_provider(provider_id, _validated(provider_id, raw))
    configured = set(prov.models)
    configured_embeddings = set(prov.embedding_dimensions())
    entries = []
    for model in found:
        caps = {**prov.capabilities_of(model), **listing.capabilities.get(model, {})}
        entries.append((model, "chat", refresh or model in configured, caps))
    for model in listing.embedding_models:
        caps = dict(listing.capabilities.get(model, {}))
        entries.append((model, "embedding", refresh or model in configured_embeddings, caps))
    if as_json:
        click.echo(json.dumps([
            {"id": f"{provider_id}/{model}", "model": model, "kind": kind, "stored": stored,
             "capabilities": {k: caps[k] for k in CAPABILITY_KEYS if k in caps}}
            for model, kind, stored, caps in entries
        ], indent=2))
    else:
        rows = [
            [f"{provider_id}/{model}", kind, "yes" if stored else "no",
             *(_capability_cells(caps) if kind == "chat" else ["-"] * (len(_CAPABILITY_COLUMNS) + 1))]
            for model, kind, stored, caps in entries
        ]
        header = ["model", "kind", "stored", *(h for h, _ in _CAPABILITY_COLUMNS), "context"]
        click.echo(_table(header, rows) if rows else "(the server lists no models)")
    if refresh:
        count = len(listing.embedding_models)
        _progress(
            f"Stored {len(found)} model{'s' * (len(found) != 1)} and {count} embedding "
            f"model{'s' * (count != 1)} "
            f"for provider {provider_id!r}."
        )


@openai_compat.command()
@click.argument("provider_id")
@click.argument("model", required=False)
def use(provider_id: str, model: str | None) -> None:
    """Make PROVIDER (and MODEL) the active one: the `openai-compat` alias points there.

    \b
    Examples:
      llm openai-compat use ollama
      llm openai-compat use openrouter anthropic/claude-sonnet-4
      llm -m openai-compat hi
    """
    from .. import set_active

    with _user_errors():
        prov = _provider(provider_id)
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
_ADAPTED_BY = {
    "stream_options": "no-stream-options",
    "developer_role": "no-developer-role",
    "json_schema": "no-json-schema",
    "tools": "no-tools",
}


def _adaptations(provider_id: str, report: ProbeReport) -> list[Adaptation]:
    """What requests to this provider do differently: for the probes that said NO, and for
    what this process learned from the server's 400s (each once, in that order)."""
    from .. import ADAPTATIONS, default_runtime

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
@click.option(
    "--all-models", is_flag=True,
    help="Probe each of the provider's models and store each one's capabilities",
)
@click.option(
    "--concurrency", "-j", type=click.IntRange(1, 16), default=2, show_default=True,
    help="With --all-models: how many models are probed at once",
)
def test(
    provider_id: str, model: str | None, key: str | None, no_store: bool, all_models: bool,
    concurrency: int,
) -> None:
    """Test the connection and probe what the server supports.

    Checks the resolved URL, the key and the latency, then streaming, usage in
    streams (and whether stream_options is rejected), tool calling, structured
    output (json_schema and json_object), the developer role and the other wire
    shape. The result is stored in the provider's `capabilities`, which the llm
    models follow (tools, schemas, streaming); an `Adapted:` line under the table
    says what requests do differently because of a NO (or of a server's error
    earlier in this process). With --model the result is stored for that model
    (`modelCapabilities`); --all-models probes every model, --concurrency at a time
    (default 2, so a small local server is not flooded), with progress on stderr.

    \b
    Examples:
      llm openai-compat test ollama
      llm openai-compat test openrouter --model anthropic/claude-sonnet-4
      llm openai-compat test lmstudio --all-models --no-store
      llm openai-compat test openrouter --all-models -j 4
    """
    from .. import run_probes, settings_path, upsert_provider

    if all_models:
        if model is not None:
            raise click.UsageError("Give --model or --all-models, not both")
        _test_all(provider_id, key, no_store, concurrency)
        return
    per_model = model is not None
    with _user_errors():
        settings = _load()
        prov = _provider(provider_id)
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
    # A latency is the time to a working answer: a refused connection has none.
    latency = (
        f"{report.latency_s * 1000:.0f} ms"
        if report.connected and report.latency_s is not None
        else "-"
    )
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
        if per_model:
            _store_model_probe(provider_id, {model: report.capabilities()})
            _progress(f"Stored the capabilities of {provider_id}/{model} in {settings_path()}")
            return
        caps = {**prov.capabilities, **report.capabilities()}
        upsert_provider(provider_id, prov.model_copy(update={"capabilities": caps}))
    _progress(f"Stored the capabilities of {provider_id!r} in {settings_path()}")


def _store_model_probe(provider_id: str, probed: Mapping[str, Mapping[str, Any]]) -> None:
    """Each probed model's results over what was stored for it (its listing's statements)."""
    from .. import upsert_provider

    prov = _provider(provider_id)
    per_model = {m: dict(c) for m, c in prov.model_capabilities.items()}
    for name, caps in probed.items():
        per_model[name] = {**per_model.get(name, {}), **caps}
    upsert_provider(provider_id, prov.model_copy(update={"model_capabilities": per_model}))


def _test_all(provider_id: str, key: str | None, no_store: bool, concurrency: int) -> None:
    """`test --all-models`: every model probed, at most `concurrency` at once (a small local
    server is never flooded), progress on stderr as each starts and ends, one row per model
    in the provider's order."""
    from concurrent.futures import ThreadPoolExecutor

    from .. import run_probes, settings_path

    with _user_errors():
        prov = _provider(provider_id)
        if not prov.models:
            raise click.UsageError(f"Provider {provider_id!r} lists no models to test")
        api_key = _explicit_key(key)
        total = len(prov.models)
        lock = threading.Lock()
        done = 0

        def probe(number: int, name: str) -> ProbeReport:
            nonlocal done
            _progress(f"[{number}/{total}] testing {provider_id}/{name} ...")
            try:
                return run_probes(provider_id, prov, name, api_key=api_key)
            finally:
                with lock:
                    done += 1
                    _progress(f"  {provider_id}/{name} done ({done}/{total})")

        with ThreadPoolExecutor(min(concurrency, total), "openai-compat-test") as pool:
            futures = [pool.submit(probe, n, name) for n, name in enumerate(prov.models, 1)]
            reports = [future.result() for future in futures]
    probed: dict[str, dict[str, Any]] = {}
    rows: list[list[str]] = []
    labels: list[str] = []
    for name, report in zip(prov.models, reports, strict=True):
        labels = labels or [c.label for c in report.checks]
        rows.append([name, *(_mark(c.ok) for c in report.checks)])
        if report.connected:
            probed[name] = report.capabilities()
    click.echo(_table(["model", *labels], rows))
    if not probed:
        raise click.ClickException(f"Could not talk to any model of {provider_id}; nothing was stored")
    if not no_store:
        with _user_errors():
            _store_model_probe(provider_id, probed)
        _progress(f"Stored the capabilities of {len(probed)} models of {provider_id!r} in {settings_path()}")


# -- helpers of `add` and `models` -------------------------------------------------------------


def _parse_headers(values: Sequence[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r} is not 'Name: value'", param_hint="--header")
        headers[name.strip()] = content.strip()
    return headers


# The `add` flag that sets each field: an error about a value the user just typed names it.
_FLAG_OF = {
    "baseURL": ("--base-url", "Pass the server's address, e.g. --base-url http://localhost:11434/v1"),
    "headers": (
        "--header",
        "Keys are not headers: give the key with --key-env VAR, --key-llm NAME or "
        "--key-keyring NAME",
    ),
    "models": ("--model", "Name each model once, e.g. -m llama3.2"),
    "timeoutMs": ("--timeout", "Pass a number of seconds, e.g. --timeout 120"),
    "profile": ("--profile", "Pass one of the listed profiles"),
    "apiKeyRef": ("--key-env/--key-llm/--key-keyring", "Name the key's variable or entry"),
}


def _validated(provider_id: str, raw: dict[str, Any], typed: Sequence[str] = ()) -> ProviderSettings:
    """The provider as ProviderSettings, or the one-line error for what is wrong: about the
    flag, when the wrong value is one given on this command line (`typed`: their fields)."""
    from .. import ConfigError, settings_path, validate_provider

    try:
        return validate_provider(provider_id, raw, file=settings_path())
    except ConfigError as error:
        field = (error.field or "").split(".")[0].split("[")[0]
        if field not in typed or field not in _FLAG_OF:
            raise
        flag, fix = _FLAG_OF[field]
        message = f"{flag}: {error.message}"
    raise click.ClickException(f"{message.rstrip('.')}. {fix}.")


def _discover(
    provider_id: str, prov: ProviderSettings, api_key: str | None = None
) -> ModelListing:
    """The models the server lists, chat and embedding apart: its native listing where the
    profile names one (Ollama's /api/tags, LM Studio's), else OpenAI's /models; progress on
    stderr."""
    from .. import discover_model_listing, listing_urls

    first, *rest = listing_urls(prov)
    _progress(f"Listing models at {first}" + "".join(f" (else {url})" for url in rest) + " ...")
    return discover_model_listing(provider_id, prov, api_key=api_key)


def _known_names() -> str:
    from .. import KNOWN_SERVERS

    return ", ".join(sorted(KNOWN_SERVERS))


def _known_server_for(
    provider_id: str, server: str | None, base_url: str | None, existing: ProviderSettings | None
) -> tuple[KnownServer | None, bool]:
    """The well-known local server whose address and profile `add` uses, and whether it was
    named with --server. An ID like `ollama` names one (with --base-url too: its profile and
    native model listing at that address), unless the ID is an existing provider at another
    address, or with another profile, which is then kept as it is."""
    from .. import known_server

    if server:
        found = known_server(server)
        if found is None:
            raise click.ClickException(
                f"--server {server!r} is not a well-known local server (known: {_known_names()})"
            )
        return found, True
    found = known_server(provider_id)
    if base_url:
        if found is None or (existing is not None and existing.profile not in (None, found.profile)):
            return None, False
        return found, False
    if existing is not None and (found is None or existing.base_url != found.base_url):
        return None, False
    if found is None:
        raise click.ClickException(
            f"{provider_id!r} is not a well-known local server (known: {_known_names()}): "
            "pass --base-url URL, or --server NAME"
        )
    return found, False


def _checked_profile(name: str) -> str:
    """`name` if it is a known vendor profile; else a one-line error listing them."""
    from .. import ConfigError, default_runtime

    try:  # the runtime's registry: the built-in profiles and those extensions register
        default_runtime().get_profile(name or "?", "")
    except ConfigError as error:
        raise click.ClickException(error.message) from None
    return name

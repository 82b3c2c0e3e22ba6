"""The providers file: loading, one-line errors, atomic saves, and key references."""

from __future__ import annotations

import json
import os
import stat
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from llm_openai_compat.config import settings as st
from llm_openai_compat.config.settings import (
    KEYRING_SERVICE,
    ProviderSettings,
    Settings,
    load_settings,
    remove_provider,
    resolve_api_key,
    save_settings,
    set_active,
    settings_path,
    upsert_provider,
)
from llm_openai_compat.errors import ConfigError, MissingKey
from llm_openai_compat.runtime import Runtime
from tests.support.error_chain import iter_chain
from tests.support.spy import spy

CANARY = "sk-canary-0123456789abcdefXYZ"

DESIGN_EXAMPLE: dict[str, Any] = {
    "providers": {
        "ollama": {"baseURL": "http://localhost:11434/v1", "models": ["llama3.2", "qwen3"]},
        "openai-prod": {
            "protocol": "openai-compatible",
            "apiKeyRef": {"kind": "env", "name": "OPENAI_API_KEY"},
            "baseURL": "https://api.openai.com/v1",
            "models": ["gpt-4o", "gpt-4o-mini"],
            "apiShape": "responses",
            "timeoutMs": 60000,
            "headers": {"X-Org": "myorg"},
            "defaultParams": {"temperature": 0.2, "reasoningEffort": "low"},
        },
        "bailian": {
            "apiKeyRef": {"kind": "keyring", "name": "bailian-api-key"},
            "baseURL": "http://192.168.1.253:8317/v1",
            "models": ["qwen3.6-plus", "glm-5"],
        },
    },
    "active": {"provider": "bailian", "model": "qwen3.6-plus"},
}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real user dir (the cache is the test's own runtime's)."""
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm-user"))
    monkeypatch.delenv("OPENAI_COMPAT_SETTINGS", raising=False)


def write(path: Path, data: Any) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def one_line_error(path: Path, *, skipped_ok: bool = False) -> ConfigError:
    """The file's one-line error: raised for the whole file, or (`skipped_ok`) the error of
    the one provider entry that was skipped while the rest of the file loaded."""
    if skipped_ok:
        try:
            settings = load_settings(path)
        except ConfigError as raised:
            error = raised
        else:
            assert len(settings.broken) == 1, settings.broken
            error = next(iter(settings.broken.values()))
    else:
        with pytest.raises(ConfigError) as info:
            load_settings(path)
        error = info.value
    text = str(error)
    assert "\n" not in text
    assert str(path) in text
    assert "Traceback" not in text and "pydantic" not in text.lower()
    # No chained ValidationError/JSONDecodeError carrying the file's contents.
    assert error.__cause__ is None and error.__context__ is None
    return error


# -- paths ------------------------------------------------------------------------------------


def test_settings_path_defaults_to_llm_user_dir(tmp_path: Path) -> None:
    assert settings_path() == tmp_path / "llm-user" / "openai-compat.json"
    assert st.llm_user_dir() == tmp_path / "llm-user"


def test_the_file_stated_is_settings_path_whatever_changes_between_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`settings_file` (what each call stats) is remembered per value of the variables that
    decide it, and must follow each of them at once."""
    home = tmp_path / "home"
    cases: list[dict[str, str | None]] = [
        {"OPENAI_COMPAT_SETTINGS": str(tmp_path / "a.json")},
        {"OPENAI_COMPAT_SETTINGS": str(tmp_path / "b.json")},
        {"OPENAI_COMPAT_SETTINGS": "~/c.json", "HOME": str(home)},
        {"OPENAI_COMPAT_SETTINGS": "~/c.json", "HOME": str(home / "other")},
        {"OPENAI_COMPAT_SETTINGS": None, "LLM_USER_PATH": str(tmp_path / "u1")},
        {"OPENAI_COMPAT_SETTINGS": None, "LLM_USER_PATH": "~/u2", "HOME": str(home)},
        {"OPENAI_COMPAT_SETTINGS": None, "LLM_USER_PATH": None, "HOME": str(home)},
        {"OPENAI_COMPAT_SETTINGS": None, "LLM_USER_PATH": None, "XDG_CONFIG_HOME": str(tmp_path / "x")},
        {"OPENAI_COMPAT_SETTINGS": str(tmp_path / "a.json")},
    ]
    for case in cases:
        for name, value in case.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        assert st.settings_file() == os.fspath(settings_path()), case


def test_settings_path_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_COMPAT_SETTINGS", str(tmp_path / "elsewhere.json"))
    assert settings_path() == tmp_path / "elsewhere.json"


def test_llm_user_dir_without_env_uses_click(monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    monkeypatch.delenv("LLM_USER_PATH")
    assert st.llm_user_dir() == Path(click.get_app_dir("io.datasette.llm"))


def test_default_path_is_used_by_load(tmp_path: Path) -> None:
    (tmp_path / "llm-user").mkdir()
    write(tmp_path / "llm-user" / "openai-compat.json", DESIGN_EXAMPLE)
    assert list(load_settings().providers) == ["ollama", "openai-prod", "bailian"]


# -- loading ----------------------------------------------------------------------------------


def test_missing_file_is_empty_settings(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "nope.json")
    assert settings.providers == {} and settings.active is None


def test_design_example_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "s.json", DESIGN_EXAMPLE))
    prod = settings.providers["openai-prod"]
    assert prod.base_url == "https://api.openai.com/v1"
    assert prod.api_shape == "responses"
    assert prod.timeout_ms == 60000
    assert prod.api_key_ref is not None and prod.api_key_ref.kind == "env"
    assert prod.default_params == {"temperature": 0.2, "reasoningEffort": "low"}
    ollama = settings.providers["ollama"]
    assert ollama.api_key_ref is None and ollama.url_mode == "auto" and ollama.verify_tls
    assert ollama.timeout_ms is None and ollama.max_retries is None
    assert settings.active is not None and settings.active.model == "qwen3.6-plus"


def test_design_example_round_trips(tmp_path: Path) -> None:
    src = write(tmp_path / "s.json", DESIGN_EXAMPLE)
    settings = load_settings(src)
    dst = tmp_path / "copy.json"
    save_settings(settings, dst)
    assert json.loads(dst.read_text()) == DESIGN_EXAMPLE
    assert load_settings(dst) == settings
    # Saving over the original changes nothing, byte for byte meaning and key order.
    save_settings(settings, src)
    assert json.loads(src.read_text()) == DESIGN_EXAMPLE
    assert list(json.loads(src.read_text())["providers"]["openai-prod"]) == list(
        DESIGN_EXAMPLE["providers"]["openai-prod"]
    )


def test_all_fields_and_snake_case_names(tmp_path: Path) -> None:
    provider = {
        "baseURL": "https://x.example/v1",
        "urlMode": "verbatim",
        "modelParams": {"m": {"temperature": 1}},
        "extraBody": {"top_k": 4},
        "profile": "vllm",
        "systemMessageMode": "developer",
        "verifyTls": False,
        "maxRetries": 0,
        "capabilities": {"tools": True},
    }
    settings = load_settings(
        write(tmp_path / "s.json", {"providers": {"p": provider}, "requestLog": "x.jsonl"})
    )
    p = settings.providers["p"]
    assert (p.url_mode, p.profile, p.system_message_mode, p.verify_tls, p.max_retries) == (
        "verbatim",
        "vllm",
        "developer",
        False,
        0,
    )
    assert p.model_params == {"m": {"temperature": 1}} and p.extra_body == {"top_k": 4}
    assert settings.request_log == "x.jsonl"
    by_name = ProviderSettings.model_validate({"base_url": "http://h", "api_shape": "responses"})
    assert by_name.api_shape == "responses"


BROKEN: dict[str, tuple[Any, str | None, str | None, tuple[str, ...]]] = {
    # name: (file contents, provider named, field named, other words the message must hold)
    "empty": ("", None, None, ("empty",)),
    "whitespace": ("  \n ", None, None, ("empty",)),
    "invalid-json": ('{\n  "providers": {,}\n}', None, None, ("line 2", "column")),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\xff\xfe\xfd", None, None, ("UTF-8",)),
    "array": ("[1, 2]", None, None, ("object", "array")),
    "string": ('"hello"', None, None, ("object",)),
    "providers-not-object": ({"providers": []}, None, "providers", ()),
    "models-wrong-type": (
        {"providers": {"ollama": {"baseURL": "http://localhost:11434/v1", "models": "llama3.2"}}},
        "ollama",
        "providers.ollama.models",
        ("array", "got a string"),
    ),
    "model-not-string": (
        {"providers": {"ollama": {"baseURL": "http://h/v1", "models": ["a", 3]}}},
        "ollama",
        "providers.ollama.models[1]",
        (),
    ),
    "duplicate-model": (
        {"providers": {"ollama": {"baseURL": "http://h/v1", "models": ["a", "a"]}}},
        "ollama",
        "providers.ollama.models",
        ("twice",),
    ),
    "unknown-field": (
        {"providers": {"ollama": {"baseUrl": "http://localhost:11434/v1"}}},
        "ollama",
        "providers.ollama.baseUrl",
        ("did you mean baseURL?",),
    ),
    "missing-baseURL": (
        {"providers": {"ollama": {"models": []}}},
        "ollama",
        "providers.ollama.baseURL",
        ("missing",),
    ),
    "relative-url": (
        {"providers": {"ollama": {"baseURL": "localhost:11434/v1"}}},
        "ollama",
        "providers.ollama.baseURL",
        ("did you mean 'http://localhost:11434/v1'?",),
    ),
    "no-scheme-url": (
        {"providers": {"p": {"baseURL": "/v1"}}},
        "p",
        "providers.p.baseURL",
        ("absolute",),
    ),
    "file-url": (
        {"providers": {"p": {"baseURL": "file:///etc/passwd"}}},
        "p",
        "providers.p.baseURL",
        ("file://",),
    ),
    "authorization-header": (
        {
            "providers": {
                "p": {"baseURL": "http://h/v1", "headers": {"Authorization": f"Bearer {CANARY}"}}
            }
        },
        "p",
        "providers.p.headers",
        ("Authorization", "apiKeyRef"),
    ),
    "api-key-header": (
        {"providers": {"p": {"baseURL": "http://h/v1", "headers": {"API-Key": CANARY}}}},
        "p",
        "providers.p.headers",
        ("apiKeyRef",),
    ),
    "unknown-active-provider": (
        {"providers": {"p": {"baseURL": "http://h/v1"}}, "active": {"provider": "nope"}},
        "nope",
        "active.provider",
        ("known: p",),
    ),
    "unknown-active-model": (
        {
            "providers": {"p": {"baseURL": "http://h/v1", "models": ["a"]}},
            "active": {"provider": "p", "model": "b"},
        },
        "p",
        "active.model",
        (),
    ),
    "bad-shape": (
        {"providers": {"p": {"baseURL": "http://h", "apiShape": "completions"}}},
        "p",
        "providers.p.apiShape",
        (),
    ),
    "negative-timeout": (
        {"providers": {"p": {"baseURL": "http://h", "timeoutMs": -1}}},
        "p",
        "providers.p.timeoutMs",
        (),
    ),
    "retries-too-high": (
        {"providers": {"p": {"baseURL": "http://h", "maxRetries": 11}}},
        "p",
        "providers.p.maxRetries",
        (),
    ),
    "bool-as-int": (
        {"providers": {"p": {"baseURL": "http://h", "timeoutMs": True}}},
        "p",
        "providers.p.timeoutMs",
        (),
    ),
    "bad-key-kind": (
        {"providers": {"p": {"baseURL": "http://h", "apiKeyRef": {"kind": "file", "name": "x"}}}},
        "p",
        "providers.p.apiKeyRef.kind",
        (),
    ),
    "key-ref-typo": (
        {"providers": {"p": {"baseURL": "http://h", "apiKeyRef": {"kind": "env", "nmae": "X"}}}},
        "p",
        "providers.p.apiKeyRef.nmae",
        ("did you mean name?",),
    ),
    "blank-key-name": (
        {"providers": {"p": {"baseURL": "http://h", "apiKeyRef": {"kind": "env", "name": ""}}}},
        "p",
        "providers.p.apiKeyRef.name",
        (),
    ),
    "header-injection": (
        {"providers": {"p": {"baseURL": "http://h", "headers": {"X-A": "a\r\nX-B: b"}}}},
        "p",
        "providers.p.headers",
        ("malformed",),
    ),
    "provider-id-slash": (
        {"providers": {"a/b": {"baseURL": "http://h"}}},
        "a/b",
        "providers.a/b",
        ("'/'",),
    ),
    "provider-id-space": (
        {"providers": {"a b": {"baseURL": "http://h"}}},
        "a b",
        "providers.a b",
        (),
    ),
    "several": (
        {"providers": {"p": {"baseURL": "nope", "models": 1, "apiShape": 2}}},
        "p",
        "providers.p.baseURL",
        ("(and 2 more)",),
    ),
}


@pytest.mark.parametrize(
    ("contents", "provider", "field", "words"), BROKEN.values(), ids=list(BROKEN)
)
def test_broken_files_give_one_line_config_error(
    tmp_path: Path, contents: Any, provider: str | None, field: str | None, words: tuple[str, ...]
) -> None:
    path = write(tmp_path / "settings.json", contents)
    # A problem inside one provider skips that provider; any other fails the whole file.
    error = one_line_error(path, skipped_ok=field is not None and field.startswith("providers."))
    text = str(error)
    assert error.file == str(path)
    assert error.provider == provider
    assert error.field == field
    if provider:
        assert repr(provider) in text
    if field:
        assert field in text
    for word in words:
        assert word in text, text
    assert CANARY not in text and CANARY not in repr(error)


def test_huge_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text('{"x": "' + "a" * (5 * 1024 * 1024) + '"}')
    assert "5 MB" in str(one_line_error(path))


def test_directory_is_refused(tmp_path: Path) -> None:
    assert "directory" in str(one_line_error(tmp_path))


def test_unknown_top_level_keys_are_allowed(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "s.json", {"otherTool": {"x": 1}, "providers": {}}))
    assert settings.model_extra == {"otherTool": {"x": 1}}


# -- cache ------------------------------------------------------------------------------------


def test_cache_returns_same_object_until_the_file_changes(tmp_path: Path, runtime) -> None:
    path = write(tmp_path / "s.json", DESIGN_EXAMPLE)
    first = runtime.load_settings(path)
    assert runtime.load_settings(path) is first
    changed = json.loads(json.dumps(DESIGN_EXAMPLE))
    changed["providers"]["ollama"]["models"].append("mistral")
    write(path, changed)
    second = runtime.load_settings(path)
    assert second is not first
    assert second.providers["ollama"].models == ["llama3.2", "qwen3", "mistral"]
    assert Runtime().load_settings(path) is not second  # another runtime, its own cache
    assert load_settings(path) is not second  # no cache given: parsed afresh


def test_a_cache_hit_reads_nothing_so_a_call_costs_the_same_whatever_the_file_holds(
    tmp_path: Path, runtime, monkeypatch
) -> None:
    """Every call resolves its provider through the cache: a hit is one stat, not a read and a
    JSON parse of the whole file (which made n calls with n providers quadratic)."""
    from llm_openai_compat.config import settings as settings_module

    providers = {f"p{i}": {"baseURL": f"http://h{i}/v1"} for i in range(200)}
    path = write(tmp_path / "s.json", {"providers": providers})
    first = runtime.load_settings(path)
    reads = spy(monkeypatch, settings_module, "_read_raw")
    for _ in range(5):
        assert runtime.load_settings(path) is first
    assert reads == []
    write(path, {"providers": {"p0": {"baseURL": "http://h0/v1"}}})  # another size: read again
    assert list(runtime.load_settings(path).providers) == ["p0"]
    assert len(reads) == 1


def test_a_cache_hit_resolves_no_path_and_a_repointed_symlink_is_noticed(
    tmp_path: Path, runtime, monkeypatch
) -> None:
    """A hit is keyed by the path as given and the stat of what it points at: no symlink
    resolution per call, and a link pointed at another file reads that file."""
    from llm_openai_compat.config import settings as settings_module

    a = write(tmp_path / "a.json", {"providers": {"a": {"baseURL": "http://a/v1"}}})
    b = write(tmp_path / "b.json", {"providers": {"b": {"baseURL": "http://b/v1"}}})
    link = tmp_path / "settings.json"
    link.symlink_to(a)
    first = runtime.load_settings(link)
    resolved = spy(monkeypatch, settings_module, "_where")
    for _ in range(3):
        assert runtime.load_settings(link) is first
    assert resolved == []
    link.unlink()
    link.symlink_to(b)
    assert list(runtime.load_settings(link).providers) == ["b"]
    assert list(runtime.load_settings(a).providers) == ["a"]


# -- saving -----------------------------------------------------------------------------------


def test_save_keeps_unknown_keys_and_order_and_mode(tmp_path: Path) -> None:
    original = {"zeta": 1, "providers": {"p": {"baseURL": "http://h/v1"}}, "alpha": {"k": [1]}}
    path = write(tmp_path / "s.json", original)
    os.chmod(path, 0o644)
    settings = load_settings(path)
    upsert_provider("q", ProviderSettings.model_validate({"baseURL": "http://q/v1"}), path)
    saved = json.loads(path.read_text())
    assert list(saved) == ["zeta", "providers", "alpha"]
    assert saved["zeta"] == 1 and saved["alpha"] == {"k": [1]}
    assert saved["providers"] == {"p": {"baseURL": "http://h/v1"}, "q": {"baseURL": "http://q/v1"}}
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A Settings object built without the unknown keys still keeps them in the file.
    save_settings(Settings.model_validate({"providers": {}}), path)
    assert json.loads(path.read_text()) == {"zeta": 1, "providers": {}, "alpha": {"k": [1]}}
    assert settings.model_extra == {"zeta": 1, "alpha": {"k": [1]}}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_save_creates_directory_and_omits_defaults(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "s.json"
    provider = ProviderSettings.model_validate({"baseURL": "http://h/v1", "models": ["m"]})
    upsert_provider("p", provider.model_copy(update={"timeout_ms": 5}), path)
    assert json.loads(path.read_text()) == {
        "providers": {"p": {"baseURL": "http://h/v1", "models": ["m"], "timeoutMs": 5}}
    }
    # Back to defaults: the field leaves the file instead of being written out.
    upsert_provider("p", provider, path)
    assert json.loads(path.read_text()) == {
        "providers": {"p": {"baseURL": "http://h/v1", "models": ["m"]}}
    }
    assert load_settings(path).providers["p"] == provider


def test_defaults_the_user_wrote_are_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.json", {"providers": {"p": {"baseURL": "http://h", "verifyTls": True}}}
    )
    upsert_provider(
        "p", ProviderSettings.model_validate({"baseURL": "http://h/v1", "models": ["m"]}), path
    )
    assert json.loads(path.read_text())["providers"]["p"] == {
        "baseURL": "http://h/v1",
        "verifyTls": True,
        "models": ["m"],
    }


def test_failed_validation_leaves_file_untouched(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", DESIGN_EXAMPLE)
    before = path.read_bytes()
    with pytest.raises(ConfigError):
        save_settings({"providers": {"p": {"baseURL": "file:///x"}}}, path)
    with pytest.raises(ConfigError):
        set_active("missing-provider", None, path)
    with pytest.raises(ConfigError):
        set_active("ollama", "not-listed", path)
    with pytest.raises(ConfigError):
        upsert_provider("bad/id", ProviderSettings.model_validate({"baseURL": "http://h"}), path)
    with pytest.raises(ConfigError):
        remove_provider("not-there", path)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_failure_leaves_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "s.json", DESIGN_EXAMPLE)
    before = path.read_bytes()

    def boom(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(st.os, "replace", boom)
    with pytest.raises(ConfigError, match="No space left"):
        set_active("ollama", "qwen3", path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.is_file() and p.suffix != ".lock"] == ["s.json"]


def test_set_active_and_remove_provider(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", DESIGN_EXAMPLE)
    settings = set_active("ollama", "qwen3", path)
    assert settings.active is not None and settings.active.provider == "ollama"
    assert json.loads(path.read_text())["active"] == {"provider": "ollama", "model": "qwen3"}
    set_active("openai-prod", None, path)
    assert json.loads(path.read_text())["active"] == {"provider": "openai-prod"}
    settings = remove_provider("openai-prod", path)
    assert "openai-prod" not in settings.providers and settings.active is None
    assert "active" not in json.loads(path.read_text())
    assert load_settings(path) == settings


def test_upsert_can_repair_a_broken_entry(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", {"providers": {"p": {"baseUrl": "http://h"}}, "keep": True})
    assert "baseUrl" in str(load_settings(path).broken["p"])
    upsert_provider("p", ProviderSettings.model_validate({"baseURL": "http://h/v1"}), path)
    assert load_settings(path).providers["p"].base_url == "http://h/v1"
    assert json.loads(path.read_text())["keep"] is True


def test_upsert_refuses_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = write(tmp_path / "s.json", "{not json")
    with pytest.raises(ConfigError, match="line 1"):
        upsert_provider("p", ProviderSettings.model_validate({"baseURL": "http://h"}), path)
    assert path.read_text() == "{not json"


# -- keys -------------------------------------------------------------------------------------


def provider_with(kind: str | None, name: str = "MY_KEY") -> ProviderSettings:
    data: dict[str, Any] = {"baseURL": "http://h/v1"}
    if kind:
        data["apiKeyRef"] = {"kind": kind, "name": name}
    return ProviderSettings.model_validate(data)


def test_no_key_ref_means_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    assert resolve_api_key("local", provider_with(None)) is None


def test_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", CANARY)
    assert resolve_api_key("p", provider_with("env")) == CANARY
    assert (
        resolve_api_key("p", provider_with("env"), environ={"MY_KEY": "other-key-1"})
        == "other-key-1"
    )


def test_llm_keys_json(tmp_path: Path) -> None:
    user = tmp_path / "llm-user"
    user.mkdir()
    (user / "keys.json").write_text(json.dumps({"// Note": "secret", "MY_KEY": CANARY}))
    assert resolve_api_key("p", provider_with("llm")) == CANARY
    with pytest.raises(MissingKey):
        resolve_api_key("p", provider_with("llm", "OTHER"))


def test_llm_keys_json_not_imported_from_llm(tmp_path: Path) -> None:
    with pytest.raises(MissingKey):  # no keys.json at all
        resolve_api_key("p", provider_with("llm"))


def test_keyring_key(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []

    def get_password(service: str, name: str) -> str | None:
        calls.append((service, name))
        return CANARY if name == "MY_KEY" else None

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=get_password))
    assert resolve_api_key("p", provider_with("keyring")) == CANARY
    assert calls == [(KEYRING_SERVICE, "MY_KEY")]
    with pytest.raises(MissingKey):
        resolve_api_key("p", provider_with("keyring", "absent"))


def test_keyring_backend_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def get_password(service: str, name: str) -> str | None:
        raise RuntimeError(f"backend exploded with {CANARY}")

    monkeypatch.setitem(sys.modules, "keyring", types.SimpleNamespace(get_password=get_password))
    with pytest.raises(MissingKey) as info:
        resolve_api_key("p", provider_with("keyring"))
    assert "RuntimeError" in str(info.value)
    assert all(CANARY not in str(e) for e in iter_chain(info.value))


def test_keyring_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(MissingKey) as info:
        resolve_api_key("p", provider_with("keyring"))
    assert "pip install 'llm-openai-compat[keyring]'" in str(info.value)


LEADS_WITH = {
    "env": "Set the environment variable MY_KEY",
    "llm": "Store the key with `llm keys set MY_KEY`",
    "keyring": "Store the key with `keyring set llm-openai-compat MY_KEY`",
}


@pytest.mark.parametrize("kind", ["env", "llm", "keyring"])
def test_missing_key_hint_is_the_fix_for_its_kind(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MY_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)  # must never be used as a fallback
    empty = types.SimpleNamespace(get_password=lambda service, name: None)
    monkeypatch.setitem(sys.modules, "keyring", empty)
    with pytest.raises(MissingKey) as info:
        resolve_api_key("myprov", provider_with(kind))
    text = str(info.value)
    assert "\n" not in text
    assert "'myprov'" in text and info.value.provider == "myprov"
    assert info.value.hint.startswith(LEADS_WITH[kind]), text
    others = [lead for k, lead in LEADS_WITH.items() if k != kind]
    assert not any(other in text for other in others), text  # no wrong way first
    assert CANARY not in text


def test_empty_env_value_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "   ")
    with pytest.raises(MissingKey):
        resolve_api_key("p", provider_with("env"))


def test_no_fallback_to_other_providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    settings = load_settings(write(tmp_path / "s.json", DESIGN_EXAMPLE))
    monkeypatch.setitem(
        sys.modules, "keyring", types.SimpleNamespace(get_password=lambda s, n: None)
    )
    # openai-prod's key is set, but bailian must not borrow it.
    assert resolve_api_key("openai-prod", settings.providers["openai-prod"]) == CANARY
    with pytest.raises(MissingKey):
        resolve_api_key("bailian", settings.providers["bailian"])


def test_keys_are_resolved_lazily_and_never_in_reprs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setitem(sys.modules, "keyring", None)  # loading must not need keyring
    settings = load_settings(write(tmp_path / "s.json", DESIGN_EXAMPLE))
    assert CANARY not in repr(settings) and CANARY not in str(settings)
    key = resolve_api_key("openai-prod", settings.providers["openai-prod"])
    assert key == CANARY
    assert CANARY not in repr(settings) and CANARY not in repr(settings.providers["openai-prod"])
    # An error that happens to carry the resolved key is redacted.
    error = ConfigError(f"something mentioned {key}", provider="openai-prod")
    assert CANARY not in str(error) and CANARY not in repr(error)


def test_import_is_light() -> None:
    import subprocess

    code = (
        "import sys; import llm_openai_compat.config.settings; "
        "bad = [m for m in ('llm', 'langchain_core', 'keyring', 'click', 'httpx') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_llms_directory_is_found_where_click_puts_it_without_importing_click(monkeypatch, tmp_path):
    """The core finds llm's user directory as llm does (`click.get_app_dir`), without click."""
    import click

    from llm_openai_compat.config import settings

    monkeypatch.delenv("LLM_USER_PATH", raising=False)
    for xdg in (None, str(tmp_path / "xdg")):
        if xdg is None:
            monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
        assert settings.llm_user_dir() == Path(click.get_app_dir("io.datasette.llm"))

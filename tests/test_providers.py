"""`resolve_provider`'s memo (`Runtime.resolved`): the same `Target` for the same arguments
while the settings file is the parse it came from; anything that decides a target, changed,
is resolved anew. The llm models resolve their provider on every prompt through it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from llm_openai_compat import ConfigError, Secret, resolve_provider
from llm_openai_compat.runtime import Runtime, SnapshotMemo


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "openai-compat.json"
    monkeypatch.setenv("OPENAI_COMPAT_SETTINGS", str(path))
    return path


def _write(path: Path, providers: dict[str, Any], *, replace: bool = False) -> None:
    text = json.dumps({"providers": providers})
    if replace:  # as editors and our own saves do: a new inode
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    else:
        path.write_text(text, encoding="utf-8")


def test_the_same_arguments_on_an_unchanged_file_give_the_same_target(
    _isolated: Path, runtime: Runtime
) -> None:
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:9/v1"}})
    first = resolve_provider("p")
    assert resolve_provider("p") is first
    assert resolve_provider("p", timeout_ms=5000) is resolve_provider("p", timeout_ms=5000)
    assert resolve_provider("p", timeout_ms=5000) is not first
    assert resolve_provider("p", timeout_ms=5000).settings.timeout_ms == 5000


@pytest.mark.parametrize("replace", [False, True])
def test_an_edited_file_is_resolved_anew(
    _isolated: Path, runtime: Runtime, replace: bool
) -> None:
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:9/v1"}})
    first = resolve_provider("p", max_retries=1)
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:10/v1", "headers": {"X-A": "1"}}},
           replace=replace)
    second = resolve_provider("p", max_retries=1)
    assert second is not first
    assert second.settings.base_url == "http://127.0.0.1:10/v1"
    assert second.settings.headers == {"X-A": "1"}
    assert second.settings.max_retries == 1


def test_each_key_has_its_own_target(_isolated: Path, runtime: Runtime) -> None:
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:9/v1"}})
    none, a, b = resolve_provider("p"), resolve_provider("p", api_key="key-a-123456"), resolve_provider(
        "p", api_key=Secret("key-b-123456")
    )
    assert none.api_key is None
    assert a.api_key is not None and a.api_key.get_secret_value() == "key-a-123456"
    assert b.api_key is not None and b.api_key.get_secret_value() == "key-b-123456"
    assert resolve_provider("p", api_key=Secret("key-a-123456")) is a  # a key, however given
    assert "key-a" not in repr(runtime.resolved) and "key-a" not in repr(runtime)


def test_unhashable_overrides_are_resolved_every_time(_isolated: Path, runtime: Runtime) -> None:
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:9/v1"}})
    first = resolve_provider("p", headers={"X-B": "2"})
    second = resolve_provider("p", headers={"X-B": "3"})
    assert (first.settings.headers, second.settings.headers) == ({"X-B": "2"}, {"X-B": "3"})


def test_errors_are_not_remembered(_isolated: Path, runtime: Runtime) -> None:
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:9/v1"}})
    for _ in range(2):
        with pytest.raises(ConfigError, match="no provider named 'q'"):
            resolve_provider("q")
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:9/v1"},
                       "q": {"baseURL": "http://127.0.0.1:11/v1"}}, replace=True)
    assert resolve_provider("q").settings.base_url == "http://127.0.0.1:11/v1"


def test_inline_base_urls_are_remembered_by_what_decides_them(runtime: Runtime) -> None:
    url = "http://127.0.0.1:12/v1"
    first = resolve_provider(url, timeout_ms=1000)
    assert resolve_provider(url, timeout_ms=1000) is first
    assert resolve_provider(url, timeout_ms=2000).settings.timeout_ms == 2000
    assert resolve_provider(url, provider_id="mine").id == "mine"
    with pytest.raises(ConfigError):
        resolve_provider(url, timeout_ms=-1)


def test_each_runtime_has_its_own_memo(_isolated: Path) -> None:
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:9/v1"}})
    one, two = Runtime(), Runtime()
    assert resolve_provider("p", runtime=one) is resolve_provider("p", runtime=one)
    assert resolve_provider("p", runtime=one) is not resolve_provider("p", runtime=two)


def test_the_memo_is_bounded() -> None:
    memo = SnapshotMemo(4)
    snapshot = object()
    for i in range(10):
        memo.put(i, snapshot, str(i))
        assert memo.get(i, snapshot) == str(i)
        assert len(memo._items) <= 4
    assert memo.get(9, object()) is None  # another parse of the file: not answered from here
    assert repr(memo) == "SnapshotMemo(2 entries)"


def test_a_parse_given_is_used_as_it_is(_isolated: Path, runtime: Runtime) -> None:
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:9/v1", "headers": {"X-A": "1"}}})
    parse = runtime.load_settings()
    _write(_isolated, {"p": {"baseURL": "http://127.0.0.1:10/v1"}}, replace=True)
    from_parse = resolve_provider("p", settings=parse)
    assert from_parse.settings.base_url == "http://127.0.0.1:9/v1"
    assert from_parse.settings.headers == {"X-A": "1"}
    assert resolve_provider("p", settings=parse) is from_parse
    assert resolve_provider("p").settings.base_url == "http://127.0.0.1:10/v1"  # the file now
    with pytest.raises(ConfigError, match="no provider named 'q'"):
        resolve_provider("q", settings=parse)

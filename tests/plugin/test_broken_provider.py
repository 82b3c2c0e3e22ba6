"""One broken provider entry disables only itself (issue 14 item 1): llm, LangChain and every
`llm openai-compat` command keep serving the others; another adapter's entries are left alone."""

from __future__ import annotations

import json

import pytest

from .conftest import sim

pytestmark = pytest.mark.timeout(30)

FOREIGN = {"protocol": "anthropic", "baseURL": "https://example.invalid", "any": {"thing": [1]}}


@pytest.fixture
def mixed(model_server, write_settings, settings_file):
    """A good provider, one with a typo in defaultParams, a snake_case field, a bad baseURL,
    a wrong type, and an entry of another adapter."""
    model_server.reset()
    write_settings(
        {
            "providers": {
                "good": sim(model_server.url()),
                "typo": sim(model_server.url(), defaultParams={"top_k": 3}),
                "snake": sim(model_server.url(), request_timeout=5),
                "badurl": sim("ftp://nowhere"),
                "wrongtype": sim(model_server.url(), maxRetries="three"),
                "other": FOREIGN,
            },
            "active": {"provider": "good"},
            "someOtherTool": True,
        }
    )
    return settings_file


BROKEN_FIELDS = {
    "typo": "providers.typo.defaultParams.top_k",
    "snake": "providers.snake.request_timeout",
    "badurl": "providers.badurl.baseURL",
    "wrongtype": "providers.wrongtype.maxRetries",
}


def test_llm_models_and_prompts_keep_working_with_one_warning_per_broken_provider(
    mixed, run_llm
):
    result = run_llm("models")
    assert result.exit_code == 0, result.output
    assert "good/sim-model" in result.stdout
    assert "typo/" not in result.stdout and "other/" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if "llm-openai-compat" in line]
    assert len(lines) == len(BROKEN_FIELDS), result.stderr  # one each; none for `other`
    for provider, field in BROKEN_FIELDS.items():
        (line,) = [line for line in lines if f"provider {provider!r}" in line]
        assert str(mixed) in line and field in line
    assert "other" not in result.stderr
    answer = run_llm("-m", "good/sim-model", "hello there")
    assert answer.exit_code == 0, answer.output
    assert answer.stdout == "Hello! You said: hello there.\n"
    alias = run_llm("-m", "openai-compat", "hi")
    assert alias.exit_code == 0, alias.output


def test_providers_lists_the_broken_ones_with_the_reason(mixed, run_llm):
    result = run_llm("openai-compat", "providers")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0].lstrip("*"): line for line in result.stdout.splitlines()[1:]}
    assert "sim-model" in rows["good"]
    for provider, field in BROKEN_FIELDS.items():
        assert "BROKEN" in rows[provider] and field in rows[provider], rows[provider]
    assert "other" not in rows


def test_commands_rewrite_the_file_keeping_broken_and_foreign_entries(
    mixed, run_llm, model_server
):
    before = json.loads(mixed.read_text())
    for args in (
        ("openai-compat", "add", "more", "--base-url", model_server.url(), "-m", "x"),
        ("openai-compat", "use", "more"),
        ("openai-compat", "test", "good"),
        ("openai-compat", "remove", "more", "-y"),
    ):
        result = run_llm(*args)
        assert result.exit_code == 0, (args, result.output)
        after = json.loads(mixed.read_text())
        for pid in [*BROKEN_FIELDS, "other"]:
            assert after["providers"][pid] == before["providers"][pid], (args, pid)
        assert after["someOtherTool"] is True
    refused = run_llm("openai-compat", "use", "typo")
    assert refused.exit_code == 1
    assert "top_k" in refused.stderr and "providers.typo.defaultParams.top_k" in refused.stderr
    update = run_llm("openai-compat", "add", "typo", "-m", "x")  # not a fresh entry: the reason
    assert update.exit_code == 1 and "providers.typo.defaultParams.top_k" in update.stderr
    taken = run_llm("openai-compat", "add", "other", "--base-url", model_server.url())
    assert taken.exit_code == 1 and "another adapter" in taken.stderr
    assert json.loads(mixed.read_text())["providers"]["other"] == FOREIGN
    foreign = run_llm("openai-compat", "use", "other")
    assert foreign.exit_code == 1 and "anthropic" in foreign.stderr


def test_langchain_uses_the_good_provider_and_names_the_broken_field(mixed):
    from langchain_adapter import ChatOpenAICompat
    from llm_openai_compat import ConfigError

    assert ChatOpenAICompat(provider="good").invoke("hello there").content == (
        "Hello! You said: hello there."
    )
    assert ChatOpenAICompat().invoke("hi").content  # the active provider
    with pytest.raises(ConfigError) as info:
        ChatOpenAICompat(provider="typo")
    assert info.value.field == "providers.typo.defaultParams.top_k"
    assert str(mixed) in str(info.value)
    with pytest.raises(ConfigError, match="anthropic"):
        ChatOpenAICompat(provider="other")


@pytest.mark.parametrize(
    "contents",
    ["{not json", "[1]", {"providers": {}, "active": {"provider": "nowhere"}}],
    ids=["not-json", "not-object", "bad-active"],
)
def test_a_broken_top_level_still_fails_as_a_whole_in_one_line(
    contents, write_settings, settings_file, run_llm
):
    if isinstance(contents, str):
        settings_file.write_text(contents)
    else:
        write_settings(contents)
    result = run_llm("models")
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if "llm-openai-compat" in line]
    assert len(lines) == 1 and str(settings_file) in lines[0], result.stderr
    assert "skipping its models" in lines[0]

"""`llm openai-compat ...`: path, providers, add, remove, models, use and the `test` probes."""

from __future__ import annotations

import json

import llm
import pytest

from .conftest import sim

pytestmark = pytest.mark.timeout(30)


def _file(settings_file) -> dict:
    return json.loads(settings_file.read_text())


def test_path(run_llm, settings_file, monkeypatch, tmp_path):
    result = run_llm("openai-compat", "path")
    assert result.exit_code == 0
    assert result.stdout.strip() == str(settings_file)
    assert "does not exist yet" in result.stderr
    other = tmp_path / "elsewhere.json"
    monkeypatch.setenv("OPENAI_COMPAT_SETTINGS", str(other))
    assert run_llm("openai-compat", "path").stdout.strip() == str(other)


def test_add_writes_the_provider_and_makes_the_first_one_active(run_llm, settings_file):
    result = run_llm(
        "openai-compat", "add", "work", "--base-url", "https://llm.example.com/v1",
        "-m", "big", "-m", "small", "--key-env", "WORK_KEY", "--shape", "responses",
        "--header", "X-Team: blue", "--timeout", "12.5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Added provider 'work' with 2 models" in result.stdout
    data = _file(settings_file)
    assert data["providers"]["work"] == {
        "baseURL": "https://llm.example.com/v1",
        "models": ["big", "small"],
        "apiKeyRef": {"kind": "env", "name": "WORK_KEY"},
        "apiShape": "responses",
        "headers": {"X-Team": "blue"},
        "timeoutMs": 12500,
    }
    assert data["active"] == {"provider": "work", "model": "big"}
    assert llm.get_model("work/small").model_id == "work/small"


def test_add_again_updates_and_keeps_what_it_was_not_told(run_llm, write_settings, settings_file):
    write_settings(
        {
            "providers": {
                "p": {
                    "baseURL": "http://a/v1",
                    "models": ["m"],
                    "defaultParams": {"temperature": 0.1},
                }
            },
            "someOtherTool": {"keep": True},
        }
    )
    result = run_llm("openai-compat", "add", "p", "--base-url", "http://b/v1", "--key-llm", "pkey")
    assert result.exit_code == 0, result.output
    assert "Updated provider 'p'" in result.stdout
    data = _file(settings_file)
    assert data["someOtherTool"] == {"keep": True}
    assert data["providers"]["p"] == {
        "baseURL": "http://b/v1",
        "models": ["m"],
        "defaultParams": {"temperature": 0.1},
        "apiKeyRef": {"kind": "llm", "name": "pkey"},
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--base-url", "ftp://x/v1"], "--base-url: the base URL must use http"),
        (["--base-url", "foo"], "e.g. --base-url http://localhost:11434/v1"),
        (["--base-url", "http://x/v1", "--header", "Authorization: Bearer abc"],
         "--header: the 'Authorization' header"),
        (["--base-url", "http://x/v1", "--header", "Authorization: Bearer abc"],
         "give the key with --key-env VAR, --key-llm NAME or --key-keyring NAME"),
        (["--base-url", "http://x/v1", "--api-key", "abc"],
         "No such option: --api-key. Keys are never stored in the file"),
        (["--base-url", "http://x/v1", "--header", "nocolon"], "'Name: value'"),
        (["--base-url", "http://x/v1", "--key-env", "A", "--key-llm", "B"], "at most one"),
    ],
)
def test_add_refuses_bad_input_in_one_line(run_llm, settings_file, args, expected):
    result = run_llm("openai-compat", "add", "p", *args)
    assert result.exit_code != 0
    assert expected in result.output and "Traceback" not in result.output
    assert "abc" not in result.output and "Fix the settings file" not in result.output
    assert "--shape" not in result.output
    assert not settings_file.exists()


def test_add_with_discover_stores_the_servers_models(run_llm, model_server, settings_file):
    result = run_llm("openai-compat", "add", "sim", "--base-url", model_server.url(), "--discover")
    assert result.exit_code == 0, result.output
    assert "Listing models at" in result.stderr
    assert _file(settings_file)["providers"]["sim"]["models"] == [
        "sim-model",
        "sim-model-mini",
        "sim-reasoner",
    ]


def test_add_with_discover_against_a_dead_server_stores_nothing(
    run_llm, fault_server, settings_file
):
    result = run_llm(
        "openai-compat", "add", "dead", "--base-url", fault_server.refused_url("/v1"), "--discover"
    )
    assert result.exit_code == 1 and result.output.count("Error:") == 1
    assert not settings_file.exists()


def test_providers_table_shows_where_the_key_is_never_the_key(run_llm, write_settings, monkeypatch):
    monkeypatch.setenv("WORK_KEY", "sk-very-secret-value")
    write_settings(
        {
            "providers": {
                "local": {"baseURL": "http://localhost:11434", "models": ["llama3.2"]},
                "work": {
                    "baseURL": "https://llm.example.com/v1",
                    "models": ["a", "b"],
                    "apiKeyRef": {"kind": "env", "name": "WORK_KEY"},
                    "apiShape": "responses",
                },
            },
            "active": {"provider": "work", "model": "b"},
        }
    )
    result = run_llm("openai-compat", "providers")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "base", "URL", "endpoint", "shape", "models", "key"]
    assert "http://localhost:11434/v1/chat/completions" in lines[1] and "none" in lines[1]
    assert lines[2].startswith("*work") and "https://llm.example.com/v1/responses" in lines[2]
    assert "env WORK_KEY" in lines[2] and "a, b" in lines[2]
    assert "sk-very-secret-value" not in result.output


def test_providers_with_no_file(run_llm):
    result = run_llm("openai-compat", "providers")
    assert result.exit_code == 0 and "No providers yet" in result.stderr


def test_remove(run_llm, write_settings, settings_file):
    write_settings(
        {
            "providers": {"a": sim("http://a/v1"), "b": sim("http://b/v1")},
            "active": {"provider": "a"},
        }
    )
    kept = run_llm("openai-compat", "remove", "a", input="n\n")
    assert kept.exit_code == 1 and "'a' was not removed" in kept.output
    assert list(_file(settings_file)["providers"]) == ["a", "b"]
    result = run_llm("openai-compat", "remove", "a", input="y\n")
    assert result.exit_code == 0, result.output
    assert "Remove provider 'a'" in result.stderr
    data = _file(settings_file)
    assert list(data["providers"]) == ["b"] and "active" not in data
    assert run_llm("openai-compat", "remove", "b", "-y").exit_code == 0
    assert _file(settings_file)["providers"] == {}
    missing = run_llm("openai-compat", "remove", "nope")
    assert missing.exit_code == 1 and "no provider 'nope' to remove" in missing.output


def test_providers_json(run_llm, write_settings):
    write_settings(
        {
            "providers": {
                "a": sim("http://user:pw@a/v1", "m:latest", modelAliases={"m:latest": ["mm"]},
                         apiKeyRef={"kind": "env", "name": "A_KEY"}),
            },
            "active": {"provider": "a"},
        }
    )
    result = run_llm("openai-compat", "providers", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["a"]["models"] == ["m:latest"] and data["a"]["modelAliases"] == {"m:latest": ["mm"]}
    assert data["a"]["active"] is True and "A_KEY" in data["a"]["key"]
    assert "pw" not in result.stdout


def test_models_lists_and_refreshes(run_llm, write_settings, model_server, settings_file):
    write_settings(sim=sim(model_server.url(), "sim-model"))
    result = run_llm("openai-compat", "models", "sim")
    assert result.exit_code == 0, result.output
    assert [line.split()[:3] for line in result.stdout.splitlines()] == [
        ["model", "kind", "stored"],
        ["sim/sim-model", "chat", "yes"],
        ["sim/sim-model-mini", "chat", "no"],
        ["sim/sim-reasoner", "chat", "no"],
        ["sim/sim-embed", "embedding", "no"],
    ]
    refreshed = run_llm("openai-compat", "models", "sim", "--refresh")
    assert refreshed.exit_code == 0, refreshed.output
    assert _file(settings_file)["providers"]["sim"]["models"] == [
        "sim-model",
        "sim-model-mini",
        "sim-reasoner",
    ]
    assert llm.get_model("sim/sim-reasoner")
    unknown = run_llm("openai-compat", "models", "nope")
    assert unknown.exit_code == 1 and "no provider named 'nope'" in unknown.output


def test_use_sets_the_active_pair(run_llm, write_settings, settings_file):
    write_settings(a=sim("http://a/v1", "m1", "m2"), b=sim("http://b/v1", "x"))
    result = run_llm("openai-compat", "use", "a", "m2")
    assert result.exit_code == 0, result.output
    assert _file(settings_file)["active"] == {"provider": "a", "model": "m2"}
    assert llm.get_model("openai-compat").model_id == "a/m2"
    bad = run_llm("openai-compat", "use", "a", "zzz")
    assert bad.exit_code == 1 and "'zzz'" in bad.output and bad.output.count("\n") == 1
    assert _file(settings_file)["active"] == {"provider": "a", "model": "m2"}


def _rows(stdout: str) -> dict[str, str]:
    """check label -> works column, from the `test` table."""
    table = stdout.split("\n\n", 1)[1].splitlines()[1:]
    return {line[:33].strip(): line[33:40].strip() for line in table}


def test_test_on_a_full_server_stores_capabilities(
    run_llm, write_settings, model_server, settings_file
):
    write_settings(sim=sim(model_server.url()))
    result = run_llm("openai-compat", "test", "sim")
    assert result.exit_code == 0, result.output
    assert "Endpoint:  " + model_server.url() + "/chat/completions" in result.stdout
    assert "Auth:      none" in result.stdout and "Latency:" in result.stdout
    assert set(_rows(result.stdout).values()) == {"yes"}
    assert "probing Streaming" in result.stderr
    caps = _file(settings_file)["providers"]["sim"]["capabilities"]
    assert caps["streaming"] and caps["tools"] and caps["jsonSchema"] and caps["responses"]
    assert caps["probedModel"] == "sim-model"


def test_test_on_a_limited_server(run_llm, write_settings, model_server, settings_file):
    url = model_server.url(
        "no-stream-options", "no-tools", "no-responses", "no-json-schema", "no-developer"
    )
    write_settings(lim=sim(url))
    result = run_llm("openai-compat", "test", "lim")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert rows["Connection"] == "yes" and rows["Streaming"] == "yes"
    assert rows["stream_options"] == "NO" and "stream_options" in result.stdout
    assert rows["Tool calling"] == rows["developer role"] == "NO"
    assert rows["Structured output (json_schema)"] == "NO"
    assert rows["Structured output (json_object)"] == "yes"
    assert rows["Other shape (responses)"] == "NO" and "HTTP 404" in result.stdout
    caps = _file(settings_file)["providers"]["lim"]["capabilities"]
    assert caps["streamOptions"] is False and caps["tools"] is False and caps["responses"] is False
    model = llm.get_model("lim/sim-model")
    assert not model.supports_tools and model.supports_schema and model.can_stream
    model_server.reset()
    assert run_llm("-m", "lim/sim-model", "hi").exit_code == 0
    assert "stream_options" not in model_server.last_body()
    assert model_server.last_body()["messages"] == [{"role": "user", "content": "hi"}]


def test_test_keeps_hand_written_capabilities(run_llm, write_settings, model_server, settings_file):
    write_settings(
        sim=sim(model_server.url("no-tools"), "sim-model", "sim-model-mini",
                capabilities={"audio": True})
    )
    assert run_llm("openai-compat", "test", "sim").exit_code == 0
    caps = _file(settings_file)["providers"]["sim"]["capabilities"]
    assert caps["audio"] is True and caps["tools"] is False and caps["probedModel"] == "sim-model"
    assert "audio/wav" in llm.get_model("sim/sim-model").attachment_types


def test_test_model_stores_per_model(run_llm, write_settings, model_server, settings_file):
    write_settings(
        sim=sim(model_server.url("no-tools"), "sim-model", "sim-model-mini",
                modelCapabilities={"sim-model-mini": {"images": False}})
    )
    result = run_llm("openai-compat", "test", "sim", "--model", "sim-model-mini")
    assert result.exit_code == 0, result.output
    provider = _file(settings_file)["providers"]["sim"]
    assert "capabilities" not in provider  # the provider-level probe is not replaced
    mini = provider["modelCapabilities"]["sim-model-mini"]
    assert mini["tools"] is False and mini["images"] is False  # the listing's word kept
    assert not llm.get_model("sim/sim-model-mini").supports_tools
    assert llm.get_model("sim/sim-model").supports_tools


def test_test_all_models(run_llm, write_settings, model_server, settings_file):
    write_settings(sim=sim(model_server.url("no-tools"), "sim-model", "sim-model-mini"))
    result = run_llm("openai-compat", "test", "sim", "--all-models")
    assert result.exit_code == 0, result.output
    assert "[1/2] testing sim/sim-model" in result.stderr
    assert "[2/2] testing sim/sim-model-mini" in result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].startswith("model") and rows[1].startswith("sim-model ")
    stored = _file(settings_file)["providers"]["sim"]["modelCapabilities"]
    assert set(stored) == {"sim-model", "sim-model-mini"}
    assert all(caps["tools"] is False for caps in stored.values())
    both = run_llm("openai-compat", "test", "sim", "--all-models", "--model", "sim-model")
    assert both.exit_code == 2 and "not both" in both.output


def test_test_all_models_probes_with_bounded_concurrency(
    run_llm, write_settings, model_server, settings_file, monkeypatch
):
    """`--all-models -j 2`: two models are probed at once (a barrier of two that a serial
    loop could never pass), never more than two, every one of them, with progress per model."""
    import threading

    import llm_openai_compat

    models = ["m1", "m2", "m3", "m4", "m5"]
    write_settings(sim=sim(model_server.url(), *models))
    real = llm_openai_compat.run_probes
    barrier = threading.Barrier(2, timeout=30)  # a bound for a failure, not a timing
    lock = threading.Lock()
    inside, most, seen = 0, 0, []

    def counted(*args, **kwargs):
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
            seen.append(args[2])
        try:
            if len(seen) <= 2:
                barrier.wait()  # the first two must be in flight together
            return real(*args, **kwargs)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(llm_openai_compat, "run_probes", counted)
    result = run_llm("openai-compat", "test", "sim", "--all-models", "-j", "2")
    assert result.exit_code == 0, result.output
    assert most == 2 and sorted(seen) == models
    for number, name in enumerate(models, 1):
        assert f"[{number}/5] testing sim/{name}" in result.stderr
        assert f"sim/{name} done (" in result.stderr
    assert [row.split()[0] for row in result.stdout.splitlines()[1:]] == models
    stored = _file(settings_file)["providers"]["sim"]["modelCapabilities"]
    assert set(stored) == set(models)
    bad = run_llm("openai-compat", "test", "sim", "--all-models", "-j", "0")
    assert bad.exit_code == 2 and "concurrency" in bad.output


def test_test_on_the_responses_shape(run_llm, write_settings, model_server, settings_file):
    write_settings(resp=sim(model_server.url(), apiShape="responses"))
    result = run_llm("openai-compat", "test", "resp", "--no-store")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert rows["Other shape (chat-completions)"] == "yes" and rows["Tool calling"] == "yes"
    assert rows["stream_options"] == "-"
    assert "capabilities" not in _file(settings_file)["providers"]["resp"]


def test_test_when_the_server_is_down(run_llm, write_settings, fault_server, settings_file):
    write_settings(dead=sim(fault_server.refused_url("/v1")))
    result = run_llm("openai-compat", "test", "dead")
    assert result.exit_code == 1
    assert _rows(result.stdout)["Connection"] == "NO"
    assert "Latency:   -\n" in result.stdout  # no latency for a connection that failed
    assert "nothing was stored" in result.output
    assert "capabilities" not in _file(settings_file)["providers"]["dead"]


def test_test_with_a_missing_key_and_with_key(run_llm, write_settings, model_server):
    write_settings(
        locked=sim(model_server.url("key=sekrit-0123456789"), apiKeyRef={"kind": "env", "name": "LOCKED_KEY"})
    )
    result = run_llm("openai-compat", "test", "locked", "--no-store")
    assert result.exit_code == 1
    assert "environment variable LOCKED_KEY (MISSING)" in result.stdout
    assert "no API key found" in result.stdout
    with_key = run_llm("openai-compat", "test", "locked", "--no-store", "--key", "sekrit-0123456789")
    assert with_key.exit_code == 0, with_key.output
    assert "explicit key" in with_key.stdout and "sekrit-0123456789" not in with_key.output


def test_test_needs_a_model(run_llm, write_settings):
    write_settings(empty={"baseURL": "http://a/v1"})
    result = run_llm("openai-compat", "test", "empty")
    assert result.exit_code != 0 and "--model" in result.output


@pytest.mark.parametrize(
    ("flag", "capability"),
    [
        ("no-stream-options", "streamOptions"),
        ("no-tools", "tools"),
        ("no-responses", "responses"),
        ("no-json-schema", "jsonSchema"),
        ("no-developer", "developerRole"),
    ],
)
def test_each_missing_feature_flips_only_its_capability(
    run_llm, write_settings, model_server, settings_file, flag, capability
):
    write_settings(one=sim(model_server.url(flag)))
    assert run_llm("openai-compat", "test", "one").exit_code == 0
    caps = _file(settings_file)["providers"]["one"]["capabilities"]
    probed = ("streaming", "streamOptions", "tools", "jsonSchema", "jsonObject", "developerRole")
    flags = {name: caps[name] for name in (*probed, "chatCompletions", "responses")}
    assert flags == {name: name != capability for name in flags}


def test_usage_without_stream_options_is_noticed(run_llm, write_settings, model_server):
    write_settings(u=sim(model_server.url("no-stream-options", "usage-every-chunk")))
    result = run_llm("openai-compat", "test", "u", "--no-store")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert rows["stream_options"] == "NO" and rows["Usage in streams"] == "yes"


def test_test_probes_tool_calls_streamed_too(run_llm, write_settings, model_server, settings_file):
    """A gateway that drops tool calls from streams (llm streams by default) is caught by the
    streamed probe, although the non-streamed one succeeds."""
    write_settings(gw=sim(model_server.url("drop-streamed-tools")))
    result = run_llm("openai-compat", "test", "gw")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert rows["Tool calling"] == "yes"
    assert rows["Tool calling (streamed)"] == "NO"
    assert "no text and no tool call" in result.stdout
    caps = _file(settings_file)["providers"]["gw"]["capabilities"]
    assert caps["tools"] is True and caps["toolsStreamed"] is False


# -- add on an existing provider adds models; every add ends with a first prompt ---------------


def test_add_model_to_an_existing_provider_adds_it_and_keeps_the_active_one(
    run_llm, write_settings, settings_file
):
    write_settings(
        {"providers": {"p": {"baseURL": "http://a/v1", "models": ["m1", "m2"]}},
         "active": {"provider": "p", "model": "m2"}}
    )  # fmt: skip
    result = run_llm("openai-compat", "add", "p", "-m", "m3")
    assert result.exit_code == 0, result.output
    assert "Updated provider 'p' with 3 models" in result.stdout
    data = _file(settings_file)
    assert data["providers"]["p"]["models"] == ["m1", "m2", "m3"]
    assert data["active"] == {"provider": "p", "model": "m2"}
    assert "no longer listed" not in result.stderr
    replaced = run_llm("openai-compat", "add", "p", "-m", "m9", "--replace-models")
    assert replaced.exit_code == 0, replaced.output
    assert _file(settings_file)["providers"]["p"]["models"] == ["m9"]
    assert "no longer listed" in replaced.stderr  # the active m2 went: said so


def test_add_with_base_url_ends_with_a_first_prompt(run_llm, settings_file):
    result = run_llm("openai-compat", "add", "work", "--base-url", "http://a/v1", "-m", "big")
    assert result.exit_code == 0, result.output
    assert "Try: llm -m work/big hi" in result.stderr


def _commands(group, path=()):
    """Every command under `group` (the group itself first), with its path of names."""
    import click

    yield path, group
    if isinstance(group, click.Group):
        for name, command in sorted(group.commands.items()):
            yield from _commands(command, (*path, name))


def test_every_command_has_examples_in_its_help(run_llm):
    """Issue 18: each `llm openai-compat` command's --help has an Examples section whose
    examples run that very command with options it has (so they cannot drift)."""
    import shlex

    from llm_openai_compat.plugin.commands import openai_compat

    walked = list(_commands(openai_compat))
    assert {p[0] for p, _ in walked if p} >= {"add", "models", "path", "providers", "remove",
                                              "test", "use"}
    for path, command in walked:
        shown = run_llm("openai-compat", *path, "--help")
        assert shown.exit_code == 0, shown.output
        assert "Examples:" in shown.stdout, f"`llm openai-compat {' '.join(path)}` has none"
        section = shown.stdout.split("Examples:", 1)[1].split("\nOptions:", 1)[0]
        prefix = " ".join(["llm", "openai-compat", *path])
        examples = [line.strip() for line in section.splitlines()
                    if line.strip().startswith(prefix)]
        assert examples, f"no example of {prefix!r} in its help"
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        for example in examples:
            words = shlex.split(example.split(" | ")[0].split("  #")[0].rstrip("\\"))
            for word in words[len(prefix.split()):]:
                if word.startswith("-"):
                    assert word.split("=")[0] in known, f"{example!r}: no option {word}"

"""Each model described by what its server publishes about it, and found by the name people
type: a mixed install against the model server imitating LM Studio's and OpenRouter's
listings and Ollama's `/api/show`, checked through `llm models --options` and real prompts."""

from __future__ import annotations

import json

import llm
import pytest

from tests.plugin.conftest import sim
from tests.plugin.test_prompt import PNG


@pytest.fixture
def png(tmp_path):
    image = tmp_path / "dot.png"
    image.write_bytes(PNG)
    return str(image)


def _options_block(output: str, model_id: str) -> str:
    """The `llm models --options` lines of one model (up to the next model's line)."""
    start = output.index(f": {model_id}")
    rest = output[start:]
    nxt = rest.find("\nOpenAI-compatible: ", 1)
    return rest if nxt < 0 else rest[:nxt]


def test_lmstudio_mixed_install(model_server, run_llm, settings_file, png):
    added = run_llm(
        "openai-compat", "add", "studio", "--base-url", model_server.url("lmstudio"),
        "--profile", "lmstudio", "--discover",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    data = json.loads(settings_file.read_text())["providers"]["studio"]
    assert "llava-v1.5-7b-llamafile" in data["models"]
    embedding = data["embeddingModels"]
    assert embedding and not set(embedding) & set(data["models"])
    assert data["modelCapabilities"]["llava-v1.5-7b-llamafile"]["images"] is True

    listed = run_llm("models", "--options")
    assert listed.exit_code == 0, listed.output
    vision = _options_block(listed.stdout, "studio/llava-v1.5-7b-llamafile")
    assert "image/png" in vision
    tools = _options_block(listed.stdout, "studio/openai/gpt-oss-20b")
    assert "image/png" not in tools
    for model in embedding:
        assert f"studio/{model}\n" not in listed.stdout

    # The tools-less vision model: images go out, tools are refused before sending.
    assert not llm.get_model("studio/llava-v1.5-7b-llamafile").supports_tools
    assert llm.get_model("studio/openai/gpt-oss-20b").supports_tools
    model_server.reset()
    seen = run_llm("-m", "studio/llava-v1.5-7b-llamafile", "describe", "-a", png)
    assert seen.exit_code == 0, seen.output
    assert model_server.last_body()["messages"][-1]["content"][1]["type"] == "image_url"
    blind = run_llm("-m", "studio/openai/gpt-oss-20b", "describe", "-a", png)
    assert blind.exit_code != 0 and "does not support attachments" in blind.output
    with pytest.raises(ValueError, match="does not support tools"):
        llm.get_model("studio/llava-v1.5-7b-llamafile").prompt("hi", tools=[len]).text()
    assert not [r for r in model_server.requests() if r["path"].endswith("/chat/completions")][1:]


def test_openrouter_models_differ_per_model(model_server, run_llm, write_settings, settings_file):
    write_settings(router=sim(model_server.url("openrouter"), "x"))
    refreshed = run_llm("openai-compat", "models", "router", "--refresh")
    assert refreshed.exit_code == 0, refreshed.output
    header, *rows = (line.split() for line in refreshed.stdout.splitlines())
    sonnet_row = dict(
        zip(
            header, next(r for r in rows if r[0] == "router/anthropic/claude-sonnet-4"), strict=True
        )
    )
    assert sonnet_row["tools"] == "yes" and sonnet_row["images"] == "yes"
    caps = json.loads(settings_file.read_text())["providers"]["router"]["modelCapabilities"]
    sonnet = llm.get_model("router/anthropic/claude-sonnet-4")
    assert "image/png" in sonnet.attachment_types and "application/pdf" in sonnet.attachment_types
    for model, stated in caps.items():
        registered = llm.get_model(f"router/{model}")
        assert registered.supports_tools is stated["tools"]
        assert ("image/png" in registered.attachment_types) is stated["images"]


def test_ollama_latest_alias_and_show_capabilities(model_server, run_llm, write_settings):
    base = model_server.url("models=llama3.2:latest,llava:7b,nomic-embed-text:latest")
    write_settings(ollama=sim(base, "x", profile="ollama"))
    refreshed = run_llm("openai-compat", "models", "ollama", "--refresh")
    assert refreshed.exit_code == 0, refreshed.output
    assert "[1/" in refreshed.stderr  # progress of the per-model details on stderr
    model_server.reset()
    hi = run_llm("-m", "ollama/llama3.2", "hi")
    assert hi.exit_code == 0, hi.output
    assert model_server.last_body()["model"] == "llama3.2:latest"
    assert "image/png" in llm.get_model("ollama/llava:7b").attachment_types
    assert "image/png" not in llm.get_model("ollama/llama3.2").attachment_types
    listed = run_llm("models")
    assert "ollama/llama3.2:latest (aliases: ollama/llama3.2" in listed.stdout
    assert "nomic-embed-text" not in listed.stdout


def test_configured_aliases(model_server, run_llm, write_settings):
    write_settings(
        sim=sim(model_server.url(), "sim-model", modelAliases={"sim-model": ["fast"]}),
    )
    result = run_llm("-m", "fast", "hi")
    assert result.exit_code == 0, result.output
    assert "aliases: fast" in run_llm("models").stdout


def test_langchain_profile_follows_each_models_stored_entry(model_server, run_llm, settings_file):
    """Issue 17 item 5: `ChatOpenAICompat.profile` comes from what the provider's probe and
    each model's stored entry say (native listing via `add --discover`, `models --refresh`,
    and a per-model probe via `test --model`), per model, not one answer per provider."""
    from langchain_adapter import ChatOpenAICompat

    added = run_llm(
        "openai-compat",
        "add",
        "studio",
        "--base-url",
        model_server.url("lmstudio"),
        "--profile",
        "lmstudio",
        "--discover",
    )
    assert added.exit_code == 0, added.output
    stored = json.loads(settings_file.read_text())["providers"]["studio"]["modelCapabilities"]

    def profile(model: str) -> dict:
        return dict(
            ChatOpenAICompat(
                provider="studio", model=model, settings_path=str(settings_file)
            ).profile
            or {}
        )

    vision, tools = profile("llava-v1.5-7b-llamafile"), profile("openai/gpt-oss-20b")
    assert vision["image_inputs"] is True and tools["image_inputs"] is False
    assert vision["tool_calling"] is False and tools["tool_calling"] is True
    assert vision["max_input_tokens"] == stored["llava-v1.5-7b-llamafile"]["contextLength"]
    assert tools["max_input_tokens"] == stored["openai/gpt-oss-20b"]["contextLength"]

    # A per-model probe adds what the listing does not say (structured output here).
    assert "structured_output" not in tools
    probed = run_llm("openai-compat", "test", "studio", "--model", "openai/gpt-oss-20b")
    assert probed.exit_code == 0, probed.output
    assert profile("openai/gpt-oss-20b")["structured_output"] is True
    assert "structured_output" not in profile("llava-v1.5-7b-llamafile")


def test_models_shows_each_models_capabilities_as_a_table(model_server, run_llm, write_settings):
    """Issue 18: `models ID` is a table with one row per model and what is known of each
    (yes / no / - unknown), from the listing over the provider's probe; `--json` the same."""
    write_settings(
        router=sim(model_server.url("openrouter"), "openai/gpt-4o", capabilities={"video": False})
    )
    listed = run_llm("openai-compat", "models", "router")
    assert listed.exit_code == 0, listed.output
    header, *rows = (line.split() for line in listed.stdout.splitlines())
    assert header == [
        "model",
        "kind",
        "stored",
        "tools",
        "schema",
        "images",
        "audio",
        "pdf",
        "video",
        "reasoning",
        "context",
    ]
    table = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    as_json = run_llm("openai-compat", "models", "router", "--json")
    entries = {e["id"]: e for e in json.loads(as_json.stdout)}
    assert set(entries) == set(table) and len(table) > 2
    for model_id, row in table.items():
        caps = entries[model_id]["capabilities"]
        for column, key in (
            ("tools", "tools"),
            ("schema", "jsonSchema"),
            ("images", "images"),
            ("pdf", "pdf"),
            ("reasoning", "reasoning"),
        ):
            assert row[column] == {True: "yes", False: "no"}[caps[key]], (model_id, column)
        assert row["context"] == str(caps["contextLength"])
        assert row["stored"] == ("yes" if model_id == "router/openai/gpt-4o" else "no")
    # The models differ (not one answer per provider).
    assert {row["images"] for row in table.values()} == {"yes", "no"}
    assert table["router/anthropic/claude-sonnet-4"]["reasoning"] == "yes"

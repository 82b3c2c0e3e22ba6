"""Issue 14 items 5 and 8 through llm: what a server refuses is learned from its first answer.

`--schema` against a server without json_schema works on the first prompt (retried once as
json_object with the schema in the system text) and the next prompt is sent that way at once;
`llm openai-compat test` says so. `--functions` against a server that says it has no tools is
one error line, and the next prompt with tools fails before sending.
"""

from __future__ import annotations

import json

from llm_openai_compat.config.profiles import ADAPTATIONS

from .conftest import sim

DESCRIPTION = {a.name: a.description for a in ADAPTATIONS}
SCHEMA = "name, age int"


def _error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert result.output.count("Error:") == 1 and "Traceback" not in result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error:")]
    return line


def test_schema_against_a_server_without_json_schema(run_llm, write_settings, model_server):
    model_server.reset()
    write_settings(nojs=sim(model_server.url("no-json-schema")))
    first = run_llm("-m", "nojs/sim-model", "--schema", SCHEMA, "My dog 'Rex' is 3")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"name": "Rex", "age": 3}
    second = run_llm("-m", "nojs/sim-model", "--schema", SCHEMA, "My cat 'Tom' is 5")
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout) == {"name": "Tom", "age": 5}
    formats = [r["body"]["response_format"]["type"] for r in model_server.requests()]
    assert formats == ["json_schema", "json_object", "json_object"]
    system = model_server.requests()[-1]["body"]["messages"][0]
    assert system["role"] == "system" and '"age"' in system["content"]

    result = run_llm("openai-compat", "test", "nojs", "--no-store")
    assert result.exit_code == 0, result.output
    adapted = [line for line in result.stdout.splitlines() if line.startswith("Adapted:")]
    assert adapted == [f"Adapted: {DESCRIPTION['no-json-schema']}"]


def test_test_says_what_a_prompt_learned_before_any_probe(run_llm, write_settings, model_server):
    """The prompt learned it: `test` on a fresh process's learned state alone, with its own
    probe of json_schema succeeding against a full server, still names the adaptation."""
    model_server.reset()
    write_settings(nojs=sim(model_server.url("no-json-schema")))
    assert run_llm("-m", "nojs/sim-model", "--schema", SCHEMA, "My dog 'Rex' is 3").exit_code == 0
    write_settings(nojs=sim(model_server.url()))  # the same provider id, now a full server
    result = run_llm("openai-compat", "test", "nojs", "--no-store")
    assert result.exit_code == 0, result.output
    assert f"Adapted: {DESCRIPTION['no-json-schema']}" in result.stdout.splitlines()


FUNCTION = "def get_weather(city: str) -> str:\n    return 'sunny in ' + city\n"


def test_functions_against_a_server_without_tools(run_llm, write_settings, model_server):
    model_server.reset()
    write_settings(notools=sim(model_server.url("no-tools")))
    first = _error_line(run_llm("-m", "notools/sim-model", "--functions", FUNCTION, "weather in Paris?"))
    assert "cannot call tools" in first and "'notools'" in first and "'sim-model'" in first
    assert "tools is not supported by this server" in first  # the server's own words
    assert len(model_server.requests()) == 1

    second = _error_line(run_llm("-m", "notools/sim-model", "--functions", FUNCTION, "weather in Rome?"))
    assert len(model_server.requests()) == 1  # failed before sending
    assert "provider 'notools'" in second and "model 'sim-model'" in second
    assert "`llm openai-compat test notools`" in second

    plain = run_llm("-m", "notools/sim-model", "hello")
    assert plain.exit_code == 0 and "Hello" in plain.stdout

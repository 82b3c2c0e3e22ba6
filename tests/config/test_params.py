"""Params: validation of what users write (one-line errors), wire translation, merge order."""

from __future__ import annotations

from typing import Any

import pytest

from llm_openai_compat.config.params import PARAMS, merge_params, to_wire, validate_params
from llm_openai_compat.errors import ConfigError


def error_for(
    params: dict[str, Any], shape: Any = "responses", where: str = "defaultParams"
) -> str:
    with pytest.raises(ConfigError) as info:
        validate_params(params, shape, where=where)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def field_of(params: dict[str, Any], shape: Any = "responses") -> str | None:
    with pytest.raises(ConfigError) as info:
        validate_params(params, shape, where="defaultParams")
    return info.value.field


# -- valid -----------------------------------------------------------------------------------


def test_everything_valid_on_responses() -> None:
    validate_params(
        {
            "temperature": 0.2,
            "topP": 1,
            "maxOutputTokens": 1024,
            "reasoningEffort": "xhigh",
            "reasoningSummary": "concise",
            "textVerbosity": "low",
            "serviceTier": "priority",
            "safetyIdentifier": "u-1",
            "parallelToolCalls": False,
            "store": True,
            "maxToolCalls": 4,
            "metadata": {"team": "a"},
            "user": "u-1",
            "logprobs": 5,
            "truncation": "auto",
            "strictJsonSchema": False,
            "include": ["reasoning.encrypted_content"],
            "previousResponseId": "resp_1",
            "forceReasoning": True,
        },
        "responses",
        where="defaultParams",
    )


def test_everything_valid_on_chat_completions() -> None:
    validate_params(
        {
            "temperature": 2,
            "topP": 0,
            "maxOutputTokens": 1,
            "maxCompletionTokens": 100,
            "seed": -5,
            "stop": "END",
            "presencePenalty": -2,
            "frequencyPenalty": 1.5,
            "logitBias": {"50256": -100},
            "reasoningEffort": "minimal",
            "textVerbosity": "high",
            "serviceTier": "default",
            "logprobs": True,
            "metadata": {},
            "store": None,
        },
        "chat-completions",
        where="defaultParams",
    )


# -- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "camel"),
    [
        ("reasoning_effort", "reasoningEffort"),
        ("service_tier", "serviceTier"),
        ("safety_identifier", "safetyIdentifier"),
        ("max_output_tokens", "maxOutputTokens"),
        ("max_tokens", "maxOutputTokens"),
        ("top_p", "topP"),
        ("previous_response_id", "previousResponseId"),
        ("verbosity", "textVerbosity"),
    ],
)
def test_snake_case_wire_names_point_at_the_camel_case_name(wire: str, camel: str) -> None:
    message = error_for({wire: "x"})
    assert f"did you mean {camel}?" in message
    assert "wire name" in message
    assert field_of({wire: "x"}) == f"defaultParams.{wire}"


def test_unknown_name_suggests_the_closest() -> None:
    message = error_for({"temprature": 0.5})
    assert "unknown param 'temprature'" in message and "did you mean temperature?" in message
    assert "did you mean maxOutputTokens?" in error_for({"maxTokens": 5})
    assert "did you mean reasoningEffort?" in error_for({"reasoningEfort": "low"})


def test_unknown_vendor_field_points_at_extra_body() -> None:
    message = error_for({"top_k": 40})
    assert "unknown param 'top_k'" in message and "extraBody" in message
    assert "did you mean" not in message


def test_provider_fields_are_not_params() -> None:
    assert "provider setting" in error_for({"extraBody": {"top_k": 4}})
    assert "provider setting" in error_for({"systemMessageMode": "developer"})


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("promptCacheKey", "cache identity is managed by the adapter"),
        ("instructions", "second system-prompt surface"),
        ("prediction", "reserved"),
        ("prompt_cache_key", "cache identity is managed by the adapter"),
    ],
)
def test_reserved_keys(name: str, reason: str) -> None:
    message = error_for({name: "x"})
    assert "is reserved" in message and reason in message
    assert field_of({name: "x"}) == f"defaultParams.{name}"


# -- values ----------------------------------------------------------------------------------


def test_reasoning_effort_sets_differ_per_shape() -> None:
    message = error_for({"reasoningEffort": "xhigh"}, "chat-completions")
    assert "allowed values: minimal, low, medium, high" in message
    assert "'xhigh'" in message and "chat-completions" in message
    message = error_for({"reasoningEffort": "extreme"}, "responses")
    assert "allowed values: none, minimal, low, medium, high, xhigh" in message
    validate_params({"reasoningEffort": "none"}, "responses", where="defaultParams")


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("reasoningSummary", "short", "auto, concise, detailed"),
        ("textVerbosity", "loud", "low, medium, high"),
        ("serviceTier", "scale", "auto, flex, priority, default"),
        ("truncation", "yes", "auto, disabled"),
    ],
)
def test_closed_sets_name_the_allowed_values(name: str, value: str, allowed: str) -> None:
    message = error_for({name: value})
    assert f"allowed values: {allowed}" in message and name in message


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("temperature", 3, "must be a number from 0 to 2"),
        ("temperature", "0.5", "must be a number from 0 to 2"),
        ("temperature", True, "must be a number from 0 to 2"),
        ("topP", 1.5, "must be a number from 0 to 1"),
        ("maxOutputTokens", 0, "must be a positive integer"),
        ("maxOutputTokens", 10.5, "must be a positive integer"),
        ("parallelToolCalls", "yes", "must be true or false"),
        ("store", 1, "must be true or false"),
        ("strictJsonSchema", "true", "must be true or false"),
        ("metadata", {"a": 1}, "must be an object mapping strings to strings"),
        ("metadata", ["a"], "must be an object mapping strings to strings"),
        ("include", "reasoning.encrypted_content", "must be a list of strings"),
        ("logprobs", "yes", "must be true, false or a number"),
        ("logprobs", 50, "must be true, false or a number"),
    ],
)
def test_wrong_types(name: str, value: Any, phrase: str) -> None:
    message = error_for({name: value})
    assert phrase in message and name in message


@pytest.mark.parametrize(
    ("name", "value", "phrase"),
    [
        ("stop", 5, "must be a string or a list of strings"),
        ("stop", ["a", 1], "must be a string or a list of strings"),
        ("logitBias", ["x"], "must be an object mapping token ids to numbers"),
        ("presencePenalty", 3, "must be a number from -2 to 2"),
    ],
)
def test_wrong_types_on_chat(name: str, value: Any, phrase: str) -> None:
    assert phrase in error_for({name: value}, "chat-completions")


def test_params_not_on_the_shape() -> None:
    message = error_for({"maxToolCalls": 3}, "chat-completions")
    assert "maxToolCalls is not available on apiShape 'chat-completions'" in message
    assert "only on 'responses'" in message
    message = error_for({"seed": 1}, "responses")
    assert "seed is not available on apiShape 'responses'" in message
    assert "only on 'chat-completions'" in message


def test_conversation_and_previous_response_id_are_exclusive() -> None:
    message = error_for({"conversation": "conv_1", "previousResponseId": "resp_1"})
    assert "conversation and previousResponseId cannot both be set" in message
    validate_params({"conversation": "conv_1"}, "responses", where="defaultParams")


def test_where_names_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        validate_params({"temperature": 9}, "responses", where="modelParams.gpt-5")
    assert info.value.field == "modelParams.gpt-5.temperature"
    assert "field 'modelParams.gpt-5.temperature'" in str(info.value)


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="must be an object"):
        validate_params(["temperature"], "responses", where="defaultParams")  # type: ignore[arg-type]


# -- to_wire ---------------------------------------------------------------------------------


def test_to_wire_chat_completions() -> None:
    params = {
        "temperature": 0.1,
        "topP": 0.5,
        "maxOutputTokens": 100,
        "seed": 3,
        "stop": ["x"],
        "presencePenalty": 0.1,
        "frequencyPenalty": 0.2,
        "logitBias": {"1": 2},
        "reasoningEffort": "low",
        "textVerbosity": "low",
        "serviceTier": "auto",
        "logprobs": 2,
        "strictJsonSchema": True,
        "reasoningSummary": "auto",  # responses only: dropped
        "maxToolCalls": 2,  # responses only: dropped
    }
    assert to_wire(params, "chat-completions", max_tokens_field="max_completion_tokens") == {
        "temperature": 0.1,
        "top_p": 0.5,
        "max_completion_tokens": 100,
        "seed": 3,
        "stop": ["x"],
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "logit_bias": {"1": 2},
        "reasoning_effort": "low",
        "verbosity": "low",
        "service_tier": "auto",
        "logprobs": True,
        "top_logprobs": 2,
    }
    assert to_wire({"maxOutputTokens": 5}, "chat-completions") == {"max_tokens": 5}


def test_to_wire_responses() -> None:
    params = {
        "maxOutputTokens": 100,
        "reasoningEffort": "high",
        "reasoningSummary": "detailed",
        "textVerbosity": "medium",
        "logprobs": True,
        "include": ["file_search_call.results", "message.output_text.logprobs"],
        "previousResponseId": "resp_1",
        "truncation": "auto",
        "maxToolCalls": 2,
        "seed": 1,  # chat only: dropped
        "unknownThing": 1,  # unknown: dropped (validation is at load time)
    }
    assert to_wire(params, "responses") == {
        "max_output_tokens": 100,
        "reasoning": {"effort": "high", "summary": "detailed"},
        "text": {"verbosity": "medium"},
        "include": ["message.output_text.logprobs", "file_search_call.results"],
        "previous_response_id": "resp_1",
        "truncation": "auto",
        "max_tool_calls": 2,
    }


def test_every_param_has_a_wire_home_somewhere() -> None:
    for name, (chat, responses) in PARAMS.items():
        assert chat is not None or responses is not None, name


# -- merge -----------------------------------------------------------------------------------


def test_merge_order_builtin_provider_model_call() -> None:
    builtin = {"temperature": 1.0, "topP": 1.0, "store": False}
    provider = {"temperature": 0.2, "reasoningEffort": "low", "maxOutputTokens": 500}
    model = {"reasoningEffort": "high", "topP": None}
    call = {"maxOutputTokens": 50}
    assert merge_params(builtin, provider, model, call) == {
        "temperature": 0.2,
        "store": False,
        "reasoningEffort": "high",
        "maxOutputTokens": 50,
    }
    assert merge_params(None, {}, {"a": 1}) == {"a": 1}


@pytest.mark.parametrize(
    ("default_params", "phrase"),
    [
        ({"reasoning_effort": "low"}, "did you mean reasoningEffort?"),
        ({"reasoningEffort": "xhigh"}, "allowed values: minimal, low, medium, high"),
        ({"promptCacheKey": "x"}, "promptCacheKey is reserved"),
        ({"instructions": "x"}, "instructions is reserved"),
        ({"temperature": "hot"}, "temperature must be a number"),
    ],
)
def test_settings_file_refuses_bad_default_params(tmp_path, default_params, phrase):
    """Loading the settings file runs the same validation, and names file, provider, field."""
    import json

    from llm_openai_compat.config.settings import load_settings
    from llm_openai_compat.errors import ConfigError

    path = tmp_path / "openai-compat.json"
    path.write_text(
        json.dumps({"providers": {"p": {"baseURL": "http://127.0.0.1:1/v1", "defaultParams": default_params}}})
    )
    error = load_settings(path).broken["p"]  # skipped alone: other providers keep working
    assert isinstance(error, ConfigError)
    text = str(error)
    assert phrase in text and "\n" not in text
    assert str(path) in text and "provider 'p'" in text
    assert f"providers.p.defaultParams.{next(iter(default_params))}" in text

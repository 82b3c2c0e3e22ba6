"""The error tree: classification of every error body servers are known to send, one-line
messages that say where and what to do, and redaction of secrets."""

from __future__ import annotations

import json
import pickle

import pytest

from llm_openai_compat import errors
from llm_openai_compat.errors import (
    BadRequest,
    ConfigError,
    NotFound,
    Provider5xx,
    QuotaExceeded,
    RateLimited,
    StreamError,
    Unauthorized,
    classify_response,
    parse_error_body,
    redact,
)
from tests.support.openapi import TRANSCRIPTS, read_transcript

URL = "http://127.0.0.1:9/v1/chat/completions"


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        # OpenAI's envelope
        (
            '{"error": {"message": "Invalid model", "type": "invalid_request_error", '
            '"param": "model", "code": "model_not_found"}}',
            "Invalid model",
            "model_not_found",
        ),
        # vLLM's flat envelope
        ('{"object": "error", "message": "bad temp", "type": "BadRequestError", "code": 400}', "bad temp", "400"),
        # a plain string error
        ('{"error": "model \'x\' not found"}', "model 'x' not found", None),
        # FastAPI / pydantic detail list
        (
            '{"detail": [{"loc": ["body", "messages"], "msg": "field required", "type": "missing"}]}',
            "messages: field required",
            None,
        ),
        ('{"detail": "Not Found"}', "Not Found", None),
        # an HTML gateway page
        ("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "502 Bad Gateway", None),
        # plain text
        ("upstream connect error", "upstream connect error", None),
        # empty
        ("", None, None),
    ],
)
def test_parse_error_body_envelopes(body, message, code):
    parsed_message, parsed_code, _type, _param = parse_error_body(body)
    assert parsed_message == message
    assert parsed_code == code


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, '{"error": {"message": "bad", "param": "temperature"}}', BadRequest),
        (422, '{"detail": [{"loc": ["body", "model"], "msg": "field required"}]}', BadRequest),
        (401, '{"error": {"message": "no", "code": "invalid_api_key"}}', Unauthorized),
        (403, "<html><title>Forbidden</title></html>", Unauthorized),
        (404, '{"error": {"message": "The model `x` does not exist", "code": "model_not_found"}}', NotFound),
        (408, "", Provider5xx),
        (409, "{}", Provider5xx),
        (429, '{"error": {"message": "slow down", "code": "rate_limit_exceeded"}}', RateLimited),
        (429, '{"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}', QuotaExceeded),
        (500, "", Provider5xx),
        (502, "<html><title>502 Bad Gateway</title></html>", Provider5xx),
        (503, '{"error": "overloaded"}', Provider5xx),
    ],
)
def test_classify_response_by_status_and_body(status, body, cls):
    error = classify_response(status, {}, body, url=URL, provider="local", model="m1")
    assert type(error) is cls
    text = str(error)
    assert "\n" not in text
    assert URL in text and "'local'" in text and f"HTTP {status}" in text
    assert error.hint and error.hint in text  # what to do next


def test_retry_after_headers():
    assert classify_response(429, {"Retry-After": "2"}, "").retry_after == 2.0
    assert classify_response(429, {"retry-after-ms": "1500"}, "").retry_after == 1.5
    assert classify_response(429, {}, "").retry_after is None


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in TRANSCRIPTS.glob("*__error_*.txt")),
)
def test_every_recorded_error_body_is_classified(name):
    status = int(name.split("__error_")[1].split("_")[0])
    _header, body = read_transcript(name)
    error = classify_response(status, {}, body, url=URL, provider="p")
    if '"model_not_found"' in body:
        # OpenAI's Responses API answers an unknown model with 400; it is still "not found".
        status = 404
    expected = {
        400: BadRequest,
        401: Unauthorized,
        404: NotFound,
        429: (RateLimited, QuotaExceeded),
    }[status]
    assert isinstance(error, expected)
    assert error.server_message, "the server's own message is kept"
    assert error.server_message.split()[0] in str(error)


def test_openrouter_upstream_message_is_surfaced():
    _h, body = read_transcript("openrouter__chat__error_429_provider_returned_error.txt")
    error = classify_response(429, {}, body)
    assert isinstance(error, RateLimited)
    assert "temporarily rate-limited upstream" in str(error)


def test_quota_in_responses_transcript_is_not_retryable_class():
    _h, body = read_transcript("openai__responses__error_429_insufficient_quota.txt")
    error = classify_response(429, {}, body)
    assert isinstance(error, QuotaExceeded)
    assert not isinstance(error, errors.ProviderTransient)


def test_server_message_is_trimmed_to_one_line():
    long = "word " * 500
    error = classify_response(400, {}, json.dumps({"error": {"message": long + "\n\nmore"}}))
    text = str(error)
    assert "\n" not in text and len(text) < 700


def test_secrets_are_redacted_everywhere():
    canary = "canary-key-0123456789abcdef"
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {canary}", "code": "invalid_api_key"}})
    error = classify_response(401, {}, body, url=URL).scrub((canary,))  # as the call's choke point does
    for text in (str(error), repr(error), error.server_message or "", *map(str, error.args)):
        assert canary not in text
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is Unauthorized and canary not in str(clone)


def test_credential_shaped_strings_are_redacted_even_when_unknown():
    text = redact("header was Bearer abcdefghijklmnopqrstuvwxyz and key sk-proj-ABCDEFGHIJKLMNOP1234")
    assert "abcdefghijklmnop" not in text
    assert "ABCDEFGHIJKLMNOP1234" not in text
    assert "Bearer [redacted]" in text


def test_config_error_names_file_provider_field():
    error = ConfigError("must be an absolute http(s) URL", file="/x/s.json", provider="p", field="providers.p.baseURL")
    assert str(error).startswith("/x/s.json, provider 'p', field 'providers.p.baseURL': must be")


def test_at_fills_location_once():
    error = StreamError("the stream broke").at(url=URL, provider="p", model="m")
    assert URL in str(error) and "'p'" in str(error) and "'m'" in str(error)
    again = error.at(url="http://other", provider="q")
    assert again.url == URL and again.provider == "p"


# -- a 5xx that is not transient (issue 15 item 4) ---------------------------------------------


def _500(message: str, status: int = 500) -> errors.OpenAICompatError:
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": status}})
    return classify_response(status, {}, body.encode(), url=URL, provider="p", model="m")


@pytest.mark.parametrize(
    "message",
    [
        "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj",
        "audio input is unsupported for this model",
        "The model does not support images",
        "Invalid 'messages[0].content': expected a string",
        "this model can't support response_format",
    ],
)
def test_a_refusal_repeated_word_for_word_is_unsupported(message):
    settled = errors.repeated_refusal(_500(message), _500(message))
    assert isinstance(settled, errors.UnsupportedRequest) and isinstance(settled, BadRequest)
    assert not errors.is_transient(settled)
    assert settled.status == 500 and settled.server_message == message and settled.model == "m"
    assert "retrying will not help" in str(settled) and "try again" not in str(settled).lower()


@pytest.mark.parametrize(
    ("previous", "current"),
    [
        (None, _500("image input is not supported")),  # the first attempt: nothing to compare
        (_500("image input is not supported"), _500("audio input is not supported")),
        (_500("image input is not supported", 502), _500("image input is not supported")),
        (_500("CUDA out of memory"), _500("CUDA out of memory")),  # repeats, names no refusal
        (_500("upstream is invalidating its cache"), _500("upstream is invalidating its cache")),
    ],
)
def test_other_5xx_stay_transient(previous, current):
    assert errors.repeated_refusal(previous, current) is None


# -- loads_json: pydantic-core's parser, with json.loads deciding whatever it refuses ----------

_JSON_EDGES = [
    b'{"a":1}', b'{"a":NaN}', b'{"a":Infinity}', b'[-Infinity]', b"1e400", b"-0", b"1.0",
    b"123456789012345678901234567890123", b"12345678901234567890.5", b'{"a":1,"a":2}',
    b'"\\ud800"', b'"\\udc00x"', b'"\\ud83d\\ude00"', b'"\xed\xa0\x80"', b"\xef\xbb\xbf{}",
    b'"a\x01b"', b"{} x", b"{}  \n", b'"\xff"', b"", b"nan", b"-", b"01", b"1.", b'"\\u0000"',
    b'{"\\u00e9":1}', b'"\t"', b"'a'", b"[1,]", b'{"a":1,}', b"\x00", b'"\\x"', b'"\\/"',
    b"[" * 199 + b"]" * 199, b"[" * 100_000, b'  {"a": [1, 2.5, -0.0, 1E5, true, false, null]} ',
    b'{"choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}',
]


@pytest.mark.parametrize("raw", _JSON_EDGES, ids=lambda r: repr(r[:24]))
@pytest.mark.parametrize("kind", ["bytes", "str"])
def test_loads_json_reads_and_refuses_exactly_what_json_loads_does(raw, kind):
    """Where the fast parser and json disagree (lone surrogates, a BOM) json decides; the
    values read are json's to the type (an int stays an int, -0.0 stays negative)."""
    if kind == "str":
        try:
            data: str | bytes = raw.decode("utf-8")
        except UnicodeDecodeError:
            pytest.skip("not text")
    else:
        data = raw
    try:
        expected = ("ok", json.loads(data))
    except (ValueError, RecursionError):
        expected = ("error", None)
    try:
        got = ("ok", errors.loads_json(data))
    except errors.MalformedJSON:
        got = ("error", None)
    assert repr(got) == repr(expected)


def test_loads_json_values_match_json_on_generated_documents():
    """Bounded random documents (seeded) read the same through both parsers."""
    import random

    rng = random.Random(19)
    pieces = ["0", "-1", "1.5e3", "true", "null", '"x"', '"\\u00e9"', '"\\n"', "2e-5", "[]", "{}"]

    def value(depth: int) -> str:
        roll = rng.random()
        if depth > 4 or roll < 0.4:
            return rng.choice(pieces)
        if roll < 0.7:
            return "[" + ",".join(value(depth + 1) for _ in range(rng.randint(0, 4))) + "]"
        keys = [f'"k{rng.randint(0, 5)}"' for _ in range(rng.randint(0, 4))]
        return "{" + ",".join(f"{k}:{value(depth + 1)}" for k in keys) + "}"

    for _ in range(500):
        text = value(0)
        assert repr(errors.loads_json(text)) == repr(json.loads(text)), text
        assert repr(errors.loads_json(text.encode())) == repr(json.loads(text)), text

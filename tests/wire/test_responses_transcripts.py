"""Every recorded Responses transcript, replayed through the real SSE decoder, the Responses
parser and the assembler, with each file's quirk (its `notes` line) asserted.

Streams are also replayed with CRLF line ends in 1-byte, 7-byte and random chunks, which must
give identical events; the non-streamed body must give what its equivalent stream gives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from llm_openai_compat.errors import (
    BadRequest,
    NotFound,
    OpenAICompatError,
    QuotaExceeded,
    classify_response,
)
from llm_openai_compat.events import ToolCall, ToolCallArgumentsDelta, ToolCallStart
from tests.support.openapi import TRANSCRIPTS, read_transcript
from tests.wire.responses_replay import (
    Result,
    chunked,
    comparable,
    normalize,
    notes_of,
    random_chunks,
    raw_events,
    replay,
    replay_body,
    stream_payloads,
)

ALL = sorted(path.name for path in TRANSCRIPTS.glob("*__responses__*.txt"))
STREAMS = [name for name in ALL if "__stream_" in name]
ERRORS = [name for name in ALL if "__error_" in name]
NONSTREAM = [name for name in ALL if "__nonstream_" in name]


# -- expected results, one per stream file ---------------------------------------------------


def expect_deepseek_function_call(payloads: list[str], results: list[Result]) -> None:
    notes = notes_of("deepseek__responses__stream_function_call.txt")
    assert "event: lines" in notes and "no [DONE]" in notes
    assert "\nevent: response.output_item.added\n" in payloads[0]
    assert "[DONE]" not in payloads[0]
    (result,) = results
    assert result.meta == ("1235b7ba-fdc9-4a1c-bfe4-6137c207baf3", "deepseek-v4-flash")
    assert result.text == ""
    assert result.raw_reasoning == "The user asks about temperature in Tokyo. I'll call the tool."
    assert result.summary == ""
    assert result.items == (("fa6f3a83-5d25-46e8-9d03-1a89ce5cf2ba", (), None),)
    assert result.calls == (
        (0, "call_00_xjY8Z2BvSlzgEmmw0DtH0464", "get_temperature", {"city": "Tokyo"}),
    )
    assert result.usage == (366, 59, 425, 256, 14)
    assert result.finish == "tool_calls"


def expect_copilot_rotating_ids(payloads: list[str], results: list[Result]) -> None:
    notes = notes_of("github-copilot__responses__stream_rotating_item_ids.txt")
    assert "ROTATE" in notes and "output_index is the only stable key" in notes
    events = raw_events(payloads[0])
    text_ids = {e["item_id"] for e in events if e["type"] == "response.output_text.delta"}
    assert len(text_ids) > 50  # every delta of one item has its own id
    response_ids = [e["response"]["id"] for e in events if "response" in e]
    assert len(set(response_ids)) == len(response_ids) == 3
    final_text = next(e["text"] for e in events if e["type"] == "response.output_text.done")
    (result,) = results
    assert result.meta == ("capture-id-1", "gpt-5.3-codex")  # the first id wins
    assert result.text == final_text
    assert result.text.startswith("There are **3** letter")
    assert result.summary == "**Counting character occurrences**"
    assert result.items == (("capture-id-8", ("**Counting character occurrences**",), None),)
    assert result.calls == ()
    assert result.usage == (19, 105, 124, 0, 44)
    assert result.finish == "stop"


def expect_lmstudio_tool_call(payloads: list[str], results: list[Result]) -> None:
    notes = notes_of("lmstudio__responses__stream_tool_call.txt")
    assert "NO function_call_arguments.delta" in notes
    assert "response.function_call_arguments.delta" not in payloads[0]
    (result,) = results
    assert result.raw_reasoning.startswith("The user is asking for the weather in San Francisco.")
    assert result.raw_reasoning.endswith("to make the function call.")
    assert result.text == "I'll get the current weather information for San Francisco for you."
    assert result.items[0][0] == "rs_3yo6zy4vu4hq6iegqwhn1"
    assert result.calls == ((0, "call_2025306790300011", "weather", {"location": "San Francisco"}),)
    assert result.usage == (182, 61, 243, 2, 48)
    assert result.finish == "tool_calls"


def expect_error_event_quota(payloads: list[str], results: list[Result]) -> None:
    notes = notes_of("openai__responses__stream_error_event_insufficient_quota.txt")
    assert "NESTED error object" in notes and "response.failed" in notes
    (result,) = results
    assert result.failure is QuotaExceeded
    assert result.finish is None and result.usage is None
    assert result.meta is not None and result.meta[1] == "gpt-5-nano-2025-08-07"


def expect_openai_function_call(payloads: list[str], results: list[Result]) -> None:
    notes = notes_of("openai__responses__stream_function_call.txt")
    assert "function_call_arguments.delta/.done" in notes and "no [DONE]" in notes
    (result,) = results
    assert result.calls == (
        (0, "call_sVidsfFJ6zlzRpelrPkTPlpd", "multiply", {"a": 1231, "b": 2331}),
    )
    assert result.text == "" and result.items == ()
    assert result.usage == (58, 23, 81, 0, 0)
    assert result.finish == "tool_calls"


def expect_reasoning_summary_encrypted(payloads: list[str], results: list[Result]) -> None:
    notes = notes_of("openai__responses__stream_reasoning_summary_encrypted.txt")
    assert "FOUR consecutive Responses streams" in notes
    assert len(results) == 4
    first = raw_events(payloads[0])
    done_item = next(
        e["item"]
        for e in first
        if e["type"] == "response.output_item.done" and e["item"]["type"] == "reasoning"
    )
    added_item = next(
        e["item"]
        for e in first
        if e["type"] == "response.output_item.added" and e["item"]["type"] == "reasoning"
    )
    assert added_item["encrypted_content"] != done_item["encrypted_content"]
    one, two, three, four = results
    assert one.summary.startswith(
        "**Calculating step-by-step using calculator**\n\nI'll compute 12"
    )
    assert one.items == (
        (
            "rs_01830d662ab3856501693c321405c88190be3ab04d5782d5f9",
            (one.summary,),
            done_item["encrypted_content"],  # the completed item's, not the added one's
        ),
    )
    assert one.calls == (
        (0, "call_AB6AaRZ1FYZB2RwS6A5vbdqn", "calculator", {"a": 12, "b": 7, "op": "add"}),
    )
    assert one.usage == (134, 28, 162, 0, 0) and one.finish == "tool_calls"
    assert two.calls == (
        (0, "call_Q6pW65MUgW9vF59BmItYGos3", "calculator", {"a": 19, "b": 3, "op": "multiply"}),
    )
    assert two.usage == (221, 26, 247, 0, 0) and two.finish == "tool_calls"
    assert three.calls == (
        (0, "call_Zl5vIMnD7dVAjgU6FkhmiCZh", "calculator", {"a": 57, "b": 10, "op": "multiply"}),
    )
    assert four.text == "The final result is **570**."
    assert four.calls == () and four.finish == "stop"
    assert four.usage == (299, 12, 311, 0, 0)


def expect_text_with_event_lines(payloads: list[str], results: list[Result]) -> None:
    notes = notes_of("openai__responses__stream_text_with_event_lines.txt")
    assert "'event: <type>' line before every 'data:' line" in notes
    lines = payloads[0].split("\n")
    data_lines = [i for i, line in enumerate(lines) if line.startswith("data:")]
    assert all(lines[i - 1].startswith("event: ") for i in data_lines)
    (result,) = results
    assert result.meta == (
        "resp_67e554a155508191900ee113293c4c830794405d35281ae2",
        "gpt-4o-2024-08-06",
    )
    assert result.calls == (
        (0, "call_kL0PCQV7M2WMoVX8V8OtYSAL", "get_capital", {"country": "France"}),
    )
    assert result.usage == (255, 16, 271, 0, 0)
    assert result.finish == "tool_calls"


def expect_openrouter_raw_reasoning(payloads: list[str], results: list[Result]) -> None:
    notes = notes_of("openrouter__responses__stream_reasoning_text_delta.txt")
    assert "OPENROUTER PROCESSING" in notes and "out of order" in notes and "[DONE]" in notes
    assert payloads[0].lstrip().startswith(": OPENROUTER PROCESSING")
    assert payloads[0].rstrip().endswith("data: [DONE]")
    assert "\nevent:" not in payloads[0]
    (result,) = results
    assert result.meta == ("gen-1764265411-Fu1iEX7h5MRWiL79lb94", "openai/gpt-oss-20b")
    assert result.raw_reasoning == (
        'The user asks: "What is 2+2?" They expect a straightforward answer: 4. Just answer 4.'
    )
    assert result.text == "4"
    assert result.items == (("rs_tmp_2kbe7x16sax", (), None),)
    assert result.usage == (78, 37, 115, 0, 22)
    assert result.finish == "stop"


EXPECTED: dict[str, Callable[[list[str], list[Result]], None]] = {
    "deepseek__responses__stream_function_call.txt": expect_deepseek_function_call,
    "github-copilot__responses__stream_rotating_item_ids.txt": expect_copilot_rotating_ids,
    "lmstudio__responses__stream_tool_call.txt": expect_lmstudio_tool_call,
    "openai__responses__stream_error_event_insufficient_quota.txt": expect_error_event_quota,
    "openai__responses__stream_function_call.txt": expect_openai_function_call,
    "openai__responses__stream_reasoning_summary_encrypted.txt": expect_reasoning_summary_encrypted,
    "openai__responses__stream_text_with_event_lines.txt": expect_text_with_event_lines,
    "openrouter__responses__stream_reasoning_text_delta.txt": expect_openrouter_raw_reasoning,
}

EXPECTED_ERRORS: dict[str, type[OpenAICompatError]] = {
    "deepseek__responses__error_400_missing_tool_output.txt": BadRequest,
    "openai__responses__error_400_invalid_temperature.txt": BadRequest,
    "openai__responses__error_400_model_not_found.txt": NotFound,
    "openai__responses__error_429_insufficient_quota.txt": QuotaExceeded,
}


def test_every_responses_transcript_has_an_expectation() -> None:
    assert ALL, "no transcripts found"
    assert set(STREAMS) == set(EXPECTED)
    assert set(ERRORS) == set(EXPECTED_ERRORS)
    assert NONSTREAM == ["openai__responses__nonstream_parallel_function_calls.txt"]


@pytest.mark.parametrize("name", STREAMS)
def test_stream_transcript(name: str) -> None:
    payloads = stream_payloads(name)
    results = [normalize(replay([payload.encode("utf-8")])) for payload in payloads]
    EXPECTED[name](payloads, results)


@pytest.mark.parametrize("name", STREAMS)
def test_stream_chunking_and_crlf_give_identical_events(name: str) -> None:
    for payload in stream_payloads(name):
        lf = payload.encode("utf-8")
        baseline = comparable(replay([lf]))
        crlf = payload.replace("\n", "\r\n").encode("utf-8")
        for label, chunks in [
            ("1-byte", chunked(crlf, 1)),
            ("7-byte", chunked(crlf, 7)),
            ("random", random_chunks(crlf, seed=len(crlf))),
            ("random lf", random_chunks(lf, seed=7)),
        ]:
            assert comparable(replay(chunks)) == baseline, label


def test_stream_tool_events_are_keyed_by_output_index() -> None:
    """Arguments deltas stream under the call started by output_item.added (DeepSeek: the
    call sits at output_index 1, after a reasoning item), and the `.done` text matches them."""
    (payload,) = stream_payloads("deepseek__responses__stream_function_call.txt")
    events = replay([payload.encode()])
    starts = [e for e in events if isinstance(e, ToolCallStart)]
    deltas = [e for e in events if isinstance(e, ToolCallArgumentsDelta)]
    assert [(s.index, s.id, s.name) for s in starts] == [
        (0, "call_00_xjY8Z2BvSlzgEmmw0DtH0464", "get_temperature")
    ]
    assert "".join(d.delta for d in deltas) == '{"city": "Tokyo"}'
    assert {d.id for d in deltas} == {"call_00_xjY8Z2BvSlzgEmmw0DtH0464"}


def test_lmstudio_call_has_no_argument_deltas_but_complete_arguments() -> None:
    (payload,) = stream_payloads("lmstudio__responses__stream_tool_call.txt")
    events = replay([payload.encode()])
    assert not any(isinstance(e, ToolCallArgumentsDelta) for e in events)
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert call.arguments_raw == '{"location":"San Francisco"}'


def test_openrouter_reasoning_item_arrives_after_the_text() -> None:
    (payload,) = stream_payloads("openrouter__responses__stream_reasoning_text_delta.txt")
    events = replay([payload.encode()])
    kinds = [e.type for e in events]
    assert kinds.index("reasoning_item") > kinds.index("text")
    assert kinds.index("reasoning") < kinds.index("text")


# -- error bodies ----------------------------------------------------------------------------


def status_of(notes: str) -> int:
    marked = re.search(r"\[HTTP (\d{3})", notes)
    found = marked or re.search(r"HTTP (\d{3})", notes)
    assert found, notes
    return int(found.group(1))


@pytest.mark.parametrize("name", ERRORS)
def test_error_transcript(name: str) -> None:
    header, body = read_transcript(name)
    status = status_of(header["notes"])
    assert f"error_{status}_" in name
    error = classify_response(status, {}, body, url="https://example.test/v1/responses")
    assert type(error) is EXPECTED_ERRORS[name]
    assert "\n" not in str(error)
    parsed = json.loads(body)["error"]
    assert error.server_message == parsed["message"]


def test_model_not_found_is_classified_by_code_not_status() -> None:
    notes = notes_of("openai__responses__error_400_model_not_found.txt")
    assert "HTTP 400 (NOT 404)" in notes and "classify by error.code" in notes
    _, body = read_transcript("openai__responses__error_400_model_not_found.txt")
    error = classify_response(400, {}, body)
    assert isinstance(error, NotFound) and error.code == "model_not_found"


def test_invalid_temperature_names_the_param() -> None:
    _, body = read_transcript("openai__responses__error_400_invalid_temperature.txt")
    error = classify_response(400, {}, body)
    assert error.param == "temperature" and "'temperature'" in str(error)


def test_deepseek_code_equals_type() -> None:
    notes = notes_of("deepseek__responses__error_400_missing_tool_output.txt")
    assert "code == type == 'invalid_request_error'" in notes
    _, body = read_transcript("deepseek__responses__error_400_missing_tool_output.txt")
    error = classify_response(400, {}, body)
    assert isinstance(error, BadRequest)
    assert "No tool output found for tool call call-a." in str(error)


# -- the non-streamed body -------------------------------------------------------------------


def synthesized_stream(response: dict[str, Any]) -> str:
    """The stream a server would have sent for `response`, arguments in three pieces."""
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "response": {**response, "status": "in_progress", "output": [], "usage": None},
        },
    ]
    for index, item in enumerate(response["output"]):
        if item["type"] == "function_call":
            added = {**item, "arguments": "", "status": "in_progress"}
            events.append(
                {"type": "response.output_item.added", "output_index": index, "item": added}
            )
            args = item["arguments"]
            third = max(1, len(args) // 3)
            for start in range(0, len(args), third):
                events.append(
                    {
                        "type": "response.function_call_arguments.delta",
                        "output_index": index,
                        "item_id": item["id"],
                        "delta": args[start : start + third],
                    }
                )
            events.append(
                {
                    "type": "response.function_call_arguments.done",
                    "output_index": index,
                    "item_id": item["id"],
                    "arguments": args,
                }
            )
        else:
            added = {k: v for k, v in item.items() if k != "encrypted_content"}
            events.append(
                {"type": "response.output_item.added", "output_index": index, "item": added}
            )
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": response})
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)


def test_nonstream_body_matches_its_equivalent_stream() -> None:
    name = "openai__responses__nonstream_parallel_function_calls.txt"
    header, body = read_transcript(name)
    assert "reasoning item then FIVE function_call items" in header["notes"]
    response = json.loads(body)
    from_body = normalize(replay_body(response))
    from_stream = normalize(replay([synthesized_stream(response).encode()]))
    assert from_body == from_stream
    encrypted = response["output"][0]["encrypted_content"]
    assert from_body.items == (
        ("rs_0429c1fcf5cbfa350169fabfeff8708197a93aabe0257d06a5", (), encrypted),
    )
    assert [(c[1], c[2], c[3]) for c in from_body.calls] == [
        ("call_WbWwKw4J6EXQ7Sn93fgmuZe3", "db_lookup", {"key": "begin"}),
        ("call_et3hsNc1ipjCfuBylmAwqkEy", "db_lookup", {"key": "value"}),
        ("call_J4rpPS0QEz4CIdsVGKEKG6k3", "db_lookup", {"key": "the value 7"}),
        ("call_gd2cYY61KkICSgB6qNd7ZC66", "db_lookup", {"key": "Begin with the value 7."}),
        ("call_nInKAmdZObYpqc3OR3WC61K3", "db_lookup", {"key": "start2"}),
    ]
    assert [c[0] for c in from_body.calls] == [0, 1, 2, 3, 4]
    assert from_body.usage == (532, 119, 651, 0, 17)
    assert from_body.finish == "tool_calls"
    assert from_body.meta == (
        "resp_0429c1fcf5cbfa350169fabfef66108197a84f433a66eb14cc",
        "gpt-5.5-2026-04-23",
    )


def test_nonstream_text_and_reasoning_body() -> None:
    response = {
        "id": "resp_1",
        "model": "m",
        "status": "completed",
        "output": [
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [
                    {"type": "summary_text", "text": "First."},
                    {"type": "summary_text", "text": "Second."},
                ],
                "content": [{"type": "reasoning_text", "text": "raw thoughts"}],
                "encrypted_content": "enc",
            },
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Hello ", "annotations": []},
                    {"type": "output_text", "text": "world", "annotations": []},
                ],
            },
        ],
        "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
    }
    result = normalize(replay_body(response))
    assert result.text == "Hello world"
    assert result.summary == "First.\n\nSecond."
    assert result.raw_reasoning == "raw thoughts"
    assert result.items == (("rs_1", ("First.", "Second."), "enc"),)
    assert result.usage == (3, 4, 7, None, None)
    assert result.finish == "stop"

"""Issue 17's migration test: LangChain's own ChatOpenAI usage examples, run unchanged with
`ChatOpenAI` replaced by `ChatOpenAICompat`, against the suite's model server, side by side
with the real `ChatOpenAI` against the same server: the same content, tool calls,
usage_metadata and response_metadata keys."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field

from langchain_adapter import ChatOpenAICompat

langchain_openai = pytest.importorskip("langchain_openai")
ChatOpenAI = langchain_openai.ChatOpenAI

PROMPT = [("system", "You are a helpful translator."), ("human", "I love programming.")]


class GetWeather(BaseModel):
    """Get the current weather in a given location"""

    location: str = Field(..., description="The city and state, e.g. San Francisco, CA")


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="The setup of the joke")
    punchline: str = Field(description="The punchline to the joke")


def both(model_server, *flags: str, **kwargs):
    """The same constructor call, as ChatOpenAI takes it, for both classes."""
    common = dict(model="gpt-4o", api_key="sk-test", base_url=model_server.url(*flags),
                  max_retries=0, **kwargs)
    return ChatOpenAI(**common), ChatOpenAICompat(**common)


def same(theirs, ours, *, args: bool = True) -> None:
    if args or not theirs.text:
        assert ours.content == theirs.content
    else:  # JSON text: the same keys
        assert set(json.loads(ours.text)) == set(json.loads(theirs.text))
    assert ours.additional_kwargs.get("refusal") == theirs.additional_kwargs.get("refusal")
    assert [(c["name"], c["args"] if args else set(c["args"])) for c in ours.tool_calls] == [
        (c["name"], c["args"] if args else set(c["args"])) for c in theirs.tool_calls
    ]
    if theirs.usage_metadata is None:
        assert ours.usage_metadata is None
    else:
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            assert ours.usage_metadata[key] == theirs.usage_metadata[key]
    missing = set(theirs.response_metadata) - set(ours.response_metadata)
    assert not missing, f"response_metadata lacks {sorted(missing)}"
    for key in ("finish_reason", "model_name", "model_provider", "system_fingerprint",
                "service_tier"):
        if key in theirs.response_metadata:
            assert ours.response_metadata[key] == theirs.response_metadata[key], key


def test_invoke(model_server):
    for theirs, ours in [both(model_server)]:
        same(theirs.invoke(PROMPT), ours.invoke(PROMPT))


def test_stream(model_server):
    theirs, ours = both(model_server, stream_usage=True)
    merged = []
    for llm in (theirs, ours):
        full = None
        for chunk in llm.stream(PROMPT):
            full = chunk if full is None else full + chunk
        merged.append(full)
    same(*merged)


def test_batch(model_server):
    theirs, ours = both(model_server)
    for a, b in zip(theirs.batch([PROMPT, "hi there"]), ours.batch([PROMPT, "hi there"]),
                    strict=True):
        same(a, b)


def test_tool_calling(model_server):
    theirs, ours = both(model_server)
    question = "What is the weather like in Paris? Use GetWeather"
    same(theirs.bind_tools([GetWeather]).invoke(question),
         ours.bind_tools([GetWeather]).invoke(question))


@pytest.mark.parametrize("method", ["function_calling", "json_schema", "json_mode"])
def test_structured_output_include_raw(model_server, method):
    theirs, ours = both(model_server)
    question = 'Tell me a joke about cats, with "setup" and "punchline"'
    a = theirs.with_structured_output(Joke, method=method, include_raw=True).invoke(question)
    b = ours.with_structured_output(Joke, method=method, include_raw=True).invoke(question)
    assert set(b) == set(a) == {"raw", "parsed", "parsing_error"}
    # The core sends JSON with sorted keys (canonical bytes for prompt caching), so the schema's
    # properties reach the server in another order, and the model server fills values by order:
    # the same fields, not necessarily the same values.
    assert isinstance(b["parsed"], Joke) and isinstance(a["parsed"], Joke)
    assert b["parsing_error"] is None
    same(a["raw"], b["raw"], args=False)


def test_logprobs(model_server):
    theirs, ours = both(model_server, logprobs=True, top_logprobs=2)
    a, b = theirs.invoke(PROMPT), ours.invoke(PROMPT)
    same(a, b)
    assert b.response_metadata["logprobs"]["content"] == a.response_metadata["logprobs"]["content"]
    assert len(b.response_metadata["logprobs"]["content"][0]["top_logprobs"]) == 2
    # ChatOpenAI's docs: `.bind(logprobs=True)` per call.
    bound = ChatOpenAICompat(model="gpt-4o", api_key="sk-test", max_retries=0,
                             base_url=model_server.url()).bind(logprobs=True)
    assert bound.invoke(PROMPT).response_metadata["logprobs"]["content"]


def test_refusal(model_server):
    theirs, ours = both(model_server, "refusal")
    a, b = theirs.invoke(PROMPT), ours.invoke(PROMPT)
    assert b.additional_kwargs["refusal"].startswith("I'm sorry")
    same(a, b)


def test_n_generations(model_server):
    theirs, ours = both(model_server, n=2)
    messages = [SystemMessage("You are a helpful translator."), HumanMessage("I love it.")]
    a = theirs.generate([messages])
    b = ours.generate([messages])
    assert len(b.generations[0]) == len(a.generations[0]) == 2
    for x, y in zip(a.generations[0], b.generations[0], strict=True):
        same(x.message, y.message)
    with pytest.raises(ValueError, match="n=1"):
        ours.stream(PROMPT).__next__()


def test_model_kwargs(model_server):
    theirs, ours = both(model_server, model_kwargs={"user": "u-1"})
    same(theirs.invoke(PROMPT), ours.invoke(PROMPT))
    assert model_server.last_body()["user"] == "u-1"
    # A name that is no request param is sent as a body field (ChatOpenAI's SDK refuses it).
    vendor = ChatOpenAICompat(model="m", base_url=model_server.url(), model_kwargs={"top_k": 3})
    vendor.invoke("hi")
    assert model_server.last_body()["top_k"] == 3


def test_use_responses_api(model_server):
    theirs, ours = both(model_server, use_responses_api=True)
    a, b = theirs.invoke(PROMPT), ours.invoke(PROMPT)
    assert model_server.requests()[-1]["path"].endswith("/responses")
    assert b.text == a.text
    assert b.usage_metadata == a.usage_metadata
    missing = set(a.response_metadata) - set(b.response_metadata)
    assert not missing, f"response_metadata lacks {sorted(missing)}"
    for key in ("model_name", "model_provider", "status", "object", "model"):
        assert b.response_metadata[key] == a.response_metadata[key], key
    merged = []
    for llm in (theirs, ours):
        full = None
        for chunk in llm.stream(PROMPT):
            full = chunk if full is None else full + chunk
        merged.append(full)
    assert merged[1].text == merged[0].text
    assert merged[1].response_metadata["status"] == "completed" == merged[0].response_metadata["status"]
    assert not set(merged[0].response_metadata) - set(merged[1].response_metadata)


def _shape(message) -> list[tuple[str, object]]:
    """What a responses/v1 message says, block by block, without the ids only the Responses
    API's item ids give (the core keeps the reasoning item's, not the message's)."""
    out: list[tuple[str, object]] = []
    for block in message.content:
        kind = block["type"]
        if kind == "text":
            out.append((kind, (block["text"], block.get("annotations"))))
        elif kind == "reasoning":
            out.append((kind, [p["text"] for p in block["summary"]]))
        elif kind == "function_call":
            out.append((kind, (block["name"], json.loads(block["arguments"]), block["call_id"])))
        else:
            out.append((kind, block))
    return out


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", ["text", "reasoning", "tools"])
def test_output_version_responses_v1(model_server, case, stream):
    """ChatOpenAI(output_version="responses/v1") uses the Responses API and gives its items
    as content blocks; ChatOpenAICompat gives the same blocks, streamed and not."""
    flags = ("reasoning",) if case == "reasoning" else ()
    theirs, ours = both(model_server, *flags, output_version="responses/v1",
                        reasoning={"effort": "low", "summary": "auto"} if flags else None)
    question = "What is the weather in Paris? Use GetWeather" if case == "tools" else "hi"
    results = []
    for llm in (theirs, ours):
        runnable = llm.bind_tools([GetWeather]) if case == "tools" else llm
        model_server.reset()
        if stream:
            full = None
            for chunk in runnable.stream(question):
                full = chunk if full is None else full + chunk
            results.append(full)
        else:
            results.append(runnable.invoke(question))
        assert model_server.requests()[-1]["path"].endswith("/responses")  # implied, as theirs
    a, b = results
    assert isinstance(b.content, list) and _shape(b) == _shape(a)
    assert {"reasoning": ["reasoning", "text"], "text": ["text"],
            "tools": ["function_call"]}[case] == [k for k, _ in _shape(b)]
    for x, y in zip(a.content, b.content, strict=True):  # their keys, but for the item ids
        assert set(x) - {"id", "status"} <= set(y), (x, y)
        assert ("index" in y) == ("index" in x)  # merged chunks keep it, invoke drops it
    assert [(c["name"], c["args"], c["id"]) for c in b.tool_calls] == [
        (c["name"], c["args"], c["id"]) for c in a.tool_calls
    ]
    assert b.usage_metadata["output_tokens"] == a.usage_metadata["output_tokens"]
    # The blocks go back as history (ours, and ChatOpenAI's own message, which has no
    # additional_kwargs): the next turn reads the function call and the reasoning item from
    # the content blocks.
    if case != "text":
        for previous in (b, b.model_copy(update={"additional_kwargs": {}}), a):
            follow = [HumanMessage(question), previous]
            if case == "tools":
                follow.append(ToolMessage("sunny", tool_call_id=previous.tool_calls[0]["id"]))
            else:
                follow.append(HumanMessage("and again"))
            model_server.reset()
            assert ours.bind_tools([GetWeather]).invoke(follow).text
            sent = model_server.last_body()["input"]
            wanted = "function_call" if case == "tools" else "reasoning"
            if case == "reasoning" and "encrypted_content" not in previous.content[0]:
                # ChatOpenAI did not ask for encrypted content: a bare id names nothing in a
                # stateless call, so the core leaves that item out (responses_request.py).
                assert wanted not in [i.get("type") for i in sent]
                continue
            item = next(i for i in sent if i.get("type") == wanted)
            if case == "reasoning":
                assert item["id"] == previous.content[0]["id"]
                assert item["summary"][0]["text"] == previous.content[0]["summary"][0]["text"]


def test_output_version_responses_v1_on_chat_completions_is_not_silently_v0(model_server):
    """With the chat shape chosen explicitly, the answer still comes as Responses-style
    blocks (reasoning summary from `reasoning_content`, text, function calls), never as v0."""
    ours = ChatOpenAICompat(model="m", base_url=model_server.url("reasoning"),
                            use_responses_api=False, output_version="responses/v1")
    model_server.reset()
    message = ours.invoke("hi")
    assert model_server.requests()[-1]["path"].endswith("/chat/completions")
    assert [b["type"] for b in message.content] == ["reasoning", "text"]
    assert message.content[0]["content"][0]["type"] == "reasoning_text"
    assert message.content[1]["text"] == "Hello! You said: hi."
    assert message.content_blocks[-1]["type"] == "text"  # LangChain reads them as standard

"""Runners: one scenario, run through one entry point (the core client or an adapter).

Every runner does the same thing: write the provider into the settings file (so the adapters
find it exactly as a user's would), send one prompt, collect the text as it is delivered, and
catch the error if there is one. Retry sleeps are recorded instead of slept, through
`transport.DEFAULT_POLICY` (which every entry point uses when given no policy), so a scenario
measures what the policy asked for without waiting for it.

The adapters are being written alongside this suite: a runner whose adapter cannot be imported
is reported as unavailable, and the scenario rows for it are skipped, not failed.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llm_openai_compat import errors as core_errors

MODEL = "m"
_ids = itertools.count(1)


def fresh_provider_id(prefix: str = "rel") -> str:
    """A provider id never used before in this process: its own pool, breaker and quirks."""
    return f"{prefix}{next(_ids)}"


def write_provider(user_dir: Path, provider_id: str, fields: dict[str, Any]) -> Path:
    """The settings file with one provider, as `llm openai-compat add` would leave it."""
    path = user_dir / "openai-compat.json"
    entry = {"models": [MODEL], **fields}
    fresh = path.with_name(path.name + ".new")  # replaced: a new inode, never a stale parse
    fresh.write_text(json.dumps({"providers": {provider_id: entry}}), encoding="utf-8")
    os.replace(fresh, path)
    return path


@dataclass
class Recorder:
    """Sleeps asked for by the retry loop, recorded instead of slept."""

    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def install_recorder(monkeypatch: Any) -> Recorder:
    """Make the process-wide default policy record its sleeps (jitter and all else unchanged)."""
    from llm_openai_compat.http import transport

    recorder = Recorder()
    policy = replace(transport.DEFAULT_POLICY, sleep=recorder.sleep, asleep=recorder.asleep)
    monkeypatch.setattr(transport, "DEFAULT_POLICY", policy)
    return recorder


@dataclass
class Outcome:
    """What one run delivered: the text pieces in order, and the error it ended with."""

    pieces: list[str]
    error: BaseException | None
    elapsed: float

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def core_error(self) -> core_errors.OpenAICompatError | None:
        """The core error behind what the caller saw (llm wraps it in llm.ModelError)."""
        seen: set[int] = set()
        current = self.error
        while current is not None and id(current) not in seen:
            if isinstance(current, core_errors.OpenAICompatError):
                return current
            seen.add(id(current))
            current = current.__cause__ or current.__context__
        return None

    @property
    def core_class(self) -> type[core_errors.OpenAICompatError] | None:
        """The class from the core's tree (an adapter may raise a subclass of it)."""
        error = self.core_error
        if error is None:
            return None
        for cls in type(error).__mro__:
            if cls.__module__ == core_errors.__name__:
                return cls  # type: ignore[no-any-return]
        return None


@dataclass(frozen=True)
class Run:
    """The inputs every runner needs."""

    user_dir: Path
    provider_id: str
    fields: dict[str, Any]
    stream: bool
    prompt: str = "hi"


_LOOP: asyncio.AbstractEventLoop | None = None


def run_async(coro: Any) -> Any:
    """Run on one event loop kept for the session, so its pooled clients are reused across
    runs as in a long-lived application (a new loop per run would rebuild them every time)."""
    global _LOOP
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(coro)


def close_loop() -> None:
    """End the session's loop the way asyncio.run would: async generators (the pool guard,
    which closes the loop's clients) first."""
    global _LOOP
    if _LOOP is not None and not _LOOP.is_closed():
        _LOOP.run_until_complete(_LOOP.shutdown_asyncgens())
        _LOOP.close()
    _LOOP = None


def _timed(fn: Callable[[list[str]], None]) -> Outcome:
    pieces: list[str] = []
    start = time.perf_counter()
    error: BaseException | None = None
    try:
        fn(pieces)
    except Exception as exc:
        error = exc
    return Outcome(pieces, error, time.perf_counter() - start)


# -- the core client ------------------------------------------------------------------------


def _core_inputs(run: Run) -> tuple[Any, Any]:
    from llm_openai_compat import Conversation, Message, RequestOptions

    conversation = Conversation((Message.text("user", run.prompt),))
    return conversation, RequestOptions(model=MODEL, stream=run.stream)


def run_core(run: Run) -> Outcome:
    from llm_openai_compat import Client

    write_provider(run.user_dir, run.provider_id, run.fields)

    def go(pieces: list[str]) -> None:
        client = Client(run.provider_id)
        conversation, options = _core_inputs(run)
        for event in client.stream(conversation, options):
            if event.type == "text":
                pieces.append(event.text)

    return _timed(go)


def run_core_async(run: Run) -> Outcome:
    from llm_openai_compat import AsyncClient

    write_provider(run.user_dir, run.provider_id, run.fields)

    async def main(pieces: list[str]) -> None:
        client = AsyncClient(run.provider_id)
        conversation, options = _core_inputs(run)
        async for event in client.stream(conversation, options):
            if event.type == "text":
                pieces.append(event.text)

    return _timed(lambda pieces: run_async(main(pieces)))


# -- the llm plugin -------------------------------------------------------------------------


def llm_available() -> str | None:
    """None when the llm plugin can run a prompt, else why not."""
    try:
        importlib.import_module("llm_openai_compat.plugin.models")
        import llm

        getattr(llm, "get_async_model")  # noqa: B009
    except Exception as exc:  # an adapter under construction may fail in any way
        return f"llm plugin not importable ({type(exc).__name__}: {exc})"
    return None


def run_llm(run: Run) -> Outcome:
    import llm

    write_provider(run.user_dir, run.provider_id, run.fields)

    def go(pieces: list[str]) -> None:
        model = llm.get_model(f"{run.provider_id}/{MODEL}")
        response = model.prompt(run.prompt, stream=run.stream)
        for piece in response:
            pieces.append(piece)

    return _timed(go)


def run_llm_async(run: Run) -> Outcome:
    import llm

    write_provider(run.user_dir, run.provider_id, run.fields)

    async def main(pieces: list[str]) -> None:
        model = llm.get_async_model(f"{run.provider_id}/{MODEL}")
        response = model.prompt(run.prompt, stream=run.stream)
        async for piece in response:
            pieces.append(piece)

    return _timed(lambda pieces: run_async(main(pieces)))


# -- LangChain ------------------------------------------------------------------------------


def langchain_available() -> str | None:
    try:
        module = importlib.import_module("langchain_adapter")
        getattr(module, "ChatOpenAICompat")  # noqa: B009
    except Exception as exc:
        return f"LangChain adapter not importable ({type(exc).__name__}: {exc})"
    return None


def _chat_model(run: Run) -> Any:
    from langchain_adapter import ChatOpenAICompat

    write_provider(run.user_dir, run.provider_id, run.fields)
    return ChatOpenAICompat(provider=run.provider_id, model=MODEL)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text", "") if isinstance(part, dict) else str(part) for part in content or ()
    )


def run_langchain(run: Run) -> Outcome:
    def go(pieces: list[str]) -> None:
        chat = _chat_model(run)
        if run.stream:
            for chunk in chat.stream(run.prompt):
                text = _content_text(chunk.content)
                if text:
                    pieces.append(text)
        else:
            pieces.append(_content_text(chat.invoke(run.prompt).content))

    return _timed(go)


def run_langchain_async(run: Run) -> Outcome:
    async def main(pieces: list[str]) -> None:
        chat = _chat_model(run)
        if run.stream:
            async for chunk in chat.astream(run.prompt):
                text = _content_text(chunk.content)
                if text:
                    pieces.append(text)
        else:
            message = await chat.ainvoke(run.prompt)
            pieces.append(_content_text(message.content))

    return _timed(lambda pieces: run_async(main(pieces)))


@dataclass(frozen=True)
class Runner:
    name: str
    run: Callable[[Run], Outcome]
    available: Callable[[], str | None]
    adapter: str  # "core", "llm" or "langchain"


def _always() -> str | None:
    return None


RUNNERS: tuple[Runner, ...] = (
    Runner("core", run_core, _always, "core"),
    Runner("core-async", run_core_async, _always, "core"),
    Runner("llm", run_llm, llm_available, "llm"),
    Runner("llm-async", run_llm_async, llm_available, "llm"),
    Runner("langchain", run_langchain, langchain_available, "langchain"),
    Runner("langchain-async", run_langchain_async, langchain_available, "langchain"),
)
RUNNER_BY_NAME = {r.name: r for r in RUNNERS}

"""The clients under test, each behind the same small interface.

Every client does, for each scenario, what its documentation tells a user to do, and returns
what it received so the worker can check it (a benchmark that silently drops chunks would be
fast and wrong):

- `call()`                one non-streamed chat completion of model `hi`; returns its text
- `stream(shape, n)`      a streamed `text-n` on `chat` or `responses`; returns the text length
- `tool(n)`               a streamed `tool-n` (chat); returns the complete call's parsed arguments
- `acall()`               the async twin of `call()` (the async scenario runs 500 of them)
- `first_text(n)`         a streamed `text-n`: seconds to the first text, and the text length
- `tool_calls(n)`         a streamed `calls-n` (n calls, 4 pieces each): every call's arguments

Heavy imports happen in `import_()` (timed by the `import` scenario) and objects are built in
`setup()`; neither is inside the timed part of the other scenarios. The environment (set by
`bench.env`) gives `BENCH_BASE_URL`, and llm / our settings file point at the same server.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

__all__ = ["CLIENTS", "PEERS", "BenchClient", "get_client"]

PROMPT = "hi"
TOOL_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "notes": {"type": "string"}},
    "required": ["city"],
}
TOOL_DESCRIPTION = "Get the weather for a city"


def base_url() -> str:
    return os.environ["BENCH_BASE_URL"]


class BenchClient:
    key = ""
    label = ""
    # Also count the memory scenario's allocations with tracemalloc (adapters and host floors:
    # what each keeps per chunk, free of where the allocator happened to place it).
    traced_memory = False
    # Set LLM_LOAD_PLUGINS for this client's processes (None: leave llm's default).
    llm_load_plugins: str | None = None

    def unavailable(self) -> str | None:
        """Why this client cannot run here (not installed, not written yet), or None."""
        return None

    def import_(self) -> None:
        raise NotImplementedError

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        """Build whatever objects `models` need on `shapes`, outside the timed part."""

    def call(self) -> str:
        raise NotImplementedError

    def stream(self, shape: str, n: int) -> int:
        raise NotImplementedError

    def tool(self, n: int) -> dict[str, Any]:
        raise NotImplementedError

    def tool_calls(self, n: int) -> list[dict[str, Any]]:
        """A streamed `calls-n` (chat): the parsed arguments of every call, in order."""
        raise NotImplementedError

    def first_text(self, n: int) -> tuple[float, int]:
        """A streamed chat `text-n`: seconds from the request to the first text the caller
        gets (raw httpx2: the first body byte), and the whole text's length (read after)."""
        raise NotImplementedError

    async def asetup(self) -> None:
        """Build the async objects (inside the event loop)."""

    async def acall(self) -> str:
        raise NotImplementedError


def _missing(module: str) -> str | None:
    import importlib.util

    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        found = None
    return None if found is not None else f"`{module}` is not importable"


# -- raw httpx2: the floor ------------------------------------------------------------------


class RawHttpx(BenchClient):
    key = "raw"
    label = "raw httpx2 (iter_lines + json.loads)"

    def import_(self) -> None:
        import httpx2  # noqa: F401

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        import httpx2

        self.client = httpx2.Client(timeout=60)
        self.base = base_url()

    def call(self) -> str:
        body = {"model": "hi", "messages": [{"role": "user", "content": PROMPT}]}
        response = self.client.post(self.base + "/chat/completions", json=body)
        text: str = json.loads(response.content)["choices"][0]["message"]["content"]
        return text

    def _lines(self, path: str, body: dict[str, Any]):  # type: ignore[no-untyped-def]
        with self.client.stream("POST", self.base + path, json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        return
                    yield json.loads(data)

    def stream(self, shape: str, n: int) -> int:
        total = 0
        if shape == "responses":
            body = {"model": f"text-{n}", "input": PROMPT, "stream": True}
            for obj in self._lines("/responses", body):
                if obj["type"] == "response.output_text.delta":
                    total += len(obj["delta"])
            return total
        body = {
            "model": f"text-{n}",
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
        }
        for obj in self._lines("/chat/completions", body):
            choices = obj["choices"]
            if choices:
                content = choices[0]["delta"].get("content")
                if content:
                    total += len(content)
        return total

    def first_text(self, n: int) -> tuple[float, int]:
        import time

        body = {
            "model": f"text-{n}",
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
        }
        t0 = time.perf_counter()
        with self.client.stream("POST", self.base + "/chat/completions", json=body) as response:
            raw = response.iter_raw()
            data = [next(raw)]
            first = time.perf_counter() - t0
            data.extend(raw)
        total = 0
        for line in b"".join(data).decode().splitlines():
            if line.startswith("data: {"):
                choices = json.loads(line[6:])["choices"]
                if choices:
                    total += len(choices[0]["delta"].get("content") or "")
        return first, total

    def tool(self, n: int) -> dict[str, Any]:
        body = {
            "model": f"tool-{n}",
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
            "tools": [
                {"type": "function", "function": {"name": "get_weather", "parameters": TOOL_SCHEMA}}
            ],
        }
        pieces: list[str] = []
        for obj in self._lines("/chat/completions", body):
            choices = obj["choices"]
            if choices:
                for call in choices[0]["delta"].get("tool_calls") or ():
                    pieces.append(call["function"].get("arguments") or "")
        arguments: dict[str, Any] = json.loads("".join(pieces))
        return arguments

    async def asetup(self) -> None:
        import httpx2

        self.aclient = httpx2.AsyncClient(
            timeout=60, limits=httpx2.Limits(max_connections=100, max_keepalive_connections=100)
        )
        self.base = base_url()

    async def acall(self) -> str:
        body = {"model": "hi", "messages": [{"role": "user", "content": PROMPT}]}
        response = await self.aclient.post(self.base + "/chat/completions", json=body)
        text: str = json.loads(response.content)["choices"][0]["message"]["content"]
        return text


# -- this project's core --------------------------------------------------------------------


class Core(BenchClient):
    key = "core"
    label = "llm-openai-compat core Client"

    def import_(self) -> None:
        from llm_openai_compat import Client  # noqa: F401

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        from llm_openai_compat import Client, Conversation, Message

        self.clients = {
            "chat": Client.inline(base_url=base_url(), provider_id="bench"),
            "responses": Client.inline(
                base_url=base_url(), provider_id="bench-resp", api_shape="responses"
            ),
        }
        self.conversation = Conversation((Message.text("user", PROMPT),))

    def call(self) -> str:
        from llm_openai_compat import RequestOptions

        result = self.clients["chat"].complete(
            self.conversation, RequestOptions(model="hi", stream=False)
        )
        text: str = result.text
        return text

    def stream(self, shape: str, n: int) -> int:
        from llm_openai_compat import RequestOptions

        total = 0
        for event in self.clients[shape].stream(
            self.conversation, RequestOptions(model=f"text-{n}")
        ):
            if event.type == "text":
                total += len(event.text)
        return total

    def tool(self, n: int) -> dict[str, Any]:
        from llm_openai_compat import RequestOptions, ToolSpec

        options = RequestOptions(
            model=f"tool-{n}",
            tools=(ToolSpec("get_weather", TOOL_DESCRIPTION, TOOL_SCHEMA),),
        )
        for event in self.clients["chat"].stream(self.conversation, options):
            if event.type == "tool_call":
                return dict(event.arguments or {})
        raise AssertionError("no tool call")

    def tool_calls(self, n: int) -> list[dict[str, Any]]:
        from llm_openai_compat import RequestOptions, ToolSpec

        options = RequestOptions(
            model=f"calls-{n}",
            tools=(ToolSpec("get_weather", TOOL_DESCRIPTION, TOOL_SCHEMA),),
        )
        return [
            dict(event.arguments or {})
            for event in self.clients["chat"].stream(self.conversation, options)
            if event.type == "tool_call"
        ]

    def first_text(self, n: int) -> tuple[float, int]:
        # `stream_reads`, the coalescing road the adapters take: its first text must not wait.
        import time

        from llm_openai_compat import RequestOptions

        first, total = 0.0, 0
        t0 = time.perf_counter()
        for batch in self.clients["chat"].stream_reads(
            self.conversation, RequestOptions(model=f"text-{n}")
        ):
            for event in batch:
                if event.type == "text":
                    if not total:
                        first = time.perf_counter() - t0
                    total += len(event.text)
        return first, total

    async def asetup(self) -> None:
        from llm_openai_compat import AsyncClient, Conversation, Message

        self.aclient = AsyncClient.inline(base_url=base_url(), provider_id="bench")
        self.conversation = Conversation((Message.text("user", PROMPT),))

    async def acall(self) -> str:
        from llm_openai_compat import RequestOptions

        result = await self.aclient.complete(
            self.conversation, RequestOptions(model="hi", stream=False)
        )
        text: str = result.text
        return text


# -- llm models (ours and llm's built-in OpenAI) through llm's Python API ----------------------


class _LlmPython(BenchClient):
    """`llm.get_model(id).prompt(...)`: the same code for our plugin's models and llm's own."""

    prefix: ClassVar[dict[str, str]] = {"chat": "", "responses": ""}

    def model_id(self, shape: str, model: str) -> str:
        return self.prefix[shape] + model

    def import_(self) -> None:
        import llm

        llm.get_model(self.model_id("chat", "hi"))  # loads the plugins and registers models

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        import llm

        self.models = {
            (shape, m): llm.get_model(self.model_id(shape, m)) for shape in shapes for m in models
        }

    def call(self) -> str:
        return self.models["chat", "hi"].prompt(PROMPT, stream=False).text()

    def stream(self, shape: str, n: int) -> int:
        total = 0
        for chunk in self.models[shape, f"text-{n}"].prompt(PROMPT):
            total += len(chunk)
        return total

    def first_text(self, n: int) -> tuple[float, int]:
        import time

        first, total = 0.0, 0
        t0 = time.perf_counter()
        for chunk in self.models["chat", f"text-{n}"].prompt(PROMPT):
            if chunk and not total:
                first = time.perf_counter() - t0
            total += len(chunk)
        return first, total

    def tool(self, n: int) -> dict[str, Any]:
        import llm

        tool = llm.Tool(
            name="get_weather",
            description=TOOL_DESCRIPTION,
            input_schema=TOOL_SCHEMA,
            implementation=lambda **kw: "sunny",
        )
        response = self.models["chat", f"tool-{n}"].prompt(PROMPT, tools=[tool])
        for _ in response:
            pass
        calls = response.tool_calls()
        return dict(calls[0].arguments)

    async def asetup(self) -> None:
        import llm

        self.amodel = llm.get_async_model(self.model_id("chat", "hi"))

    async def acall(self) -> str:
        return await self.amodel.prompt(PROMPT, stream=False).text()


class LlmPlugin(_LlmPython):
    key = "llm-plugin"
    traced_memory = True
    label = "llm-openai-compat llm model (Python API)"
    prefix: ClassVar[dict[str, str]] = {"chat": "bench/", "responses": "bench-resp/"}
    llm_load_plugins = "llm-openai-compat"

    def unavailable(self) -> str | None:
        from importlib import metadata

        try:
            dist = metadata.distribution("llm-openai-compat")
        except metadata.PackageNotFoundError:
            return "llm-openai-compat is not installed"
        if not any(ep.group == "llm" for ep in dist.entry_points):
            return "llm-openai-compat has no `llm` entry point"
        return _missing("llm_openai_compat.plugin.models")


class LlmBuiltin(_LlmPython):
    key = "llm-builtin"
    label = "llm 0.36 built-in OpenAI model (Python API)"
    prefix: ClassVar[dict[str, str]] = {"chat": "builtin-", "responses": "builtin-resp-"}
    llm_load_plugins = ""  # llm alone: no third-party plugin loaded


# -- the openai SDK ---------------------------------------------------------------------------


class OpenAISDK(BenchClient):
    key = "openai"
    label = "openai SDK"

    def import_(self) -> None:
        from openai import OpenAI  # noqa: F401

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url(), api_key="bench")

    def call(self) -> str:
        completion = self.client.chat.completions.create(
            model="hi", messages=[{"role": "user", "content": PROMPT}]
        )
        return completion.choices[0].message.content or ""

    def stream(self, shape: str, n: int) -> int:
        total = 0
        if shape == "responses":
            for event in self.client.responses.create(model=f"text-{n}", input=PROMPT, stream=True):
                if event.type == "response.output_text.delta":
                    total += len(event.delta)
            return total
        for chunk in self.client.chat.completions.create(
            model=f"text-{n}", messages=[{"role": "user", "content": PROMPT}], stream=True
        ):
            if chunk.choices:
                content = chunk.choices[0].delta.content
                if content:
                    total += len(content)
        return total

    def tool(self, n: int) -> dict[str, Any]:
        pieces: list[str] = []
        for chunk in self.client.chat.completions.create(
            model=f"tool-{n}",
            messages=[{"role": "user", "content": PROMPT}],
            tools=[
                {"type": "function", "function": {"name": "get_weather", "parameters": TOOL_SCHEMA}}
            ],
            stream=True,
        ):
            if chunk.choices:
                for call in chunk.choices[0].delta.tool_calls or ():
                    if call.function and call.function.arguments:
                        pieces.append(call.function.arguments)
        arguments: dict[str, Any] = json.loads("".join(pieces))
        return arguments

    async def asetup(self) -> None:
        from openai import AsyncOpenAI

        self.aclient = AsyncOpenAI(base_url=base_url(), api_key="bench")

    async def acall(self) -> str:
        completion = await self.aclient.chat.completions.create(
            model="hi", messages=[{"role": "user", "content": PROMPT}]
        )
        return completion.choices[0].message.content or ""


# -- LangChain: ChatOpenAI and ours ---------------------------------------------------------------


def _text_of(chunk: Any) -> str:
    text = chunk.text
    return text if isinstance(text, str) else text()


class _LangChain(BenchClient):
    def make(self, shape: str, model: str) -> Any:
        raise NotImplementedError

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        self.models = {(shape, m): self.make(shape, m) for shape in shapes for m in models}

    def call(self) -> str:
        return _text_of(self.models["chat", "hi"].invoke(PROMPT))

    def stream(self, shape: str, n: int) -> int:
        total = 0
        for chunk in self.models[shape, f"text-{n}"].stream(PROMPT):
            total += len(_text_of(chunk))
        return total

    def first_text(self, n: int) -> tuple[float, int]:
        import time

        first, total = 0.0, 0
        t0 = time.perf_counter()
        for chunk in self.models["chat", f"text-{n}"].stream(PROMPT):
            text = _text_of(chunk)
            if text and not total:
                first = time.perf_counter() - t0
            total += len(text)
        return first, total

    def tool(self, n: int) -> dict[str, Any]:
        tool = {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": TOOL_DESCRIPTION,
                "parameters": TOOL_SCHEMA,
            },
        }
        bound = self.models["chat", f"tool-{n}"].bind_tools([tool])
        chunks = list(bound.stream(PROMPT))
        # LangChain's linear way to merge a stream (chunk + list); `+` in a loop is quadratic.
        message = chunks[0] + chunks[1:]
        return dict(message.tool_calls[0]["args"])

    def tool_calls(self, n: int) -> list[dict[str, Any]]:
        tool = {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": TOOL_DESCRIPTION,
                "parameters": TOOL_SCHEMA,
            },
        }
        chunks = list(self.models["chat", f"calls-{n}"].bind_tools([tool]).stream(PROMPT))
        message = chunks[0] + chunks[1:]
        return [dict(call["args"]) for call in message.tool_calls]

    async def asetup(self) -> None:
        self.amodel = self.make("chat", "hi")

    async def acall(self) -> str:
        return _text_of(await self.amodel.ainvoke(PROMPT))


class ChatOpenAIPeer(_LangChain):
    key = "chatopenai"
    label = "langchain-openai ChatOpenAI"

    def unavailable(self) -> str | None:
        return _missing("langchain_openai")

    def import_(self) -> None:
        from langchain_openai import ChatOpenAI  # noqa: F401

    def make(self, shape: str, model: str) -> Any:
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        return ChatOpenAI(
            model=model,
            base_url=base_url(),
            api_key=SecretStr("bench"),
            use_responses_api=shape == "responses",
        )


class ChatOpenAICompatClient(_LangChain):
    key = "lc-compat"
    traced_memory = True
    label = "llm-openai-compat ChatOpenAICompat"

    def unavailable(self) -> str | None:
        try:
            import langchain_adapter
        except ImportError as exc:
            return f"langchain_adapter is not importable ({exc})"
        if not hasattr(langchain_adapter, "ChatOpenAICompat"):
            return "langchain_adapter.ChatOpenAICompat does not exist yet"
        return None

    def import_(self) -> None:
        from langchain_adapter import ChatOpenAICompat  # noqa: F401

    def make(self, shape: str, model: str) -> Any:
        from langchain_adapter import ChatOpenAICompat

        provider = "bench-resp" if shape == "responses" else "bench"
        return ChatOpenAICompat(provider=provider, model=model)


class LangChainCoreBaseline(BenchClient):
    """Import only: what any LangChain chat model pays before its own code."""

    key = "langchain-core"
    label = "(baseline) import langchain_core.language_models"

    def import_(self) -> None:
        import langchain_core.language_models  # noqa: F401


class LangChainChatModelBaseline(BenchClient):
    """Import only: `langchain_core.language_models` is lazy; BaseChatModel is what a chat
    model class needs (it brings in callbacks, tracers and langsmith)."""

    key = "langchain-core-chat"
    label = "(baseline) from langchain_core.language_models import BaseChatModel"

    def import_(self) -> None:
        from langchain_core.language_models import BaseChatModel  # noqa: F401


class LangChainAdapterPackage(BenchClient):
    """Import only: the package alone, which (like `langchain_core.language_models`) loads its
    chat model class on first use; compared with that module, as the target words it."""

    key = "lc-compat-pkg"
    label = "(import only) import langchain_adapter"

    def import_(self) -> None:
        import langchain_adapter  # noqa: F401


def adapter_langchain_imports() -> list[tuple[str, tuple[str, ...]]]:
    """The `langchain_core` imports that `langchain_adapter`'s modules run at import time,
    read from their source (module level, not under `if TYPE_CHECKING`)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "langchain_adapter"
    found: list[tuple[str, tuple[str, ...]]] = []
    for path in sorted(root.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "langchain_core"
            ):
                found.append((node.module or "", tuple(a.name for a in node.names)))
            elif isinstance(node, ast.Import):
                found += [(a.name, ()) for a in node.names if a.name.startswith("langchain_core")]
    return found


class LangChainAdapterDepsBaseline(BenchClient):
    """Import only: exactly the `langchain_core` names `langchain_adapter` imports, so the
    difference to the adapter's import is the adapter's own cost (and the core's)."""

    key = "langchain-core-adapter-deps"
    label = "(baseline) the langchain_core imports langchain_adapter makes"

    def import_(self) -> None:
        import importlib

        for module_name, names in adapter_langchain_imports():
            module = importlib.import_module(module_name)
            for name in names:
                getattr(module, name)


CLIENTS: dict[str, BenchClient] = {
    c.key: c
    for c in (
        RawHttpx(),
        Core(),
        LlmPlugin(),
        ChatOpenAICompatClient(),
        OpenAISDK(),
        ChatOpenAIPeer(),
        LlmBuiltin(),
        LangChainCoreBaseline(),
        LangChainChatModelBaseline(),
        LangChainAdapterDepsBaseline(),
        LangChainAdapterPackage(),
    )
}
# The clients this project is compared against (the floor is `raw`).
PEERS = ("openai", "chatopenai", "llm-builtin")


def get_client(key: str) -> BenchClient:
    return CLIENTS[key]


# Memory-only clients (the hosts' floors, our adapters' own generators); they subclass the above.
from .host_floors import HOST_FLOORS  # noqa: E402

CLIENTS.update(HOST_FLOORS)

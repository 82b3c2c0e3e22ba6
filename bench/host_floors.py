"""What the hosts themselves keep of a stream, and what our adapters keep without them.

LangChain's `BaseChatModel.stream()` appends every chunk to a list (for `on_llm_end`) and llm's
`Response` keeps every chunk and stream event (for `.text()` and its parts), so memory through
those public APIs grows with the stream whatever model produces it. To tell the hosts' growth
from ours, the memory scenarios also run:

- **host floors**: a do-nothing model on each host that streams the same pieces from memory
  (a fresh string per piece, as parsed JSON gives), with no HTTP and no parsing. Its growth is
  what the host keeps; an adapter that adds nothing per chunk grows exactly as much.
- **the adapters' own generators**: `ChatOpenAICompat._stream` (what `stream()` iterates) and
  our llm model's `execute()` (what llm's `Response` iterates), consumed directly: everything
  our code does for the stream, with nothing kept by the host.

These clients only stream text on the chat shape (the memory scenarios); checking the length
of what they received keeps them honest, as for every other client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .clients import PROMPT, BenchClient, _LlmPython
from .payloads import TEXT_PIECE

__all__ = ["HOST_FLOORS", "LangChainFloor", "LlmFloor", "OwnGenerator", "OwnLlmExecute"]


def _fresh_pieces(n: int) -> Iterator[str]:
    """`n` copies of the piece, each a new string object (a literal would be shared)."""
    head, tail = TEXT_PIECE[:1], TEXT_PIECE[1:]
    for _ in range(n):
        yield head + tail


class LangChainFloor(BenchClient):
    key = "lc-floor"
    traced_memory = True
    label = "(host floor) LangChain: a BaseChatModel streaming the same pieces from memory"

    def import_(self) -> None:
        from langchain_core.language_models import BaseChatModel  # noqa: F401

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        from langchain_core.language_models import BaseChatModel
        from langchain_core.messages import AIMessageChunk
        from langchain_core.outputs import ChatGenerationChunk, ChatResult

        class FloorChatModel(BaseChatModel):
            pieces: int = 0

            @property
            def _llm_type(self) -> str:
                return "bench-floor"

            def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None,
                          **kwargs: Any) -> ChatResult:
                raise NotImplementedError

            def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None,
                        **kwargs: Any) -> Iterator[ChatGenerationChunk]:
                for piece in _fresh_pieces(self.pieces):
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                    if run_manager is not None:  # as every streaming chat model does
                        run_manager.on_llm_new_token(piece, chunk=chunk)
                    yield chunk

        self.model_class = FloorChatModel

    def stream(self, shape: str, n: int) -> int:
        total = 0
        for chunk in self.model_class(pieces=n).stream(PROMPT):
            total += len(chunk.text)
        return total

    def first_text(self, n: int) -> tuple[float, int]:
        """The host's own time to a first chunk: `stream()`'s callbacks and run setup, with
        no HTTP and no parsing (the model is built beforehand, as for the adapter)."""
        import time

        model = self.model_class(pieces=n)
        first, total = 0.0, 0
        t0 = time.perf_counter()
        for chunk in model.stream(PROMPT):
            if not total:
                first = time.perf_counter() - t0
            total += len(chunk.text)
        return first, total


class LlmFloor(BenchClient):
    key = "llm-floor"
    traced_memory = True
    label = "(host floor) llm: an llm.Model streaming the same pieces from memory"
    llm_load_plugins = ""

    def import_(self) -> None:
        import llm  # noqa: F401

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        import llm

        class FloorModel(llm.Model):
            model_id = "bench-floor"
            can_stream = True
            pieces = 0

            def execute(self, prompt: Any, stream: bool, response: Any,
                        conversation: Any = None) -> Iterator[str]:
                # What to send, as llm gives it to every model (its own OpenAI models read
                # it too); LangChain's floor gets its messages built by the host the same way.
                prompt.messages  # noqa: B018
                yield from _fresh_pieces(self.pieces)

        self.model = FloorModel()

    def stream(self, shape: str, n: int) -> int:
        self.model.pieces = n
        total = 0
        for chunk in self.model.prompt(PROMPT):
            total += len(chunk)
        return total

    def first_text(self, n: int) -> tuple[float, int]:
        """The host's own time to a first chunk: `prompt()` and its `Response`, no HTTP."""
        import time

        self.model.pieces = n
        first, total = 0.0, 0
        t0 = time.perf_counter()
        for chunk in self.model.prompt(PROMPT):
            if not total:
                first = time.perf_counter() - t0
            total += len(chunk)
        return first, total


class OwnGenerator(BenchClient):
    key = "lc-compat-own"
    label = "ChatOpenAICompat's own generator (`_stream`, which `stream()` iterates)"

    def import_(self) -> None:
        from langchain_adapter import ChatOpenAICompat  # noqa: F401

    def setup(self, models: list[str], shapes: tuple[str, ...] = ("chat",)) -> None:
        from langchain_core.messages import BaseMessage, HumanMessage

        from langchain_adapter import ChatOpenAICompat

        self.models = {m: ChatOpenAICompat(provider="bench", model=m) for m in models}
        self.messages: list[BaseMessage] = [HumanMessage(PROMPT)]

    def stream(self, shape: str, n: int) -> int:
        total = 0
        for chunk in self.models[f"text-{n}"]._stream(self.messages):
            total += len(chunk.text)
        return total


class OwnLlmExecute(_LlmPython):
    key = "llm-plugin-own"
    label = "our llm model's own `execute()` (which llm's `Response` iterates)"
    prefix = {"chat": "bench/", "responses": "bench-resp/"}  # noqa: RUF012
    llm_load_plugins = "llm-openai-compat"

    def stream(self, shape: str, n: int) -> int:
        import llm

        from llm_openai_compat.plugin.models import OpenAICompatModel

        model = self.models[shape, f"text-{n}"]
        assert isinstance(model, OpenAICompatModel), f"{model!r} is not our plugin's model"
        prompt = llm.Prompt(PROMPT, model)  # type: ignore[no-untyped-call]  # llm leaves it untyped
        response = llm.Response(prompt, model, stream=True)
        total = 0
        for event in model.execute(prompt, True, response, None, None):
            if event.type == "text":
                total += len(event.chunk)
        return total


HOST_FLOORS: dict[str, BenchClient] = {
    c.key: c for c in (LangChainFloor(), LlmFloor(), OwnGenerator(), OwnLlmExecute())
}

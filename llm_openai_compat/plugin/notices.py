"""What a user of `llm` should know about an answer that is not an error: one dim line each.

The lines are records of the `llm_openai_compat` logger, so a Python user of llm sees them only
if they configure logging; under the `llm` command line, `register_commands` (which only the CLI
calls) installs a handler that writes them dimmed to stderr, never into the answer on stdout.
`OPENAI_COMPAT_QUIET=1` silences them there.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

__all__ = ["LOGGER", "AnswerWatch", "install_stderr_handler"]

LOGGER = logging.getLogger("llm_openai_compat")


class _DimStderr(logging.Handler):
    """Writes to the `sys.stderr` of the moment (click's test runner swaps it per command)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr
            line = self.format(record)
            if stream.isatty():
                line = f"\x1b[2m{line}\x1b[0m"
            stream.write(line + "\n")
            stream.flush()
        except Exception:  # a closed stderr must not break the answer
            self.handleError(record)


def install_stderr_handler() -> None:
    """Once per process; not at all with OPENAI_COMPAT_QUIET=1."""
    if os.environ.get("OPENAI_COMPAT_QUIET", "").strip() not in ("", "0"):
        return
    if any(isinstance(h, _DimStderr) for h in LOGGER.handlers):
        return
    LOGGER.addHandler(_DimStderr(logging.INFO))
    if LOGGER.level == logging.NOTSET or LOGGER.level > logging.INFO:
        LOGGER.setLevel(logging.INFO)


class AnswerWatch:
    """Notices what an answer lacked, from the llm events it produced."""

    __slots__ = ("saw_call", "saw_text")

    def __init__(self) -> None:
        self.saw_text = False
        self.saw_call = False

    def see(self, event: Any) -> Any:
        kind = event.type
        if kind == "text" and event.chunk and not event.chunk.isspace():  # no copy of it
            self.saw_text = True
        elif kind == "tool_call_name":
            self.saw_call = True
        return event

    def report(self, model_id: str, *, finish_reason: str | None, tools: bool, stream: bool) -> None:
        if finish_reason == "length":
            LOGGER.warning(
                "%s stopped at the output limit; raise it with -o max_tokens N", model_id
            )
        if tools and not self.saw_text and not self.saw_call:
            hint = " (the server may drop tool calls when streaming: try --no-stream)" if stream else ""
            LOGGER.warning(
                "%s answered with no text and no tool call%s", model_id, hint
            )

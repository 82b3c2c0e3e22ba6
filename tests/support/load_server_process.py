"""The fast load server (load_server.py) as a subprocess, with its two control calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.server_process import ServerProcess

__all__ = ["LoadServer"]

SCRIPT = Path(__file__).with_name("load_server.py")


class LoadServer(ServerProcess):
    def __init__(self, chunks: int = 100_000) -> None:
        super().__init__(SCRIPT, "--chunks", str(chunks))
        self.chunks = chunks

    def stats(self) -> dict[str, Any]:
        """{"connections": opened, "requests": answered} since the last reset."""
        result: dict[str, Any] = self._control("GET", "/_stats")
        return result

    def reset(self) -> None:
        self._control("POST", "/_reset", {})

"""The deterministic model server (`model_server.py`) as a pytest fixture.

`ModelServer` runs the script in a subprocess on 127.0.0.1 (so a test's own event loop never
serves it) and talks to its control endpoints with `http.client`, never with the code under
test. `model_server` is session-scoped: one process for the whole run, stopped by its pid.

    def test_x(model_server):
        base_url = model_server.url("no-index", "reasoning")  # http://127.0.0.1:N/f/.../v1
        ...
        body = model_server.requests()[-1]["body"]
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.server_process import ServerProcess

__all__ = ["ModelServer", "model_server"]

SCRIPT = Path(__file__).with_name("model_server.py")


class ModelServer(ServerProcess):
    """A running `model_server.py` process. See that module's docstring for flags and answers."""

    def __init__(self, start_timeout: float = 10.0) -> None:
        super().__init__(SCRIPT, "--watch-stdin", start_timeout=start_timeout)
        self.origin = self.base_url

    def url(self, *flags: str) -> str:
        """A base URL ending in `/v1`; with flags, `/f/<flag>+<flag>/v1`."""
        if not flags:
            return f"{self.origin}/v1"
        return f"{self.origin}/f/{'+'.join(quote(f, safe='=') for f in flags)}/v1"

    def requests(self) -> list[dict[str, Any]]:
        """Recorded API requests, oldest first: method, path, flags, headers, body, outcome."""
        result: list[dict[str, Any]] = self._control("GET", "/_requests")
        return result

    def last_body(self) -> dict[str, Any]:
        """The JSON body of the most recent API request."""
        body: dict[str, Any] = self.requests()[-1]["body"]
        return body

    def reset(self) -> None:
        """Forget the recorded requests."""
        self._control("POST", "/_reset")


@pytest.fixture(scope="session")
def model_server() -> Iterator[ModelServer]:
    """One model server process for the whole session."""
    server = ModelServer()
    try:
        yield server
    finally:
        server.stop()

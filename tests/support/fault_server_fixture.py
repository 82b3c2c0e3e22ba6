"""A real local fault server for transport tests, as a pytest fixture.

`FaultServer` runs `fault_server.py` in a subprocess (so it can reset and stall connections
without involving the test's own event loop) and scripts it over its control endpoints with
the standard library's `http.client`, never with the code under test.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server_process import ServerProcess

__all__ = ["FaultServer", "fault_server", "fault_server_process", "refused_url"]

SCRIPT = Path(__file__).with_name("fault_server.py")


def refused_url(path: str = "/v1/chat/completions") -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was bound, noted and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


class FaultServer(ServerProcess):
    """A scripted HTTP server process on 127.0.0.1."""

    def __init__(self, start_timeout: float = 10.0) -> None:
        super().__init__(SCRIPT, start_timeout=start_timeout)

    def url(self, path: str = "/v1/chat/completions") -> str:
        return self.base_url + path

    refused_url = staticmethod(refused_url)

    def enqueue(self, *specs: dict[str, Any]) -> None:
        """Append response specs to the queue (see fault_server.py for the keys)."""
        self._control("POST", "/_control/enqueue", {"responses": list(specs)})

    def requests(self) -> list[dict[str, Any]]:
        """Every non-control request so far: method, path, query, headers (lowercased), body."""
        result: list[dict[str, Any]] = self._control("GET", "/_control/requests")
        return result

    def reset(self) -> None:
        """Clear the queue and the recorded requests; restore the default 500 response."""
        self._control("POST", "/_control/reset", {})

    def set_default(self, spec: dict[str, Any]) -> None:
        """The spec served when the queue is empty."""
        self._control("POST", "/_control/default", spec)


@pytest.fixture(scope="session")
def fault_server_process() -> Iterator[FaultServer]:
    """One fault server process for the whole session."""
    server = FaultServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fault_server(fault_server_process: FaultServer) -> FaultServer:
    """The session's fault server, reset before each test that uses it."""
    deadline = time.monotonic() + 5
    while True:
        try:
            fault_server_process.reset()
            return fault_server_process
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

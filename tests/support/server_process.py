"""A test server in a subprocess on 127.0.0.1: started, read for its port, stopped by its pid.

Both scripted servers (`fault_server.py`, `model_server.py`) print `PORT <n>` first and take
control requests over plain `http.client`, never through the code under test.
"""

from __future__ import annotations

import http.client
import json
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["ServerProcess"]


class ServerProcess:
    """A running server script. Subclasses add their control calls."""

    def __init__(self, script: Path, *args: str, start_timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--port", "0", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], start_timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"{script.name} did not start (got {line!r})")
        self.port = int(line.split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _control(self, method: str, path: str, payload: Any = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            body = None if payload is None else json.dumps(payload).encode()
            headers = {"content-type": "application/json", "connection": "close"}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"control {path} failed: {response.status} {data!r}")
            return json.loads(data)
        finally:
            conn.close()

    def stop(self) -> None:
        """End the process by its pid: terminate, wait, then kill."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

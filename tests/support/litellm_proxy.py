"""A real LiteLLM proxy on 127.0.0.1 for the end-to-end suite, in its own virtual environment.

`ensure_litellm()` creates `.e2e-venv/` beside the checkout (once; later runs reuse it) and
installs the pinned `litellm[proxy]` into it with pip from the package index, so LiteLLM's
many dependencies never touch the project's `.venv`. `LiteLLMProxy` writes a config whose
models are answered by LiteLLM's own `mock_response` / `mock_tool_calls` (no upstream), plus:

- `sim-model`: routed to our deterministic model server on 127.0.0.1, for a real streamed
  tool call through the proxy (its mocks cannot stream tool calls);
- `mock-responses`: `custom_openai/mock-chat` with `api_base` set to the proxy itself, so
  `/v1/responses` is LiteLLM's own Responses bridge answering over its chat endpoint;
- `mock-embed`: LiteLLM's mock embeddings (`mock_response` is the vector; it answers one
  vector whatever the number of inputs), and `sim-embed`, `/embeddings` routed to the model
  server (a vector per input, derived from its text);
- `sim-model-limited` and `sim-embed-limited`: the same two behind `max_parallel_requests`
  (`LIMITED_PARALLEL` in flight per deployment for every caller together; LiteLLM answers 429
  beyond it), the server holding each request 30 ms: one limit shared by a fleet of workers.

Every mock has `api_base` on a closed local port, so no code path can reach the internet.
The proxy needs no database, but it needs the `prisma` Python package: its handler for
unhandled errors imports `prisma` to ask whether a database is down, so without the package
a request without a key is a plain-text `500 Internal Server Error` instead of LiteLLM's JSON
401. Importing it needs no Prisma engine (nothing is downloaded) as long as no `DATABASE_URL`
is set. Without a database, a key other than the master key gets a JSON 400
`no_db_connection`, not a 401. The proxy runs in its own session, stopped by its process id.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "LITELLM_SPEC",
    "MASTER_KEY",
    "MOCK_VECTOR",
    "InstallResult",
    "LiteLLMProxy",
    "ensure_litellm",
    "free_port",
]

ROOT = Path(__file__).resolve().parents[2]
LITELLM_SPEC = os.environ.get("OPENAI_COMPAT_E2E_LITELLM", "litellm[proxy]==1.106.2 prisma==0.15.0")
VENV = Path(os.environ.get("OPENAI_COMPAT_E2E_VENV", ROOT / ".e2e-venv"))
MARKER = ".llm-openai-compat-e2e.json"
MASTER_KEY = "sk-e2e-master-0123456789"
MOCK_TEXT = "Hello from the LiteLLM mock."
MOCK_VECTOR = [0.5, -0.25, 0.125, 1.0]
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 180
# LiteLLM must never reach the internet: local cost map, no telemetry, no remote fetches.
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "LITELLM_LOG": "ERROR",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


@dataclass(frozen=True)
class InstallResult:
    """Where LiteLLM is, or why it is not (`skip_reason`), and what installing it cost."""

    litellm: Path | None
    skip_reason: str | None
    install_seconds: float | None
    installed_now: bool


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def ensure_litellm(venv: Path = VENV, spec: str = LITELLM_SPEC) -> InstallResult:
    """LiteLLM in `venv`, installing it if needed (under a file lock, so concurrent test runs
    share one install). Never raises: a failure is returned as a skip reason."""
    if os.environ.get("OPENAI_COMPAT_E2E", "1").lower() in ("0", "false", "no", "off"):
        return InstallResult(None, "OPENAI_COMPAT_E2E is off", None, False)
    lock_path = venv.with_name(venv.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _ensure_locked(venv, spec)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ensure_locked(venv: Path, spec: str) -> InstallResult:
    marker = venv / MARKER
    litellm = _bin(venv, "litellm")
    if marker.exists() and litellm.exists():
        recorded = json.loads(marker.read_text())
        if recorded.get("spec") == spec:
            return InstallResult(litellm, None, recorded.get("install_seconds"), False)
    if venv.exists():
        shutil.rmtree(venv)
    started = time.monotonic()
    python3 = shutil.which("python3") or sys.executable
    made = subprocess.run(
        [python3, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300
    )
    if made.returncode != 0:
        return InstallResult(None, f"`python3 -m venv` failed: {_tail(made.stderr)}", None, False)
    try:
        pip = subprocess.run(
            [str(_bin(venv, "python")), "-m", "pip", "install", "--disable-pip-version-check",
             "--no-input", "--prefer-binary", "-q", *spec.split()],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(venv, ignore_errors=True)
        return InstallResult(None, f"pip install {spec} took over {INSTALL_TIMEOUT_S} s", None, False)
    if pip.returncode != 0 or not litellm.exists():
        shutil.rmtree(venv, ignore_errors=True)
        why = _tail(pip.stderr or pip.stdout) or "no litellm executable after install"
        return InstallResult(None, f"could not install {spec} from the package index: {why}", None, False)
    seconds = round(time.monotonic() - started, 1)
    marker.write_text(json.dumps({"spec": spec, "install_seconds": seconds}))
    return InstallResult(litellm, None, seconds, True)


def _load_prctl() -> Any:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _load_prctl()  # resolved here: the child between fork and exec only calls it


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the test process dies, so even a killed
    pytest leaves no proxy behind. Elsewhere nothing: stop() still ends it by its pid."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


LIMITED_PARALLEL = 2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _config(port: int, upstream: str | None, dead: str) -> dict[str, Any]:
    def mock(name: str, **params: Any) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {"model": f"openai/{name}", "api_key": "unused", "api_base": dead, **params},
        }

    models = [
        mock("mock-chat", mock_response=MOCK_TEXT),
        mock(
            "mock-tools",
            mock_response="",
            mock_tool_calls=[
                {
                    "id": "call_e2e_1",
                    "type": "function",
                    "function": {"name": "get_current_time", "arguments": '{"timezone": "UTC"}'},
                }
            ],
        ),
        mock("mock-429", mock_response="litellm.RateLimitError"),
        mock("mock-embed", mock_response=MOCK_VECTOR),
        {
            "model_name": "mock-responses",
            "litellm_params": {
                "model": "custom_openai/mock-chat",
                "api_base": f"http://127.0.0.1:{port}/v1",
                "api_key": MASTER_KEY,
            },
        },
    ]
    if upstream:
        models.append(
            {
                "model_name": "sim-model",
                "litellm_params": {"model": "openai/sim-model", "api_base": upstream, "api_key": "none"},
            }
        )
        models.append(
            {
                "model_name": "sim-embed",
                "litellm_params": {"model": "openai/sim-embed", "api_base": upstream, "api_key": "none"},
            }
        )
        # The same behind a limit for the whole fleet: at most LIMITED_PARALLEL requests in
        # flight per deployment (LiteLLM answers 429 beyond it), the server holding each one
        # 30 ms so that workers really overlap.
        held = upstream.removesuffix("/v1") + "/f/hold=30/v1"
        for name in ("sim-model", "sim-embed"):
            models.append(
                {
                    "model_name": f"{name}-limited",
                    "litellm_params": {
                        "model": f"openai/{name}", "api_base": held, "api_key": "none",
                        "max_parallel_requests": LIMITED_PARALLEL,
                    },
                }
            )
    return {
        "model_list": models,
        "general_settings": {"master_key": MASTER_KEY},
        "litellm_settings": {"num_retries": 0, "request_timeout": 60},
    }


class E2EServer:
    """A server the e2e suite runs in its own process group (so it is ended by its process id,
    with whatever it started), its output in a log file whose tail every failure shows."""

    name = "the server"
    log_path: Path
    proc: subprocess.Popen[bytes]
    start_seconds: float

    def _launch(
        self, argv: list[str], *, cwd: Path, env: dict[str, str], ready_url: str, timeout_s: float
    ) -> None:
        started = time.monotonic()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent,
        )
        try:
            self._wait_ready(ready_url, timeout_s)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = round(time.monotonic() - started, 1)

    def _wait_ready(self, url: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} did not start in {timeout_s} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return _tail(self.log_path.read_text(errors="replace"), lines)
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """End the server by its process id (its whole process group): TERM, wait, then KILL."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


class LiteLLMProxy(E2EServer):
    """A running `litellm` proxy process on 127.0.0.1 (JSON config: JSON is YAML)."""

    name = "the LiteLLM proxy"

    def __init__(self, litellm: Path, workdir: Path, *, upstream: str | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.master_key = MASTER_KEY
        self.workdir = workdir
        self.log_path = workdir / "litellm.log"
        config = workdir / "litellm-config.yaml"
        dead = f"http://127.0.0.1:{free_port()}/v1"  # closed: a mock that falls through fails here
        config.write_text(json.dumps(_config(self.port, upstream, dead), indent=2))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LITELLM_", "DATABASE_URL"))}
        env.update(OFFLINE_ENV)
        self._launch(
            [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(self.port),
             "--num_workers", "1"],
            cwd=workdir, env=env, ready_url=f"{self.base_url}/health/liveliness",
            timeout_s=START_TIMEOUT_S,
        )

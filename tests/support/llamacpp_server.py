"""llama-cpp-python's OpenAI-compatible server on 127.0.0.1 for the end-to-end suite.

Only the package index is reachable here and llama-cpp-python publishes no Linux wheels
there, so pip compiles llama.cpp from the sdist. `ensure_llamacpp()` pays that once per
machine: it builds the wheel with `pip wheel` into a cache outside the clone
(`~/.cache/llm-openai-compat/wheels/`, or `$OPENAI_COMPAT_WHEEL_CACHE`), with two compile
jobs and everything the server does not load switched off (`CMAKE_ARGS`), and records how
long the build took beside the wheel. It then installs the cached wheel's `[server]` extra
and `gguf` (to write the test model) into `.e2e-llamacpp-venv/` beside the checkout, also
once. Both steps run under file locks, so concurrent runs share one build. Nothing here
raises: a failure is a skip reason the terminal summary prints. A compile that failed is
remembered beside the wheel, so later runs skip at once (`OPENAI_COMPAT_E2E_REBUILD=1` retries).

`LlamaCppServer` writes the server's JSON config (a chat model with the
`chatml-function-calling` chat format, and an embedding model), starts
`python -m llama_cpp.server` in its own session and stops it by its process id.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.litellm_proxy import E2EServer, _bin, _tail, free_port

__all__ = [
    "CHAT_MODEL",
    "EMBED_MODEL",
    "LLAMACPP_SPEC",
    "InstallResult",
    "LlamaCppServer",
    "ensure_llamacpp",
    "write_models",
]

ROOT = Path(__file__).resolve().parents[2]
VERSION = os.environ.get("OPENAI_COMPAT_E2E_LLAMACPP_VERSION", "0.3.36")
LLAMACPP_SPEC = f"llama-cpp-python[server]=={VERSION}"
GGUF_SPEC = "gguf==0.19.0"
VENV = Path(os.environ.get("OPENAI_COMPAT_E2E_LLAMACPP_VENV", ROOT / ".e2e-llamacpp-venv"))
WHEEL_CACHE = Path(
    os.environ.get("OPENAI_COMPAT_WHEEL_CACHE")
    or Path.home() / ".cache" / "llm-openai-compat" / "wheels"
)
BUILD_JOBS = os.environ.get("OPENAI_COMPAT_BUILD_JOBS", "2")
REBUILD = os.environ.get("OPENAI_COMPAT_E2E_REBUILD", "").lower() in ("1", "true", "yes", "on")
# A portable CPU build (no -march=native, so a cached wheel runs on any x86-64 runner), no
# OpenMP, and none of llama.cpp's tests, examples, tools or server, nor the multimodal
# library (llama_cpp loads it only for vision chat formats).
CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_OPENMP=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF "
    "-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
)
BUILD_TIMEOUT_S = 2400
INSTALL_TIMEOUT_S = 600
START_TIMEOUT_S = 120
MARKER = ".llm-openai-compat-e2e.json"
CHAT_MODEL = "tiny-chat"
EMBED_MODEL = "tiny-embed"
GGUF_SCRIPT = Path(__file__).with_name("tiny_gguf.py")


@dataclass(frozen=True)
class InstallResult:
    """The e2e venv's Python, or why there is none (`skip_reason`), and what it cost."""

    python: Path | None
    skip_reason: str | None
    build_seconds: float | None = None
    built_now: bool = False
    install_seconds: float | None = None
    installed_now: bool = False


def _why(output: str) -> str:
    """The lines of pip's output that say what failed (its errors, else its last lines), in
    one line of at most 600 characters."""
    lines = [line for line in output.splitlines() if line.strip() and "is ignored" not in line]
    errors = [line for line in lines if "error" in line.lower()]
    text = _tail("\n".join(errors[-6:] or lines), 6)
    return text if len(text) <= 600 else text[:597] + "..."


def _off() -> bool:
    return os.environ.get("OPENAI_COMPAT_E2E", "1").lower() in ("0", "false", "no", "off")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_llamacpp(venv: Path = VENV, cache: Path = WHEEL_CACHE) -> InstallResult:
    """The venv's Python with llama-cpp-python's server and gguf, building the wheel first if
    the cache has none for this version and these CMake arguments. Never raises."""
    if _off():
        return InstallResult(None, "OPENAI_COMPAT_E2E is off")
    try:
        with _locked(cache / f"llama_cpp_python-{VERSION}.lock"):
            wheel, build_seconds, built_now, why = _wheel(cache)
        if wheel is None:
            return InstallResult(None, why)
        with _locked(venv.with_name(venv.name + ".lock")):
            result = _install(venv, wheel)
    except OSError as error:
        return InstallResult(None, f"cannot prepare llama-cpp-python: {error}")
    return InstallResult(result.python, result.skip_reason, build_seconds, built_now,
                         result.install_seconds, result.installed_now)


def _wheel(cache: Path) -> tuple[Path | None, float | None, bool, str | None]:
    """(wheel, build seconds, built now, why there is no wheel)."""
    record_path = cache / f"llama_cpp_python-{VERSION}.json"
    if record_path.exists():
        record = json.loads(record_path.read_text())
        wheel = cache / str(record.get("wheel", ""))
        if record.get("cmake_args") == CMAKE_ARGS and wheel.is_file():
            return wheel, record.get("build_seconds"), False, None
        if record.get("cmake_args") == CMAKE_ARGS and record.get("failed") and not REBUILD:
            # A compile that failed fails again: later runs skip at once instead of paying for it.
            return None, None, False, (
                f"{record['failed']} (an earlier run; set OPENAI_COMPAT_E2E_REBUILD=1 or delete "
                f"{record_path} to try again)"
            )
    builder = cache / "build-venv"
    shutil.rmtree(builder, ignore_errors=True)
    python3 = shutil.which("python3") or sys.executable
    made = subprocess.run([python3, "-m", "venv", str(builder)], capture_output=True, text=True,
                          timeout=300)
    if made.returncode != 0:
        return None, None, False, f"`python3 -m venv` failed: {_tail(made.stderr)}"
    out = cache / "new"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "CMAKE_ARGS": CMAKE_ARGS, "CMAKE_BUILD_PARALLEL_LEVEL": BUILD_JOBS,
           "MAKEFLAGS": f"-j{BUILD_JOBS}"}
    started = time.monotonic()
    try:
        built = subprocess.run(
            [str(_bin(builder, "python")), "-m", "pip", "wheel", "--no-deps", "--no-cache-dir",
             "--no-binary", "llama-cpp-python", "--disable-pip-version-check", "--no-input",
             "-w", str(out), f"llama-cpp-python=={VERSION}"],
            capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, env=env,
        )
    except subprocess.TimeoutExpired:
        return None, None, False, _failed(
            record_path, f"building llama-cpp-python {VERSION} took over {BUILD_TIMEOUT_S} s"
        )
    finally:
        shutil.rmtree(builder, ignore_errors=True)
    seconds = round(time.monotonic() - started, 1)
    wheels = sorted(out.glob("llama_cpp_python-*.whl"))
    if built.returncode != 0 or not wheels:
        why = _why(built.stderr + built.stdout) or "pip made no wheel"
        why = f"could not build llama-cpp-python {VERSION} from source ({seconds} s): {why}"
        # Only a compile is worth remembering; a download that failed may work next time.
        return None, None, False, _failed(record_path, why) if seconds > 60 else why
    wheel = cache / wheels[0].name
    wheels[0].replace(wheel)
    shutil.rmtree(out, ignore_errors=True)
    record_path.write_text(json.dumps(
        {"wheel": wheel.name, "cmake_args": CMAKE_ARGS, "build_seconds": seconds,
         "jobs": BUILD_JOBS}
    ))
    return wheel, seconds, True, None


def _failed(record_path: Path, why: str) -> str:
    record_path.write_text(json.dumps({"failed": why, "cmake_args": CMAKE_ARGS}))
    return why


def _install(venv: Path, wheel: Path) -> InstallResult:
    marker = venv / MARKER
    python = _bin(venv, "python")
    spec = f"{wheel.name} {GGUF_SPEC}"
    if marker.exists() and python.exists():
        recorded = json.loads(marker.read_text())
        if recorded.get("spec") == spec:
            return InstallResult(python, None, install_seconds=recorded.get("install_seconds"))
    shutil.rmtree(venv, ignore_errors=True)
    started = time.monotonic()
    python3 = shutil.which("python3") or sys.executable
    made = subprocess.run([python3, "-m", "venv", str(venv)], capture_output=True, text=True,
                          timeout=300)
    if made.returncode != 0:
        return InstallResult(None, f"`python3 -m venv` failed: {_tail(made.stderr)}")
    try:
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
             "-q", f"{wheel}[server]", GGUF_SPEC],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(venv, ignore_errors=True)
        return InstallResult(None, f"installing {wheel.name}[server] took over {INSTALL_TIMEOUT_S} s")
    if pip.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        why = _why(pip.stderr + pip.stdout)
        return InstallResult(None, f"could not install {wheel.name}[server] and {GGUF_SPEC}: {why}")
    seconds = round(time.monotonic() - started, 1)
    marker.write_text(json.dumps({"spec": spec, "install_seconds": seconds}))
    return InstallResult(python, None, install_seconds=seconds, installed_now=True)


def write_models(python: Path, workdir: Path) -> tuple[Path, Path]:
    """The chat and the embedding GGUF, written by `tiny_gguf.py` in the e2e venv."""
    paths = workdir / "tiny-chat.gguf", workdir / "tiny-embed.gguf"
    for path, extra in zip(paths, ([], ["--embedding"]), strict=True):
        done = subprocess.run([str(python), str(GGUF_SCRIPT), str(path), *extra],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"tiny_gguf.py failed: {_tail(done.stderr)}")
    return paths


class LlamaCppServer(E2EServer):
    """A running `python -m llama_cpp.server` on 127.0.0.1 serving `CHAT_MODEL` and
    `EMBED_MODEL` (one loaded at a time: the server swaps them on demand)."""

    name = "llama_cpp.server"

    def __init__(self, python: Path, workdir: Path) -> None:
        chat, embed = write_models(python, workdir)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = workdir / "llama_cpp_server.log"
        common = {"n_ctx": 4096, "n_threads": 1, "n_threads_batch": 1, "verbose": False}
        config = {
            "host": "127.0.0.1",
            "port": self.port,
            "models": [
                {"model": str(chat), "model_alias": CHAT_MODEL,
                 "chat_format": "chatml-function-calling", **common},
                {"model": str(embed), "model_alias": EMBED_MODEL, "embedding": True, **common},
            ],
        }
        config_path = workdir / "llama_cpp_server.json"
        config_path.write_text(json.dumps(config, indent=2))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        env.update({"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
        self._launch(
            [str(python), "-m", "llama_cpp.server", "--config_file", str(config_path)],
            cwd=workdir, env=env, ready_url=f"{self.base_url}/models", timeout_s=START_TIMEOUT_S,
        )

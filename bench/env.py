"""The files and environment every benchmark process runs with.

One temporary directory per benchmark run holds:

- `openai-compat.json`: our settings file (`OPENAI_COMPAT_SETTINGS`), providers `bench`
  (Chat Completions) and `bench-resp` (Responses), both at the local server;
- `llm/extra-openai-models.yaml`: llm's own way to point its built-in OpenAI models at
  another server (`api_base`), models `builtin-<m>` and `builtin-resp-<m>`;
- `llm/` as `LLM_USER_PATH`, so llm's logs database and keys are the run's own.

Nothing outside that directory is read or written, and no real key is ever involved.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["MANY_SETTINGS", "bench_env", "model_names", "write_files", "write_many"]

MANY_SETTINGS = "openai-compat-500.json"

# Variables that would send a client elsewhere or leak a real key into the benchmark.
_SCRUB = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_COMPAT_REQUEST_LOG",
    "LLM_LOAD_PLUGINS",
    "LLM_OPENAI_SHOW_RESPONSES",
    "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING_V2",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def model_names(text_sizes: list[int], tool_sizes: list[int]) -> list[str]:
    return (
        ["hi"]
        + [f"text-{n}" for n in sorted(set(text_sizes))]
        + [f"tool-{n}" for n in sorted(set(tool_sizes))]
    )


def write_files(root: Path, port: int, models: list[str]) -> None:
    base = f"http://127.0.0.1:{port}/v1"
    settings = {
        "providers": {
            "bench": {"baseURL": base, "models": models, "maxRetries": 0},
            "bench-resp": {
                "baseURL": base,
                "models": models,
                "apiShape": "responses",
                "maxRetries": 0,
            },
        },
        "active": {"provider": "bench", "model": "hi"},
    }
    (root / "openai-compat.json").write_text(json.dumps(settings, indent=2))
    user = root / "llm"
    user.mkdir(exist_ok=True)
    lines = []
    for prefix, responses in (("builtin-", False), ("builtin-resp-", True)):
        for model in models:
            lines += [
                f"- model_id: {prefix}{model}",
                f"  model_name: {model}",
                f"  api_base: {base}",
                "  supports_tools: true",
            ]
            if responses:
                lines.append("  responses: true")
    (user / "extra-openai-models.yaml").write_text("\n".join(lines) + "\n")


def write_many(path: Path, port: int, providers: int = 5, models: int = 100) -> None:
    """A settings file of `providers` x `models` models (issue 19: `llm --version` and
    `llm models` with 500 models in 5 providers), all at the local server (never called)."""
    base = f"http://127.0.0.1:{port}/v1"
    settings = {
        "providers": {
            f"many{p}": {"baseURL": base, "models": [f"many-{p}-{m}" for m in range(models)]}
            for p in range(providers)
        }
    }
    path.write_text(json.dumps(settings, indent=2))


def bench_env(root: Path, port: int, *, llm_load_plugins: str | None = None) -> dict[str, str]:
    """The environment of a benchmark process: ours, with anything that could leak scrubbed."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["BENCH_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    env["OPENAI_COMPAT_SETTINGS"] = str(root / "openai-compat.json")
    env["LLM_USER_PATH"] = str(root / "llm")
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if llm_load_plugins is not None:
        env["LLM_LOAD_PLUGINS"] = llm_load_plugins
    return env

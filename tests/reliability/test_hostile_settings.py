"""Every file in the hostile settings corpus gives one clear line, never a traceback.

For each entry: `load_settings` raises one ConfigError naming the file (and the field, where
one is at fault) or loads; the core client and the LangChain model raise that same ConfigError;
`llm openai-compat providers` prints one `Error:` line and exits 1; `llm models` still lists
llm's own models and prints one warning line naming the file. A few entries also run the real
`llm` executable, where an uncaught exception would print a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from llm_openai_compat import errors as E
from llm_openai_compat.config import settings as S

from .harness import langchain_available, llm_available
from .hostile_settings import CORPUS, DIRECTORY, FIFO, FILE, LOOP, UNREADABLE, Entry

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("clean_state")]

ROOT = Path(__file__).resolve().parents[2]
LLM_EXE = Path(sys.executable).with_name("llm")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# Root reads a mode-000 file anyway: run those checks without the capabilities that allow it.
UNPRIVILEGED = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                "--bounding-set=-dac_override,-dac_read_search"]


def materialize(entry: Entry, path: Path) -> None:
    if entry.content == DIRECTORY:
        path.mkdir()
    elif entry.content == FIFO:
        os.mkfifo(path)
    elif entry.content == LOOP:
        os.symlink(path.name + ".b", path)
        os.symlink(path.name, path.with_name(path.name + ".b"))
    elif entry.content == UNREADABLE:
        path.write_text('{"providers": {}}')
        path.chmod(0)
    else:
        assert isinstance(entry.content, bytes)
        path.write_bytes(entry.content)


def _prefix(entry: Entry) -> list[str]:
    return UNPRIVILEGED if entry.content == UNREADABLE and IS_ROOT else []


def load_error(entry: Entry, path: Path) -> BaseException | None:
    """`load_settings` here, or (as root, for the unreadable file) in a child process without
    the capability to read any file."""
    if not _prefix(entry):
        try:
            settings = S.load_settings(path)
        except E.ConfigError as error:
            return error
        # A problem inside one provider skips only that provider, with its own error.
        return next(iter(settings.broken.values()), None)
    code = (
        "import sys; from pathlib import Path; from llm_openai_compat.config import settings as S\n"
        "try:\n S.load_settings(Path(sys.argv[1]))\nexcept Exception as e:\n"
        " print(type(e).__name__); print(e)\n"
    )
    done = subprocess.run([*_prefix(entry), sys.executable, "-c", code, str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    kind, _, message = done.stdout.partition("\n")
    if kind == "ConfigError":
        return E.ConfigError(message.strip())  # its one line, as the child rendered it
    return RuntimeError(done.stdout)


def _skipped_alone(path: Path) -> bool:
    """Whether the file loads with one provider skipped (rather than failing as a whole)."""
    try:
        return bool(S.load_settings(path).broken)
    except E.ConfigError:
        return False


def _names(line: str, path: Path) -> bool:
    """The line names the file (as given, or with its symlinks resolved)."""
    try:
        resolved = str(path.resolve())
    except (OSError, RuntimeError):
        resolved = str(path)
    return str(path) in line or resolved in line


def _shown(message: str, path: Path) -> str:
    """The message as the report shows it: the temporary directory replaced by `<file>`."""
    with contextlib.suppress(OSError, RuntimeError):
        message = message.replace(str(path.resolve()), "<file>")
    return message.replace(str(path), "<file>")


def _check_error(entry: Entry, error: BaseException | None, path: Path) -> str:
    if entry.field is None:
        assert error is None, f"{entry.name}: should load, got {error!r}"
        return ""
    assert isinstance(error, E.ConfigError), f"{entry.name}: got {error!r}"
    message = str(error)
    assert "\n" not in message, message
    assert "Traceback" not in message
    assert _names(message, path), message
    if entry.field != FILE:
        assert f"field '{entry.field}" in message, message  # that field, or a part of it
    assert entry.needle in message, message
    assert len(message) < 600, f"{len(message)} chars: not one clear line"
    return message


def _llm(*args: str, env: dict[str, str]) -> Any:
    import llm.cli
    from click.testing import CliRunner

    from llm_openai_compat.runtime import Runtime, set_default_runtime

    previous = set_default_runtime(Runtime())  # the state a fresh `llm` process starts with
    try:
        return CliRunner().invoke(llm.cli.cli, list(args), env=env, catch_exceptions=True)
    finally:
        used = set_default_runtime(previous)
        if used is not None:
            used.close()


@pytest.mark.parametrize("entry", CORPUS, ids=lambda e: e.name)
def test_hostile_settings_file(entry: Entry, isolated_user_dir, figures):
    path = isolated_user_dir / "openai-compat.json"
    materialize(entry, path)
    start = time.perf_counter()
    error = load_error(entry, path)
    message = _check_error(entry, error, path)
    if _prefix(entry):  # the rest runs in this process, which can read the file
        figures.add("hostile_settings", name=entry.name, expected="(file)", message=_shown(message, path),
                    seconds=round(time.perf_counter() - start, 3))
        return

    # The core client and the LangChain model say the same, with no other exception type.
    from llm_openai_compat import Client

    if _skipped_alone(path) and getattr(error, "provider", None) != "p":
        entry = dataclasses.replace(entry, field=None)  # another id was skipped: `p` is unknown
        message = ""
    try:
        Client("p")
        client_error = None
    except E.ConfigError as exc:
        client_error = exc
    if entry.field is not None:
        assert client_error is not None and str(client_error) == message
    if not langchain_available():
        from langchain_adapter import ChatOpenAICompat

        try:
            ChatOpenAICompat(provider="p", model="m")
            lc_error = None
        except E.ConfigError as exc:
            lc_error = exc
        if entry.field is not None:
            assert lc_error is not None and str(lc_error) == message

    if not llm_available():
        env = {"LLM_USER_PATH": str(isolated_user_dir)}
        providers = _llm("openai-compat", "providers", env=env)
        assert providers.exception is None or isinstance(providers.exception, SystemExit), repr(providers.exception)
        assert "Traceback" not in providers.output
        models = _llm("models", env=env)
        assert models.exit_code == 0, models.output
        assert models.exception is None or isinstance(models.exception, SystemExit)
        assert "OpenAI Chat: gpt-4o" in models.stdout  # llm's own models are all still there
        assert "Traceback" not in models.output
        if entry.field is None:
            assert providers.exit_code == 0, providers.output
        elif _skipped_alone(path):  # the rest of the file works; the table says why not this
            assert providers.exit_code == 0, providers.output
            assert "BROKEN" in providers.stdout and entry.field in providers.stdout, providers.output
            warnings = [line for line in models.stderr.splitlines() if "llm-openai-compat" in line]
            assert len(warnings) == 1 and _names(warnings[0], path), models.stderr
        else:
            lines = [line for line in providers.output.splitlines() if line.strip()]
            assert providers.exit_code == 1 and len(lines) == 1 and lines[0].startswith("Error: "), providers.output
            assert _names(lines[0], path), lines[0]
            warnings = [line for line in models.stderr.splitlines() if "llm-openai-compat" in line]
            assert len(warnings) == 1 and _names(warnings[0], path), models.stderr
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"took {elapsed:.2f} s"
    figures.add("hostile_settings", name=entry.name, expected="loads" if entry.field is None else (entry.field or "(file)"),
                message=_shown(message, path), seconds=round(elapsed, 3))


REAL_PROCESS = ["a named pipe", "unreadable (mode 000)"]  # a hang, and a read refused to root


@pytest.mark.parametrize("name", REAL_PROCESS)
def test_real_llm_process(name, figures):
    """The installed `llm`, in its own process: no traceback, llm keeps working."""
    if llm_available():
        pytest.skip(llm_available())
    entry = next(e for e in CORPUS if e.name == name)
    with tempfile.TemporaryDirectory(prefix="rel-hostile-") as tmp:
        user_dir = Path(tmp)
        path = user_dir / "openai-compat.json"
        materialize(entry, path)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "LLM_"))}
        env.update(LLM_USER_PATH=str(user_dir), HOME=str(user_dir), PYTHONPATH=str(ROOT))
        results = {}
        for args in (["openai-compat", "providers"], ["models"]):
            done = subprocess.run([*_prefix(entry), str(LLM_EXE), *args], capture_output=True,
                                  timeout=60, env=env, cwd=tmp)
            results[args[0]] = done
            assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
        providers, models = results["openai-compat"], results["models"]
        err_lines = [line for line in providers.stderr.decode().splitlines() if line.strip()]
        assert providers.returncode == 1 and len(err_lines) == 1 and err_lines[0].startswith("Error: ")
        assert str(path) in err_lines[0] and entry.needle in err_lines[0], err_lines
        assert models.returncode == 0 and b"OpenAI Chat: gpt-4o" in models.stdout
        warnings = [line for line in models.stderr.decode().splitlines() if "llm-openai-compat" in line]
        assert len(warnings) == 1 and str(path) in warnings[0]
    figures.add("hostile_real_process", name=name, unprivileged=bool(_prefix(entry)), line=_shown(err_lines[0], path))

"""`python -m reliability [--quick] [--output PATH] [-- PYTEST_ARGS...]`

Runs `pytest tests/reliability` with `RELIABILITY_FULL=1` (the load sizes the issue asks for;
`--quick` keeps the normal suite's smaller ones) and `RELIABILITY_FIGURES` pointing at a
temporary file, then renders the figures into docs/reliability.md. Exits with pytest's status:
the report is written either way, and says how many tests failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .report import load_figures, render

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the normal suite's load sizes")
    parser.add_argument("--output", default=str(ROOT / "docs" / "reliability.md"))
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        figures_path = Path(tmp) / "figures.json"
        env = {**os.environ, "RELIABILITY_FIGURES": str(figures_path)}
        env["RELIABILITY_FULL"] = "0" if args.quick else "1"
        # test_report.py checks the report this command writes, so it is not part of the run.
        command = [sys.executable, "-m", "pytest", "tests/reliability", "-q",
                   "--ignore=tests/reliability/test_report.py", *args.pytest_args]
        print("$", " ".join(command), flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        sys.stdout.write(done.stdout)
        summary = next(
            (line.strip("= ").strip() for line in reversed(done.stdout.splitlines()) if " in " in line and ("passed" in line or "failed" in line)),
            "(no summary)",
        )
        if not figures_path.exists():
            print("pytest wrote no figures; nothing to report", file=sys.stderr)
            return done.returncode or 1
        figures = load_figures(figures_path)
    context = {
        "command": "python -m reliability" + (" --quick" if args.quick else ""),
        "summary": summary,
        "seconds": round(elapsed, 1),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "full": not args.quick,
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(figures, context), encoding="utf-8")
    print(f"wrote {output} ({summary})")
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())

"""Where the suite's recorded responses and specs live: `tests/fixtures/`, inside the repo, so a
plain clone tests itself (sources and licences in `tests/fixtures/README.md`)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRANSCRIPTS = FIXTURES / "transcripts"
MORE_TRANSCRIPTS = FIXTURES / "transcripts-more"
RECORDED = FIXTURES / "recorded"
OPENAPI_SPEC = FIXTURES / "openai-openapi" / "openapi.json"

"""VCR settings for the one standard test that replays a recording (`test_stream_time`).

Its cassettes are recordings of the local model server (tests/support/model_server.py), so
requests match on method and path, never on the ephemeral port or on body details. A missing cassette is
recorded from the local server on the first run; after that the test benchmarks streaming
the recorded bytes through the whole stack.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    return {
        "record_mode": "once",
        "allow_playback_repeats": True,
        "match_on": ["method", "path"],
        "filter_headers": ["authorization", "api-key", "x-api-key"],
    }

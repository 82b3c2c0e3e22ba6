"""Coverage-guided fuzzing of every parser target with atheris (run by test_fuzz.py).

`python tests/reliability/atheris_harness.py -runs=N -seed=1 CORPUS_DIR`: each input is split
into SSE chunks at offsets the fuzzer picks, decoded, and fed to both stream parsers; its JSON
(when it is JSON) goes to both `parse_body`s; its bytes to error classification. Anything but
an `OpenAICompatError` escaping is reported by atheris as a crash (non-zero exit).
"""

from __future__ import annotations

import contextlib
import json
import sys

import atheris

with atheris.instrument_imports():
    from llm_openai_compat.errors import OpenAICompatError
    from tests.reliability import fuzz_targets as T


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    profile = T.PROFILE_LIST[fdp.ConsumeIntInRange(0, len(T.PROFILE_LIST) - 1)]
    cuts = [fdp.ConsumeIntInRange(0, 4096) for _ in range(fdp.ConsumeIntInRange(0, 8))]
    status = fdp.ConsumeIntInRange(100, 599)
    raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        events = T.decode_sse(T.split(raw, cuts))
        T.run_chat(events, profile)
        T.run_responses(events, profile)
    except OpenAICompatError:
        pass
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        obj = None
    for shape in ("chat", "responses"):
        with contextlib.suppress(OpenAICompatError):
            T.parse_body(obj, shape, profile)
    T.run_classify(status, {"retry-after": raw[:12].decode("latin-1")}, raw)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()

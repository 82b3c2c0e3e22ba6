#!/usr/bin/env python3
"""A worker process for pickling tests: unpickles a list of clients and models from stdin and
makes one real call with each, printing a JSON list of what came back (or the error's class and
message). It imports nothing of the project itself: pickle brings the classes in, as in a Ray
or Dask worker. Stdin is read whole; the pickle format is named by argv[1] (pickle or
cloudpickle), since cloudpickle's bytes load with either.
"""

from __future__ import annotations

import json
import pickle
import sys
from typing import Any


def use(obj: Any) -> Any:
    """One real call through whatever object arrived."""
    kind = type(obj).__name__
    if kind == "Client":
        from llm_openai_compat import Conversation, Message, RequestOptions

        hi = Conversation((Message.text("user", "hi"),))
        return obj.complete(hi, RequestOptions(model="m", stream=False)).text
    if kind == "ChatOpenAICompat":
        return obj.invoke("hi").content
    if kind == "OpenAICompatEmbeddings":
        return len(obj.embed_query("hi"))
    raise TypeError(f"unexpected object {kind}")


def main() -> None:
    objects = pickle.loads(sys.stdin.buffer.read())
    out: list[Any] = []
    for obj in objects:
        try:
            out.append(use(obj))
        except Exception as error:  # reported to the test, which asserts on it
            out.append({"error": type(error).__name__, "message": str(error)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()

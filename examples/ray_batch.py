#!/usr/bin/env python3
"""Embed and classify a dataset with Ray Data, through llm-openai-compat.

    python examples/ray_batch.py --base-url http://127.0.0.1:8000/v1 \
        --embed-model nomic-embed-text --chat-model llama3.2 --rows 1000 --workers 2

The models are built once in the driver and travel to Ray's actors by pickling (cloudpickle);
`EmbedAndClassify` is a class-based UDF, so each actor holds them for its lifetime and reuses
their connection pools across batches. A key given as `--api-key-env NAME` is a key
*reference*: the pickles hold the variable's name, each worker reads the key from its own
environment. Each of the `--workers` actors sends at most `--concurrency` requests at once: the
limit is per worker (see README, "Scaling out"); put a LiteLLM proxy in front of the servers
to share one rate limit across the fleet.

Writes one JSON object per row to `--out`: id, text, label, embedding.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd
import ray

from langchain_adapter import ChatOpenAICompat, OpenAICompatEmbeddings

LABELS = ("sports", "science", "cooking")


def label_of(answer: str, labels: tuple[str, ...]) -> str:
    """The first label the model's answer names (or "unknown")."""
    lowered = answer.lower()
    found = [(lowered.find(label), label) for label in labels if label in lowered]
    return min(found)[1] if found else "unknown"


class EmbedAndClassify:
    """Ray Data's class-based UDF: constructed once per actor, called once per batch."""

    def __init__(self, embeddings: OpenAICompatEmbeddings, chat: ChatOpenAICompat,
                 labels: tuple[str, ...], concurrency: int) -> None:
        self.embeddings, self.chat, self.labels = embeddings, chat, labels
        self.concurrency = concurrency
        self.system = f"Classify the user's text. Answer with one word: {', '.join(labels)}."

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        texts = [str(t) for t in batch["text"]]
        out = batch.copy()
        out["embedding"] = self.embeddings.embed_documents(texts)
        prompts = [[("system", self.system), ("user", text)] for text in texts]
        answers = self.chat.batch(prompts, config={"max_concurrency": self.concurrency})
        out["label"] = [label_of(str(a.content), self.labels) for a in answers]
        return out


def make_rows(count: int, labels: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"id": i, "text": f"row {i}: a short note about {labels[i % len(labels)]}"}
            for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--embed-model", required=True)
    parser.add_argument("--chat-model", required=True)
    parser.add_argument("--api-key-env", help="environment variable holding the key, if any")
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per worker")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="ray_batch.jsonl")
    args = parser.parse_args(argv)

    key = {"api_key_ref": {"kind": "env", "name": args.api_key_env}} if args.api_key_env else {}
    embeddings = OpenAICompatEmbeddings(
        base_url=args.base_url, model=args.embed_model, max_concurrency=args.concurrency, **key
    )
    chat = ChatOpenAICompat(base_url=args.base_url, model=args.chat_model, temperature=0, **key)

    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False,
             object_store_memory=128 * 1024 * 1024)
    try:
        ds = ray.data.from_items(make_rows(args.rows, LABELS))
        done = ds.map_batches(
            EmbedAndClassify,
            fn_constructor_kwargs={"embeddings": embeddings, "chat": chat, "labels": LABELS,
                                   "concurrency": args.concurrency},
            batch_size=args.batch_size, batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=args.workers),
        )
        rows = sorted(done.take_all(), key=lambda row: int(row["id"]))
    finally:
        ray.shutdown()
    with open(args.out, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps({"id": int(row["id"]), "text": str(row["text"]),
                                  "label": str(row["label"]),
                                  "embedding": [float(v) for v in row["embedding"]]}) + "\n")
    print(f"ray: {len(rows)} rows embedded and classified with {args.workers} workers -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

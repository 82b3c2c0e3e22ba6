#!/usr/bin/env python3
"""Embed and classify a dataset with Dask (`LocalCluster(processes=True)`), through
llm-openai-compat.

    python examples/dask_batch.py --base-url http://127.0.0.1:8000/v1 \
        --embed-model nomic-embed-text --chat-model llama3.2 --rows 1000 --workers 2

The same job as examples/ray_batch.py: the models are built once in the driver, wrapped in
one `EmbedAndClassify` object and scattered to every worker process (pickled once per worker),
so each worker holds them for the whole run and reuses their connection pools across chunks.
`--api-key-env NAME` is a key reference: the pickles hold the name, each worker reads its own
environment. `--concurrency` is per worker; a LiteLLM proxy in front shares a rate limit across
the fleet (README, "Scaling out").

Writes one JSON object per row to `--out`: id, text, label, embedding.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dask.distributed import Client as DaskClient
from dask.distributed import LocalCluster

from langchain_adapter import ChatOpenAICompat, OpenAICompatEmbeddings

LABELS = ("sports", "science", "cooking")


def label_of(answer: str, labels: tuple[str, ...]) -> str:
    """The first label the model's answer names (or "unknown")."""
    lowered = answer.lower()
    found = [(lowered.find(label), label) for label in labels if label in lowered]
    return min(found)[1] if found else "unknown"


class EmbedAndClassify:
    """Holds the models in a worker; called once per chunk of rows."""

    def __init__(self, embeddings: OpenAICompatEmbeddings, chat: ChatOpenAICompat,
                 labels: tuple[str, ...], concurrency: int) -> None:
        self.embeddings, self.chat, self.labels = embeddings, chat, labels
        self.concurrency = concurrency
        self.system = f"Classify the user's text. Answer with one word: {', '.join(labels)}."

    def __call__(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        texts = [row["text"] for row in rows]
        vectors = self.embeddings.embed_documents(texts)
        prompts = [[("system", self.system), ("user", text)] for text in texts]
        answers = self.chat.batch(prompts, config={"max_concurrency": self.concurrency})
        return [{**row, "embedding": vector, "label": label_of(str(answer.content), self.labels)}
                for row, vector, answer in zip(rows, vectors, answers, strict=True)]


def run_chunk(rows: list[dict[str, Any]], udf: EmbedAndClassify) -> list[dict[str, Any]]:
    return udf(rows)


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
    parser.add_argument("--out", default="dask_batch.jsonl")
    args = parser.parse_args(argv)

    key = {"api_key_ref": {"kind": "env", "name": args.api_key_env}} if args.api_key_env else {}
    udf = EmbedAndClassify(
        OpenAICompatEmbeddings(
            base_url=args.base_url, model=args.embed_model, max_concurrency=args.concurrency, **key
        ),
        ChatOpenAICompat(base_url=args.base_url, model=args.chat_model, temperature=0, **key),
        LABELS, args.concurrency,
    )
    rows = make_rows(args.rows, LABELS)
    chunks = [rows[i : i + args.batch_size] for i in range(0, len(rows), args.batch_size)]
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, DaskClient(cluster) as dask:
        held = dask.scatter(udf, broadcast=True)
        futures = dask.map(run_chunk, chunks, udf=held, pure=False)
        done = [row for chunk in dask.gather(futures) for row in chunk]
    done.sort(key=lambda row: row["id"])
    with open(args.out, "w", encoding="utf-8") as out:
        for row in done:
            out.write(json.dumps(row) + "\n")
    print(f"dask: {len(done)} rows embedded and classified with {args.workers} workers -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

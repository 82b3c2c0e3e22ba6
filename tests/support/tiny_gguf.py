#!/usr/bin/env python3
"""A tiny llama-architecture GGUF whose greedy output is known, written with the `gguf` package.

Run with the llama-cpp-python end-to-end venv's Python (it has `gguf` and numpy; the project's
venv does not need them): `python tiny_gguf.py OUT.gguf`. No weights are downloaded: every
weight is set here by hand.

How it answers. The vocabulary is one token per printable ASCII character (space as SPM's
"▁"), the 256 byte tokens for everything else, and <unk>/<s>/</s>. Embeddings are one-hot
(`n_embd` >= the vocabulary), the one block adds nothing to the residual stream (its attention
and feed-forward output projections are zero), and the final norm's weight undoes RMS
scaling, so the logits are a column of the output matrix chosen by the last token alone: a
bigram table. Greedy decoding (temperature 0) then follows `PREFERENCES`; under a grammar the
best allowed token wins, which is what llama-cpp-python's `chatml-function-calling` relies on:

- a plain answer is `ANSWER` ("Hey"), then </s>;
- `tool_choice: "auto"`: the first decision, constrained to "functions.<name>:" or "message:",
  takes "f" over "m", so the model calls the (single) tool; the decision after the arguments,
  constrained to "functions.<name>:" or "<|im_end|>", takes "<" over "f", so it calls it once;
- arguments under the JSON-schema grammar: every free string is `ARGUMENT` ("Oslo"), so
  `{"city": string}` gives `{"city":"Oslo"}`; a forced call (a named `tool_choice`) gives the same;
- a prompt ending in anything else ends at once (</s> is every other token's favourite).

Repeat penalty (llama-cpp-python's default 1.1) divides a seen token's positive logit by 1.1;
the gaps between ranks (2.0 on a scale of 10) are wide enough that it never flips a choice.
Characters the table has no preference for (a grammar forcing a literal) tie; a byte token
ranks below its character and reads like it, so a tie never wanders into byte tokens.
"""

from __future__ import annotations

import argparse
import sys
from itertools import pairwise

import gguf
import numpy as np

ANSWER = "Hey"
ARGUMENT = "Oslo"
EOS = "</s>"
# After this token: the tokens the model prefers, best first (logits 10, 8, 6, ...).
PREFERENCES: dict[str, list[str]] = {
    # After "<|im_start|>assistant\n": the answer; under the auto-choice grammars "<" (end)
    # beats "f" (functions.) beats "m" (message:); under a JSON grammar "{" opens the object.
    "\n": [ANSWER[0], "<", "f", "m", "{"],
    **{a: [b] for a, b in pairwise(ANSWER)},
    ANSWER[-1]: [EOS],
    "{": ['"'],
    # Opening a string value, else closing the object, else after a key.
    '"': [ARGUMENT[0], "}", ":"],
    ":": ['"'],
    **{a: [b] for a, b in pairwise(ARGUMENT)},
    ARGUMENT[-1]: ['"'],
    "}": [EOS],
}
N_EMBD = 384  # >= the vocabulary (355): one-hot embeddings
N_HEAD = 6
N_FF = 64
N_CTX = 4096


def vocabulary() -> tuple[list[str], list[int]]:
    tokens = ["<unk>", "<s>", EOS]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    tokens += ["▁"] + [chr(c) for c in range(0x21, 0x7F)]
    types += [gguf.TokenType.NORMAL] * 95
    return tokens, [int(t) for t in types]


def token_id(tokens: list[str], text: str) -> int:
    if text == "\n":
        return tokens.index("<0x0A>")
    return tokens.index("▁" if text == " " else text)


def bigram_logits(tokens: list[str]) -> np.ndarray:
    """(vocab, n_embd): column i holds the logits after token i."""
    vocab = len(tokens)
    out = np.full((vocab, N_EMBD), -10.0, dtype=np.float32)
    # Where a grammar allows a character both as itself and as its byte token, and the table
    # prefers neither, the character wins: byte tokens rank below every other token.
    out[3:259, :] = -15.0
    out[tokens.index(EOS), :vocab] = 10.0  # by default, stop
    for after, ranked in PREFERENCES.items():
        column = token_id(tokens, after)
        out[tokens.index(EOS), column] = -10.0
        for rank, nxt in enumerate(ranked):
            out[token_id(tokens, nxt), column] = 10.0 - 2.0 * rank
    return out


def write(path: str, *, embedding: bool = False) -> None:
    tokens, types = vocabulary()
    vocab = len(tokens)
    if vocab > N_EMBD:
        raise SystemExit(f"vocabulary {vocab} > n_embd {N_EMBD}")
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("tiny-bigram-embed" if embedding else "tiny-bigram")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(1)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    if embedding:
        writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * vocab)
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)

    zeros = np.zeros
    embed = zeros((vocab, N_EMBD), dtype=np.float32)
    embed[np.arange(vocab), np.arange(vocab)] = 1.0
    # A printable byte token reads like its character (the same column of the table).
    for code in range(0x20, 0x7F):
        byte = tokens.index(f"<0x{code:02X}>")
        embed[byte] = embed[token_id(tokens, chr(code))]
    writer.add_tensor("token_embd.weight", embed)
    # RMSNorm of a one-hot vector multiplies it by sqrt(n_embd); this weight undoes that.
    writer.add_tensor("output_norm.weight", np.full(N_EMBD, N_EMBD ** -0.5, dtype=np.float32))
    writer.add_tensor("output.weight", bigram_logits(tokens))
    square = (N_EMBD, N_EMBD)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        writer.add_tensor(f"blk.0.{name}.weight", zeros(square, dtype=np.float32))
    writer.add_tensor("blk.0.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    writer.add_tensor("blk.0.ffn_gate.weight", zeros((N_FF, N_EMBD), dtype=np.float32))
    writer.add_tensor("blk.0.ffn_up.weight", zeros((N_FF, N_EMBD), dtype=np.float32))
    writer.add_tensor("blk.0.ffn_down.weight", zeros((N_EMBD, N_FF), dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--embedding", action="store_true", help="mean pooling, for /v1/embeddings")
    args = parser.parse_args(argv)
    write(args.out, embedding=args.embedding)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

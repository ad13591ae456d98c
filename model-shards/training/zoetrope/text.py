"""Prompt tokenizer and text encoder.

The tokenizer is word-level: lower-cased words and punctuation, a vocabulary built from the training
prompts (every word seen at least `min_count` times) and shipped with the model as tokenizer.json, so
the browser and Node tokenize exactly as training did. Words outside it become [UNK], and are reported
instead of silently dropped.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import torch

from torch import nn

from .files import replace_file

PAD, UNK, BOS = "[PAD]", "[UNK]", "[BOS]"
SPECIALS = (PAD, UNK, BOS)
TOKEN_PATTERN = re.compile(r"[a-z]+(?:'[a-z]+)?|[0-9]+|[^\sa-z0-9]")
TOKENIZER_VERSION = 1


def split_words(text: str) -> list[str]:
    """The tokenizer's words: lower-case letter runs (with an inner apostrophe), digit runs, and each other non-space character."""
    return TOKEN_PATTERN.findall(text.lower())


@dataclass
class Tokenizer:
    vocab: list[str]
    max_tokens: int

    def __post_init__(self) -> None:
        if tuple(self.vocab[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"the vocabulary must start with {SPECIALS}")
        self.index = {w: i for i, w in enumerate(self.vocab)}

    @classmethod
    def build(cls, prompts: list[str], max_tokens: int, min_count: int = 2) -> "Tokenizer":
        counts = Counter(w for p in prompts for w in split_words(p))
        words = sorted(w for w, c in counts.items() if c >= min_count)
        return cls(vocab=[*SPECIALS, *words], max_tokens=max_tokens)

    def encode(self, text: str) -> tuple[list[int], list[str]]:
        """Token ids ([BOS] first, truncated to max_tokens) and the words it did not know."""
        words = split_words(text)
        unknown = [w for w in words if w not in self.index]
        ids = [self.index[BOS]] + [self.index.get(w, self.index[UNK]) for w in words]
        return ids[: self.max_tokens], unknown

    def batch(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """ids [B, max_tokens] (padded) and mask [B, max_tokens] (1 for real tokens)."""
        ids = torch.zeros(len(texts), self.max_tokens, dtype=torch.long)
        mask = torch.zeros(len(texts), self.max_tokens)
        for b, t in enumerate(texts):
            tokens, _ = self.encode(t)
            ids[b, : len(tokens)] = torch.tensor(tokens)
            mask[b, : len(tokens)] = 1
        return ids, mask

    def to_json(self) -> dict:
        return {"version": TOKENIZER_VERSION, "kind": "word", "pattern": TOKEN_PATTERN.pattern, "lowercase": True, "maxTokens": self.max_tokens, "specials": list(SPECIALS), "vocab": self.vocab}

    def save(self, path: str | Path) -> None:
        text = json.dumps(self.to_json(), indent=None, separators=(",", ":")) + "\n"
        replace_file(Path(path), lambda f: f.write(text.encode()))

    @classmethod
    def load(cls, path: str | Path) -> "Tokenizer":
        d = json.loads(Path(path).read_text())
        if d.get("version") != TOKENIZER_VERSION or d.get("kind") != "word":
            raise ValueError(f"{path} is not a v{TOKENIZER_VERSION} word tokenizer")
        return cls(vocab=d["vocab"], max_tokens=d["maxTokens"])


class Attention(nn.Module):
    """Multi-head attention from matmuls and softmax (exports cleanly; torch 1.13 has no fused SDPA).
    On a GPU with a newer PyTorch, training uses the fused kernel for the same math."""

    def __init__(self, width: int, heads: int, kv_width: int | None = None):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(kv_width or width, 2 * width)
        self.o = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor | None = None, mask: torch.Tensor | None = None) -> torch.Tensor:
        B, N, W = x.shape
        ctx = x if ctx is None else ctx
        M = ctx.shape[1]
        h = self.heads
        q = self.q(x).reshape(B, N, h, W // h).transpose(1, 2)
        k, v = self.kv(ctx).reshape(B, M, 2, h, W // h).permute(2, 0, 3, 1, 4)
        if x.is_cuda and hasattr(nn.functional, "scaled_dot_product_attention"):
            bias = None if mask is None else ((1.0 - mask[:, None, None, :]) * -1e4).to(q.dtype)
            out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            return self.o(out.transpose(1, 2).reshape(B, N, W))
        att = (q @ k.transpose(-1, -2)) * (W // h) ** -0.5
        if mask is not None:
            att = att + (1.0 - mask[:, None, None, :]) * -1e4
        out = att.softmax(dim=-1) @ v
        return self.o(out.transpose(1, 2).reshape(B, N, W))


class TextEncoder(nn.Module):
    def __init__(self, vocab_size: int, max_tokens: int, width: int, layers: int, heads: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width)
        self.pos = nn.Parameter(torch.zeros(1, max_tokens, width))
        nn.init.normal_(self.pos, std=0.02)
        self.layers = nn.ModuleList(
            nn.ModuleDict({"n1": nn.LayerNorm(width), "att": Attention(width, heads), "n2": nn.LayerNorm(width), "mlp": nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))})
            for _ in range(layers)
        )
        self.norm = nn.LayerNorm(width)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids, mask [B, L] → per-token features [B, L, W] and a pooled vector [B, W] (mean over real tokens)."""
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]
        for layer in self.layers:
            x = x + layer["att"](layer["n1"](x), mask=mask)
            x = x + layer["mlp"](layer["n2"](x))
        x = self.norm(x)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
        return x, pooled



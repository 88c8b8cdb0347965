"""Which examples form each batch, and how a batch becomes tensors.

The order is a seeded permutation of the examples per epoch, so batch k is a pure function of
(seed, k): resuming at step t needs no saved iterator, only t (see :mod:`lsr.train.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from lsr.errors import InputError
from lsr.train.examples import TrainingExample


@dataclass(frozen=True)
class BatchOrder:
    n_examples: int
    batch_size: int
    seed: int

    def indices(self, batch: int) -> list[int]:
        """Example positions of batch number ``batch`` (0-based), across epoch boundaries."""
        start = batch * self.batch_size
        return [
            self._epoch(pos // self.n_examples)[pos % self.n_examples]
            for pos in range(start, start + self.batch_size)
        ]

    @lru_cache(maxsize=4)  # noqa: B019 - a few epochs' orders, the object lives as long as the run
    def _epoch(self, epoch: int) -> list[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n_examples, generator=generator).tolist()


@dataclass(frozen=True)
class Batch:
    """Tokenized queries (B), documents (B positives, then every negative) and teacher scores."""

    queries: dict[str, torch.Tensor]
    documents: dict[str, torch.Tensor]
    teacher: torch.Tensor | None

    def to(self, device: torch.device) -> Batch:
        teacher = None if self.teacher is None else self.teacher.to(device)
        return Batch(
            {k: v.to(device) for k, v in self.queries.items()},
            {k: v.to(device) for k, v in self.documents.items()},
            teacher,
        )


def collate(
    examples: Sequence[TrainingExample],
    tokenizer: Any,
    n_negatives: int,
    distill: bool,
    lengths: tuple[int, int],
) -> Batch:
    """Texts to tensors. With ``distill``, every example needs ``n_negatives`` negatives and
    teacher scores (the distillation losses score a fixed-shape candidate list per query)."""
    negatives: list[str] = []
    teacher = []
    for example in examples:
        chosen = example.negatives[:n_negatives]
        if distill:
            if len(chosen) < n_negatives or example.scores is None:
                raise InputError(
                    f"distillation needs {n_negatives} negatives and teacher scores per example; "
                    f"an example of query {example.query[:60]!r} has {len(example.negatives)} "
                    f"negatives and {'no' if example.scores is None else ''} scores"
                )
            teacher.append(example.scores[: 1 + n_negatives])
        negatives.extend(chosen)
    documents = [e.positive for e in examples] + negatives
    return Batch(
        queries=_tokenize(tokenizer, [e.query for e in examples], lengths[0]),
        documents=_tokenize(tokenizer, documents, lengths[1]),
        teacher=torch.tensor(teacher, dtype=torch.float32) if distill else None,
    )


def _tokenize(tokenizer: Any, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    encoded = tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}

"""The documents a data step draws from: ids and texts in corpus order, as BEIR encodes them.

Mining, teachers and pseudo-queries all refer to documents by their text (a
:class:`~lsr.train.examples.TrainingExample` holds texts, not ids), so one small container keeps
both, read once from a dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lsr.datasets import Dataset
from lsr.errors import InputError


@dataclass(frozen=True)
class Corpus:
    """Document ids and their texts (``title + " " + text``), position for position."""

    ids: tuple[str, ...]
    texts: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.texts):
            raise InputError(f"corpus has {len(self.ids)} ids but {len(self.texts)} texts")
        if len(set(self.ids)) != len(self.ids):
            raise InputError("corpus ids must be unique")

    @classmethod
    def of(cls, ids: Sequence[str], texts: Sequence[str]) -> Corpus:
        return cls(tuple(ids), tuple(texts))

    @classmethod
    def from_dataset(cls, dataset: Dataset, limit: int | None = None) -> Corpus:
        """The dataset's documents (the first ``limit`` of them when given)."""
        ids, texts = [], []
        for doc in dataset.docs():
            if limit is not None and len(ids) == limit:
                break
            ids.append(doc.id)
            texts.append(doc.full_text)
        return cls(tuple(ids), tuple(texts))

    def __len__(self) -> int:
        return len(self.ids)

"""Teachers: models that score (query, document) pairs, whose scores a student is distilled from.

Three teachers, each scoring a query against a list of documents:

- :class:`DenseTeacher`: a bi-encoder such as ``all-MiniLM-L6-v2`` (Reimers and Gurevych,
  "Sentence-BERT", EMNLP 2019): mean of the last hidden states over the non-padding tokens,
  L2-normalised, scored by cosine similarity. Loaded with plain ``transformers`` (no
  sentence-transformers at run time), so the folder's ``1_Pooling`` settings are the ones above.
  On CPUs with bfloat16 dot products it runs under bf16 autocast: 1.6x the documents per second
  here, cosines within 3e-5 of float32's on SciFact.
- :class:`SparseTeacher` over any :mod:`lsr.encoders` encoder: BM25 (fitted on the corpus) or a
  SPLADE model such as splade-tiny, scored by the inner product of the sparse vectors, exactly the
  score our index returns.

Document representations are cached by text, so that scoring the same documents for many
queries (a candidate pool, mined negatives shared between examples) encodes each once; a sparse
teacher can also be handed vectors encoded elsewhere (the evaluation cache's corpus vectors).
:mod:`lsr.train.data.ensemble` combines teachers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from lsr.encoders import Encoder
from lsr.encoders.splade import bf16_screen_available
from lsr.errors import InputError, ModelError
from lsr.vectors import SparseCollection

DENSE_MAX_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json)
BATCH_SIZE = 32


class Teacher(Protocol):
    """Scores each query against its own list of documents."""

    name: str

    def score(self, queries: Sequence[str], documents: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """One float64 array per query, aligned with its documents."""
        ...


def _check_lists(queries: Sequence[str], documents: Sequence[Sequence[str]]) -> None:
    if len(queries) != len(documents):
        raise InputError(f"{len(queries)} queries but {len(documents)} document lists")


def _unique_new(documents: Sequence[Sequence[str]], cache: dict[str, object]) -> list[str]:
    """Distinct texts of ``documents`` not yet in ``cache``, in first-seen order."""
    return [t for t in dict.fromkeys(t for docs in documents for t in docs) if t not in cache]


class SparseTeacher:
    """Inner product of an encoder's sparse query and document vectors."""

    def __init__(self, encoder: Encoder, name: str | None = None, progress: bool = False) -> None:
        self.encoder = encoder
        self.name = name or encoder.kind
        self.progress = progress
        self._documents: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def remember(self, texts: Sequence[str], vectors: SparseCollection) -> None:
        """Take ``vectors`` (this encoder's document vectors of ``texts``, in order) instead of
        encoding those texts again."""
        if len(texts) != len(vectors) or vectors.vocab_size != self.encoder.vocab_size:
            raise InputError(
                f"vectors: {len(vectors)} vectors over {vectors.vocab_size} terms for "
                f"{len(texts)} texts and an encoder of {self.encoder.vocab_size} terms"
            )
        self._documents.update((t, vectors.row(i)) for i, t in enumerate(texts))

    def score(self, queries: Sequence[str], documents: Sequence[Sequence[str]]) -> list[np.ndarray]:
        _check_lists(queries, documents)
        new = _unique_new(documents, self._documents)
        if new:
            encoded = self.encoder.encode_documents(new, progress=self.progress)
            self._documents.update((t, encoded.row(i)) for i, t in enumerate(new))
        encoded_queries = self.encoder.encode_queries(list(queries))
        dense = np.zeros(self.encoder.vocab_size, dtype=np.float64)
        scores = []
        for i, docs in enumerate(documents):
            terms, weights = encoded_queries.row(i)
            dense[terms] = weights
            scores.append(np.array([self._dot(dense, t) for t in docs], dtype=np.float64))
            dense[terms] = 0.0
        return scores

    def _dot(self, dense_query: np.ndarray, text: str) -> float:
        terms, weights = self._documents[text]
        return float(dense_query[terms] @ weights.astype(np.float64))


class DenseTeacher:
    """Cosine similarity of mean-pooled, normalised embeddings of a Hugging Face encoder."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: object,
        name: str = "dense",
        max_length: int = DENSE_MAX_LENGTH,
        batch_size: int = BATCH_SIZE,
        bf16: bool | None = None,
        progress: bool = False,
    ) -> None:
        self.model = model.eval()
        self.bf16 = bf16_screen_available() if bf16 is None else bool(bf16)
        self.progress = progress
        self.tokenizer = tokenizer
        self.name = name
        self.max_length = max_length
        self.batch_size = batch_size
        self._documents: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, path_or_id: str | os.PathLike, **options: object) -> DenseTeacher:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        source = str(path_or_id)
        if source.startswith((".", "/", "~")) and not Path(source).is_dir():
            raise ModelError(f"{source}: no such model folder")
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            model, tokenizer = (
                AutoModel.from_pretrained(source),
                AutoTokenizer.from_pretrained(source),
            )
        except (OSError, ValueError) as exc:
            raise ModelError(f"{source}: cannot load a text encoder from it ({exc})") from None
        finally:
            hf_logging.set_verbosity(verbosity)
        return cls(model, tokenizer, name=Path(source).name or source, **options)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings (len(texts), hidden), longest texts batched
        together so that little padding is computed."""
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)
        bar = tqdm(total=len(texts), unit="docs", desc=f"{self.name} embeddings", leave=False,
                   disable=not self.progress or len(texts) < 2 * self.batch_size)  # fmt: skip
        with torch.inference_mode(), autocast, bar:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                out[batch] = self._embed_batch([texts[i] for i in batch]).numpy()
                bar.update(len(batch))
        return out

    def _embed_batch(self, texts: list[str]) -> torch.Tensor:
        inputs = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        states = self.model(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).to(states.dtype)
        mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(mean.float(), dim=-1)

    def score(self, queries: Sequence[str], documents: Sequence[Sequence[str]]) -> list[np.ndarray]:
        _check_lists(queries, documents)
        new = _unique_new(documents, self._documents)
        if new:
            self._documents.update(zip(new, self.embed(new)))
        embedded = self.embed(list(queries)).astype(np.float64)
        return [
            np.array([embedded[i] @ self._documents[t] for t in docs], dtype=np.float64)
            for i, docs in enumerate(documents)
        ]

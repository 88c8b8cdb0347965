"""Inverse document frequency tables: the query weights of inference-free and BM25 encoders.

Two formulas, with N the number of documents and df_t the number of documents containing t:

- ``"bm25"`` (default): ``idf_t = log(1 + (N - df_t + 0.5) / (df_t + 0.5))``, the Robertson-
  Sparck Jones weight as Lucene's BM25Similarity computes it (always positive);
- ``"log"``: ``idf_t = log(N / df_t)``, the plain BEIR-style weight; a term no document
  contains gets ``log(N)`` (df taken as 1) so that the table stays finite.

Tables are saved as ``idf.json``, an object ``{token: idf}``, the layout OpenSearch's
inference-free sparse models ship, so their files load too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from lsr.atomic import write_json_atomic
from lsr.errors import InputError, ModelError

IDF_FILE = "idf.json"
FORMULAS = ("bm25", "log")


def document_frequencies(
    term_ids: Iterable[Sequence[int]], vocab_size: int
) -> tuple[np.ndarray, int]:
    """Per-term document frequency and the number of documents, from each document's term ids."""
    df = np.zeros(vocab_size, dtype=np.int64)
    n_docs = 0
    for ids in term_ids:
        df[np.unique(np.asarray(ids, dtype=np.int64))] += 1
        n_docs += 1
    return df, n_docs


def idf_weights(df: np.ndarray, n_docs: int, formula: str = "bm25") -> np.ndarray:
    """The idf of every term (float32) by ``formula``, see the module docstring."""
    if formula not in FORMULAS:
        raise InputError(f"unknown idf formula {formula!r}; expected one of {', '.join(FORMULAS)}")
    if n_docs <= 0:
        raise InputError("idf needs at least one document")
    df = df.astype(np.float64)
    if formula == "bm25":
        weights = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    else:
        weights = np.log(n_docs / np.maximum(df, 1.0))
    return weights.astype(np.float32)


def save_idf(path: str | os.PathLike, vocabulary: Sequence[str], weights: np.ndarray) -> None:
    """Write ``{token: idf}`` as JSON, atomically."""
    table = {token: float(w) for token, w in zip(vocabulary, weights)}
    write_json_atomic(path, table, indent=None)


def load_idf(path: str | os.PathLike, vocabulary: Sequence[str]) -> np.ndarray:
    """The idf of every vocabulary term from ``{token: idf}`` JSON; a token it lacks gets 0."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such idf table")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(table, dict):
        raise ModelError(f"{path}: expected an object of token -> idf")
    weights = np.zeros(len(vocabulary), dtype=np.float32)
    index = {token: i for i, token in enumerate(vocabulary)}
    for token, value in table.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ModelError(f"{path}: idf of {token!r} is {value!r}, expected a number >= 0")
        if token in index:
            weights[index[token]] = value
    return weights

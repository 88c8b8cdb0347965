"""BM25 as sparse vectors, so that BM25 runs through the same index and evaluation as SPLADE.

BM25 (Robertson and Zaragoza, "The probabilistic relevance framework: BM25 and beyond", 2009,
eq. 3.15) scores a document d for a query q as

    score(q, d) = sum_{t in q} qtf_t * idf_t * tf_td (k1 + 1) / (tf_td + k1 (1 - b + b dl_d / avgdl))

which splits into a dot product of two sparse vectors over the analysed terms:

- a document carries the saturated, length-normalised tf part ``tf (k1 + 1) / (tf + k1 (1 - b +
  b dl / avgdl))``, dl being its number of analysed terms and avgdl the corpus mean;
- a query carries ``qtf_t * idf_t`` with Lucene's idf ``log(1 + (N - df + 0.5) / (df + 0.5))``.
  A term repeated in the query counts once per occurrence, as in Anserini's bag-of-words query
  (each distinct term boosted by its count), which is what Pyserini's BM25 runs use.

Lucene (8 and later) drops the constant factor (k1 + 1), which changes no ranking. Terms are
those of :class:`~lsr.encoders.analysis.EnglishAnalyzer`; the vocabulary is every term of the
corpus the encoder was fitted on, and a term outside it is dropped (it matches no document).
Defaults k1 = 0.9, b = 0.4 are Pyserini's.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from lsr.atomic import write_json_atomic
from lsr.encoders.analysis import EnglishAnalyzer
from lsr.encoders.base import Side, check_inputs, collection_metadata, write_config
from lsr.encoders.idf import idf_weights
from lsr.errors import InputError, ModelError
from lsr.vectors import SparseCollection

STATS_FILE = "bm25.json"
K1 = 0.9
B = 0.4


class Bm25Encoder:
    """BM25 weights as sparse vectors over the vocabulary of the corpus it was fitted on."""

    kind = "bm25"

    def __init__(
        self,
        vocabulary: Sequence[str],
        df: np.ndarray,
        n_docs: int,
        avg_doc_length: float,
        k1: float = K1,
        b: float = B,
        analyzer: EnglishAnalyzer | None = None,
    ) -> None:
        if not isinstance(k1, (int, float)) or k1 < 0:
            raise InputError(f"k1 must be a number >= 0, got {k1!r}")
        if not isinstance(b, (int, float)) or not 0 <= b <= 1:
            raise InputError(f"b must be a number in [0, 1], got {b!r}")
        if not vocabulary:
            raise InputError("BM25 needs a non-empty vocabulary (was it fitted on empty texts?)")
        self.vocabulary = list(vocabulary)
        self.vocab_size = len(self.vocabulary)
        self.df = np.asarray(df, dtype=np.int64)
        self.n_docs = int(n_docs)
        self.avg_doc_length = float(avg_doc_length)
        self.k1 = float(k1)
        self.b = float(b)
        self.analyzer = analyzer or EnglishAnalyzer()
        self.idf = idf_weights(self.df, self.n_docs, "bm25")
        self._term_ids = {term: i for i, term in enumerate(self.vocabulary)}

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        k1: float = K1,
        b: float = B,
        stemmer: str | None = "porter",
        progress: bool = False,
    ) -> Bm25Encoder:
        """Vocabulary, document frequencies and mean length from a corpus (one pass)."""
        analyzer = EnglishAnalyzer(stemmer)
        df: Counter[str] = Counter()
        n_docs = total_length = 0
        for i, text in enumerate(tqdm(texts, unit="docs", desc="bm25 fit", disable=not progress)):
            if not isinstance(text, str):
                raise InputError(
                    f"text at position {i} is {type(text).__name__}, expected a string"
                )
            terms = analyzer(text)
            df.update(set(terms))
            n_docs += 1
            total_length += len(terms)
        vocabulary = sorted(df)
        counts = np.array([df[t] for t in vocabulary], dtype=np.int64)
        return cls(vocabulary, counts, n_docs, total_length / max(n_docs, 1), k1, b, analyzer)

    # -- saving ---------------------------------------------------------------------------------

    def options(self) -> dict[str, Any]:
        return {"k1": self.k1, "b": self.b, **self.analyzer.options(), "stats_file": STATS_FILE}

    def save(self, path: str | os.PathLike) -> None:
        """Write ``bm25.json`` (vocabulary, df, N, avgdl) and ``lsr.json`` into a folder."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        stats = {
            "n_docs": self.n_docs,
            "avg_doc_length": self.avg_doc_length,
            "terms": self.vocabulary,
            "df": self.df.tolist(),
        }
        write_json_atomic(folder / STATS_FILE, stats, indent=None)
        write_config(folder, self.kind, self.options())

    @classmethod
    def load(cls, path: str | os.PathLike, **options: Any) -> Bm25Encoder:
        stats_path = Path(path) / options.pop("stats_file", STATS_FILE)
        if not stats_path.is_file():
            raise ModelError(f"{stats_path}: no such BM25 statistics file")
        try:
            stats = json.loads(stats_path.read_text(encoding="utf-8"))
            terms, df = stats["terms"], stats["df"]
            n_docs, avg_doc_length = stats["n_docs"], stats["avg_doc_length"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ModelError(f"{stats_path}: not a BM25 statistics file ({exc})") from None
        if len(terms) != len(df):
            raise ModelError(f"{stats_path}: {len(terms)} terms but {len(df)} frequencies")
        analyzer = EnglishAnalyzer.from_options(
            options.pop("stemmer", "porter"), options.pop("stopwords", "lucene-english")
        )
        return cls(terms, np.asarray(df), n_docs, avg_doc_length, analyzer=analyzer, **options)

    # -- encoding -------------------------------------------------------------------------------

    def _term_counts(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        """Known term ids (sorted), their frequencies, and the text's analysed length."""
        terms = self.analyzer(text)
        counts = Counter(self._term_ids[t] for t in terms if t in self._term_ids)
        ids = np.array(sorted(counts), dtype=np.int64)
        tf = np.array([counts[i] for i in ids], dtype=np.float64)
        return ids, tf, len(terms)

    def document_vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids, tf, length = self._term_counts(text)
        norm = self.k1 * (1 - self.b + self.b * length / self.avg_doc_length)
        return ids, (tf * (self.k1 + 1) / (tf + norm)).astype(np.float32)

    def query_vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids, tf, _ = self._term_counts(text)
        return ids, (tf * self.idf[ids]).astype(np.float32)

    def _encode(self, texts, ids, side: Side, vector, progress: bool) -> SparseCollection:
        ids = check_inputs(texts, ids)
        bar = tqdm(texts, unit="docs", desc=f"encoding {side}", disable=not progress)
        rows = [vector(text) for text in bar]
        metadata = collection_metadata(self.vocabulary, self.kind, side, k1=self.k1, b=self.b)
        return SparseCollection.from_rows(ids, rows, metadata, source=f"bm25 {side}")

    def encode_queries(
        self, texts: Sequence[str], ids: Sequence[str] | None = None
    ) -> SparseCollection:
        return self._encode(texts, ids, "queries", self.query_vector, progress=False)

    def encode_documents(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, progress: bool = False
    ) -> SparseCollection:
        return self._encode(texts, ids, "documents", self.document_vector, progress)

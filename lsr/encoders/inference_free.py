"""Inference-free SPLADE: documents through a SPLADE (or MLP) encoder, queries without any model.

A query is its word pieces, special tokens dropped and each token counted once, weighted by an
idf table computed on the corpus (Geng et al., "Towards competitive search relevance for
inference-free learned sparse retrievers", 2024; naver/splade's ``SpladeDoc`` uses the same
binary bag of tokens with unit weights). Encoding a query is a tokenizer call and a table lookup:
tens of microseconds, so the query side costs nothing at search time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from lsr.encoders.base import check_inputs, collection_metadata, write_config
from lsr.encoders.idf import IDF_FILE, document_frequencies, idf_weights, load_idf, save_idf
from lsr.encoders.mlp import MlpEncoder
from lsr.encoders.splade import SpladeEncoder
from lsr.encoders.transformer import TransformerEncoder
from lsr.errors import ModelError
from lsr.vectors import SparseCollection

# the document side's kinds (the ``documents`` option of lsr.json; SPLADE when absent)
DOCUMENT_ENCODERS = {SpladeEncoder.kind: SpladeEncoder, MlpEncoder.kind: MlpEncoder}


class InferenceFreeEncoder:
    """SPLADE (or MLP) document vectors; idf-weighted bags of tokens as query vectors."""

    kind = "inference-free"

    def __init__(self, documents: TransformerEncoder, idf: np.ndarray, idf_formula: str = "bm25"):
        self.documents = documents
        self.idf = np.asarray(idf, dtype=np.float32)
        self.idf_formula = idf_formula
        self.vocab_size = documents.vocab_size
        self.vocabulary = documents.vocabulary
        self._tokenizer = documents.tokenizer.backend_tokenizer
        self._special = set(documents.tokenizer.all_special_ids)

    @classmethod
    def fit(
        cls,
        documents: TransformerEncoder,
        corpus: Iterable[str],
        idf_formula: str = "bm25",
        progress: bool = False,
    ) -> InferenceFreeEncoder:
        """Compute the idf table from the corpus' word pieces (special tokens excluded)."""
        texts = tqdm(corpus, unit="docs", desc="idf", disable=not progress)
        token_ids = (e.ids for e in _batches_encoded(documents.tokenizer.backend_tokenizer, texts))
        df, n_docs = document_frequencies(token_ids, documents.vocab_size)
        df[list(documents.tokenizer.all_special_ids)] = 0
        return cls(documents, idf_weights(df, n_docs, idf_formula), idf_formula)

    @classmethod
    def load(cls, path: str | os.PathLike, **options: Any) -> InferenceFreeEncoder:
        idf_file = options.pop("idf_file", IDF_FILE)
        idf_formula = options.pop("idf_formula", "bm25")
        kind = options.pop("documents", SpladeEncoder.kind)
        if kind not in DOCUMENT_ENCODERS:
            raise ModelError(
                f"{path}: unknown document encoder kind {kind!r}; expected one of "
                f"{', '.join(DOCUMENT_ENCODERS)}"
            )
        documents = DOCUMENT_ENCODERS[kind].load(path, **options)
        return cls(documents, load_idf(Path(path) / idf_file, documents.vocabulary), idf_formula)

    def save(self, path: str | os.PathLike) -> None:
        self.documents.save(path)
        save_idf(Path(path) / IDF_FILE, self.vocabulary, self.idf)
        options = {
            **self.documents.options(),
            "idf_file": IDF_FILE,
            "idf_formula": self.idf_formula,
            "documents": self.documents.kind,
        }
        write_config(path, self.kind, options)

    def query_vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Term ids (sorted) and idf weights of one query: the model-free fast path."""
        tokens = self._tokenizer.encode(text, add_special_tokens=False).ids
        distinct = set(tokens[: self.documents.query_max_length]) - self._special
        ids = np.array(sorted(distinct), dtype=np.int64)
        weights = self.idf[ids]
        keep = weights > 0
        return ids[keep], weights[keep]

    def encode_queries(
        self, texts: Sequence[str], ids: Sequence[str] | None = None
    ) -> SparseCollection:
        ids = check_inputs(texts, ids)
        rows = [self.query_vector(text) for text in texts]
        metadata = collection_metadata(
            self.vocabulary, self.kind, "queries", model=self.documents.name, idf=self.idf_formula
        )
        return SparseCollection.from_rows(ids, rows, metadata, source="inference-free queries")

    def encode_documents(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, progress: bool = False
    ) -> SparseCollection:
        return self.documents.encode_documents(texts, ids, progress).with_provenance(
            encoder=self.kind
        )


def _batches_encoded(tokenizer: Any, texts: Iterable[str], size: int = 1024) -> Iterable[Any]:
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) == size:
            yield from tokenizer.encode_batch(batch, add_special_tokens=False)
            batch = []
    if batch:
        yield from tokenizer.encode_batch(batch, add_special_tokens=False)

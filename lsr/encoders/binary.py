"""The binary encoder: a text is its distinct tokens, each weighing 1, no model.

Nguyen, MacAvaney, Yates ("A Unified Framework for Learned Sparse Retrieval", ECIR 2023) list
binary presence among the per-side encoders; on the query side it is what
:class:`lsr.encoders.InferenceFreeEncoder` does (with unit or idf weights), on the document side
(``lsr train --doc-encoder binary``, a trained query encoder over plain token sets) it is this
encoder, the document side of a ``per-side`` folder. Texts are tokenized as the trainer
tokenizes them (special tokens added, truncated to the side's maximum length, then dropped), so
a token past the limit does not count.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from lsr.encoders.base import Side, check_inputs, collection_metadata, write_config
from lsr.encoders.tokens import TruncatingTokenizer
from lsr.encoders.transformer import (
    DOCUMENT_MAX_LENGTH,
    QUERY_MAX_LENGTH,
    _vocabulary,
    load_pretrained_tokenizer,
)
from lsr.vectors import SparseCollection


class BinaryEncoder:
    """Distinct non-special tokens of a text, weight 1, over a ``vocab_size``-term vocabulary."""

    kind = "binary"

    def __init__(
        self,
        tokenizer: Any,
        vocab_size: int,
        query_max_length: int = QUERY_MAX_LENGTH,
        document_max_length: int = DOCUMENT_MAX_LENGTH,
        name: str = "binary",
    ) -> None:
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.vocabulary = _vocabulary(tokenizer, vocab_size)
        self.query_max_length = query_max_length
        self.document_max_length = document_max_length
        self.name = name
        self._tokenize = TruncatingTokenizer(tokenizer, (query_max_length, document_max_length))
        self._special = np.array(sorted(tokenizer.all_special_ids), dtype=np.int64)

    @classmethod
    def load(cls, path: str | os.PathLike, **options: Any) -> BinaryEncoder:
        return cls(load_pretrained_tokenizer(path), name=str(path), **options)

    def save(self, path: str | os.PathLike) -> None:
        self.tokenizer.save_pretrained(path)
        options = {
            "vocab_size": self.vocab_size,
            "query_max_length": self.query_max_length,
            "document_max_length": self.document_max_length,
        }
        write_config(path, self.kind, options)

    def encode_queries(
        self, texts: Sequence[str], ids: Sequence[str] | None = None
    ) -> SparseCollection:
        return self._encode(texts, ids, "queries", self.query_max_length)

    def encode_documents(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, progress: bool = False
    ) -> SparseCollection:
        return self._encode(texts, ids, "documents", self.document_max_length)

    def _encode(
        self, texts: Sequence[str], ids: Sequence[str] | None, side: Side, max_length: int
    ) -> SparseCollection:
        ids = check_inputs(texts, ids)
        rows = []
        for token_ids in self._tokenize(texts, max_length) if texts else []:
            terms = np.setdiff1d(np.asarray(token_ids, dtype=np.int64), self._special)
            terms = terms[terms < self.vocab_size]
            rows.append((terms, np.ones(len(terms), dtype=np.float32)))
        metadata = collection_metadata(
            self.vocabulary, self.kind, side, model=self.name, max_length=max_length
        )
        return SparseCollection.from_rows(ids, rows, metadata, source=f"{self.name} {side}")

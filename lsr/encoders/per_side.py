"""A query encoder and a document encoder of their own: the per-side model folder.

When the two sides are different models (``lsr train --separate-encoders``, each side its own
backbone copy) or weigh terms differently (an MLP query side over an MLM document side, the
unified framework's combinations, Nguyen et al., ECIR 2023), the model folder holds one
complete model folder per side:

    MODEL/lsr.json            {"kind": "per-side"}
    MODEL/README.md           the model card (lsr train writes it)
    MODEL/query/              a model folder of its own (lsr.json + Hugging Face layout)
    MODEL/document/           likewise

Each side loads through :func:`lsr.encoders.load` by its own ``lsr.json``, so any two kinds
with the same vocabulary combine; options given at load time (``top_k``...) reach both sides.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsr.encoders.base import Encoder, write_config
from lsr.errors import ModelError
from lsr.vectors import SparseCollection

QUERY_FOLDER = "query"
DOCUMENT_FOLDER = "document"


class PerSideEncoder:
    """Queries through ``query``, documents through ``document``; one vocabulary."""

    kind = "per-side"

    def __init__(self, query: Encoder, document: Encoder, name: str = "per-side") -> None:
        if query.vocabulary != document.vocabulary:
            raise ModelError(
                f"per-side encoder: the query side ({query.kind}, {query.vocab_size} terms) and "
                f"the document side ({document.kind}, {document.vocab_size} terms) have "
                "different vocabularies; their vectors could not be compared"
            )
        self.query = query
        self.document = document
        self.name = name
        self.vocab_size = document.vocab_size
        self.vocabulary = document.vocabulary

    @property
    def tokenizer(self) -> Any:
        """The query side's tokenizer (what a server counts a query's tokens with)."""
        return self.query.tokenizer  # type: ignore[attr-defined]

    @classmethod
    def load(cls, path: str | os.PathLike, **options: Any) -> PerSideEncoder:
        # imported here: lsr.encoders.loading imports this module to register the kind
        from lsr.encoders.loading import load

        return cls(
            load(Path(path) / QUERY_FOLDER, **options),
            load(Path(path) / DOCUMENT_FOLDER, **options),
            name=str(path),
        )

    def save(self, path: str | os.PathLike) -> None:
        self.query.save(Path(path) / QUERY_FOLDER)
        self.document.save(Path(path) / DOCUMENT_FOLDER)
        write_config(path, self.kind, {})

    def encode_queries(
        self, texts: Sequence[str], ids: Sequence[str] | None = None
    ) -> SparseCollection:
        vectors = self.query.encode_queries(texts, ids)
        return vectors.with_provenance(encoder=self.kind, model=self.name)

    def encode_documents(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, progress: bool = False
    ) -> SparseCollection:
        vectors = self.document.encode_documents(texts, ids, progress)
        # the folder, not its document/ side, is what encodes queries for these vectors
        return vectors.with_provenance(encoder=self.kind, model=self.name)

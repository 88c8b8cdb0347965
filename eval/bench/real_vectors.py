"""Real learned sparse vectors for the index benchmark: a BEIR corpus encoded with SPLADE.

The benchmark needs the statistics of vectors a model really produces (skewed term popularity,
~250 non-zeros per document, ~50 per query), so it encodes a corpus from ``../shared/data`` with
splade-tiny once and caches the vectors as Parquet (``lsr.vector_io``) under ``.cache/bench/``.

Encoding follows SPLADE v2 (Formal et al., SIGIR 2021, eq. 2): ``w_j = max_i log(1 + ReLU(l_ij))``
over the non-padding positions ``i`` of the text, for every vocabulary entry ``j``. Documents are
``title + " " + text`` cut at 256 tokens, queries at 64 tokens, as SPLADE's BEIR evaluation does.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lsr.vector_io import read_vectors, write_vectors
from lsr.vectors import SparseCollection, VectorMetadata, provenance

DOC_MAX_LENGTH = 256
QUERY_MAX_LENGTH = 64
BATCH_SIZE = 16


def load_encoded(
    data_dir: Path, model_dir: Path, cache_dir: Path, split: str = "test"
) -> tuple[SparseCollection, SparseCollection]:
    """Documents and ``split`` queries of the BEIR folder ``data_dir``, encoded by ``model_dir``.

    Cached as ``<cache_dir>/<corpus>-<model>-{docs,queries-<split>}.parquet``; delete them to
    re-encode.
    """
    stem = f"{data_dir.name}-{model_dir.name}"
    docs_path = cache_dir / f"{stem}-docs.parquet"
    queries_path = cache_dir / f"{stem}-queries-{split}.parquet"
    if not docs_path.exists() or not queries_path.exists():
        encoder = _SpladeEncoder(model_dir)
        docs = encoder.encode(dict(_corpus_texts(data_dir)), DOC_MAX_LENGTH, "documents")
        queries = encoder.encode(_split_queries(data_dir, split), QUERY_MAX_LENGTH, "queries")
        write_vectors(docs_path, docs)
        write_vectors(queries_path, queries)
    return read_vectors(docs_path), read_vectors(queries_path)


def _corpus_texts(data_dir: Path) -> Iterator[tuple[str, str]]:
    with gzip.open(data_dir / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            yield record["_id"], f"{record.get('title', '')} {record['text']}".strip()


def _split_queries(data_dir: Path, split: str) -> dict[str, str]:
    with open(data_dir / "qrels" / f"{split}.tsv", encoding="utf-8") as handle:
        wanted = {row["query-id"] for row in csv.DictReader(handle, delimiter="\t")}
    with gzip.open(data_dir / "queries.jsonl.gz", "rt", encoding="utf-8") as handle:
        records = (json.loads(line) for line in handle)
        return {r["_id"]: r["text"] for r in records if r["_id"] in wanted}


class _SpladeEncoder:
    """The SPLADE max-pooling encoder on a local Hugging Face masked-LM folder."""

    def __init__(self, model_dir: Path) -> None:
        import torch
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        self._torch = torch
        self.model_dir = model_dir
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
        vocabulary = sorted(self.tokenizer.get_vocab().items(), key=lambda item: item[1])
        self.metadata = VectorMetadata(
            vocab_size=self.model.config.vocab_size,
            vocabulary=tuple(token for token, _ in vocabulary),
            provenance=provenance(model=str(model_dir), encoder="splade", pooling="max"),
        )

    def encode(self, texts: dict[str, str], max_length: int, side: str) -> SparseCollection:
        # Batches of similar lengths waste little on padding; rows go back to corpus order after.
        ids = sorted(texts, key=lambda i: len(texts[i]))
        encoded = {}
        for start in tqdm(range(0, len(ids), BATCH_SIZE), desc=f"encode {side}", unit="batch"):
            batch = ids[start : start + BATCH_SIZE]
            encoded.update(zip(batch, self._encode_batch([texts[i] for i in batch], max_length)))
        ids = list(texts)
        rows = [encoded[i] for i in ids]
        meta = VectorMetadata(
            self.metadata.vocab_size,
            self.metadata.vocabulary,
            {**self.metadata.provenance, "side": side, "max_length": max_length},
        )
        return SparseCollection.from_rows(ids, rows, meta, source=f"splade {side}")

    def _encode_batch(
        self, texts: list[str], max_length: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        torch = self._torch
        tokens = self.tokenizer(
            texts, max_length=max_length, truncation=True, padding=True, return_tensors="pt"
        )
        with torch.inference_mode():
            logits = self.model(**tokens).logits
            padding = tokens["attention_mask"].unsqueeze(-1) == 0
            # log(1 + ReLU(.)) is monotone, so the max over positions can be taken first.
            top = logits.masked_fill(padding, float("-inf")).amax(dim=1)
            weights = torch.log1p(torch.relu(top)).numpy()
        rows = []
        for row in weights:
            term_ids = np.flatnonzero(row)
            rows.append((term_ids, row[term_ids]))
        return rows

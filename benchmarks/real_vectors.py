"""Real learned sparse vectors for the index benchmark: a BEIR corpus encoded with SPLADE.

The benchmark needs the statistics of vectors a model really produces (skewed term popularity,
~250 non-zeros per document, ~50 per query), so it encodes a corpus from ``../shared/data`` with
splade-tiny through ``lsr.encoders`` once, and caches the vectors as Parquet
(``lsr.vector_io``) under ``.cache/bench/``: encoding SciFact takes minutes on two cores, the
benchmark itself less.
"""

from __future__ import annotations

from pathlib import Path

from lsr.datasets import load_dataset
from lsr.vector_io import read_vectors, write_vectors
from lsr.vectors import SparseCollection


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
        from lsr.encoders import load

        encoder = load(str(model_dir))
        dataset = load_dataset(data_dir)
        docs = list(dataset.docs())
        texts = [doc.full_text for doc in docs]
        write_vectors(
            docs_path, encoder.encode_documents(texts, [d.id for d in docs], progress=True)
        )
        queries = dataset.queries(split)
        write_vectors(queries_path, encoder.encode_queries(list(queries.values()), list(queries)))
    return read_vectors(docs_path), read_vectors(queries_path)

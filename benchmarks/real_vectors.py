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

    Cached as ``<cache_dir>/<corpus>-<model>-{docs,queries-<split>}.parquet``, each made if it is
    missing (so documents ``lsr eval`` already encoded can be copied in); delete them to re-encode.
    """
    stem = f"{data_dir.name}-{model_dir.name}"
    docs_path = cache_dir / f"{stem}-docs.parquet"
    queries_path = cache_dir / f"{stem}-queries-{split}.parquet"
    if not docs_path.exists():
        dataset = load_dataset(data_dir)
        docs = list(dataset.docs())
        texts = [doc.full_text for doc in docs]
        vectors = _encoder(model_dir).encode_documents(texts, [d.id for d in docs], progress=True)
        write_vectors(docs_path, vectors)
    if not queries_path.exists():
        queries = load_dataset(data_dir).queries(split)
        vectors = _encoder(model_dir).encode_queries(list(queries.values()), list(queries))
        write_vectors(queries_path, vectors)
    return read_vectors(docs_path), read_vectors(queries_path)


def _encoder(model_dir: Path):
    from lsr.encoders import load

    return load(str(model_dir))

"""Small real indexes for the service tests: the first documents of SciFact, encoded with
splade-tiny (or BM25), with their docstore (imported as ``from service_data import ...``)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
from conftest import SHARED_DATA, SPLADE_TINY
from lsr.index import SeismicIndex
from lsr.index.config import SearchDefaults
from lsr.index.open import open_index

from lsr.datasets import Document, load_dataset
from lsr.docstore import write_docstore
from lsr.encoders import Bm25Encoder, load
from lsr.vectors import SparseCollection, VectorMetadata

SCIFACT = SHARED_DATA / "scifact"
N_DOCS = 300
#: Stored with the splade index: what the service searches with when a request leaves them out.
STORED_DEFAULTS = SearchDefaults(query_cut=5, heap_factor=0.9)
QUERIES = [
    "microRNA regulation of gene expression in cancer",
    "vitamin D deficiency and bone fractures",
    "T cell response to viral infection",
    "insulin resistance in obese mice",
]


def scifact_documents(n: int = N_DOCS) -> list[Document]:
    return list(islice(load_dataset(SCIFACT).docs(), n))


def build_splade_index(directory: Path, n: int = N_DOCS, docstore: bool = True) -> Path:
    """A Seismic index of the first ``n`` SciFact documents, encoded with splade-tiny (whose
    path the vectors' provenance records, so that ``lsr serve`` finds the model by itself)."""
    documents = scifact_documents(n)
    encoder = load(str(SPLADE_TINY))
    vectors = encoder.encode_documents([d.full_text for d in documents], [d.id for d in documents])
    SeismicIndex.build(vectors, search_defaults=STORED_DEFAULTS).save(directory)
    if docstore:
        write_docstore(directory, documents)
    return directory


def build_bm25_index(directory: Path, model_dir: Path, n: int = N_DOCS) -> Path:
    """A BM25 index of the same documents, and the fitted encoder saved in ``model_dir``."""
    documents = scifact_documents(n)
    encoder = Bm25Encoder.fit(d.full_text for d in documents)
    encoder.save(model_dir)
    vectors = encoder.encode_documents([d.full_text for d in documents], [d.id for d in documents])
    SeismicIndex.build(vectors).save(directory)
    write_docstore(directory, documents)
    return directory


def random_vectors(n: int, seed: int, vocab_size: int = 300) -> SparseCollection:
    """``n`` documents (ids d0, d1, ...) of ten random terms each: an index served with
    ``--no-model``, searched by vector queries."""
    rng = np.random.default_rng(seed)
    rows = [
        (rng.choice(vocab_size, size=10, replace=False), rng.random(10) + 0.1) for _ in range(n)
    ]
    return SparseCollection.from_rows([f"d{i}" for i in range(n)], rows, VectorMetadata(vocab_size))


def check_answers_as_in_process(client, directory: Path, vector: dict, k: int) -> None:
    """``POST /search`` of ``vector`` returns the hits the index in ``directory`` returns when
    opened in this process."""
    response = client.post("/search", json={"vector": vector, "k": k})
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    ids, scores = open_index(directory).search(
        np.array(vector["indices"]), np.array(vector["values"], np.float32), k=k
    )
    assert [hit["id"] for hit in hits] == ids
    np.testing.assert_allclose([hit["score"] for hit in hits], scores, rtol=1e-6)

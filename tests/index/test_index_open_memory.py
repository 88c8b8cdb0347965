"""``open_index(mmap=False)``: every kind of index, read into memory, answers as its mapped twin."""

from __future__ import annotations

import mmap

import numpy as np
from index_data import random_collection
from living_model import contents
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.living import LivingIndex
from lsr.index.open import open_index
from lsr.index.sharded import build_sharded

from lsr.vector_io import write_vectors

DOCS = random_collection(400, seed=5)


def _mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is a view of a file mapping."""
    base = array
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


def _same_answers(directory, **params) -> None:
    mapped, in_memory = open_index(directory), open_index(directory, mmap=False)
    for i in range(0, 400, 37):
        terms, weights = DOCS.row(i)
        found = mapped.search(terms, weights, k=7, **params)
        again = in_memory.search(terms, weights, k=7, **params)
        assert found[0] == again[0]
        np.testing.assert_array_equal(found[1], again[1])


def test_a_single_index_in_memory_is_not_mapped_and_answers_the_same(tmp_path):
    SeismicIndex.build(DOCS, BuildConfig(n_postings=50)).save(tmp_path)
    assert _mapped(open_index(tmp_path).postings.post_docs)
    assert not _mapped(open_index(tmp_path, mmap=False).postings.post_docs)
    _same_answers(tmp_path)


def test_a_living_index_in_memory_answers_the_same(tmp_path):
    SeismicIndex.build(DOCS, BuildConfig(n_postings=50)).save(tmp_path)
    with LivingIndex.open(tmp_path, exact_max_docs=10) as index:
        index.add(random_collection(3, seed=9, prefix="new"))  # an exact segment beside it
    assert contents(open_index(tmp_path, mmap=False)) == contents(open_index(tmp_path))
    _same_answers(tmp_path)


def test_a_sharded_index_in_memory_answers_the_same(tmp_path):
    write_vectors(tmp_path / "docs.parquet", DOCS)
    build_sharded(tmp_path / "docs.parquet", tmp_path / "index", 2, threads=1)
    # Exact: shards searched in threads share their k-th scores, so which of two near ties an
    # approximate search keeps depends on the threads' timing, mapped or not.
    _same_answers(tmp_path / "index", engine="exact")

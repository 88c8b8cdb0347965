"""Saving and loading an index: bit-for-bit round trips and clear errors."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from index_data import random_collection
from lsr.index import BuildConfig, SeismicIndex, persist
from lsr.index.persist import MANIFEST, StringList, encode_strings
from lsr.index.summary import MASK_BLOCKS

from lsr.errors import IndexFormatError


@pytest.fixture(scope="module")
def index():
    return SeismicIndex.build(random_collection(300, seed=31), BuildConfig(knn=3))


@pytest.fixture
def saved(index, tmp_path):
    path = tmp_path / "idx"
    index.save(path)
    return path


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip_is_bit_for_bit(index, saved, mmap):
    loaded = SeismicIndex.load(saved, mmap=mmap, verify=True)
    assert list(loaded.doc_ids) == list(index.doc_ids)
    assert loaded.config == index.config
    assert loaded.metadata == index.metadata
    assert loaded.forward.layout == index.forward.layout == "side_by_side"
    for name, array in index.forward.stored().items():
        np.testing.assert_array_equal(loaded.forward.stored()[name], array)
    for part in ("postings", "summaries"):
        for f in fields(getattr(index, part)):
            expected = getattr(getattr(index, part), f.name)
            got = getattr(getattr(loaded, part), f.name)
            assert np.asarray(got).dtype == np.asarray(expected).dtype
            np.testing.assert_array_equal(got, expected)
    assert loaded.summaries.mask_blocks == index.summaries.mask_blocks == MASK_BLOCKS
    np.testing.assert_array_equal(loaded.knn, index.knn)


def test_loaded_index_searches_identically(index, saved):
    queries = random_collection(10, seed=32, prefix="q")
    before = index.search_batch(queries, k=5, n_knn=2)
    after = SeismicIndex.load(saved).search_batch(queries, k=5, n_knn=2)
    np.testing.assert_array_equal(before.docs, after.docs)
    np.testing.assert_array_equal(before.scores, after.scores)
    assert before.to_dict() == after.to_dict()


def test_save_replaces_an_existing_index_and_leaves_no_temporary(index, saved):
    index.save(saved)
    assert [p.name for p in saved.parent.iterdir()] == ["idx"]
    SeismicIndex.load(saved)


def test_save_refuses_to_replace_a_foreign_directory(index, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(IndexFormatError, match="not an lsr index"):
        index.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_missing_directory(tmp_path):
    with pytest.raises(IndexFormatError, match="no such index directory"):
        SeismicIndex.load(tmp_path / "nope")


def test_foreign_directory(tmp_path):
    (tmp_path / "data.npy").write_bytes(b"x")
    with pytest.raises(IndexFormatError, match=re.escape("manifest.json: missing")):
        SeismicIndex.load(tmp_path)


def test_foreign_manifest(saved):
    (saved / MANIFEST).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(
        IndexFormatError, match=re.escape("manifest.json: not an lsr Seismic index")
    ):
        SeismicIndex.load(saved)


def test_newer_format_version(saved):
    manifest = json.loads((saved / MANIFEST).read_text())
    manifest["format_version"] = 99
    (saved / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(IndexFormatError, match="version 99"):
        SeismicIndex.load(saved)


def test_truncated_array_file(saved):
    path = saved / "post_docs.npy"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(IndexFormatError, match=re.escape("post_docs.npy")):
        SeismicIndex.load(saved)


def test_missing_array_file(saved):
    (saved / "block_min.npy").unlink()
    with pytest.raises(IndexFormatError, match=re.escape("block_min.npy: missing")):
        SeismicIndex.load(saved)


def test_corrupted_array_file_is_caught_by_verify(saved):
    path = saved / "entry_code.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=re.escape("entry_code.npy: checksum mismatch")):
        SeismicIndex.load(saved, verify=True)


def test_array_swapped_from_another_index(saved, tmp_path):
    other = SeismicIndex.build(random_collection(50, seed=33))
    other.save(tmp_path / "other")
    (saved / "forward.indptr.npy").write_bytes(
        (tmp_path / "other" / "forward.indptr.npy").read_bytes()
    )
    with pytest.raises(IndexFormatError, match=re.escape("forward.indptr.npy")):
        SeismicIndex.load(saved)


def test_a_reader_always_finds_a_whole_index_while_it_is_replaced(index, saved):
    """Save swaps the new directory in with one rename: there is no moment without an index."""
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                SeismicIndex.load(saved)
            except IndexFormatError as exc:
                errors.append(str(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(10):
            index.save(saved)
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert [p.name for p in saved.parent.iterdir()] == ["idx"]


@given(st.lists(st.text(max_size=6), max_size=20), st.data())
def test_string_list_take_reads_what_indexing_reads(strings, data):
    stored = StringList(*encode_strings(strings))
    positions = data.draw(st.lists(st.integers(0, max(len(strings) - 1, 0)), max_size=10))
    positions = positions if strings else []
    assert stored.take(positions) == [strings[p] for p in positions]
    assert stored.take(np.array(positions, dtype=np.int64)) == [strings[p] for p in positions]
    # Some kept, some not: the lookup of kept strings alone must not cut the row short.
    more = data.draw(st.lists(st.integers(0, max(len(strings) - 1, 0)), max_size=10))
    more = more if strings else []
    assert stored.take(more) == [strings[p] for p in more]
    assert list(stored) == strings


def test_string_list_take_keeps_each_string_at_its_position_across_threads():
    # Eight threads taking the same positions in different orders fill the kept strings at
    # once; each must still read its own position's string, the empty one included.
    strings = [f"doc-{i}" if i % 7 else "" for i in range(500)]
    stored = StringList(*encode_strings(strings))
    orders = [np.random.default_rng(seed).permutation(len(strings)) for seed in range(8)]
    found: dict[int, list[str]] = {}

    def take(seed: int) -> None:
        found[seed] = stored.take(orders[seed])

    threads = [threading.Thread(target=take, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed, order in enumerate(orders):
        assert found[seed] == [strings[p] for p in order]
    assert stored.take([3, 3, 0]) == [strings[3], strings[3], ""]


def test_string_list_keeps_at_most_its_limit_of_decoded_strings(monkeypatch):
    # A serving process takes ids for ever: what it keeps must stay bounded, and a string
    # taken again after the cache was emptied must still be the right one.
    monkeypatch.setattr(persist, "TAKEN_LIMIT", 16)
    strings = [f"doc-{i}" for i in range(100)]
    stored = StringList(*encode_strings(strings))
    for start in range(0, 100, 10):
        positions = list(range(start, start + 10))
        assert stored.take(positions) == strings[start : start + 10]
        assert len(stored._taken) <= 16 + 10
    assert stored.take([5, 95]) == ["doc-5", "doc-95"]

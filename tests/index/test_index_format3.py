"""Indexes saved in format 3 (the forward index as two arrays; format 4 saves a built index's rows
side by side, index/forward.py): still read, and every reader of the forward index gives what it
gives on the same index saved in format 4."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from index_data import random_collection
from living_model import check_search, contents, model_of, vectors
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.config import SearchDefaults
from lsr.index.forward import SideBySideForward
from lsr.index.living import LivingIndex, _live_rows
from lsr.index.open import open_index
from lsr.index.persist import FORMAT_VERSION, MANIFEST
from lsr.index.scan import scan
from lsr.index.segments import load_segment, write_segment
from lsr.index.sharded import SHARDS_FILE, build_sharded
from lsr.index.summary import MASK_BLOCKS, build_summaries

from lsr.errors import IndexFormatError
from lsr.fingerprint import file_hash
from lsr.vector_io import write_vectors

DOCS = random_collection(400, seed=61)
QUERIES = random_collection(25, mean_nnz=6, seed=62, prefix="q")


def _save_array(directory: Path, manifest: dict, name: str, array: np.ndarray) -> None:
    path = directory / f"{name}.npy"
    np.save(path, array)
    manifest["arrays"][name] = {
        "file": path.name,
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "sha256": file_hash(path),
    }


def to_format4(directory: Path) -> None:
    """Rewrite a format 5 index directory as lsr wrote it before format 5: its summaries built
    with no masked group (``build_summaries(mask_blocks=0)``, the layout of format 4, whose
    arrays it writes the same), without ``group_entry_ptr`` / ``group_block_ptr`` and
    ``summary_mask_blocks``, version 4."""
    manifest = json.loads((directory / MANIFEST).read_text())
    if "summary_mask_blocks" in manifest:  # not an exact segment (a forward index alone)
        index = SeismicIndex.load(directory)
        forward = index.forward.to_two_arrays()
        energy = index.config.summary_energy
        unmasked = build_summaries(forward, index.postings, energy, mask_blocks=0)
        assert manifest.pop("summary_mask_blocks") == MASK_BLOCKS
        for name in ("group_entry_ptr", "group_block_ptr"):
            (directory / manifest["arrays"].pop(name)["file"]).unlink()
        for name, array in unmasked.stored().items():
            if name in manifest["arrays"]:
                _save_array(directory, manifest, name, array)
    manifest["format_version"] = 4
    (directory / MANIFEST).write_text(json.dumps(manifest))


def to_format3(directory: Path) -> None:
    """Rewrite a format 5 index directory as lsr wrote it before format 4: format 4's summaries
    (:func:`to_format4`), and the forward index's two arrays (``ForwardIndex.from_collection``'s,
    which ``to_two_arrays`` gives back, tested in test_index_forward.py) instead of
    ``forward.rows``, no ``forward_layout``, version 3."""
    to_format4(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest.pop("forward_layout") == "side_by_side"
    entry = manifest["arrays"].pop("forward.rows")
    rows = np.load(directory / entry["file"])
    indptr = np.load(directory / "forward.indptr.npy")
    laid = SideBySideForward(indptr, rows, manifest["value_dtype"], manifest["vocab_size"])
    (directory / entry["file"]).unlink()
    for name, array in laid.to_two_arrays().stored().items():
        _save_array(directory, manifest, f"forward.{name}", array)
    manifest["format_version"] = 3
    (directory / MANIFEST).write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[SeismicIndex, SeismicIndex]:
    """The same index loaded from format 3 and from format 4."""
    root = tmp_path_factory.mktemp("formats")
    SeismicIndex.build(DOCS, BuildConfig(n_postings=60, knn=3)).save(root / "4")
    shutil.copytree(root / "4", root / "3")
    to_format3(root / "3")
    return SeismicIndex.load(root / "3", verify=True), SeismicIndex.load(root / "4", verify=True)


def test_format3_is_read_as_two_arrays_and_searched_side_by_side_in_memory(both):
    old, new = both
    assert old.forward.layout == "two_arrays" and new.forward.layout == "side_by_side"
    assert old.nbytes()["forward"] == new.nbytes()["forward"]  # one layout stored, never both
    # Format 3: the side-by-side copy of the two arrays, made on the first search as before.
    _, rows = old._index_arrays[0]
    assert rows.flags.writeable and len(rows) == 2 * old.forward.nnz  # not the read-only map
    # Format 4: the memory-mapped rows themselves (read-only), no copy.
    assert new._index_arrays[0][1] is new.forward.rows and not new.forward.rows.flags.writeable
    np.testing.assert_array_equal(rows, new.forward.rows)


@pytest.mark.parametrize(
    ("query_cut", "heap_factor", "n_knn"), [(100, 1e-9, 0), (3, 0.7, 0), (5, 0.9, 2)]
)
def test_format3_searches_as_its_format4_twin(both, query_cut, heap_factor, n_knn):
    settings = {"k": 10, "query_cut": query_cut, "heap_factor": heap_factor, "n_knn": n_knn}
    found = [i.search_batch(QUERIES, engine="seismic", **settings) for i in both]
    for name in ("docs", "scores", "scored"):
        np.testing.assert_array_equal(getattr(found[0], name), getattr(found[1], name))
    terms, weights = QUERIES.indices[:6], QUERIES.values[:6]
    ids = [i.search(terms, weights, engine="seismic", **settings)[0] for i in both]
    assert ids[0] == ids[1]


def test_format3_exact_search_documents_and_rows_equal_format4(both):
    old, new = both
    exact = [i.exact().search_batch(QUERIES, k=10) for i in both]
    np.testing.assert_array_equal(exact[0].docs, exact[1].docs)
    np.testing.assert_array_equal(exact[0].scores, exact[1].scores)
    for d in (0, 17, len(old) - 1):
        for got, want in zip(old.document(d), new.document(d), strict=True):
            np.testing.assert_array_equal(got, want)
    positions = np.arange(len(old))[::3]
    queries = (QUERIES.indptr, QUERIES.indices, QUERIES.values)
    scanned = [scan(i.forward, positions, queries, 10) for i in both]
    for got, want in zip(*scanned, strict=True):
        np.testing.assert_array_equal(got, want)


def test_format4_summaries_are_read_unmasked_and_search_as_format5(tmp_path):
    """Format 4's summaries (no masked group) give the same scores as format 5's masked ones:
    the same entries, summed in the same order."""
    SeismicIndex.build(DOCS, BuildConfig(n_postings=60)).save(tmp_path / "5")
    shutil.copytree(tmp_path / "5", tmp_path / "4")
    to_format4(tmp_path / "4")
    old, new = (SeismicIndex.load(tmp_path / v, verify=True) for v in "45")
    assert old.summaries.mask_blocks == 0 and new.summaries.mask_blocks == MASK_BLOCKS
    assert len(old.summaries.entry_block) > len(new.summaries.entry_block)
    for t in range(0, old.vocab_size, 7):
        n_blocks = int(np.diff(old.postings.list_block_ptr[t : t + 2])[0])
        for got, want in zip(
            old.summaries.list_entries(t, n_blocks), new.summaries.list_entries(t, n_blocks)
        ):
            np.testing.assert_array_equal(got, want)
    for query_cut, heap_factor in ((100, 1e-9), (3, 0.7), (5, 0.9)):
        settings = {"k": 10, "query_cut": query_cut, "heap_factor": heap_factor}
        found = [i.search_batch(QUERIES, engine="seismic", **settings) for i in (old, new)]
        for name in ("docs", "scores", "scored"):
            np.testing.assert_array_equal(getattr(found[0], name), getattr(found[1], name))


def test_a_newer_format_asks_for_a_newer_lsr(tmp_path):
    SeismicIndex.build(random_collection(50, seed=63), BuildConfig(n_postings=20)).save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "format_version": 6}))
    with pytest.raises(IndexFormatError, match=r"version 6; this lsr reads version 3, 4 or 5 \(w"):
        SeismicIndex.load(tmp_path)


def test_an_unknown_forward_layout_is_refused_naming_the_field(tmp_path):
    SeismicIndex.build(random_collection(50, seed=63), BuildConfig(n_postings=20)).save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "forward_layout": "diagonal"}))
    with pytest.raises(IndexFormatError, match=r"manifest\.json: forward_layout must be one of"):
        SeismicIndex.load(tmp_path)


def test_format3_exact_segments_scan_and_compact_as_format4(tmp_path):
    """An exact segment of a living index (its forward index alone) in both formats."""
    small = random_collection(60, seed=64)
    defaults = SearchDefaults()
    write_segment(tmp_path / "4", small, BuildConfig(), defaults)
    shutil.copytree(tmp_path / "4", tmp_path / "3")
    to_format3(tmp_path / "3")
    old, new = (load_segment(tmp_path / v, "exact", verify=True) for v in "34")
    assert old.forward.layout == "two_arrays" and new.forward.layout == "side_by_side"
    queries = (QUERIES.indptr, QUERIES.indices, QUERIES.values)
    live = np.arange(0, 60, 2)
    for got, want in zip(scan(old.forward, live, queries, 5), scan(new.forward, live, queries, 5)):
        np.testing.assert_array_equal(got, want)
    deleted = np.zeros(60, bool)
    deleted[::3] = True
    rows = [_live_rows(s, deleted, small.metadata) for s in (old, new)]
    assert rows[0].ids == rows[1].ids == [small.ids[i] for i in np.flatnonzero(~deleted)]
    for name in ("indptr", "indices", "values"):
        np.testing.assert_array_equal(getattr(rows[0], name), getattr(rows[1], name))


def test_a_format3_index_made_living_keeps_its_documents_through_merges(tmp_path):
    first = vectors([f"d{i}" for i in range(30)], seed=1)
    SeismicIndex.build(first, BuildConfig(n_postings=10**6)).save(tmp_path)
    to_format3(tmp_path)
    with LivingIndex.open(tmp_path, exact_max_docs=10) as index:
        index.add(vectors(["d0", "new"], seed=2))
        index.delete(["d5"])
        index.merge()
    model = model_of(first) | model_of(vectors(["d0", "new"], seed=2))
    del model["d5"]
    reader = open_index(tmp_path)
    assert contents(reader) == model
    check_search(reader, model, k=5)


def test_format3_shards_search_as_format4_shards(tmp_path):
    write_vectors(tmp_path / "docs.parquet", DOCS)
    build_sharded(tmp_path / "docs.parquet", tmp_path / "4", 2, BuildConfig(n_postings=40))
    shutil.copytree(tmp_path / "4", tmp_path / "3")
    shards = json.loads((tmp_path / "3" / SHARDS_FILE).read_text())
    for shard in shards["shards"]:  # as format 3 shards were built: their manifests' checksums
        to_format3(tmp_path / "3" / shard["path"])
        shard["checksum"] = file_hash(tmp_path / "3" / shard["path"] / MANIFEST)
    (tmp_path / "3" / SHARDS_FILE).write_text(json.dumps(shards))
    found = []
    for version in "34":
        index = open_index(tmp_path / version)
        index.share_bound = False  # shared k-th scores depend on the threads' timing
        settings = {"query_cut": 3, "heap_factor": 0.7, "engine": "seismic"}
        found.append(index.search_batch(QUERIES, k=10, **settings))
    np.testing.assert_array_equal(found[0].docs, found[1].docs)
    np.testing.assert_array_equal(found[0].scores, found[1].scores)


def test_a_built_index_searches_the_rows_it_saves_without_a_copy():
    """The build keeps the side-by-side rows alone, its kNN graph searches included."""
    index = SeismicIndex.build(random_collection(80, seed=65), BuildConfig(n_postings=20, knn=2))
    assert index.forward.layout == "side_by_side"
    assert index._index_arrays[0][1] is index.forward.rows


def test_saving_an_index_read_from_format3_writes_the_current_format(both, tmp_path):
    old, _ = both
    old.save(tmp_path / "upgraded")
    manifest = json.loads((tmp_path / "upgraded" / MANIFEST).read_text())
    assert manifest["format_version"] == FORMAT_VERSION == 5
    assert manifest["forward_layout"] == "side_by_side"
    assert manifest["summary_mask_blocks"] == 0  # its summaries as they were, unmasked
    again = SeismicIndex.load(tmp_path / "upgraded", verify=True)
    assert old.forward.layout == "two_arrays"  # the index saved is left as it was
    np.testing.assert_array_equal(again.forward.rows, both[1].forward.rows)
    found = [i.search_batch(QUERIES, k=10, engine="seismic") for i in (again, both[1])]
    np.testing.assert_array_equal(found[0].docs, found[1].docs)


@pytest.mark.parametrize("value", [9, -1, "8", True])
def test_a_bad_summary_mask_blocks_is_refused_naming_the_field(tmp_path, value):
    SeismicIndex.build(random_collection(50, seed=63), BuildConfig(n_postings=20)).save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "summary_mask_blocks": value}))
    with pytest.raises(IndexFormatError, match=r"manifest\.json: summary_mask_blocks must be an"):
        SeismicIndex.load(tmp_path)

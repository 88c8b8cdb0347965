"""Loading checks what the kernels index with: each kind of damage fails naming the file and the
fault (``test_index_fuzz.py`` throws random damage at the same checks)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from index_data import random_collection
from lsr.index import BuildConfig, SeismicIndex
from lsr.index.integrity import check_index
from lsr.index.persist import MANIFEST

from lsr.errors import IndexFormatError


@pytest.fixture(scope="module")
def index():
    return SeismicIndex.build(random_collection(300, seed=81), BuildConfig(n_postings=40, knn=2))


@pytest.fixture
def saved(index, tmp_path) -> Path:
    path = tmp_path / "idx"
    index.save(path)
    return path


def rewrite(directory: Path, name: str, change) -> None:
    """Change one array and keep the manifest consistent (checksum included), as a bug in a
    writer would: only the structural checks can catch it."""
    path = directory / f"{name}.npy"
    array = np.load(path).copy()
    change(array)
    np.save(path, array)
    manifest = json.loads((directory / MANIFEST).read_text())
    from lsr.fingerprint import file_hash

    manifest["arrays"][name]["sha256"] = file_hash(path)
    (directory / MANIFEST).write_text(json.dumps(manifest))


def assert_refused(directory: Path, name: str, fault: str) -> None:
    with pytest.raises(IndexFormatError, match=re.escape(f"{name}.npy: ") + fault):
        SeismicIndex.load(directory)


def test_document_id_beyond_the_collection(saved):
    rewrite(saved, "post_docs", lambda a: a.__setitem__(5, 300))
    assert_refused(saved, "post_docs", r"holds document ids 300, outside \[0, 300\)")


def test_term_id_beyond_the_vocabulary(saved, index):
    assert index.forward.indptr[1] > 0  # rows[0] is document 0's first term id
    rewrite(saved, "forward.rows", lambda a: a.__setitem__(0, 200))
    assert_refused(saved, "forward.rows", r"holds term ids 200, outside \[0, 200\)")


def test_the_weights_of_the_rows_are_not_read_as_term_ids(saved, index):
    """200 as a weight's float16 bits (a tiny subnormal) is no fault: only ids are checked."""
    n = int(index.forward.indptr[1])
    rewrite(saved, "forward.rows", lambda a: a.__setitem__(n, 200))
    assert SeismicIndex.load(saved).document(0)[1][0] == np.uint16(200).view(np.float16)


def test_rows_of_odd_length(saved):
    path = saved / "forward.rows.npy"
    np.save(path, np.load(path)[:-1])
    manifest = json.loads((saved / MANIFEST).read_text())
    manifest["arrays"]["forward.rows"]["shape"] = [len(np.load(path))]
    (saved / MANIFEST).write_text(json.dumps(manifest))
    rewrite(saved, "forward.rows", lambda a: None)  # the new file's checksum
    assert_refused(saved, "forward.rows", r"\d+ entries, not an id and a weight each")


def test_a_damaged_weight_of_the_rows_fails_the_checksum(saved, index):
    path = saved / "forward.rows.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # the last document's last weight: in range, only the checksum sees it
    path.write_bytes(bytes(data))
    SeismicIndex.load(saved)
    with pytest.raises(IndexFormatError, match=r"forward\.rows\.npy: checksum mismatch"):
        SeismicIndex.load(saved, verify=True)


def test_term_id_beyond_the_vocabulary_in_two_arrays(tmp_path):
    """Weights in float32 keep the two arrays (index.forward): their ids are checked too."""
    config = BuildConfig(n_postings=40, value_dtype="float32")
    SeismicIndex.build(random_collection(100, seed=82), config).save(tmp_path / "idx")
    rewrite(tmp_path / "idx", "forward.terms", lambda a: a.__setitem__(0, 200))
    assert_refused(tmp_path / "idx", "forward.terms", r"holds term ids 200, outside \[0, 200\)")


def test_decreasing_offsets(saved):
    def swap(a):
        a[10], a[11] = a[11], a[10]

    rewrite(saved, "forward.indptr", swap)
    assert_refused(saved, "forward.indptr", "offset 11 is smaller than the one before")


def test_offsets_past_the_end(saved):
    rewrite(saved, "block_ptr", lambda a: a.__setitem__(-1, a[-1] + 1))
    assert_refused(saved, "block_ptr", "offsets run from 0 to")


def test_knn_neighbour_beyond_the_collection(saved):
    rewrite(saved, "knn", lambda a: a.__setitem__((0, 0), 1000))
    assert_refused(saved, "knn", "holds document ids 1000")


def test_document_id_that_is_not_utf8(saved):
    rewrite(saved, "doc_id_bytes", lambda a: a.__setitem__(0, 0xFF))
    assert_refused(saved, "doc_id_bytes", "not UTF-8 at byte 0")


def test_damage_seen_in_another_array_names_the_damaged_one(saved):
    """Ids "d0d1..." become "dé1...": valid UTF-8, but id 1 now starts inside "é", which the
    offsets' check sees; the checksums tell that the bytes were changed, not the offsets."""
    path = saved / "doc_id_bytes.npy"
    data = bytearray(path.read_bytes())
    start = len(data) - len(np.load(path))
    data[start + 1 : start + 3] = "é".encode()
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFormatError, match=r"doc_id_bytes\.npy: checksum mismatch.*id 1"):
        SeismicIndex.load(saved)


def test_header_claiming_a_huge_array_is_refused_before_allocating(saved):
    path = saved / "post_docs.npy"
    array = np.load(path)
    with open(path, "wb") as handle:
        header = {"descr": array.dtype.str, "fortran_order": False, "shape": (10**12,)}
        np.lib.format.write_array_header_1_0(handle, header)
        handle.write(array.tobytes())
    with pytest.raises(IndexFormatError, match=r"post_docs\.npy: holds .* \[1000000000000\]"):
        SeismicIndex.load(saved, mmap=False)


def test_file_longer_than_its_header_says(saved):
    path = saved / "block_min.npy"
    path.write_bytes(path.read_bytes() + b"\0" * 4)
    with pytest.raises(IndexFormatError, match=r"block_min\.npy: \d+ bytes, its header implies"):
        SeismicIndex.load(saved)


def test_a_sound_index_passes(index, tmp_path):
    ids = list(index.doc_ids)
    id_bytes = np.frombuffer("".join(ids).encode(), np.uint8)
    offsets = np.concatenate([[0], np.cumsum([len(i.encode()) for i in ids])])
    check_index(
        tmp_path, len(index), id_bytes, offsets, index.forward, index.postings,
        index.summaries, index.knn,
    )  # fmt: skip

"""index.living: a plain index made living, the writer's lock, readers of old commits, the
merge policy, damaged commits."""

import json
import os

import numpy as np
import pytest
from index_data import random_collection
from living_model import METADATA, check_search, contents, model_of, vectors
from lsr.index import BuildConfig, SeismicIndex, policy
from lsr.index.commit import POINTER, read_current
from lsr.index.living import LivingIndex, segment_config
from lsr.index.open import open_index
from lsr.index.segmented import SegmentedIndex

from lsr.errors import IndexFormatError, IndexLockedError, InputError
from lsr.vectors import VectorMetadata

CONFIG = BuildConfig(n_postings=10**6)


def test_a_built_index_becomes_the_first_segment_in_place(tmp_path):
    first = vectors([f"d{i}" for i in range(30)], seed=1)
    SeismicIndex.build(first, CONFIG).save(tmp_path)
    with LivingIndex.open(tmp_path, exact_max_docs=10) as index:
        assert [e.path for e in index.commit.segments] == ["."]
        index.add(vectors(["d0", "new"], seed=2))
        model = model_of(first) | model_of(vectors(["d0", "new"], seed=2))
        assert contents(open_index(tmp_path)) == model
        index.merge()
        assert (tmp_path / "manifest.json").exists()  # the commit before the merge names it
        index.add(vectors(["later"], seed=3))
        model |= model_of(vectors(["later"], seed=3))
    assert not (tmp_path / "manifest.json").exists()  # no kept commit names it any more
    reader = open_index(tmp_path)
    assert contents(reader) == model
    check_search(reader, model, k=5)


def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    with LivingIndex.open(tmp_path / "index", metadata=METADATA):
        with pytest.raises(IndexLockedError, match=rf"write.lock: .*pid {os.getpid()}"):
            LivingIndex.open(tmp_path / "index")
    LivingIndex.open(tmp_path / "index").close()  # released


def test_a_reader_keeps_searching_its_commit_after_a_merge_removed_it(tmp_path):
    with LivingIndex.open(tmp_path, METADATA, CONFIG, exact_max_docs=4) as index:
        index.add(vectors([f"a{i}" for i in range(8)], seed=1))
        index.add(vectors([f"b{i}" for i in range(3)], seed=2))
        index.delete(["a1"])
        old = SegmentedIndex.load(tmp_path)
        model = contents(old)
        before = old.exact().search_batch(vectors(["q"], 9), k=5).to_dict()
        for round_ in range(3):  # enough commits that the old one's files are removed
            index.add(vectors([f"c{round_}"], seed=3 + round_))
            index.merge()
    assert not any((tmp_path / e.path).exists() for e in old.commit.segments)
    assert old.exact().search_batch(vectors(["q"], 9), k=5).to_dict() == before
    check_search(old, model, k=5)


def test_adding_vectors_of_another_vocabulary_is_refused(tmp_path):
    with LivingIndex.open(tmp_path, METADATA) as index:
        with pytest.raises(InputError, match="vocab_size 50, the index 40"):
            index.add(random_collection(3, vocab_size=50))


def test_opening_a_folder_that_is_not_an_index_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(IndexFormatError, match="exists and is not an lsr index"):
        LivingIndex.open(tmp_path, METADATA)
    with pytest.raises(IndexFormatError, match="no index here"):
        LivingIndex.open(tmp_path / "missing")


def test_a_damaged_commit_names_its_file(tmp_path):
    with LivingIndex.open(tmp_path, METADATA) as index:
        index.add(vectors(["a", "b"], seed=1))
    commit = tmp_path / (tmp_path / POINTER).read_text().strip()
    data = json.loads(commit.read_text())
    del data["segments"][0]["kind"]
    commit.write_text(json.dumps(data))
    with pytest.raises(IndexFormatError, match=rf"{commit.name}: field 'segments'"):
        open_index(tmp_path)
    (tmp_path / POINTER).write_text("../../etc/passwd")
    with pytest.raises(IndexFormatError, match=r"CURRENT: names '\.\./\.\./etc/passwd'"):
        read_current(tmp_path)


def test_a_bitmap_that_disagrees_with_its_commit_is_refused(tmp_path):
    with LivingIndex.open(tmp_path, METADATA) as index:
        index.add(vectors(["a", "b", "c"], seed=1))
        index.delete(["a"])
        bitmap = tmp_path / index.commit.segments[0].deletes
    np.save(bitmap, np.array([6], dtype=np.uint64))
    with pytest.raises(IndexFormatError, match="2 documents deleted, the commit says 1"):
        open_index(tmp_path)


def test_tiers_by_powers_of_segments_per_tier():
    floor, per = policy.FLOOR_DOCS, policy.SEGMENTS_PER_TIER
    assert [policy.tier(n) for n in (0, floor, floor * per - 1, floor * per, floor * per**2)] == [
        0, 0, 0, 1, 2,
    ]  # fmt: skip


def test_tiered_policy_merges_a_full_tier_only():
    per = policy.SEGMENTS_PER_TIER
    assert policy.tiered_merge([10] * (per - 1) + [10**6]) is None
    assert policy.tiered_merge([10] * per + [10**6]) == list(range(per))
    assert policy.tiered_merge([10**4] * per + [5]) == list(range(per))


def test_force_merge_joins_the_smallest_and_rewrites_the_deleted():
    assert policy.force_merge([5, 1, 9, 3], [0, 0, 0, 0], 2) == [[0, 1, 3]]
    assert policy.force_merge([5, 1, 9], [0, 0, 2], 3) == [[2]]
    assert policy.force_merge([5, 1, 9], [1, 0, 2], 2) == [[0, 1], [2]]
    with pytest.raises(InputError, match="max_segments must be an integer >= 1, got 0"):
        policy.force_merge([1], [0], 0)


def test_additions_stay_below_a_tier_of_segments(tmp_path):
    with LivingIndex.open(tmp_path, VectorMetadata(40)) as index:
        for i in range(2 * policy.SEGMENTS_PER_TIER):
            index.add(vectors([f"d{i}"], seed=i))
            assert len(index.commit.segments) < policy.SEGMENTS_PER_TIER
        assert len(index) == 2 * policy.SEGMENTS_PER_TIER


def test_a_build_replaces_a_living_index_whole(tmp_path):
    with LivingIndex.open(tmp_path, METADATA) as index:
        index.add(vectors(["a", "b"], seed=1))
    SeismicIndex.build(vectors(["c"], seed=2), CONFIG).save(tmp_path)
    assert not (tmp_path / POINTER).exists()
    assert list(open_index(tmp_path).doc_ids) == ["c"]


def test_a_segment_gets_its_share_of_the_posting_budget():
    config = BuildConfig(n_postings=1000)
    assert segment_config(config, 20_000, 220_000).n_postings == 91
    assert segment_config(config, 220_000, 220_000).n_postings == 1000
    assert segment_config(config, 1, 10**9).n_postings == 1

"""index.sharded: hash partition, parallel shard builds, a thread per shard, exact merge."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from index_data import dense, random_collection
from lsr.index.config import BuildConfig, SearchDefaults
from lsr.index.open import open_index
from lsr.index.segmented import merge_row, merge_top_k
from lsr.index.seismic import SeismicIndex
from lsr.index.sharded import SHARDS_FILE, ShardedIndex, build_sharded, shard_of

from lsr.cli import cli
from lsr.errors import IndexFormatError, InputError
from lsr.vector_io import write_vectors

N_DOCS, VOCAB = 400, 150
#: No pruning (every list keeps every posting) and, at search, every query term's list visited
#: and no block skipped (heap_factor 0): Seismic then scores every document sharing a term.
EXACT_BUILD = BuildConfig(pruning="fixed_size", n_postings=N_DOCS, value_dtype="float32")
EXACT_SEARCH = {"query_cut": VOCAB, "heap_factor": 0.0, "engine": "seismic"}


@pytest.fixture(scope="module")
def docs():
    return random_collection(N_DOCS, vocab_size=VOCAB, seed=7)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory, docs):
    root = tmp_path_factory.mktemp("sharded")
    write_vectors(root / "docs.parquet", docs, row_group_size=64)
    build_sharded(
        root / "docs.parquet", root / "idx", 3, EXACT_BUILD, SearchDefaults(engine="seismic"),
        jobs=2, threads=1,
    )  # fmt: skip
    return root


def test_a_document_goes_to_the_crc32_of_its_id_mod_n():
    ids = ["d0", "d1", "é-ü", ""]
    expected = [zlib.crc32(i.encode("utf-8")) % 5 for i in ids]
    assert shard_of(ids, 5).tolist() == expected


def test_the_shards_union_is_the_collection_each_in_its_hash_shard(sharded, docs):
    manifest = json.loads((sharded / "idx" / SHARDS_FILE).read_text())
    seen = []
    for number, shard in enumerate(manifest["shards"]):
        ids = list(SeismicIndex.load(sharded / "idx" / shard["path"]).doc_ids)
        assert len(ids) == shard["n_docs"]
        assert set(shard_of(ids, 3).tolist()) == {number}
        seen += ids
    assert sorted(seen) == sorted(docs.ids) and len(seen) == len(docs)


def test_exact_settings_return_the_exact_top_k(sharded, docs):
    queries = random_collection(20, vocab_size=VOCAB, seed=8, prefix="q")
    index = open_index(sharded / "idx")
    assert isinstance(index, ShardedIndex)
    results = index.search_batch(queries, k=10, **EXACT_SEARCH)
    scores = dense(queries) @ dense(docs).T
    for q in range(len(queries)):
        order = np.lexsort((np.arange(N_DOCS), -scores[q]))[:10]
        positive = order[scores[q][order] > 0]
        got = index.doc_ids.take(results.docs[q][: len(positive)])
        assert got == [docs.ids[d] for d in positive]
        np.testing.assert_allclose(results.scores[q][: len(positive)], scores[q][positive], 1e-5)


def test_one_query_searches_as_the_batch(sharded, docs):
    queries = random_collection(3, vocab_size=VOCAB, seed=9, prefix="q")
    index = open_index(sharded / "idx")
    batch = index.search_batch(queries, k=5, **EXACT_SEARCH)
    for q in range(len(queries)):
        ids, scores = index.search(*queries.row(q), k=5, **EXACT_SEARCH)
        assert ids == index.doc_ids.take(batch.docs[q][: len(ids)])
        np.testing.assert_array_equal(scores, batch.scores[q][: len(ids)])


@pytest.mark.parametrize("n_queries", [1, 25])
def test_the_fan_out_answers_as_each_shard_searched_alone(tmp_path, docs, n_queries):
    """Pruned lists and skipped blocks, shards not sharing their scores: the shards searched
    at once (the calling thread and the pool's) return each shard's own Seismic top-k, merged."""
    write_vectors(tmp_path / "docs.parquet", docs)
    build_sharded(tmp_path / "docs.parquet", tmp_path / "idx", 3, BuildConfig(n_postings=40))
    index = ShardedIndex.load(tmp_path / "idx")
    index.share_bound = False
    queries = random_collection(n_queries, vocab_size=VOCAB, seed=10, prefix="q")
    params = {"k": 7, "query_cut": 4, "heap_factor": 0.8, "engine": "seismic"}
    found = index.search_batch(queries, **params)
    alone = []
    for part in index.parts:
        result = part.segment.seismic.search_batch(queries, **params)
        alone.append((np.where(result.docs >= 0, result.docs + part.offset, -1), result.scores))
    expected_docs, expected_scores = merge_top_k(alone, n_queries, 7)
    np.testing.assert_array_equal(found.docs, expected_docs)
    np.testing.assert_array_equal(found.scores, expected_scores)


@pytest.mark.parametrize("global_order", [False, True])
def test_one_query_answers_as_each_shard_searched_alone(tmp_path, docs, global_order):
    """A single query's search (each shard's kernel called directly, the rows merged in one
    compiled call) against each shard's own batch search merged by ``merge_top_k``: pruned
    lists, skipped blocks, scores not shared (sharing makes the skipping depend on timing)."""
    write_vectors(tmp_path / "docs.parquet", docs)
    build_sharded(tmp_path / "docs.parquet", tmp_path / "idx", 3, BuildConfig(n_postings=40))
    index = ShardedIndex.load(tmp_path / "idx")
    index.share_bound = False
    queries = random_collection(30, vocab_size=VOCAB, seed=12, prefix="q")
    params = {"k": 7, "query_cut": 4, "heap_factor": 0.8, "engine": "seismic"}
    params["global_order"] = global_order
    alone = []
    for part in index.parts:
        result = part.segment.seismic.search_batch(queries, **params)
        alone.append((np.where(result.docs >= 0, result.docs + part.offset, -1), result.scores))
    expected_docs, expected_scores = merge_top_k(alone, len(queries), 7)
    for q in range(len(queries)):
        ids, scores = index.search(*queries.row(q), **params)
        n = int((expected_docs[q] >= 0).sum())
        assert ids == index.doc_ids.take(expected_docs[q][:n])
        np.testing.assert_array_equal(scores, expected_scores[q][:n])


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda n_parts: st.tuples(
            st.lists(st.integers(0, 6), min_size=n_parts, max_size=n_parts),  # documents found
            st.lists(
                st.lists(st.sampled_from([0.5, 1.0, 1.5, 2.0]), min_size=6, max_size=6),
                min_size=n_parts,
                max_size=n_parts,
            ),
            st.integers(1, 6),
            st.randoms(use_true_random=False),
        )
    )
)
def test_merge_row_is_merge_top_k_of_one_query(case):
    """Ties (scores from four values) broken by lower global position, ``-1`` padding last,
    rows in any order and of fewer than k documents."""
    counts, values, k, rng = case
    docs, scores, offsets, start = [], [], [], 0
    for found, row_scores in zip(counts, values, strict=True):
        positions = rng.sample(range(40), min(found, k))
        row_docs = np.full(k, -1, np.int64)
        row_docs[: len(positions)] = positions
        docs.append(row_docs)
        scores.append(np.where(row_docs >= 0, np.array(row_scores[:k], np.float32), np.float32(0)))
        offsets.append(start)
        start += 40
    offsets = np.array(offsets, np.int64)
    global_rows = [
        (np.where(d >= 0, d + o, -1)[None], s[None])
        for d, s, o in zip(docs, scores, offsets, strict=True)
    ]
    expected_docs, expected_scores = merge_top_k(global_rows, 1, k)
    got_docs, got_scores = merge_row(tuple(docs), tuple(scores), offsets, k)
    np.testing.assert_array_equal(got_docs, expected_docs[0])
    np.testing.assert_array_equal(got_scores, expected_scores[0])


def test_ids_taken_at_once_are_those_looked_up_one_by_one(sharded):
    ids = open_index(sharded / "idx").doc_ids
    positions = np.random.default_rng(11).integers(0, N_DOCS, 50)
    assert ids.take(positions) == [ids[int(p)] for p in positions]
    assert ids.take(np.array([], np.int64)) == []
    with pytest.raises(IndexError):
        ids.take(np.array([3, N_DOCS]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(-2, N_DOCS + 1), max_size=12), min_size=1, max_size=6))
def test_ids_taken_again_are_those_looked_up_one_by_one(sharded, takes):
    """Takes in turn, kept ids found again among new ones; an invalid position is refused
    whatever was kept before."""
    ids = open_index(sharded / "idx").doc_ids
    for positions in takes:
        if all(0 <= p < N_DOCS for p in positions):
            assert ids.take(positions) == [ids[p] for p in positions]
        else:
            with pytest.raises(IndexError):
                ids.take(positions)


def test_a_damaged_shard_is_named(sharded, tmp_path):
    import shutil

    copy = tmp_path / "idx"
    shutil.copytree(sharded / "idx", copy)
    manifest = copy / "shard-001" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"n_docs"', '"n_docs" ', 1))
    with pytest.raises(IndexFormatError, match="shard shard-001 is damaged"):
        open_index(copy)


def test_a_missing_shard_is_named(sharded, tmp_path):
    import shutil

    copy = tmp_path / "idx"
    shutil.copytree(sharded / "idx", copy)
    shutil.rmtree(copy / "shard-002")
    with pytest.raises(IndexFormatError, match="shard shard-002 is missing"):
        open_index(copy)


def test_more_shards_than_documents_is_refused_naming_the_option(tmp_path):
    write_vectors(tmp_path / "two.parquet", random_collection(2, vocab_size=VOCAB))
    with pytest.raises(InputError, match="--shards 8"):
        build_sharded(tmp_path / "two.parquet", tmp_path / "idx", 8)
    assert not (tmp_path / "idx").exists()


@pytest.mark.slow
def test_cli_builds_searches_and_describes_a_sharded_index(sharded, tmp_path):
    runner = CliRunner()
    args = ["index", "build", str(sharded / "docs.parquet"), str(tmp_path / "idx")]
    built = runner.invoke(cli, [*args, "--shards", "2", "--n-postings", "40"])
    assert built.exit_code == 0, built.output
    assert "in 2 shards" in built.output
    write_vectors(tmp_path / "q.parquet", random_collection(4, vocab_size=VOCAB, prefix="q"))
    out = tmp_path / "run.trec"
    searched = runner.invoke(
        cli, ["index", "search", str(tmp_path / "idx"), str(tmp_path / "q.parquet"), "--k", "3",
              "--out", str(out)],
    )  # fmt: skip
    assert searched.exit_code == 0, searched.output
    assert len(out.read_text().splitlines()) == 12
    info = runner.invoke(cli, ["index", "info", str(tmp_path / "idx"), "--json"])
    assert info.exit_code == 0, info.output
    assert json.loads(info.output)["documents"] == N_DOCS

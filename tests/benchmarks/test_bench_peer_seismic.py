"""The pyseismic-lsr runner: same vectors in, exact answers when nothing is pruned or skipped."""

from __future__ import annotations

import pytest

from benchmarks.exact_reference import ground_truth
from benchmarks.peer_seismic import PeerSeismic, parse_space_usage, prepare_queries
from benchmarks.synthetic import SyntheticConfig, generate

# n_postings above every list's length and heap_factor 0: no pruning, no block skipped.
EXHAUSTIVE = {"n_postings": 10_000, "centroid_fraction": 0.1, "max_fraction": 1.5}


@pytest.fixture(scope="module")
def small():
    docs, queries = generate(400, 15, SyntheticConfig(vocab_size=1500, n_topics=4))
    return docs, queries, PeerSeismic.build(docs, EXHAUSTIVE)


def _exact_ids(docs, queries):
    return [[docs.ids[p] for p in row] for row in ground_truth(docs, queries, 10, progress=False)]


def test_single_search_is_exact_without_pruning(small):
    docs, queries, peer = small
    prepared = prepare_queries(queries)
    found = [peer.search(prepared, i, 10, 1000, 0.0, False) for i in range(len(queries))]
    assert [set(f) for f in found] == [set(e) for e in _exact_ids(docs, queries)]


def test_batch_search_matches_single_search(small):
    _, queries, peer = small
    prepared = prepare_queries(queries)
    batch = peer.batch_search(prepared, 10, 5, 0.9, True)
    single = [peer.search(prepared, i, 10, 5, 0.9, True) for i in range(len(queries))]
    assert batch == single


def test_save_and_load_round_trip(small, tmp_path):
    _, queries, peer = small
    path = peer.save(tmp_path / "peer")
    assert path.name == "peer.index.seismic" and path.stat().st_size > 0
    prepared = prepare_queries(queries)
    again = PeerSeismic.load(path)
    assert again.search(prepared, 0, 10, 5, 0.9, False) == peer.search(
        prepared, 0, 10, 5, 0.9, False
    )


def test_unknown_build_parameter_is_refused(small):
    docs, _, _ = small
    with pytest.raises(ValueError, match="query_cut"):
        PeerSeismic.build(docs, {"query_cut": 3})


def test_space_usage_report_is_parsed():
    text = (
        "Space Usage:\n\tForward Index: 120 Bytes\n\tPosting Lists: 300 Bytes\n"
        "\t  ├─ packed_postings: 100 Bytes (33%)\n\t  └─ summaries: 200 Bytes (66%)\n"
        "\tTotal: 420 Bytes\n"
    )
    assert parse_space_usage(text) == {
        "forward_index": 120,
        "posting_lists": 300,
        "packed_postings": 100,
        "summaries": 200,
        "total": 420,
    }

"""The block-order benchmark: our index mapped or read into memory answers the same."""

from __future__ import annotations

import json

from click.testing import CliRunner
from lsr.index import BuildConfig, SeismicIndex

from benchmarks import block_order
from benchmarks.exact_reference import ground_truth
from benchmarks.peer_seismic import PeerSeismic
from benchmarks.synthetic import SyntheticConfig, generate
from lsr.vector_io import write_vectors

PARAMS = {"n_postings": 60, "centroid_fraction": 0.1, "max_fraction": 1.5}


def test_mapped_and_in_memory_arrays_give_the_same_sweep(tmp_path):
    docs, queries = generate(300, 8, SyntheticConfig(vocab_size=1200, n_topics=3))
    SeismicIndex.build(docs, BuildConfig(n_postings=60)).save(tmp_path / "ours")
    peer = PeerSeismic.build(docs, PARAMS).save(tmp_path / "peer")
    write_vectors(tmp_path / "queries.parquet", queries)
    truth = [[docs.ids[p] for p in row] for row in ground_truth(docs, queries, 10, progress=False)]
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    sweeps = {}
    for arrays in ("mapped", "in-memory"):
        out = tmp_path / arrays
        result = CliRunner().invoke(block_order.main, [
            "--ours", str(tmp_path / "ours"), "--peer", str(peer),
            "--queries", str(tmp_path / "queries.parquet"), "--truth", str(tmp_path / "truth.json"),
            "--query-cut", "3,8", "--heap-factor", "0.9", "--rounds", "1",
            "--ours-arrays", arrays, "--out", str(out), "--allow-dirty",
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        report = json.loads(out.with_suffix(".json").read_text())
        assert report["ours_arrays"] == arrays
        assert f"our index's arrays {arrays}" in out.with_suffix(".md").read_text()
        sweeps[arrays] = [
            (s["system"], s["order"], s["query_cut"], s["accuracy"], s["scored"])
            for s in report["settings"]
        ]
    assert sweeps["mapped"] == sweeps["in-memory"]

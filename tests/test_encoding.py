"""encode_to_parquet: same vectors as a direct call, resumes after an interruption, atomic."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA, SPLADE_TINY, requires_shared

from lsr.cli import cli
from lsr.encoders import Bm25Encoder, load
from lsr.encoding import encode_to_parquet, parts_folder
from lsr.errors import InputError
from lsr.vector_io import read_vectors

TEXTS = [
    f"document {i} about cancer {'risk ' * (i % 4)}and heart disease {i % 3}" for i in range(23)
]
RECORDS = [(f"d{i}", text) for i, text in enumerate(TEXTS)]


@pytest.fixture(scope="module")
def bm25():
    return Bm25Encoder.fit(TEXTS)


class Interrupted(Exception):
    pass


def interrupted_after(records, count):
    """The records, then a failure (a killed run) after ``count`` of them."""
    for i, record in enumerate(records):
        if i == count:
            raise Interrupted
        yield record


def test_output_equals_a_direct_encode(bm25, tmp_path):
    out = encode_to_parquet(bm25, RECORDS, tmp_path / "v.parquet", chunk_size=5, progress=False)
    expected = bm25.encode_documents(TEXTS, [i for i, _ in RECORDS])
    got = read_vectors(out)
    assert got.ids == expected.ids
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.values, expected.values)
    assert not parts_folder(out).exists()


def test_an_interrupted_run_leaves_no_output_and_resumes(bm25, tmp_path):
    out = tmp_path / "v.parquet"
    with pytest.raises(Interrupted):
        encode_to_parquet(bm25, interrupted_after(RECORDS, 12), out, chunk_size=5, progress=False)
    assert not out.exists()
    assert len(list(parts_folder(out).glob("part-*.parquet"))) == 2
    # The first two chunks are not encoded again: texts changed there would not show.
    changed = [(i, "heart") for i, _ in RECORDS[:10]] + RECORDS[10:]
    encode_to_parquet(bm25, changed, out, chunk_size=5, progress=False)
    got = read_vectors(out)
    expected = bm25.encode_documents(TEXTS, [i for i, _ in RECORDS])
    assert got.ids == expected.ids
    assert np.array_equal(got.values, expected.values)


def test_chunks_of_another_run_are_discarded(bm25, tmp_path):
    out = tmp_path / "v.parquet"
    with pytest.raises(Interrupted):
        encode_to_parquet(
            bm25, interrupted_after(RECORDS, 12), out, chunk_size=5, progress=False, run_name="a"
        )
    changed = [(i, "heart") for i, _ in RECORDS]
    encode_to_parquet(bm25, changed, out, chunk_size=5, progress=False, run_name="b")
    assert read_vectors(out).nnz == bm25.encode_documents(["heart"] * len(RECORDS)).nnz


def test_an_existing_output_survives_an_interrupted_run(bm25, tmp_path):
    out = encode_to_parquet(bm25, RECORDS[:3], tmp_path / "v.parquet", progress=False)
    with pytest.raises(Interrupted):
        encode_to_parquet(bm25, interrupted_after(RECORDS, 7), out, chunk_size=5, progress=False)
    assert len(read_vectors(out)) == 3


def test_no_records_give_an_empty_file(bm25, tmp_path):
    out = encode_to_parquet(bm25, [], tmp_path / "v.parquet", progress=False)
    assert len(read_vectors(out)) == 0


def test_queries_side_uses_the_query_encoder(bm25, tmp_path):
    out = encode_to_parquet(
        bm25, [("q1", "cancer risk risk")], tmp_path / "q.parquet", side="queries", progress=False
    )
    assert read_vectors(out).to_dict(0) == pytest.approx(
        bm25.encode_queries(["cancer risk risk"]).to_dict(0)
    )


def test_bad_side_is_an_input_error(bm25, tmp_path):
    with pytest.raises(InputError, match="side must be"):
        encode_to_parquet(bm25, RECORDS, tmp_path / "v.parquet", side="both")


def test_the_output_carries_the_encoder_vocabulary(bm25, tmp_path):
    out = encode_to_parquet(bm25, RECORDS, tmp_path / "v.parquet", chunk_size=5, progress=False)
    assert read_vectors(out).metadata.vocabulary == tuple(bm25.vocabulary)


def test_a_chunk_of_other_documents_is_encoded_again(bm25, tmp_path):
    out = tmp_path / "v.parquet"
    with pytest.raises(Interrupted):
        encode_to_parquet(bm25, interrupted_after(RECORDS, 12), out, chunk_size=5, progress=False)
    # Same job, but the first chunk now stands for other documents: its file must not be used.
    renamed = [(f"x{i}", text) for i, text in RECORDS[:5]] + RECORDS[5:]
    encode_to_parquet(bm25, renamed, out, chunk_size=5, progress=False)
    assert read_vectors(out).ids == [i for i, _ in renamed]


def test_chunks_of_another_encoder_option_are_encoded_again(bm25, tmp_path):
    out = tmp_path / "v.parquet"
    with pytest.raises(Interrupted):
        encode_to_parquet(bm25, interrupted_after(RECORDS, 12), out, chunk_size=5, progress=False)
    other = Bm25Encoder.fit(TEXTS, k1=1.5)
    encode_to_parquet(other, RECORDS, out, chunk_size=5, progress=False)
    expected = other.encode_documents(TEXTS, [i for i, _ in RECORDS])
    assert np.array_equal(read_vectors(out).values, expected.values)


def test_chunks_of_another_model_folder_are_encoded_again(bm25, tmp_path):
    model = tmp_path / "model"
    bm25.save(model)
    out = tmp_path / "v.parquet"
    with pytest.raises(Interrupted):
        encode_to_parquet(
            bm25, interrupted_after(RECORDS, 12), out, chunk_size=5, progress=False,
            model=str(model),
        )  # fmt: skip
    manifest = (parts_folder(out) / "manifest.json").read_text(encoding="utf-8")
    (model / "bm25.json").write_text((model / "bm25.json").read_text() + " ", encoding="utf-8")
    changed = [(i, "heart") for i, _ in RECORDS]
    encode_to_parquet(bm25, changed, out, chunk_size=5, progress=False, model=str(model))
    assert "bm25.json" in manifest
    assert read_vectors(out).nnz == bm25.encode_documents(["heart"] * len(RECORDS)).nnz


def _slice_of_scifact(path, n):
    with gzip.open(SHARED_DATA / "scifact" / "corpus.jsonl.gz", "rt", encoding="utf-8") as src:
        lines = [line for _, line in zip(range(n), src)]
    path.write_text("".join(lines), encoding="utf-8")
    return [json.loads(line) for line in lines]


def _kill_after_two_chunks(command, parts):
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (parts / "part-000001.parquet").exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no chunk written in 120 s"
        time.sleep(0.01)
    process.kill()
    process.wait(timeout=30)


@pytest.mark.slow
@requires_shared
def test_killed_encode_rerun_with_another_top_k_gives_only_new_vectors(tmp_path):
    """A real run of `lsr encode` (splade-tiny) is killed after two chunks; the rerun with
    another --top-k must not reuse them: every vector is the new option's."""
    corpus = tmp_path / "corpus.jsonl"
    docs = _slice_of_scifact(corpus, 120)
    out = tmp_path / "docs.parquet"
    lsr = [str(Path(sys.executable).with_name("lsr"))]
    common = ["encode", "--model", str(SPLADE_TINY), "--corpus", str(corpus), "--out", str(out)]
    common += ["--chunk-size", "8", "--max-length", "64", "--threads", "1", "--no-progress"]
    _kill_after_two_chunks([*lsr, *common, "--top-k", "8"], parts_folder(out))
    assert not out.exists()
    assert CliRunner().invoke(cli, [*common, "--top-k", "3"]).exit_code == 0
    encoder = load(str(SPLADE_TINY), top_k=3, document_max_length=64)
    texts = [f"{d['title']} {d['text']}" for d in docs]
    expected = encoder.encode_documents(texts, [d["_id"] for d in docs])
    got = read_vectors(out)
    assert got.ids == expected.ids
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)
    np.testing.assert_allclose(got.values, expected.values, rtol=1e-6)

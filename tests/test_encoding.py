"""encode_to_parquet: same vectors as a direct call, resumes after an interruption, atomic."""

from __future__ import annotations

import numpy as np
import pytest

from lsr.encoders import Bm25Encoder
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

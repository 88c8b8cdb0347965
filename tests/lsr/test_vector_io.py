"""Parquet and JSONL round trips, streaming, atomic writes and refusal of foreign files."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsr.errors import VectorFormatError
from lsr.vector_io import (
    SCHEMA,
    VectorWriter,
    iter_vectors,
    read_jsonl,
    read_metadata,
    read_vectors,
    write_jsonl,
    write_vectors,
)
from lsr.vectors import SparseCollection, VectorMetadata, provenance

BIG = VectorMetadata(1_000_000, None, provenance(model="test", encoder="splade"))


def sample() -> SparseCollection:
    return SparseCollection.from_rows(
        ["doc-1", "δοκιμή", "空", "🙂 emoji"],
        [([0, 999_999], [1.5, 0.25]), ([42], [3.0]), ([], []), ([7, 8, 9], [1.0, 2.0, 3.0])],
        BIG,
    )


def assert_same(a: SparseCollection, b: SparseCollection) -> None:
    assert a.ids == b.ids
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.values, b.values)


def test_parquet_round_trip_keeps_rows_and_metadata(tmp_path):
    path = tmp_path / "v.parquet"
    write_vectors(path, sample())
    back = read_vectors(path)
    assert_same(back, sample())
    assert back.metadata == sample().metadata
    assert read_metadata(path).provenance["model"] == "test"


def test_parquet_uses_the_documented_schema(tmp_path):
    path = tmp_path / "v.parquet"
    write_vectors(path, sample())
    schema = pq.read_schema(path)
    assert schema.field("id").type == pa.string()
    assert schema.field("indices").type == pa.list_(pa.int32())
    assert schema.field("values").type == pa.list_(pa.float32())


def test_streaming_reads_row_groups_in_order(tmp_path):
    path = tmp_path / "v.parquet"
    with VectorWriter(path, BIG, row_group_size=2) as writer:
        writer.write(sample().slice(0, 3))
        writer.write(sample().slice(3, 4))
    parts = list(iter_vectors(path, batch_size=2))
    assert [len(p) for p in parts] == [2, 2]
    assert_same(SparseCollection.concat(parts), sample())


def test_writer_refuses_an_id_seen_in_an_earlier_chunk(tmp_path):
    with pytest.raises(VectorFormatError, match="duplicate id 'doc-1'"):
        with VectorWriter(tmp_path / "v.parquet", BIG) as writer:
            writer.write(sample())
            writer.write(sample().slice(0, 1))


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "v.parquet"
    write_vectors(path, sample())
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with VectorWriter(path, BIG) as writer:
            writer.write(sample().slice(0, 1))
            raise RuntimeError("killed")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["v.parquet"]


def test_empty_collection_round_trips(tmp_path):
    path = tmp_path / "v.parquet"
    write_vectors(path, SparseCollection.empty(BIG))
    back = read_vectors(path)
    assert len(back) == 0 and back.vocab_size == 1_000_000


def test_jsonl_round_trip_with_vocabulary(tmp_path):
    vocabulary = tuple(f"tok{i}" for i in range(1_000_000))
    meta = VectorMetadata(1_000_000, vocabulary)
    original = SparseCollection(
        sample().ids, sample().indptr, sample().indices, sample().values, meta
    )
    path = tmp_path / "v.jsonl"
    assert write_jsonl(path, [original]) == 4
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first == {"id": "doc-1", "content": "", "vector": {"tok0": 1.5, "tok999999": 0.25}}
    assert_same(read_jsonl(path, list(vocabulary)), original)


def test_jsonl_without_vocabulary_builds_one_in_order_of_appearance(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text(
        '{"id": "a", "vector": {"b": 1.0, "a": 2.0}}\n\n{"id": 5, "vector": {"a": 0.5}}\n'
    )
    c = read_jsonl(path)
    assert c.metadata.vocabulary == ("b", "a")
    assert c.ids == ["a", "5"]
    assert c.to_dict(0) == {"b": 1.0, "a": 2.0}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "v.jsonl, line 1: invalid JSON"),
        ("[1, 2]", "v.jsonl, line 1: expected a JSON object"),
        ('{"vector": {}}', "v.jsonl, line 1, field 'id': missing"),
        ('{"id": "a"}', "v.jsonl, line 1, field 'vector': expected an object"),
        ('{"id": "a", "vector": {"t": "x"}}', "weight of 't' is 'x', expected a number"),
        ('{"id": "a", "vector": {"t": -1}}', "vector 'a' has weight -1.0"),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "v.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(VectorFormatError, match=message.replace("(", r"\(")):
        read_jsonl(path)


def test_jsonl_token_outside_vocabulary(tmp_path):
    path = tmp_path / "v.jsonl"
    path.write_text('{"id": "a", "vector": {"x": 1}}\n{"id": "b", "vector": {"zz": 1}}\n')
    with pytest.raises(VectorFormatError, match="line 2, field 'vector': token 'zz' is not in"):
        read_jsonl(path, ["x"])


def test_foreign_parquet_is_refused(tmp_path):
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"id": ["a"], "x": [1]}), path)
    with pytest.raises(VectorFormatError, match="no lsr metadata; it was not written by lsr"):
        read_vectors(path)


def test_wrong_column_type_is_refused(tmp_path):
    path = tmp_path / "v.parquet"
    write_vectors(path, sample())
    table = pq.read_table(path)
    table = table.set_column(2, "values", table.column("values").cast(pa.list_(pa.float64())))
    pq.write_table(table, path)
    with pytest.raises(
        VectorFormatError,
        match=r"column 'values' has type list<\w+: double>, expected list<\w+: float>",
    ):
        read_vectors(path)


def test_truncated_parquet_is_refused(tmp_path):
    path = tmp_path / "v.parquet"
    write_vectors(path, sample())
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(VectorFormatError, match="not a readable Parquet file"):
        read_vectors(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(VectorFormatError, match=r"nope\.parquet: no such file"):
        read_vectors(tmp_path / "nope.parquet")


def test_invalid_rows_in_a_file_are_refused(tmp_path):
    """A file written by another tool with an out-of-vocabulary id is caught on read."""
    path = tmp_path / "v.parquet"
    write_vectors(path, SparseCollection.from_rows(["a"], [([5], [1.0])], BIG))
    table = pq.read_table(path)
    bad = pa.array([[2_000_000]], pa.list_(pa.int32()))
    pq.write_table(table.set_column(1, "indices", bad), path)
    with pytest.raises(VectorFormatError, match="term id 2000000, outside the vocabulary"):
        read_vectors(path)


row = st.tuples(
    st.text(min_size=1, max_size=8),
    st.dictionaries(
        st.integers(0, 999_999), st.floats(0.5**20, 1e6, allow_nan=False, width=32), max_size=12
    ),
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(row, max_size=12, unique_by=lambda r: r[0]))
def test_round_trips_are_lossless(tmp_path, rows):
    ids = [r[0] for r in rows]
    c = SparseCollection.from_rows(ids, [(list(d), list(d.values())) for _, d in rows], BIG)
    write_vectors(tmp_path / "p.parquet", c, row_group_size=5)
    assert_same(read_vectors(tmp_path / "p.parquet"), c)
    write_jsonl(tmp_path / "p.jsonl", [c])
    back = read_jsonl(tmp_path / "p.jsonl")  # tokens are the term ids as text
    assert back.ids == c.ids
    assert [back.to_dict(i) for i in range(len(c))] == [c.to_dict(i) for i in range(len(c))]


def test_vocabulary_fingerprint_is_stored_and_survives_dropping_the_tokens(tmp_path):
    meta = VectorMetadata(3, ("a", "b", "c"), {"model": "m"})
    collection = SparseCollection.from_rows(["x"], [([1], [1.0])], meta)
    path = tmp_path / "v.parquet"
    write_vectors(path, collection)
    stored = json.loads(pq.read_schema(path).metadata[b"lsr"])
    assert stored["vocabulary_fingerprint"] == meta.vocabulary_fingerprint
    # lsr encode's chunks drop the 30k-token list; the fingerprint travels without it.
    write_vectors(path, replace(collection, metadata=meta.without_vocabulary()))
    back = read_metadata(path)
    assert back.vocabulary is None
    assert back.vocabulary_fingerprint == meta.vocabulary_fingerprint


def test_a_file_written_before_fingerprints_still_loads(tmp_path):
    meta = VectorMetadata(3, ("a", "b", "c"), {"model": "m"})
    old = meta.to_json()
    del old["vocabulary_fingerprint"]
    table = pa.table(
        {"id": ["x"], "indices": [[1]], "values": [[1.0]]}, schema=SCHEMA
    ).replace_schema_metadata({b"lsr": json.dumps(old).encode()})
    pq.write_table(table, tmp_path / "old.parquet")
    back = read_vectors(tmp_path / "old.parquet")
    assert back.metadata.vocabulary_fingerprint == meta.vocabulary_fingerprint

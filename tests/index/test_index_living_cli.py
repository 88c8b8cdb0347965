"""`lsr index add | delete | merge` on a built index, then `lsr index search` and `info`."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from living_model import METADATA, check_search, contents, model_of, vectors
from lsr.index.open import open_index

from lsr.cli import cli
from lsr.datasets import Document
from lsr.docstore import Docstore, write_docstore
from lsr.vector_io import write_vectors

FIRST = vectors([f"d{i}" for i in range(40)], seed=1)
MORE = vectors(["d0", "d1", "new0", "new1"], seed=2)


def lsr(*args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def index_dir(tmp_path):
    write_vectors(tmp_path / "first.parquet", FIRST)
    write_vectors(tmp_path / "more.parquet", MORE)
    lsr("index", "build", str(tmp_path / "first.parquet"), str(tmp_path / "idx"))
    return tmp_path / "idx"


def test_add_delete_merge_then_search(index_dir, tmp_path):
    out = lsr("index", "add", str(index_dir), str(tmp_path / "more.parquet"))
    assert "added 4 documents (2 of them updates)" in out
    assert "42 live documents in 2 segment(s)" in out
    (tmp_path / "gone.txt").write_text("d5\nnew1\nnot-there\n")
    out = lsr("index", "delete", str(index_dir), "--ids", str(tmp_path / "gone.txt"))
    assert "deleted 2 of 3 ids (1 not in the index)" in out
    assert "deleted 1 of 1 ids" in lsr("index", "delete", str(index_dir), stdin="d6\n")
    model = model_of(FIRST) | model_of(MORE)
    for gone in ("d5", "new1", "d6"):
        del model[gone]
    assert contents(open_index(index_dir)) == model
    assert "1 segment(s)" in lsr("index", "merge", str(index_dir))
    check_search(open_index(index_dir), model, k=5)
    write_vectors(tmp_path / "q.parquet", vectors(["q0", "q1"], seed=9))
    lsr(
        "index", "search", str(index_dir), str(tmp_path / "q.parquet"), "--out", str(tmp_path / "r")
    )
    run = (tmp_path / "r").read_text().split()
    assert run and not {"d5", "d6", "new1"} & set(run)
    info = lsr("index", "info", str(index_dir))
    assert "exact, 39 documents, 0 deleted" in info


def test_add_with_docs_adds_their_text_to_the_docstore(index_dir, tmp_path):
    """Text for the added documents (an update's replaced), the others' kept; documents of the
    corpus not added are ignored."""
    write_docstore(index_dir, [Document(f"d{i}", "", f"first {i}") for i in range(40)])
    corpus = tmp_path / "corpus.jsonl"
    records = [{"_id": i, "title": "t", "text": f"more {i}"} for i in ("d0", "new0", "new1", "x")]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = lsr("index", "add", str(index_dir), str(tmp_path / "more.parquet"), "--docs", str(corpus))
    assert "docstore: 3 of the 4 added documents have text" in out
    store = Docstore.open(index_dir)
    assert [d.text if d else None for d in store.get_many(["d0", "d1", "d2", "new0", "x"])] == [
        "more d0", "first 1", "first 2", "more new0", None,
    ]  # fmt: skip


def test_add_creates_an_index(tmp_path):
    write_vectors(tmp_path / "more.parquet", MORE)
    lsr("index", "add", str(tmp_path / "new"), str(tmp_path / "more.parquet"))
    assert contents(open_index(tmp_path / "new")) == model_of(MORE)
    assert open_index(tmp_path / "new").metadata == METADATA


def test_attributes_from_a_side_file_or_columns_then_filtered_search(tmp_path):
    write_vectors(tmp_path / "more.parquet", MORE)
    side = tmp_path / "attributes.jsonl"
    side.write_text(
        '{"id": "d0", "tenant": "acme", "year": 2021}\n{"id": "new0", "tenant": "acme"}\n'
        '{"id": "d1", "tenant": "globex", "published": "2024-05-01"}\n'
    )
    index_dir = tmp_path / "idx"
    lsr("index", "add", str(index_dir), str(tmp_path / "more.parquet"), "--attributes", str(side))
    # Extra columns of the vectors' Parquet are attributes too.
    table = pq.read_table(tmp_path / "more.parquet")
    extra = vectors(["x0", "x1"], seed=5)
    write_vectors(tmp_path / "extra.parquet", extra)
    with_tenant = pq.read_table(tmp_path / "extra.parquet")
    with_tenant = with_tenant.append_column("tenant", pa.array(["acme", None]))
    pq.write_table(
        with_tenant.replace_schema_metadata(table.schema.metadata), tmp_path / "x.parquet"
    )
    lsr("index", "add", str(index_dir), str(tmp_path / "x.parquet"))
    write_vectors(tmp_path / "q.parquet", vectors(["q0"], seed=9).__class__.from_rows(
        ["q0"], [(list(range(40)), [1.0] * 40)], METADATA))  # fmt: skip
    acme = '{"must": [{"key": "tenant", "match": {"value": "acme"}}]}'
    out = tmp_path / "run"
    lsr("index", "search", str(index_dir), str(tmp_path / "q.parquet"), "--out", str(out),
        "--filter", acme)  # fmt: skip
    assert {line.split()[2] for line in out.read_text().splitlines()} == {"d0", "new0", "x0"}
    (tmp_path / "f.json").write_text(
        '{"must_not": [{"key": "tenant", "match": {"any": ["acme"]}}]}'
    )
    lsr("index", "search", str(index_dir), str(tmp_path / "q.parquet"), "--out", str(out),
        "--filter", f"@{tmp_path / 'f.json'}")  # fmt: skip
    assert {line.split()[2] for line in out.read_text().splitlines()} == {"d1", "new1", "x1"}


def test_a_bad_filter_names_its_field(tmp_path):
    write_vectors(tmp_path / "more.parquet", MORE)
    lsr("index", "add", str(tmp_path / "idx"), str(tmp_path / "more.parquet"))
    result = CliRunner().invoke(
        cli,
        ["index", "search", str(tmp_path / "idx"), str(tmp_path / "more.parquet"), "--out",
         str(tmp_path / "r"), "--filter", '{"must": [{"key": "a", "range": {}}]}'],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "--filter.must[0].range: must hold some of gt, gte, lt, lte" in str(result.exception)

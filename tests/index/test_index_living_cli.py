"""`lsr index add | delete | merge` on a built index, then `lsr index search` and `info`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from living_model import METADATA, check_search, contents, model_of, vectors
from lsr.index.open import open_index

from lsr.cli import cli
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


def test_add_creates_an_index(tmp_path):
    write_vectors(tmp_path / "more.parquet", MORE)
    lsr("index", "add", str(tmp_path / "new"), str(tmp_path / "more.parquet"))
    assert contents(open_index(tmp_path / "new")) == model_of(MORE)
    assert open_index(tmp_path / "new").metadata == METADATA

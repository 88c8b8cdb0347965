"""``--threads N`` on every computing command: validated, and it reaches torch and Numba."""

from __future__ import annotations

import numba
import pytest
import torch
from click.testing import CliRunner

from lsr.cli import cli
from lsr.errors import InputError
from lsr.threads import available_cores, check_threads, use_numba_threads
from lsr.vector_io import write_vectors
from lsr.vectors import SparseCollection, VectorMetadata

COMMANDS = [
    ["encode", "--model", "bm25", "--corpus", "c.jsonl", "--out", "o.parquet"],
    ["index", "build", "{docs}", "idx"],
    ["index", "search", "{idx}", "{docs}", "--out", "run.trec"],
    ["eval", "--model", "bm25", "--dataset", "scifact"],
]


@pytest.fixture
def files(tmp_path):
    docs = tmp_path / "docs.parquet"
    rows = [([i % 7, 7 + i % 5], [1.0, 0.5 + i]) for i in range(40)]
    write_vectors(docs, SparseCollection.from_rows([f"d{i}" for i in range(40)], rows, META))
    (tmp_path / "idx").mkdir()
    return {"docs": str(docs), "idx": str(tmp_path / "idx")}


META = VectorMetadata(12)


@pytest.fixture
def restore_threads():
    torch_before, numba_before = torch.get_num_threads(), numba.get_num_threads()
    yield
    torch.set_num_threads(torch_before)
    numba.set_num_threads(numba_before)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_threads_below_one_is_a_usage_error_naming_the_option(files, command, value):
    args = [part.format(**files) for part in command] + ["--threads", value]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "--threads" in result.output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_every_computing_command_documents_threads(command):
    result = CliRunner().invoke(cli, [*command[: 2 if command[0] == "index" else 1], "--help"])
    text = " ".join(result.output.split())  # help lines wrap anywhere
    assert "--threads" in text and "all cores" in text


def test_index_build_and_search_set_numba_threads(files, tmp_path, restore_threads):
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    index = str(tmp_path / "built")
    build = ["index", "build", files["docs"], index, "--n-postings", "20", "--threads", "1"]
    assert CliRunner().invoke(cli, build).exit_code == 0
    assert numba.get_num_threads() == 1
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    search = ["index", "search", index, files["docs"], "--out", str(tmp_path / "r.trec")]
    assert CliRunner().invoke(cli, [*search, "--threads", "1"]).exit_code == 0
    assert numba.get_num_threads() == 1


def test_encode_sets_torch_threads(tmp_path, restore_threads):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"_id": "d1", "title": "", "text": "heart disease"}\n', encoding="utf-8")
    args = ["encode", "--model", "bm25", "--corpus", str(corpus), "--out", str(tmp_path / "o")]
    assert CliRunner().invoke(cli, [*args, "--threads", "1", "--no-progress"]).exit_code == 0
    assert torch.get_num_threads() == 1


def test_default_is_every_available_core(files, tmp_path, restore_threads):
    numba.set_num_threads(1)
    build = ["index", "build", files["docs"], str(tmp_path / "b"), "--n-postings", "20"]
    assert CliRunner().invoke(cli, build).exit_code == 0
    assert numba.get_num_threads() == min(available_cores(), numba.config.NUMBA_NUM_THREADS)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_library_check_refuses_non_positive_integers(bad):
    with pytest.raises(InputError, match="threads must be a positive integer"):
        check_threads(bad)


def test_more_threads_than_numbas_pool_is_refused():
    with pytest.raises(InputError, match="NUMBA_NUM_THREADS"):
        use_numba_threads(numba.config.NUMBA_NUM_THREADS + 1)

"""The prepared training data of ``lsr train`` (lsr/train/data/prepare.py): mined negatives and
ensemble scores on real SciFact pairs, the cache a second run reads, pseudo-queries of a corpus
alone, and a self-supervised run through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, SPLADE_TINY, requires_shared
from data_samples import write_scifact_slice
from tiny_training import tiny_config

from lsr.datasets import load_dataset
from lsr.errors import InputError
from lsr.train.config import TrainConfig
from lsr.train.data.prepare import training_examples

LSR = [sys.executable, "-c", "from lsr.cli import main; main()"]


@pytest.fixture(scope="module")
def scifact_slice(tmp_path_factory):
    return write_scifact_slice(tmp_path_factory.mktemp("data") / "scifact-slice")


def bm25_ensemble(**keys) -> TrainConfig:
    """BM25 alone as the ensemble: the test needs no model but the one it trains."""
    values = dict(
        model=str(SPLADE_TINY), hard_negatives="bm25", n_negatives=2, teacher="ensemble",
        teacher_bm25=1.0, teacher_splade=0.0, teacher_dense=0.0, teacher_scale=5.0,
    )  # fmt: skip
    return TrainConfig(**{**values, **keys}).validate()


@requires_shared
def test_labelled_pairs_get_mined_negatives_and_ensemble_scores(
    scifact_slice, tmp_path, monkeypatch
):
    monkeypatch.setenv("LSR_CACHE", str(tmp_path / "cache"))
    examples = training_examples(bm25_ensemble(dataset=str(scifact_slice)), progress=False)
    positives = {}
    for example in examples:
        positives.setdefault(example.query, set()).add(example.positive)
    assert len(examples) >= 12
    for example in examples:
        assert len(example.negatives) == 2
        assert not positives[example.query] & set(example.negatives)
        assert len(example.scores) == 3
        assert 0.0 <= min(example.scores) and max(example.scores) <= 5.0


@requires_shared
def test_a_second_run_reads_the_prepared_examples_back(scifact_slice, tmp_path, monkeypatch):
    monkeypatch.setenv("LSR_CACHE", str(tmp_path / "cache"))
    config = bm25_ensemble(dataset=str(scifact_slice))
    first = training_examples(config, progress=False)
    [cached] = (tmp_path / "cache" / "train-data").glob("examples-*.jsonl")
    assert training_examples(config, progress=False) == first
    other = training_examples(bm25_ensemble(dataset=str(scifact_slice), seed=1), progress=False)
    assert other != first
    assert len(list(cached.parent.glob("examples-*.jsonl"))) == 2


@requires_shared
def test_self_supervised_examples_come_from_the_corpus_alone(scifact_slice, tmp_path, monkeypatch):
    monkeypatch.setenv("LSR_CACHE", str(tmp_path / "cache"))
    config = bm25_ensemble(corpus=str(scifact_slice), self_supervised=True, teacher="none")
    examples = training_examples(config, progress=False)
    titles = {doc.title for doc in load_dataset(scifact_slice).docs()}
    assert examples and all(e.query in titles for e in examples)
    assert all(len(e.negatives) == 2 and e.scores is None for e in examples)


@requires_shared
def test_more_pseudo_queries_per_document_add_sentences_and_a_cache_file(
    scifact_slice, tmp_path, monkeypatch
):
    monkeypatch.setenv("LSR_CACHE", str(tmp_path / "cache"))
    keys = dict(corpus=str(scifact_slice), self_supervised=True, teacher="none")
    one = training_examples(bm25_ensemble(**keys), progress=False)
    three = training_examples(bm25_ensemble(**keys, self_supervised_per_doc=3), progress=False)
    texts = " ".join(doc.text for doc in load_dataset(scifact_slice).docs())
    titles = {e.query for e in one}
    pairs = [(e.query, e.positive) for e in three if e.query in titles]
    assert pairs == [(e.query, e.positive) for e in one]
    sentences = [e.query for e in three if e.query not in titles]
    assert len(sentences) > len(one) and all(s.split()[0] in texts for s in sentences)
    assert len(list((tmp_path / "cache" / "train-data").glob("examples-*.jsonl"))) == 2


@requires_shared
def test_pseudo_queries_follow_the_labelled_examples(scifact_slice, tmp_path, monkeypatch):
    """The labelled examples as a run without the key prepares them, then the corpus's
    pseudo-queries as a self-supervised run draws them, both scored by the same teacher."""
    monkeypatch.setenv("LSR_CACHE", str(tmp_path / "cache"))
    labelled = training_examples(bm25_ensemble(dataset=str(scifact_slice)), progress=False)
    alone = training_examples(
        bm25_ensemble(corpus=str(scifact_slice), self_supervised=True, self_supervised_queries=4),
        progress=False,
    )
    both = bm25_ensemble(dataset=str(scifact_slice), pseudo_queries=4)
    assert training_examples(both, progress=False) == labelled + alone
    assert len(alone) == 4 and all(len(e.scores) == 3 for e in alone)
    assert len(list((tmp_path / "cache" / "train-data").glob("examples-*.jsonl"))) == 3


@pytest.mark.parametrize(
    "keys",
    [dict(hard_negatives="none"), dict(corpus="c", self_supervised=True, hard_negatives="bm25")],
    ids=["no-bm25-negatives", "self-supervised"],
)
def test_pseudo_queries_need_labelled_pairs_with_bm25_negatives(keys):
    with pytest.raises(InputError, match=r"^pseudo_queries: adds pseudo-queries"):
        TrainConfig(model="m", dataset="d", pseudo_queries=10, **keys).validate()


@pytest.mark.slow
@requires_shared
def test_lsr_train_self_supervised_from_flags(scifact_slice, tmp_path):
    model = tiny_config(tmp_path).model
    out = tmp_path / "run"
    done = subprocess.run(
        [*LSR, "train", "--model", model, "--corpus", scifact_slice, "--self-supervised",
         "--hard-negatives", "bm25", "--n-negatives", "1", "--teacher", "ensemble",
         "--teacher-splade", "0", "--teacher-dense", "0", "--loss", "margin-mse",
         "--max-steps", "2", "--batch-size", "2", "--precision", "fp32", "--output-dir", out,
         "--query-max-length", "16", "--doc-max-length", "48", "--quiet"],
        capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "LSR_CACHE": str(tmp_path / "cache")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == f"model: {out / 'model'}"


def test_no_pseudo_query_per_document_is_refused():
    with pytest.raises(InputError, match=r"^self_supervised_per_doc: "):
        TrainConfig(model="m", dataset="d", self_supervised_per_doc=0).validate()


def test_self_supervision_without_mined_negatives_is_refused():
    with pytest.raises(InputError, match=r"^hard_negatives: self-supervised examples need"):
        TrainConfig(model="m", corpus="c", self_supervised=True).validate()


def test_no_dataset_and_no_self_supervised_corpus_is_refused():
    with pytest.raises(InputError, match=r"^dataset: required"):
        TrainConfig(model="m", corpus="c").validate()

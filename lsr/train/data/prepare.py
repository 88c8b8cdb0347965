"""What ``lsr train`` trains on: the labelled pairs, or pseudo-queries of a corpus, with mined
hard negatives and teacher scores as the configuration asks (``--hard-negatives``,
``--teacher ensemble``, ``--self-supervised``).

Teacher scoring is the slow part of a run's preparation (the dense teacher reads every mined
document), so the prepared examples are kept as a JSONL file (the format
:mod:`lsr.train.data.pairs` reads) in the cache (``$LSR_CACHE`` or ``.cache/lsr``), named by a
fingerprint of every key that shapes them, of the corpus file and of the models' files: a second
run with the same data keys reads them back, whatever its training keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lsr.atomic import write_text_atomic
from lsr.datasets import Dataset, load_dataset, split_spec
from lsr.encoders import load
from lsr.eval.cache import cache_root, dataset_identity, entry_dir
from lsr.eval.harness import model_name
from lsr.fingerprint import model_identity, stable_hash
from lsr.train.config import TrainConfig
from lsr.train.data.corpus import Corpus
from lsr.train.data.ensemble import Ensemble, score_examples
from lsr.train.data.negatives import NegativeMiner, NegativeRefresher, add_hard_negatives
from lsr.train.data.pairs import load_pairs, read_jsonl_pairs
from lsr.train.data.self_supervised import self_supervised_examples
from lsr.train.data.teachers import DenseTeacher, SparseTeacher, Teacher
from lsr.train.examples import TrainingExample
from lsr.vector_io import read_vectors

DATA_KEYS = (
    *("dataset", "corpus", "self_supervised", "self_supervised_queries", "hard_negatives"),
    *("n_negatives", "negatives_depth", "teacher", "teacher_bm25", "teacher_splade"),
    *("teacher_dense", "teacher_splade_model", "teacher_dense_model", "teacher_scale", "seed"),
)
# keys added since examples were first cached: part of the fingerprint only when set, so that the
# examples prepared before they existed (their default's examples) are still found
LATER_DATA_KEYS = ("self_supervised_per_doc", "pseudo_queries")


def needs_preparation(config: TrainConfig) -> bool:
    return config.self_supervised or config.hard_negatives != "none" or config.teacher != "none"


def training_examples(config: TrainConfig, progress: bool = True) -> list[TrainingExample]:
    """The examples of a run: read as they are, or prepared (and cached) as configured."""
    data_dir = config.data_dir or None
    if not needs_preparation(config):
        return load_pairs(config.dataset, data_dir)
    corpus_dataset = load_dataset(split_spec(config.corpus or config.dataset)[0], data_dir)
    cached = _cache_file(config, corpus_dataset)
    if cached.is_file():
        return read_jsonl_pairs(cached)
    examples = prepare_examples(config, corpus_dataset, progress)
    write_text_atomic(cached, "".join(_json_line(e) for e in examples))
    return examples


def prepare_examples(
    config: TrainConfig, corpus_dataset: Dataset, progress: bool = True
) -> list[TrainingExample]:
    """Pairs (or pseudo-queries), then mined negatives, then teacher scores, as configured;
    with ``pseudo_queries``, the labelled examples followed by that many of the corpus's."""
    docs = list(corpus_dataset.docs())
    corpus = Corpus.of([d.id for d in docs], [d.full_text for d in docs])
    teacher = (
        build_ensemble(config, corpus_dataset, corpus, progress)
        if config.teacher == "ensemble"
        else None
    )
    if config.self_supervised or config.pseudo_queries:
        pseudo = self_supervised_examples(
            docs,
            config.n_negatives,
            teacher,
            config.seed,
            config.pseudo_queries or config.self_supervised_queries or None,
            config.negatives_depth,
            progress,
            config.self_supervised_per_doc,
        )
        if config.self_supervised:
            return pseudo
    examples = load_pairs(config.dataset, config.data_dir or None)
    if config.hard_negatives != "none":
        miner = (
            NegativeMiner.bm25(corpus, config.negatives_depth, progress)
            if config.hard_negatives == "bm25"
            else NegativeMiner(corpus, load(config.model), config.negatives_depth, progress)
        )
        examples = add_hard_negatives(examples, miner, config.n_negatives, config.seed)
    labelled = score_examples(teacher, examples) if teacher is not None else examples
    return labelled + pseudo if config.pseudo_queries else labelled


def negative_refresher(config: TrainConfig, progress: bool = True) -> NegativeRefresher | None:
    """What re-mines the negatives with the model being trained (``refresh_negatives_every``):
    the labelled pairs as read (in the order of :func:`training_examples`, so example i stays
    example i), the corpus they were mined from, and the teacher ensemble re-scoring them when
    the run has one."""
    if not config.refresh_negatives_every:
        return None
    data_dir = config.data_dir or None
    corpus_dataset = load_dataset(split_spec(config.corpus or config.dataset)[0], data_dir)
    docs = list(corpus_dataset.docs())
    corpus = Corpus.of([d.id for d in docs], [d.full_text for d in docs])
    scorer = None
    if config.teacher == "ensemble":
        scorer = build_ensemble(config, corpus_dataset, corpus, progress).score_examples
    return NegativeRefresher(
        load_pairs(config.dataset, data_dir),
        corpus,
        config.n_negatives,
        config.negatives_depth,
        config.seed,
        scorer,
    )


def build_ensemble(
    config: TrainConfig, corpus_dataset: Dataset, corpus: Corpus, progress: bool = False
) -> Ensemble:
    """The teachers with a non-zero weight: BM25 fitted on ``corpus``, the SPLADE and the dense
    models named by the configuration."""
    from lsr.encoders import Bm25Encoder

    members: list[tuple[Teacher, float]] = []
    if config.teacher_bm25 > 0:
        members.append((SparseTeacher(Bm25Encoder.fit(corpus.texts), "bm25"), config.teacher_bm25))
    if config.teacher_splade > 0:
        splade = SparseTeacher(load(config.teacher_splade_model), "splade", progress)
        _remember_evaluated_corpus(splade, config.teacher_splade_model, corpus_dataset, corpus)
        members.append((splade, config.teacher_splade))
    if config.teacher_dense > 0:
        members.append(
            (DenseTeacher.load(config.teacher_dense_model, progress=progress), config.teacher_dense)
        )
    return Ensemble([t for t, _ in members], [w for _, w in members], config.teacher_scale)


def _remember_evaluated_corpus(
    teacher: SparseTeacher, model: str, dataset: Dataset, corpus: Corpus
) -> None:
    """Hand the teacher the corpus vectors ``lsr eval`` cached for this model and corpus, if it
    did: encoding a corpus with SPLADE on a CPU takes minutes."""
    path = entry_dir(cache_root(), model, dataset, model_name(model)) / "docs.parquet"
    if path.is_file():
        vectors = read_vectors(path)
        if list(vectors.ids) == list(corpus.ids):
            teacher.remember(corpus.texts, vectors)


def _cache_file(config: TrainConfig, corpus_dataset: Dataset) -> Path:
    keys = {key: getattr(config, key) for key in DATA_KEYS}
    defaults = TrainConfig.__dataclass_fields__
    keys |= {
        k: getattr(config, k) for k in LATER_DATA_KEYS if getattr(config, k) != defaults[k].default
    }
    identity = {
        "keys": keys,
        "corpus": dataset_identity(corpus_dataset),
        "pairs": _pairs_identity(config),
        "models": {
            role: model_identity(name)
            for role, name, used in (
                ("model", config.model, config.hard_negatives == "model"),
                ("splade", config.teacher_splade_model, config.teacher_splade > 0),
                ("dense", config.teacher_dense_model, config.teacher_dense > 0),
            )
            if used and (role == "model" or config.teacher == "ensemble")
        },
    }
    return cache_root() / "train-data" / f"examples-{stable_hash(identity)}.jsonl"


def _pairs_identity(config: TrainConfig) -> Any:
    """The labelled pairs' source file, where they come from a file rather than a dataset."""
    path = Path(config.dataset)
    if path.is_file():
        stat = path.stat()
        return {"file": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return config.dataset


def _json_line(example: TrainingExample) -> str:
    record: dict[str, Any] = {"query": example.query, "positive": example.positive}
    if example.negatives:
        record["negatives"] = list(example.negatives)
    if example.scores is not None:
        record["scores"] = list(example.scores)
    return json.dumps(record, ensure_ascii=False) + "\n"

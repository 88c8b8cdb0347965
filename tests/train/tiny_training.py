"""A tiny training setup for the trainer tests: the tiny random BERT of the encoder tests and a
dozen JSONL pairs over its vocabulary, so that a step takes milliseconds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "encoders"))

from tiny_models import build_tiny_bert

from lsr.train.config import TrainConfig

TOPICS = [
    ("what causes breast cancer", "breast cancer risk in women", "heart disease treatment"),
    ("gene effect on tumor cells", "the gene increase tumor cell risk", "brain study of mouse"),
    ("blood pressure in the heart", "high blood effect on the heart", "protein in cells"),
    ("mouse brain study", "a study of the mouse brain", "women and breast cancer"),
    ("treatment of disease", "patients treatment effect on disease", "gene and protein"),
    ("protein decrease", "low protein causes decrease", "blood of patients"),
]


def write_pairs(folder: Path, scores: bool = False) -> Path:
    """12 examples (each topic twice), one negative each, teacher scores when ``scores``."""
    lines = []
    for repeat in range(2):
        for query, positive, negative in TOPICS:
            record = {"query": query, "positive": positive, "negatives": [negative]}
            if scores:
                record["scores"] = [5.0 + repeat, 1.0]
            lines.append(json.dumps(record))
    path = folder / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_config(folder: Path, **overrides) -> TrainConfig:
    model = folder / "bert"
    if not model.exists():
        build_tiny_bert(model)
    values = dict(
        model=str(model),
        dataset=str(write_pairs(folder, scores=overrides.get("loss", "in-batch") != "in-batch")),
        output_dir=str(folder / "run"),
        batch_size=4,
        max_steps=6,
        checkpoint_every=3,
        precision="fp32",
        lr=1e-3,
        lambda_q=1e-3,
        lambda_d=1e-3,
    )
    values.update(overrides)
    return TrainConfig(**values)


def write_beir_folder(folder: Path) -> Path:
    """A BEIR folder of the topics: each positive a document, each query judged on it (test)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    docs, queries, qrels = [], [], ["query-id\tcorpus-id\tscore"]
    for number, (query, positive, negative) in enumerate(TOPICS):
        docs.append({"_id": f"d{number}", "title": "", "text": positive})
        docs.append({"_id": f"n{number}", "title": "", "text": negative})
        queries.append({"_id": f"q{number}", "text": query})
        qrels.append(f"q{number}\td{number}\t1")
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    return folder

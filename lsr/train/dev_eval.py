"""Dev evaluation during training, through ``lsr eval``'s harness with the exact index.

Each evaluation encodes the dev corpus with the current model into a scratch cache that is
removed afterwards (the eval cache is keyed by the model's files, which change every time).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from lsr.eval.cache import entry_dir
from lsr.eval.harness import EvalOptions, model_name, prepare, run_evaluation
from lsr.vector_stats import vector_stats


def evaluate_folder(model: Path, dataset: str, data_dir: str = "") -> tuple[float, float]:
    """(nDCG@10, corpus FLOPS) of the model folder on ``dataset`` (e.g. ``scifact/dev``)."""
    with tempfile.TemporaryDirectory(prefix="lsr-dev-eval-") as cache:
        options = EvalOptions(
            index="exact",
            data_dir=data_dir or None,
            cache_dir=cache,
            latency_queries=0,
            progress=False,
        )
        prepared = prepare(str(model), dataset, options)
        record = run_evaluation(prepared, options)
        docs = entry_dir(Path(cache), str(model), prepared.dataset, model_name(str(model)))
        flops = vector_stats(docs / "docs.parquet").flops
    return record.metrics["ndcg@10"], flops

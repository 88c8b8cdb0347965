"""The regularization sweep and the inference-free comparison on SciFact (issue 13).

Every run fine-tunes splade-tiny with one recipe (in-batch negatives, batch 16, ``--steps``
optimizer steps, lr 5e-5) on SciFact train *minus* 200 held-out train queries, and differs from
the others only in what is listed in its row:

- ``siamese``: the MLM encoder on both sides, FLOPS on queries and documents at the anchor's
  lambdas (lambda_q 5e-5, lambda_d 3e-5): the reference row.
- inference-free (``--query-encoder idf``: a query is its tokens weighted by the corpus idf) with
  three document regularizers at three lambdas each: plain FLOPS (which, with idf queries, is
  the released code's reading of IDF-aware FLOPS), IDF-aware FLOPS as restated by Shen et al.
  (:mod:`lsr.train.regularizers.flops`), and the same with Shen et al.'s l0 mask.
- one more row, Shen et al.'s l0 activation ``log(1 + log(1 + relu(x)))`` (``--activation l0``)
  with the l0 mask, at the IDF-aware lambda chosen without it (``L0_ACTIVATION_LAMBDA``): the
  activation squashes large weights, so it is a second sparsifier on top of the same penalty.

The IDF-aware lambdas are the FLOPS ones divided by 12, the ratio of the two penalties measured on
splade-tiny's SciFact document vectors (batches of 16: FLOPS 29.7, IDF-aware 362.9), so that the
two arms start from the same penalty.

Each model is scored with ``lsr eval``'s harness and the exact index on the held-out train
queries (dev: the only column any choice looks at) and on SciFact test. Sparsity: documents'
mean non-zeros, ``doc FLOPS = sum_j p_j^2`` over the corpus (``lsr vectors stats``) and the
retrieval cost ``FLOPS = sum_j q_j p_j`` with ``q_j`` the share of test queries and ``p_j`` the
share of documents that use term j (the expected number of multiplied pairs of a query-document
dot product, Formal et al.'s "FLOPS" in SPLADE v2, sec. 4): an inference-free query is its own
tokens, so this is the figure its posting-list traffic follows.

Outputs: ``OUT.md`` (table, choice of the inference-free lambdas, commands), ``OUT.json`` and
``OUT.png`` (test nDCG@10 against FLOPS). A run's result is kept under ``--work`` and reused
by a later invocation with the same configuration, so a stopped sweep resumes.

    nice -n 10 python -m benchmarks.train_sweep --out reports/train-sweep
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.provenance import (
    ALLOW_DIRTY_HELP,
    command_line,
    markdown,
    record,
    run_main,
    save_report,
)
from benchmarks.teacher_ensemble import held_out
from lsr.atomic import atomic_path, write_directory_atomic, write_json_atomic
from lsr.vectors import SparseCollection

MODEL = "../shared/models/splade-tiny"
DATA_DIR = "../shared/data"
HELD_OUT, HELD_OUT_SEED = 200, 0  # the dev queries of reports/train-demo.md and train-ensemble.md
RECIPE = dict(batch_size=16, lr=5e-5, lambda_q=5e-5, lambda_d=3e-5, loss="in-batch", seed=42)
FLOPS_LAMBDAS = (1e-4, 1e-3, 1e-2)
IDF_RATIO = 12.0
L0_THRESHOLD = 128  # half of doc_max_length: a document keeps up to 128 terms unpenalised
L0_ACTIVATION_LAMBDA = FLOPS_LAMBDAS[0] / IDF_RATIO  # the IDF-aware lambda chosen on dev
NDCG_MARGIN = 0.02  # the goal: within 0.02 nDCG@10 of siamese


@dataclasses.dataclass(frozen=True)
class Run:
    """One row: its name, the regularizer family plotted, and the configuration keys it sets."""

    name: str
    family: str
    keys: dict[str, Any]


def runs() -> list[Run]:
    """The reference row, then 3 families x 3 lambdas of inference-free models, the middle
    lambda of every family first, then the strongest, then the weakest: a sweep stopped early
    still compares the families; the l0-activation row last."""
    inference_free = dict(query_encoder="idf", lambda_q=0.0)
    rows = [Run("siamese", "siamese", {})]
    for flops_lambda in (FLOPS_LAMBDAS[1], FLOPS_LAMBDAS[2], FLOPS_LAMBDAS[0]):
        idf_lambda = flops_lambda / IDF_RATIO
        rows += [
            Run(
                f"if-idf-flops-{idf_lambda:.2g}",
                "IDF-aware FLOPS",
                {**inference_free, "doc_regularizer": "idf-flops", "lambda_d": idf_lambda},
            ),
            Run(
                f"if-idf-flops-l0-{idf_lambda:.2g}",
                f"IDF-aware FLOPS + l0 mask (t={L0_THRESHOLD})",
                {
                    **inference_free,
                    "doc_regularizer": "idf-flops",
                    "lambda_d": idf_lambda,
                    "l0_threshold": L0_THRESHOLD,
                },
            ),
            Run(
                f"if-flops-{flops_lambda:g}", "FLOPS", {**inference_free, "lambda_d": flops_lambda}
            ),
        ]
    activation = {
        **inference_free,
        "doc_regularizer": "idf-flops",
        "lambda_d": L0_ACTIVATION_LAMBDA,
        "l0_threshold": L0_THRESHOLD,
        "activation": "l0",
    }
    name = f"if-idf-flops-l0-act-{L0_ACTIVATION_LAMBDA:.2g}"
    return [*rows, Run(name, "IDF-aware FLOPS + l0 mask + l0 activation", activation)]


# -- data ---------------------------------------------------------------------------------------


def dev_query_ids(data_dir: str) -> list[str]:
    from lsr.datasets import load_dataset

    train = load_dataset(Path(data_dir, "scifact")).qrels("train")
    return held_out(list(train), HELD_OUT, HELD_OUT_SEED)


def write_split(folder: Path, data_dir: str, dev: Sequence[str], with_dev: bool = False) -> Path:
    """A BEIR folder of SciFact whose train qrels leave the ``dev`` queries out (corpus and
    queries linked, not copied); ``with_dev`` also writes their lines as ``qrels/dev.tsv``, the
    split ``lsr train --eval-dataset FOLDER/dev`` reads."""
    source = Path(data_dir, "scifact").resolve()
    held = set(dev)
    lines = (source / "qrels" / "train.tsv").read_text(encoding="utf-8").splitlines()
    kept = [lines[0], *(line for line in lines[1:] if line.split("\t")[0] not in held)]
    dev_lines = [lines[0], *(line for line in lines[1:] if line.split("\t")[0] in held)]

    def fill(tmp: Path) -> None:
        for name in ("corpus.jsonl.gz", "queries.jsonl.gz"):
            (tmp / name).symlink_to(source / name)
        (tmp / "qrels").mkdir()
        (tmp / "qrels" / "train.tsv").write_text("\n".join(kept) + "\n", encoding="utf-8")
        if with_dev:
            (tmp / "qrels" / "dev.tsv").write_text("\n".join(dev_lines) + "\n", encoding="utf-8")

    write_directory_atomic(folder, fill)
    return folder


# -- one run ------------------------------------------------------------------------------------


def pair_flops(queries: SparseCollection, documents: SparseCollection) -> float:
    """``sum_j q_j p_j``: q_j, p_j the shares of queries and documents using term j, i.e. the
    mean over query-document pairs of the number of terms both use."""
    q = np.bincount(queries.indices, minlength=queries.vocab_size) / max(len(queries), 1)
    p = np.bincount(documents.indices, minlength=documents.vocab_size) / max(len(documents), 1)
    return float(q @ p)


def evaluate(model: Path, data_dir: str, dev: Sequence[str], cache: Path) -> dict[str, float]:
    """dev and test nDCG@10 (one corpus encoding: both splits share the cache entry), the
    documents' mean non-zeros, doc FLOPS and query-document FLOPS on test."""
    from lsr.eval.cache import entry_dir
    from lsr.eval.harness import EvalOptions, model_name, prepare, run_evaluation

    from lsr.vector_io import read_vectors
    from lsr.vector_stats import vector_stats

    options = EvalOptions(
        index="exact", data_dir=data_dir, cache_dir=cache, latency_queries=0, progress=False
    )
    scifact = Path(data_dir, "scifact")  # by path: names resolve only through $LSR_DATA
    test = prepare(str(model), f"{scifact}/test", options)
    train = prepare(str(model), f"{scifact}/train", options)
    held = set(dev)
    dev_split = dataclasses.replace(
        train, qrels={q: r for q, r in train.qrels.items() if q in held}
    )
    docs_file = entry_dir(cache, str(model), test.dataset, model_name(str(model))) / "docs.parquet"
    documents = read_vectors(docs_file)
    stats = vector_stats(docs_file)
    return {
        "dev_ndcg@10": run_evaluation(dev_split, options).metrics["ndcg@10"],
        "test_ndcg@10": run_evaluation(test, options).metrics["ndcg@10"],
        "doc_nnz": stats.nnz_mean,
        "doc_flops": stats.flops,
        "query_nnz": float(test.queries.lengths().mean()),
        "flops": pair_flops(test.queries, documents),
    }


def same_config(stored: dict[str, Any], keys: dict[str, Any]) -> bool:
    """A stored run is this run: every key equal, a key added to the configuration since then
    counting as equal when it holds its default (the run could not have set it)."""
    from lsr.train.config import TrainConfig

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    return set(stored) <= set(keys) and all(
        stored.get(name, defaults[name]) == value for name, value in keys.items()
    )


def run_config(run: Run, split: Path, args: argparse.Namespace) -> Any:
    """The run's ``TrainConfig``."""
    from lsr.train.config import TrainConfig

    return TrainConfig(
        model=MODEL,
        dataset=str(split),
        output_dir=str(args.work / run.name / "train"),
        max_steps=args.steps,
        checkpoint_every=args.steps,
        **{**RECIPE, **run.keys},
    )


def stored_result(run: Run, split: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    """The run's result as an earlier invocation left it, if it ran with this configuration."""
    done = args.work / run.name / "result.json"
    if not done.is_file():
        return None
    stored = json.loads(done.read_text(encoding="utf-8"))
    return stored if same_config(stored["config"], _keys(run_config(run, split, args))) else None


def _keys(config: Any) -> dict[str, Any]:
    return {k: v for k, v in config.to_dict().items() if k != "output_dir"}


def train_and_evaluate(run: Run, split: Path, args: argparse.Namespace, dev: Sequence[str]):
    """The run's result, trained and scored now."""
    from lsr.train.collapse import TrainingCollapse
    from lsr.train.run import train

    config = run_config(run, split, args)
    work, keys = args.work / run.name, _keys(config)
    started = time.time()
    result: dict[str, Any] = {"name": run.name, "family": run.family, "config": keys}
    try:
        model = train(config)
    except TrainingCollapse as exc:
        result.update(collapsed=str(exc), seconds=time.time() - started)
    else:
        train_seconds = time.time() - started
        result.update(evaluate(model, args.data_dir, dev, work / "eval-cache"))
        result.update(train_seconds=train_seconds, seconds=time.time() - started)
    write_json_atomic(work / "result.json", result)
    return result


# -- the report ---------------------------------------------------------------------------------


def choose(rows: list[dict[str, Any]], family: str, reference: dict[str, Any]) -> dict | None:
    """The family's run chosen on dev alone: the lowest-FLOPS run whose dev nDCG@10 is within
    ``NDCG_MARGIN`` of the reference's dev nDCG@10, else the run of the best dev nDCG@10."""
    candidates = [r for r in rows if r["family"] == family and "collapsed" not in r]
    if not candidates:
        return None
    close = [r for r in candidates if r["dev_ndcg@10"] >= reference["dev_ndcg@10"] - NDCG_MARGIN]
    if close:
        return min(close, key=lambda r: r["flops"])
    return max(candidates, key=lambda r: r["dev_ndcg@10"])


def lambda_of(row: dict[str, Any]) -> str:
    config = row["config"]
    if config["query_encoder"] == "mlm":
        return f"q {config['lambda_q']:g}, d {config['lambda_d']:g}"
    return f"d {config['lambda_d']:.2g}"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| run | queries | doc regularizer | lambda | dev nDCG@10 | test nDCG@10 | doc nnz "
        "| doc FLOPS | FLOPS (query-doc) | query nnz |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        config = row["config"]
        regularizer = (
            config["doc_regularizer"]
            + (f" + l0 mask t={config['l0_threshold']}" if config["l0_threshold"] else "")
            + (" + l0 activation" if config["activation"] == "l0" else "")
        )
        head = f"| {row['name']} | {config['query_encoder']} | {regularizer} | {lambda_of(row)} "
        if "collapsed" in row:
            lines.append(head + f"| collapsed: {row['collapsed']} ||||||")
            continue
        lines.append(
            head + f"| {row['dev_ndcg@10']:.3f} | {row['test_ndcg@10']:.3f} | {row['doc_nnz']:.0f} "
            f"| {row['doc_flops']:.1f} | {row['flops']:.2f} | {row['query_nnz']:.1f} |"
        )
    return "\n".join(lines)


def comparison(rows: list[dict[str, Any]]) -> str:
    """The issue's goal for each inference-free family, its lambda chosen on dev."""
    reference = next(r for r in rows if r["name"] == "siamese")
    lines = [
        f"Goal: within {NDCG_MARGIN} nDCG@10 of siamese at at most 1/3 of its FLOPS. Each "
        "family's lambda is chosen on the held-out train queries alone (lowest FLOPS within "
        f"{NDCG_MARGIN} of siamese's dev nDCG@10, else best dev nDCG@10); test is then read.",
        "",
        "| family | chosen run | test nDCG@10 (siamese - it) | FLOPS / siamese "
        "| doc FLOPS / siamese | goal met |",
        "|---|---|---:|---:|---:|---|",
    ]
    for family in dict.fromkeys(r["family"] for r in rows if r["family"] != "siamese"):
        chosen = choose(rows, family, reference)
        if chosen is None:
            lines.append(f"| {family} | every run collapsed | | | | no |")
            continue
        gap = reference["test_ndcg@10"] - chosen["test_ndcg@10"]
        ratio = chosen["flops"] / reference["flops"]
        doc_ratio = chosen["doc_flops"] / reference["doc_flops"]
        met = "yes" if gap <= NDCG_MARGIN and ratio <= 1 / 3 else "no"
        lines.append(
            f"| {family} | {chosen['name']} | {gap:+.3f} | {ratio:.2f} | {doc_ratio:.2f} | {met} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for family in dict.fromkeys(r["family"] for r in rows):
        done = sorted(
            (r for r in rows if r["family"] == family and "collapsed" not in r),
            key=lambda r: r["flops"],
        )
        marker = "*" if family == "siamese" else "o"
        axes.plot(
            [r["flops"] for r in done],
            [r["test_ndcg@10"] for r in done],
            marker=marker,
            markersize=12 if family == "siamese" else 6,
            label=family,
        )
    axes.set_xscale("log")
    axes.set_xlabel("FLOPS: mean terms shared by a test query and a document (log)")
    axes.set_ylabel("SciFact test nDCG@10")
    axes.set_title("splade-tiny fine-tuned on SciFact train: regularizers and lambdas")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path.with_suffix(".png")) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)


def not_run(rows: list[dict[str, Any]]) -> str:
    done = {r["name"] for r in rows}
    missing = [run.name for run in runs() if run.name not in done]
    return f"\nNot run (time): {', '.join(missing)}.\n" if missing else ""


def report(provenance: dict[str, Any], rows: list[dict[str, Any]], args, seconds: float) -> str:
    recipe = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in RECIPE.items())
    return f"""# Regularization sweep and inference-free vs siamese: splade-tiny on SciFact

{markdown(provenance)}
Load average (1/5/15 min) at the end: {"/".join(f"{x:.1f}" for x in os.getloadavg())}; \
{seconds / 60:.0f} minutes in all, one run at a time.

Every run: `lsr train --model {MODEL} --dataset SPLIT {recipe} --max-steps {args.steps}` plus
the keys of its row (`--query-encoder idf --lambda-q 0` for inference-free; `--doc-regularizer
idf-flops`, `--l0-threshold {L0_THRESHOLD}`, `--lambda-d`). SPLIT is SciFact train without the
{HELD_OUT} held-out queries (seed {HELD_OUT_SEED}), which form the dev column. nDCG@10 by `lsr
eval`'s harness, exact index. doc FLOPS = `sum_j p_j^2` over the corpus; FLOPS (query-doc) =
`sum_j q_j p_j` over test queries and documents (see the module's docstring).

## The inference-free models against siamese

{comparison(rows)}

## All runs

{table(rows)}
{not_run(rows)}

![test nDCG@10 against FLOPS]({Path(args.out).name}.png)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 60 steps (1.6 epochs of the 609 training queries): on the shared 2-core machine a run took
    # ~5 s a step and ~9 minutes to encode the corpus for evaluation at load ~10
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps of every run")
    parser.add_argument("--data-dir", default=DATA_DIR, help="folder holding scifact/")
    parser.add_argument("--work", type=Path, default=Path("runs/train-sweep"))
    parser.add_argument("--out", type=Path, default=Path("reports/train-sweep"))
    parser.add_argument("--only", action="append", help="run only this row (repeatable)")
    parser.add_argument("--allow-dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = parser.parse_args()
    provenance = record(command_line("benchmarks.train_sweep"), args.allow_dirty)
    started = time.time()
    dev = dev_query_ids(args.data_dir)
    split = write_split(args.work / "scifact-split", args.data_dir, dev)
    chosen = [run for run in runs() if not args.only or run.name in args.only]
    # every stored result first, so that a sweep stopped early reports all that was measured
    results = {run.name: stored_result(run, split, args) for run in chosen}
    for run in chosen:
        if results[run.name] is None:
            write_reports(provenance, chosen, results, args, time.time() - started)
            results[run.name] = train_and_evaluate(run, split, args, dev)
            print(
                json.dumps({k: v for k, v in results[run.name].items() if k != "config"}),
                flush=True,
            )
    write_reports(provenance, chosen, results, args, time.time() - started)


def write_reports(provenance: dict[str, Any], chosen: list[Run], results, args, seconds) -> None:
    """Before every run and at the end, so that the report always holds what was measured so
    far, in the order of :func:`runs`."""
    rows = [results[run.name] for run in chosen if results[run.name] is not None]
    payload = {"provenance": provenance, "rows": rows}
    if not any(r["name"] == "siamese" for r in rows):
        write_json_atomic(args.out.with_suffix(".json"), payload)
        return
    save_report(args.out, payload, report(provenance, rows, args, seconds))
    plot(rows, args.out)


if __name__ == "__main__":
    run_main(main)

"""Training benchmark: ``lsr train``'s step against sentence-transformers' SparseEncoderTrainer.

    python -m benchmarks.train [--steps 10] [--batch-size 16] [--max-length 256] [--rounds 3]

Same model (splade-tiny), same loss (in-batch negatives cross-entropy + FLOPS on queries and on
documents, lambda_q 5e-5, lambda_d 3e-5: the peer's ``SpladeLoss`` over
``SparseMultipleNegativesRankingLoss``), same batch size, same maximum length for queries and
documents (the peer has one), the same SciFact train pairs, AdamW at the same learning rate.

1. Same objective: both losses on the first batch, dropout off, float32, must agree within 1e-4.
2. Speed and memory: each system trains ``--steps`` steps in a fresh process (so that its peak
   resident memory is its own), the systems taking turns for ``--rounds`` rounds (the order
   rotates every round) so that load on the shared machine hits them alike. Steps/s leaves out
   the first step (allocations, lazy initialisation); peak memory is the process's maximum RSS,
   and the training part of it is that minus the RSS after setup (model and data loaded).
   Each system in float32 and in bf16 autocast (lsr's ``--precision bf16``; the peer's
   ``bf16=True`` training argument, which puts the transformers Trainer's step under
   ``torch.autocast("cpu", bfloat16)``), so that every ratio compares like with like: lsr at one
   precision against the peer at the same precision.

Writes ``reports/bench-train.json`` and ``reports/bench-train.md``; refuses a tree with
uncommitted changes unless ``--allow-dirty``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.provenance import (
    ALLOW_DIRTY_HELP,
    command_line,
    markdown,
    record,
    run_main,
    save_report,
)

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT.parent / "shared" / "models" / "splade-tiny"
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
LAMBDA_Q, LAMBDA_D, LR = 5e-5, 3e-5, 5e-5
MAX_LOSS_DIFF = 1e-4
PEER = "sentence-transformers SparseEncoderTrainer"
PRECISIONS = {"fp32": "float32", "bf16": "bf16 autocast"}
# name -> (worker, precision); the worker is "lsr" or "peer"
SYSTEMS = {
    f"{label} ({PRECISIONS[precision]})": (worker, precision)
    for precision in PRECISIONS
    for worker, label in (("lsr", "lsr"), ("peer", PEER))
}


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status (Linux), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    """The current resident set size, MB."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """This process's own peak resident set size (VmHWM), MB. Not ``ru_maxrss``: Linux carries
    that over exec from the process that forked, so a worker reported the driver's RSS (the
    driver holds both models: 1.66 GB) whenever its own peak was lower."""
    return _status_mb("VmHWM")


def pairs(n: int) -> list[Any]:
    from lsr.train.data.pairs import load_pairs

    return load_pairs(str(SCIFACT))[:n]


def lsr_config(args: argparse.Namespace, precision: str, out: str) -> Any:
    from lsr.train.config import TrainConfig

    return TrainConfig(
        model=str(args.model),
        dataset=str(SCIFACT),
        query_max_length=args.max_length,
        doc_max_length=args.max_length,
        n_negatives=0,
        lambda_q=LAMBDA_Q,
        lambda_d=LAMBDA_D,
        lr=LR,
        warmup_ratio=0.0,
        batch_size=args.batch_size,
        max_steps=args.steps,
        checkpoint_every=args.steps + 1,
        precision=precision,
        output_dir=out,
    )


# -- workers: one system, one process ------------------------------------------------------------


def work_lsr(args: argparse.Namespace, precision: str) -> dict[str, Any]:
    from lsr.train.trainer import LOG_FILE, Trainer

    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(
            lsr_config(args, precision, out), pairs(args.batch_size * args.steps), progress=False
        )
        setup = rss_mb()
        trainer.train()
        seconds = [json.loads(line)["seconds"] for line in (Path(out) / LOG_FILE).open()]
    return {"seconds": seconds, "setup_rss_mb": setup, "peak_rss_mb": peak_rss_mb()}


def peer_model(args: argparse.Namespace) -> Any:
    from sentence_transformers import SparseEncoder

    model = SparseEncoder(str(args.model), device="cpu")
    model.max_seq_length = args.max_length
    return model


def peer_loss(model: Any) -> Any:
    from sentence_transformers.sparse_encoder.losses import (
        SparseMultipleNegativesRankingLoss,
        SpladeLoss,
    )

    return SpladeLoss(
        model,
        SparseMultipleNegativesRankingLoss(model),
        document_regularizer_weight=LAMBDA_D,
        query_regularizer_weight=LAMBDA_Q,
    )


def work_peer(args: argparse.Namespace, precision: str) -> dict[str, Any]:
    from datasets import Dataset
    from sentence_transformers.sparse_encoder import (
        SparseEncoderTrainer,
        SparseEncoderTrainingArguments,
    )
    from transformers import TrainerCallback

    examples = pairs(args.batch_size * args.steps)
    data = Dataset.from_dict(
        {"query": [e.query for e in examples], "positive": [e.positive for e in examples]}
    )
    model = peer_model(args)
    seconds: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *_: Any, **__: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, *_: Any, **__: Any) -> None:
            seconds.append(time.perf_counter() - self.start)

    with tempfile.TemporaryDirectory() as out:
        training = SparseEncoderTrainingArguments(
            output_dir=out,
            per_device_train_batch_size=args.batch_size,
            max_steps=args.steps,
            learning_rate=LR,
            warmup_ratio=0.0,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=True,
            bf16=precision == "bf16",
        )
        trainer = SparseEncoderTrainer(
            model=model, args=training, train_dataset=data, loss=peer_loss(model),
            callbacks=[Timer()],
        )  # fmt: skip
        setup = rss_mb()
        trainer.train()
    return {"seconds": seconds, "setup_rss_mb": setup, "peak_rss_mb": peak_rss_mb()}


# -- same objective at step 0 ---------------------------------------------------------------------


def first_batch_losses(args: argparse.Namespace) -> tuple[float, float]:
    """Both systems' loss on the first batch, dropout off, float32."""
    import torch

    from lsr.train.batching import collate
    from lsr.train.models.bi_encoder import build_model
    from lsr.train.objective import Objective

    examples = pairs(args.batch_size)
    config = lsr_config(args, "fp32", "unused")
    model, tokenizer = build_model(config, None)
    model.eval()
    batch = collate(examples, tokenizer, 0, False, (args.max_length, args.max_length))
    with torch.no_grad():
        queries = model.encode_queries(**batch.queries)
        documents = model.encode_documents(**batch.documents)
        ours = float(Objective(config, None)(queries, documents, None, step=0).total)
        peer = peer_model(args).eval()
        features = [
            peer.tokenize([e.query for e in examples]),
            peer.tokenize([e.positive for e in examples]),
        ]
        theirs = sum(float(v) for v in peer_loss(peer)(features, None).values())
    return ours, theirs


# -- the driver -----------------------------------------------------------------------------------


def run_worker(args: argparse.Namespace, system: str) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "benchmarks.train", "--worker", *SYSTEMS[system],
        "--steps", str(args.steps), "--batch-size", str(args.batch_size),
        "--max-length", str(args.max_length), "--model", str(args.model),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{system} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [(len(r["seconds"]) - 1) / sum(r["seconds"][1:]) for r in runs]
    return {
        "steps_per_s": statistics.median(rates),
        "rounds_steps_per_s": rates,
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
        "training_rss_mb": statistics.median(r["peak_rss_mb"] - r["setup_rss_mb"] for r in runs),
    }


def main() -> None:
    args = parse_args()
    if args.worker:
        worker, precision = args.worker
        work = (work_peer if worker == "peer" else work_lsr)(args, precision)
        print(json.dumps(work))
        return
    provenance = record(command_line("benchmarks.train"), args.allow_dirty)
    ours, theirs = first_batch_losses(args)
    names = [name for name, (_, precision) in SYSTEMS.items() if precision in args.precisions]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for turn in range(args.rounds):
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            print(f"round {turn + 1}: {name}", file=sys.stderr, flush=True)
            runs[name].append(run_worker(args, name))
    result = {
        "provenance": provenance,
        "settings": {k: v for k, v in vars(args).items() if k not in ("worker", "out")},
        "torch_threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or None,
        "loss_step0": {"lsr": ours, "peer": theirs, "abs_diff": abs(ours - theirs)},
        "systems": {name: summarise(r) for name, r in runs.items()},
        "runs": runs,
    }
    result["settings"]["model"] = str(args.model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(save_report(args.out, result, render(result)))


def render(result: dict[str, Any]) -> str:
    settings, loss, systems = result["settings"], result["loss_step0"], result["systems"]
    measured = [p for p in PRECISIONS if p in settings["precisions"]]
    peer = {precision: systems[f"{PEER} ({PRECISIONS[precision]})"] for precision in measured}
    ours = {precision: systems[f"lsr ({PRECISIONS[precision]})"] for precision in measured}
    lines = [
        "# Training benchmark: lsr train vs sentence-transformers SparseEncoderTrainer",
        "",
        markdown(result["provenance"]),
        f"Model {Path(settings['model']).name}; SciFact train pairs; batch "
        f"{settings['batch_size']} (in-batch negatives), max length {settings['max_length']} for "
        f"queries and documents; {settings['steps']} steps per run, {settings['rounds']} rounds "
        "with the systems taking turns; FLOPS lambda_q 5e-5, lambda_d 3e-5; AdamW lr 5e-5.",
        "",
        f"Loss on the first batch (dropout off, float32): lsr {loss['lsr']:.6f}, peer "
        f"{loss['peer']:.6f}, |diff| {loss['abs_diff']:.1e} "
        f"({'same objective' if loss['abs_diff'] < MAX_LOSS_DIFF else 'DIFFERENT objectives'}, "
        f"bound {MAX_LOSS_DIFF:g}).",
        "",
        "Each ratio is against the peer at the same precision.",
        "",
        "| system | steps/s (median) | rounds | vs peer | peak RSS | training part of it | vs peer |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for name, stats in systems.items():
        same = peer[SYSTEMS[name][1]]
        rounds = ", ".join(f"{r:.3f}" for r in stats["rounds_steps_per_s"])
        lines.append(
            f"| {name} | {stats['steps_per_s']:.3f} | {rounds} | "
            f"{stats['steps_per_s'] / same['steps_per_s']:.2f}x | {stats['peak_rss_mb']:.0f} MB | "
            f"{stats['training_rss_mb']:.0f} MB | "
            f"{stats['training_rss_mb'] / same['training_rss_mb']:.2f}x |"
        )
    if len(measured) == len(PRECISIONS):
        lines += [
            "",
            f"bf16 autocast against float32: lsr "
            f"{ours['bf16']['steps_per_s'] / ours['fp32']['steps_per_s']:.2f}x the steps/s, the "
            f"peer {peer['bf16']['steps_per_s'] / peer['fp32']['steps_per_s']:.2f}x.",
        ]
    else:
        lines += ["", f"Precisions measured: {', '.join(PRECISIONS[p] for p in measured)}."]
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--steps", type=int, default=10, help="training steps per run")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument(
        "--precisions",
        type=lambda text: [p.strip() for p in text.split(",")],
        default=list(PRECISIONS),
        help="comma-separated, of fp32 and bf16 (default both; bf16 autocast on a CPU without "
        "bfloat16 dot products runs several times slower than float32, for both systems)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-train")
    parser.add_argument("--allow-dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    parser.add_argument(
        "--worker", nargs=2, metavar=("SYSTEM", "PRECISION"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if set(args.precisions) - set(PRECISIONS):
        parser.error(f"--precisions takes fp32 and/or bf16, got {','.join(args.precisions)}")
    return args


if __name__ == "__main__":
    run_main(main)

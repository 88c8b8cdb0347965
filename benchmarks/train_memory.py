"""Where the memory of an ``lsr train`` step goes: the profile behind ``make bench-train``'s
"training part" (peak RSS minus the RSS after setup).

    python -m benchmarks.train_memory [--steps 3] [--batch-size 16] [--max-length 256]

The same run as a bench-train worker (splade-tiny, SciFact train pairs, in-batch negatives, batch
16, max length 256, float32), one step at a time split into its phases, with:

1. **Resident memory by phase**: a thread samples the process's RSS every few milliseconds and
   keeps each phase's maximum (queries forward, documents forward, backward, optimizer step),
   over ``--steps`` steps; the phases' peaks minus the RSS after setup say which phase makes
   the peak.
2. **Tensors**: the bytes autograd saves for backward on each side (``saved_tensors_hooks``,
   each storage counted once), the largest of them with their shapes; parameters, gradients and
   AdamW's two moments; the token batch; the pooling's widest transient block (vocabulary chunk x
   tokens, float32); and, for scale, the (batch x length x vocabulary) logits that autograd would
   keep without :mod:`lsr.train.models.pooling`.

Writes ``reports/train-memory.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from benchmarks.provenance import (
    ALLOW_DIRTY_HELP,
    command_line,
    markdown,
    record,
    run_main,
    save_report,
)
from benchmarks.train import MODEL, lsr_config, pairs, rss_mb
from lsr.encoders.pooling import chunk_for

MB = 2**20
PHASES = ("queries forward", "documents forward", "backward", "optimizer step")


class PhasePeaks:
    """The highest RSS seen while each phase ran, sampled by a daemon thread."""

    def __init__(self, interval: float = 0.002) -> None:
        self.peaks: dict[str, float] = {}
        self.phase = "setup"
        self.interval = interval
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            phase, rss = self.phase, rss_mb()
            self.peaks[phase] = max(self.peaks.get(phase, 0.0), rss)
            time.sleep(self.interval)

    @contextmanager
    def during(self, phase: str) -> Iterator[None]:
        self.phase = phase
        try:
            yield
        finally:
            rss = rss_mb()  # the phase's last state, in case no sample fell inside it
            self.peaks[phase] = max(self.peaks.get(phase, 0.0), rss)
            self.phase = "between"


class SavedTensors:
    """The storages autograd saves for backward while active, each counted once."""

    def __init__(self) -> None:
        self.storages: dict[int, tuple[int, tuple[int, ...]]] = {}

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        self.storages[storage.data_ptr()] = (storage.nbytes(), tuple(tensor.shape))
        return tensor

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.storages.clear()
        with torch.autograd.graph.saved_tensors_hooks(self._pack, lambda tensor: tensor):
            yield

    def summary(self, parameters: set[int]) -> dict[str, Any]:
        """Bytes saved, leaving out the parameters (saved by reference, owned by the model)."""
        own = {k: v for k, v in self.storages.items() if k not in parameters}
        largest = sorted(own.values(), reverse=True)[:5]
        return {
            "saved_mb": sum(size for size, _ in own.values()) / MB,
            "largest": [{"mb": size / MB, "shape": list(shape)} for size, shape in largest],
        }


def profile(args: argparse.Namespace) -> dict[str, Any]:
    from lsr.index.memory import release_free_memory

    from lsr.train.batching import collate
    from lsr.train.trainer import Trainer

    peaks = PhasePeaks()
    saved = SavedTensors()
    with tempfile.TemporaryDirectory() as out:
        config = lsr_config(args, "fp32", out)
        trainer = Trainer(config, pairs(args.batch_size * args.steps), progress=False)
        setup = rss_mb()
        model = trainer.model
        parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}
        vocab = len(trainer.tokenizer)
        sides: dict[str, Any] = {}
        for step in range(args.steps):
            model.train()
            examples = [trainer.examples[i] for i in trainer.order.indices(step)]
            lengths = (config.query_max_length, config.doc_max_length)
            batch = collate(examples, trainer.tokenizer, 0, False, lengths)
            with peaks.during("queries forward"), saved.counting():
                queries = model.encode_queries(**batch.queries)
            sides["queries"] = {**saved.summary(parameters), **_tokens(batch.queries, vocab)}
            with peaks.during("documents forward"), saved.counting():
                documents = model.encode_documents(**batch.documents)
            sides["documents"] = {**saved.summary(parameters), **_tokens(batch.documents, vocab)}
            with peaks.during("backward"):
                trainer.objective(queries, documents, None, step).total.backward()
                del queries, documents
            with peaks.during("optimizer step"):
                trainer.optimizer.step()
                trainer.optimizer.zero_grad(set_to_none=True)
            release_free_memory()
        state = trainer.optimizer.state.values()
        moments = sum(t.numel() * t.element_size() for s in state for t in s.values())
    parameter_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / MB
    return {
        "setup_rss_mb": setup,
        "phase_peak_rss_mb": {p: peaks.peaks.get(p, float("nan")) for p in PHASES},
        "sides": sides,
        "parameters_mb": parameter_mb,
        "gradients_mb": parameter_mb,
        "adamw_moments_mb": moments / MB,
    }


def _tokens(inputs: dict[str, torch.Tensor], vocab: int) -> dict[str, Any]:
    """The batch's shape, its pooling block (the widest transient tensor of the projection) and
    the logits autograd would keep without the custom pooling, all float32."""
    batch, length = inputs["input_ids"].shape
    tokens = batch * length
    return {
        "shape": [batch, length],
        "token_batch_mb": sum(t.numel() * t.element_size() for t in inputs.values()) / MB,
        "pooling_block_mb": min(chunk_for(tokens), vocab) * tokens * 4 / MB,
        "plain_logits_mb": tokens * vocab * 4 / MB,
    }


def render(result: dict[str, Any]) -> str:
    setup = result["setup_rss_mb"]
    lines = [
        "# Where an lsr train step's memory goes (splade-tiny, batch 16 x 256 tokens, float32)",
        "",
        markdown(result["provenance"]),
        f"RSS after setup (model, tokenizer, data loaded): {setup:.0f} MB. Steps profiled: "
        f"{result['settings']['steps']} (each phase's peak is the highest over them).",
        "",
        "| phase | peak RSS | above setup |",
        "|---|---:|---:|",
    ]
    for phase, peak in result["phase_peak_rss_mb"].items():
        lines.append(f"| {phase} | {peak:.0f} MB | {peak - setup:+.0f} MB |")
    lines += [
        "",
        "| tensors | MB |",
        "|---|---:|",
        f"| parameters | {result['parameters_mb']:.1f} |",
        f"| gradients | {result['gradients_mb']:.1f} |",
        f"| AdamW moments (exp_avg, exp_avg_sq) | {result['adamw_moments_mb']:.1f} |",
    ]
    for side, stats in result["sides"].items():
        shape = " x ".join(map(str, stats["shape"]))
        largest = ", ".join(
            f"{t['mb']:.1f} ({' x '.join(map(str, t['shape']))})" for t in stats["largest"]
        )
        lines += [
            f"| {side} ({shape} tokens): saved for backward | {stats['saved_mb']:.1f} |",
            f"| {side}: largest saved tensors | {largest} |",
            f"| {side}: token batch (ids, mask) | {stats['token_batch_mb']:.2f} |",
            f"| {side}: pooling block, transient | {stats['pooling_block_mb']:.1f} |",
            f"| {side}: logits the plain formula would save | {stats['plain_logits_mb']:.0f} |",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--steps", type=int, default=3, help="steps profiled")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("reports/train-memory"))
    parser.add_argument("--allow-dirty", action="store_true", help=ALLOW_DIRTY_HELP)
    args = parser.parse_args()
    provenance = record(command_line("benchmarks.train_memory"), args.allow_dirty)
    result = {
        "provenance": provenance,
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        **profile(args),
    }
    print(save_report(args.out, result, render(result)))


if __name__ == "__main__":
    run_main(main)

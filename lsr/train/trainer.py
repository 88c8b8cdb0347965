"""The training loop: AdamW, linear warm-up and decay, gradient accumulation, bf16 autocast,
checkpoints with exact resume, per-step logs, optional dev evaluation keeping the best model.

One step = ``grad_accumulation`` batches of ``batch_size`` examples, then one optimizer step. The
loss of each batch is :class:`lsr.train.objective.Objective`; the warm-up step of the
regularizers is the optimizer step. Everything runs on ``config.device`` (CPU here, CUDA
unchanged). Outputs under ``output_dir``: ``model/`` (the trained model folder that ``lsr
encode`` and ``lsr eval`` load), ``checkpoints/``, ``train_log.jsonl`` (one record per logged
step), ``best-model/`` when dev evaluation ran.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from lsr.atomic import write_directory_atomic, write_text_atomic
from lsr.index.memory import release_free_memory
from lsr.train.batching import BatchOrder, collate
from lsr.train.checkpoint import load_latest, restore_rng, rng_state, save_checkpoint
from lsr.train.collapse import CollapseGuard
from lsr.train.config import TrainConfig
from lsr.train.data.negatives import NegativeRefresher
from lsr.train.examples import TrainingExample
from lsr.train.model_card import model_card
from lsr.train.models.bi_encoder import BiEncoder, build_model, save_model
from lsr.train.objective import Objective
from lsr.train.sparsity import SparsityStats

LOG_FILE = "train_log.jsonl"

# called after each checkpoint with (trainer, step): tests use it to kill a run at a known point
Callback = Callable[["Trainer", int], None]


@dataclass(frozen=True)
class DevResult:
    step: int
    ndcg_at_10: float
    flops: float


class Trainer:
    def __init__(
        self,
        config: TrainConfig,
        examples: Sequence[TrainingExample],
        idf: torch.Tensor | None = None,
        on_checkpoint: Callback | None = None,
        progress: bool = True,
        refresher: NegativeRefresher | None = None,
    ) -> None:
        self.config = config.validate()
        self.examples = list(examples)
        self.refresher = refresher
        self.out = Path(config.output_dir)
        self.on_checkpoint = on_checkpoint
        self.progress = progress
        self.device = _device(config.device)
        _seed_everything(config.seed)
        self.model, self.tokenizer = build_model(config, idf)
        self.model.to(self.device)
        self.objective = Objective(config, None if idf is None else idf.to(self.device))
        self.optimizer = _optimizer(self.model, config)
        self.scheduler = _scheduler(self.optimizer, config)
        self.order = BatchOrder(len(self.examples), config.batch_size, config.seed)
        self.guard = CollapseGuard(
            config.max_empty_share, config.max_mean_nnz, config.collapse_patience
        )
        self.autocast = _autocast(config.precision, self.device)
        self.step = 0
        self.best: DevResult | None = None
        self.dev_results: list[DevResult] = []

    # -- the loop -------------------------------------------------------------------------------

    def train(self, resume: bool = False) -> Path:
        """Run to ``max_steps`` (from the newest checkpoint with ``resume``); return the model."""
        if resume:
            self._resume()
        else:
            write_text_atomic(self.out / LOG_FILE, "")
        bar = tqdm(
            total=self.config.max_steps,
            initial=self.step,
            desc="train",
            unit="step",
            disable=not self.progress,
        )
        with bar:
            while self.step < self.config.max_steps:
                self._refresh_negatives()
                record = self._optimizer_step()
                self.step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{record['loss']:.3f}", d_nnz=f"{record['d_nnz']:.0f}")
                self._after_step(record)
        return self._finish()

    def _optimizer_step(self) -> dict[str, Any]:
        config, started = self.config, time.perf_counter()
        self.model.train()
        terms_sum: dict[str, float] = {}
        for micro in range(config.grad_accumulation):
            index = self.step * config.grad_accumulation + micro
            batch = collate(
                [self.examples[i] for i in self.order.indices(index)],
                self.tokenizer,
                config.n_negatives,
                config.loss != "in-batch",
                (config.query_max_length, config.doc_max_length),
            ).to(self.device)
            with self.autocast:
                queries = self.model.encode_queries(**batch.queries)
                documents = self.model.encode_documents(**batch.documents)
            terms = self.objective(queries.float(), documents.float(), batch.teacher, self.step)
            (terms.total / config.grad_accumulation).backward()
            _accumulate(terms_sum, terms, queries, documents, config.grad_accumulation)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        # A step allocates and frees hundreds of MB of temporaries that glibc would keep as
        # resident memory, growing from step to step; handing them back bounds the peak.
        release_free_memory()
        return {
            "step": self.step + 1,
            **terms_sum,
            "lr": self.scheduler.get_last_lr()[0],
            "seconds": time.perf_counter() - started,
        }

    def _after_step(self, record: dict[str, Any]) -> None:
        config = self.config
        for side, prefix in (("documents", "d"), ("queries", "q")):
            stats = SparsityStats(
                record[f"{prefix}_nnz"], record[f"{prefix}_empty"], record[f"{prefix}_flops"]
            )
            if side == "documents" or config.query_encoder in ("mlm", "mlp"):
                self.guard.check(self.step, side, stats)
        if self.step % config.log_every == 0:
            with (self.out / LOG_FILE).open("a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
        if config.eval_dataset and config.eval_every and self.step % config.eval_every == 0:
            self._evaluate()
        if self.step % config.checkpoint_every == 0 or self.step == config.max_steps:
            save_checkpoint(self.out / "checkpoints", self.step, self._state())
            if self.on_checkpoint is not None:
                self.on_checkpoint(self, self.step)

    def _refresh_negatives(self) -> None:
        """Every ``refresh_negatives_every`` steps, re-mine each example's negatives with the
        model as it is now, encoding the corpus as ``lsr encode`` would with the model saved
        at this step. Runs before the step, after the previous step's checkpoint: a run resumed
        from that checkpoint has the examples it held (the checkpoint's) and re-mines here from
        the same weights, as the uninterrupted run did."""
        every = self.config.refresh_negatives_every
        if self.refresher is None or self.step == 0 or self.step % every:
            return
        from lsr.encoders import load

        started = time.perf_counter()
        folder = self.out / ".refresh-model"
        self._save(folder)
        self.examples = self.refresher(load(folder), self.step)
        tqdm.write(
            f"step {self.step}: negatives re-mined with the current model "
            f"({time.perf_counter() - started:.0f} s)"
        )

    def _finish(self) -> Path:
        config = self.config
        if config.eval_dataset and (not self.dev_results or self.dev_results[-1].step != self.step):
            self._evaluate()
        target = self.out / "model"
        self._save(target)
        return target

    def _save(self, target: Path) -> None:
        card = model_card(self.config, len(self.examples), self.step, self.dev_results)

        def fill(folder: Path) -> None:
            save_model(self.model, self.tokenizer, self.config, folder)
            (folder / "README.md").write_text(card, encoding="utf-8")

        write_directory_atomic(target, fill)

    # -- dev evaluation -------------------------------------------------------------------------

    def _evaluate(self) -> None:
        from lsr.train.dev_eval import evaluate_folder

        candidate = self.out / ".dev-model"
        self._save(candidate)
        ndcg, flops = evaluate_folder(candidate, self.config.eval_dataset, self.config.data_dir)
        result = DevResult(self.step, ndcg, flops)
        self.dev_results.append(result)
        if self.best is None or ndcg > self.best.ndcg_at_10:
            self.best = result
            best = self.out / "best-model"
            write_directory_atomic(best, lambda tmp: _copy_tree(candidate, tmp))
        tqdm.write(f"step {self.step}: {self.config.eval_dataset} nDCG@10 {ndcg:.4f}")

    # -- checkpoints ----------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "data_position": self.step * self.config.grad_accumulation,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng_state(),
            "best": self.best,
            "dev_results": self.dev_results,
            "config": self.config.to_dict(),
            # mined by the model of the last refresh, which no later checkpoint holds
            "examples": self.examples if self.refresher is not None else None,
        }

    def _resume(self) -> None:
        state = load_latest(self.out / "checkpoints")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        restore_rng(state["rng"])
        self.step = state["step"]
        self.best, self.dev_results = state["best"], state["dev_results"]
        if self.refresher is not None and state.get("examples") is not None:
            self.examples = state["examples"]
        _truncate_log(self.out / LOG_FILE, self.step)


# -- helpers ------------------------------------------------------------------------------------


def _accumulate(
    sums: dict[str, float],
    terms: Any,
    queries: torch.Tensor,
    documents: torch.Tensor,
    parts: int,
) -> None:
    """Add this batch's share (1 / parts) of each logged value."""
    q, d = SparsityStats.of(queries), SparsityStats.of(documents)
    values = {
        "loss": float(terms.total.detach()),
        "ranking": terms.ranking,
        "reg_q": terms.reg_q,
        "reg_d": terms.reg_d,
        "lambda_q": terms.lambda_q,
        "lambda_d": terms.lambda_d,
        "q_nnz": q.mean_nnz,
        "d_nnz": d.mean_nnz,
        "q_empty": q.empty_share,
        "d_empty": d.empty_share,
        "q_flops": q.flops,
        "d_flops": d.flops,
    }
    for key, value in values.items():
        sums[key] = sums.get(key, 0.0) + value / parts


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast when asked, or with ``auto`` on a CUDA device with bf16 support.

    ``auto`` keeps float32 on CPUs. On an AMD EPYC with AVX512-BF16 but no AMX, a bf16-autocast
    step of splade-tiny at batch 16 x 256 tokens ran at 0.17x the float32 step (make
    bench-train, first run): the casts around every small matmul cost more than the bf16 dot
    products save. On an Intel Xeon with AMX bf16 tiles (reports/bench-train-intel.md, load 6-9)
    it ran at 0.85x (the benchmark's median of 3 interleaved rounds, rounds 0.53x to 1.28x), and
    at 1.08-1.10x by wall time, 1.17x by CPU time, with steps of the two precisions alternating
    in one process: the matmuls ran ~3x faster on the tiles (profiled), the casts and copies took
    most of it back. Not clearly faster, so ``auto`` does not switch on either CPU;
    ``--precision bf16`` is there to measure it again."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "auto" and not (device.type == "cuda" and torch.cuda.is_bf16_supported()):
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _seed_everything(seed: int) -> None:
    """Seed torch's generators (dropout; the model's own initialisation of new heads)."""
    torch.manual_seed(seed)


def _optimizer(model: BiEncoder, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; the per-token query weights, when learned, get their own learning rate and no
    weight decay (decay would pull every token's weight towards 0, i.e. towards dropping it)."""
    own = {id(p) for p in model.query_weight_parameters()}
    backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in own]
    groups = [{"params": backbone, "lr": config.lr, "weight_decay": config.weight_decay}]
    learned = [p for p in model.query_weight_parameters() if p.requires_grad]
    if learned:
        groups.append({"params": learned, "lr": config.query_weights_lr, "weight_decay": 0.0})
    return torch.optim.AdamW(groups)


def _scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> Any:
    """Linear warm-up over ``warmup_ratio`` of the steps, then linear decay to 0 (BERT's)."""
    warmup = int(config.warmup_ratio * config.max_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (config.max_steps - step) / max(1, config.max_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _truncate_log(path: Path, step: int) -> None:
    """Drop the records of steps after the checkpoint: they are replayed."""
    if not path.is_file():
        return
    kept = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["step"] <= step
    ]
    write_text_atomic(path, "".join(line + "\n" for line in kept))


def _copy_tree(source: Path, target: Path) -> None:
    import shutil

    shutil.copytree(source, target, dirs_exist_ok=True)

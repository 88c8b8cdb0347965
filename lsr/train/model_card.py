"""The model card (``README.md``) of a trained model folder: data, losses, lambdas, steps, and
the dev nDCG@10 and FLOPS measured during training, so the folder says how it was made."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsr.train.config import TrainConfig


def model_card(config: TrainConfig, n_examples: int, steps: int, dev_results: Sequence[Any]) -> str:
    lines = [
        f"# Sparse retrieval model fine-tuned from `{config.model}`",
        "",
        "Trained with `lsr train`. Load it with `lsr encode --model THIS_FOLDER` or "
        "`lsr.encoders.load`.",
        "",
        "| | |",
        "|---|---|",
        f"| data | `{config.dataset}` ({n_examples} examples, {config.n_negatives} negatives each at most) |",
        f"| encoders | queries `{config.query_encoder}`, documents `{config.doc_encoder}`, activation `{config.activation}`, {'separate backbones' if config.separate_encoders else 'one shared backbone'}{_lora(config)} |",
        f"| ranking loss | `{config.loss}` (scale {config.scale}, temperature {config.temperature}) |",
        f"| regularizers | queries `{config.query_regularizer}` lambda_q {config.lambda_q:g}, documents `{config.doc_regularizer}` lambda_d {config.lambda_d:g}, l0 threshold {config.l0_threshold}, warm-up {config.reg_warmup_steps} steps, batch-normalised {config.batch_normalised} |",
        f"| optimisation | {steps} steps, batch {config.batch_size} x {config.grad_accumulation} accumulation, AdamW lr {config.lr:g}, seed {config.seed} |",
    ]
    if dev_results:
        lines += ["", f"Dev evaluation on `{config.eval_dataset}` (exact search):", ""]
        lines += ["| step | nDCG@10 | corpus FLOPS |", "|---|---|---|"]
        lines += [f"| {r.step} | {r.ndcg_at_10:.4f} | {r.flops:.3f} |" for r in dev_results]
    lines += ["", "Full configuration:", "", "```yaml"]
    lines += [f"{key}: {value!r}" for key, value in config.to_dict().items()]
    lines += ["```", ""]
    return "\n".join(lines)


def _lora(config: TrainConfig) -> str:
    if not config.lora_r:
        return ""
    return f", LoRA r {config.lora_r} alpha {config.lora_alpha} (merged into the weights)"

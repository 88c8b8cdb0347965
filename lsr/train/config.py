"""The training configuration: one frozen record, every key a ``lsr train`` flag and a YAML key.

Defaults carry their reasons. The recipe defaults are those of the anchor we measure against
(sentence-transformers' ``SparseEncoderTrainer`` recipe for SPLADE fine-tuning: batch 16,
lr 5e-5, lambda_q 5e-5, lambda_d 3e-5, in-batch negatives), so that a run with no options is
the baseline and every option is a measured change from it.

To add a key (the data side adds its own): add a field with a default and a comment here, and,
when it constrains others, a check in :meth:`TrainConfig.validate`. The CLI builds its flags from
the fields, so a new key is a new flag with nothing else to write.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args

from lsr.errors import InputError

QUERY_ENCODERS = ("mlm", "mlp", "binary", "idf")
DOC_ENCODERS = ("mlm", "mlp", "binary")
LOSSES = ("in-batch", "margin-mse", "kl")
DOC_REGULARIZERS = ("flops", "idf-flops")
QUERY_REGULARIZERS = ("flops", "l1")
ACTIVATIONS = ("splade", "l0")
PRECISIONS = ("auto", "bf16", "fp32")
HARD_NEGATIVES = ("none", "bm25", "model")
TEACHERS = ("none", "ensemble")


def _key(default: Any, help: str) -> Any:
    """A configuration field: its default and the help text its ``lsr train`` flag shows."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainConfig:
    # -- what is trained ------------------------------------------------------------------------
    model: str = _key(
        "",
        "folder or hub id (required): a masked LM, or a causal LM (echo input, Mistral-SPLADE)",
    )
    query_encoder: str = _key(
        "mlm",
        "mlm (SPLADE expansion), mlp (uniCOIL term weights), binary (token presence), "
        "idf (inference-free)",
    )
    doc_encoder: str = _key(
        "mlm", "mlm (SPLADE expansion), mlp (uniCOIL term weights), binary (token presence)"
    )
    separate_encoders: bool = _key(
        False, "query and document sides each get their own backbone copy (default: siamese)"
    )
    # LoRA (Hu et al., ICLR 2022) through peft, on the modules peft targets for the architecture
    # (attention query and value projections of BERT and Llama); merged into the saved model
    lora_r: int = _key(0, "> 0: train LoRA adapters of this rank instead of the backbone (peft)")
    lora_alpha: int = _key(16, "LoRA scaling numerator: the update is (alpha / r) B A")
    activation: str = _key("splade", "splade: log(1 + relu(x)); l0: log(1 + log(1 + relu(x)))")
    learn_query_weights: bool = _key(False, "idf/binary queries: learn the per-token weights too")
    query_weights_lr: float = _key(
        1e-3,
        "learning rate of the learned query weights: one scalar per token moves slowly at 5e-5",
    )
    query_max_length: int = _key(
        64, "tokens kept per query (lsr encode's default: training sees what encoding sees)"
    )
    doc_max_length: int = _key(256, "tokens kept per document (lsr encode's default)")
    # -- data -----------------------------------------------------------------------------------
    dataset: str = _key("", "a BEIR dataset on the data path (train split) or a pairs .jsonl file")
    data_dir: str = _key("", "extra folder searched for dataset names first")
    n_negatives: int = _key(1, "hard negatives used per example (those it has, up to this many)")
    # -- data preparation (lsr.train.data.prepare): mined negatives, teachers, self-supervision --
    hard_negatives: str = _key(
        "none", "none; bm25 or model (the --model being trained): mine n_negatives per example"
    )
    negatives_depth: int = _key(100, "mined negatives are drawn from each query's top this many")
    refresh_negatives_every: int = _key(
        0,
        "with --hard-negatives model: re-mine the negatives with the model being trained every "
        "this many steps (0: mined once, before the first step)",
    )
    corpus: str = _key(
        "", "the corpus mined and self-supervised on (default: the dataset's own corpus)"
    )
    self_supervised: bool = _key(
        False,
        "no labels: pseudo-queries from --corpus (a title, or a sentence) with BM25 negatives",
    )
    self_supervised_queries: int = _key(
        0, "self-supervised: at most this many pseudo-queries (0: every one made)"
    )
    self_supervised_per_doc: int = _key(
        1,
        "self-supervised: pseudo-queries per document at most: its title (when it has one), "
        "then sentences drawn without repeats",
    )
    pseudo_queries: int = _key(
        0,
        "labelled pairs plus this many pseudo-queries of the corpus (--self-supervised's rules, "
        "BM25 negatives, the same teacher): adaptation to the corpus beside the labels",
    )
    teacher: str = _key("none", "none (scores from the data, if any) or ensemble (label examples)")
    # weights chosen on 200 held-out SciFact train queries (reports/train-ensemble.md: 0.737
    # nDCG@10 on test reranking BM25 + splade-tiny's top 100, BM25 alone 0.678)
    teacher_bm25: float = _key(0.4, "ensemble weight of BM25 (0 leaves it out)")
    teacher_splade: float = _key(0.2, "ensemble weight of the SPLADE teacher (0 leaves it out)")
    teacher_dense: float = _key(0.4, "ensemble weight of the dense teacher (0 leaves it out)")
    teacher_splade_model: str = _key(
        "rasyosef/splade-tiny", "the SPLADE teacher's folder or hub id"
    )
    teacher_dense_model: str = _key(
        "sentence-transformers/all-MiniLM-L6-v2", "the dense teacher's folder or hub id"
    )
    # splade-tiny's own scores of a SciFact train query's positive and 3 BM25 negatives span 19.8
    # on average: targets on the student's scale ask it neither to shrink nor to stretch them
    teacher_scale: float = _key(
        20.0, "ensemble scores span [0, scale]: the target margins of margin-mse, logits of kl"
    )
    # -- losses ---------------------------------------------------------------------------------
    loss: str = _key("in-batch", "in-batch (+ hard negatives) CE, or margin-mse / kl from `scores`")
    scale: float = _key(1.0, "in-batch CE logits scale (SPLADE dot products need none)")
    temperature: float = _key(1.0, "KL distillation temperature (naver/splade: 1)")
    lambda_q: float = _key(5e-5, "query regularizer weight")
    lambda_d: float = _key(3e-5, "document regularizer weight (positives and negatives)")
    query_regularizer: str = _key("flops", "flops, or l1 (unified framework's query penalty)")
    doc_regularizer: str = _key("flops", "flops, or idf-flops (Geng et al. 2024)")
    l0_threshold: int = _key(
        0, "> 0: document FLOPS only on documents with more non-zeros (Shen et al.)"
    )
    reg_warmup_steps: int = _key(
        0,
        "quadratic lambda warm-up; 0: full lambda from step 0 (fine-tuning a trained SPLADE starts sparse already; from an MLM checkpoint use ~ a third of the run)",
    )
    batch_normalised: bool = _key(
        False, "lambda x batch_size / reference_batch (see regularizers.flops)"
    )
    reference_batch: int = _key(
        16, "the batch size at which batch_normalised leaves lambda unchanged"
    )
    # -- optimisation ---------------------------------------------------------------------------
    max_steps: int = _key(100, "optimizer steps of the run")
    batch_size: int = _key(16, "queries per batch (each with its positive and negatives)")
    grad_accumulation: int = _key(1, "optimizer step every N batches (a larger effective batch)")
    lr: float = _key(5e-5, "AdamW learning rate of the backbone (peak, after warm-up)")
    weight_decay: float = _key(0.01, "AdamW's usual BERT fine-tuning value")
    warmup_ratio: float = _key(
        0.1, "linear lr warm-up over this share of the steps, then linear decay"
    )
    max_grad_norm: float = _key(1.0, "gradient norm clipping (BERT's usual 1.0)")
    precision: str = _key(
        "auto",
        "auto: bf16 autocast on CUDA with bf16, float32 on CPUs (measured faster here); bf16; fp32",
    )
    gradient_checkpointing: bool = _key(False, "recompute activations in backward: less memory")
    seed: int = _key(42, "seeds the batch order and dropout")
    device: str = _key("auto", "auto: cuda when available, else cpu")
    # -- bookkeeping ----------------------------------------------------------------------------
    output_dir: str = _key("runs/train", "where model/, checkpoints/ and train_log.jsonl go")
    checkpoint_every: int = _key(50, "steps between checkpoints (exact resume after a kill)")
    log_every: int = _key(1, "steps between JSONL log records")
    eval_dataset: str = _key("", "e.g. scifact/dev: nDCG@10 through lsr.eval (exact index)")
    eval_every: int = _key(0, "steps between dev evaluations; 0: only at the end when eval_dataset")
    max_empty_share: float = _key(0.9, "collapse guard: stop when this share of vectors is empty")
    max_mean_nnz: float = _key(
        2000.0, "collapse guard: stop when the mean non-zero count exceeds this"
    )
    collapse_patience: int = _key(
        20, "collapse guard: steps in a row a problem must last before the run stops"
    )

    def validate(self) -> TrainConfig:
        """Check every key; return self, so that ``TrainConfig(...).validate()`` reads well."""
        if not self.model:
            raise InputError("model: required (a masked-LM folder or hub id)")
        if not self.dataset and not (self.self_supervised and self.corpus):
            raise InputError(
                "dataset: required (a BEIR dataset name or a pairs .jsonl file), "
                "or --corpus with --self-supervised"
            )
        for name, choices in (
            ("query_encoder", QUERY_ENCODERS),
            ("doc_encoder", DOC_ENCODERS),
            ("loss", LOSSES),
            ("query_regularizer", QUERY_REGULARIZERS),
            ("doc_regularizer", DOC_REGULARIZERS),
            ("activation", ACTIVATIONS),
            ("precision", PRECISIONS),
            ("hard_negatives", HARD_NEGATIVES),
            ("teacher", TEACHERS),
        ):
            if getattr(self, name) not in choices:
                raise InputError(
                    f"{name}: {getattr(self, name)!r} is not one of {', '.join(choices)}"
                )
        for name in ("max_steps", "batch_size", "grad_accumulation", "checkpoint_every"):
            _positive(name, getattr(self, name))
        for name in ("log_every", "reference_batch", "query_max_length", "doc_max_length"):
            _positive(name, getattr(self, name))
        _positive("negatives_depth", self.negatives_depth)
        _positive("self_supervised_per_doc", self.self_supervised_per_doc)
        for name in (
            *("lambda_q", "lambda_d", "weight_decay", "eval_every", "n_negatives", "lora_r"),
            *("teacher_bm25", "teacher_splade", "teacher_dense", "self_supervised_queries"),
            "pseudo_queries",
        ):
            if getattr(self, name) < 0:
                raise InputError(f"{name}: must be >= 0, got {getattr(self, name)}")
        for name in (
            "lr",
            "query_weights_lr",
            "scale",
            "temperature",
            "teacher_scale",
            "lora_alpha",
        ):
            if getattr(self, name) <= 0:
                raise InputError(f"{name}: must be > 0, got {getattr(self, name)}")
        if not 0 <= self.warmup_ratio < 1:
            raise InputError(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio}")
        if self.loss != "in-batch" and self.n_negatives == 0:
            raise InputError(f"loss {self.loss}: distillation needs n_negatives >= 1")
        if self.teacher == "ensemble" and (
            self.teacher_bm25 + self.teacher_splade + self.teacher_dense <= 0
        ):
            raise InputError("teacher_bm25, teacher_splade, teacher_dense: all 0, no teacher left")
        if (self.hard_negatives != "none" or self.teacher != "none") and self.n_negatives == 0:
            raise InputError("n_negatives: mining and teachers need n_negatives >= 1")
        if self.self_supervised and self.hard_negatives == "none":
            raise InputError("hard_negatives: self-supervised examples need mined negatives (bm25)")
        if self.pseudo_queries and (self.self_supervised or self.hard_negatives != "bm25"):
            raise InputError(
                "pseudo_queries: adds pseudo-queries to labelled pairs whose negatives BM25 "
                "mines (--hard-negatives bm25, without --self-supervised)"
            )
        self._check_refresh()
        if self.learn_query_weights and self.query_encoder in ("mlm", "mlp"):
            raise InputError("learn_query_weights: only for query_encoder binary or idf")
        if self.separate_encoders and "binary" in (self.query_encoder, self.doc_encoder):
            raise InputError("separate_encoders: a binary side has no backbone to separate")
        if self.separate_encoders and self.query_encoder == "idf":
            raise InputError("separate_encoders: an idf query side has no backbone to separate")
        if self.doc_encoder == "binary" and self.query_encoder not in ("mlm", "mlp"):
            raise InputError(
                f"doc_encoder binary: query_encoder {self.query_encoder} leaves nothing to "
                "train (use mlm or mlp queries)"
            )
        return self

    def _check_refresh(self) -> None:
        if self.refresh_negatives_every < 0:
            raise InputError(
                f"refresh_negatives_every: must be >= 0, got {self.refresh_negatives_every}"
            )
        if not self.refresh_negatives_every:
            return
        if self.hard_negatives != "model" or self.self_supervised or self.pseudo_queries:
            raise InputError(
                "refresh_negatives_every: re-mines with the model being trained, so it needs "
                "--hard-negatives model on labelled pairs (not --self-supervised)"
            )
        if self.loss != "in-batch" and self.teacher == "none":
            raise InputError(
                f"refresh_negatives_every: loss {self.loss} needs teacher scores of the "
                "re-mined negatives: add --teacher ensemble"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def with_overrides(self, overrides: dict[str, Any]) -> TrainConfig:
        return dataclasses.replace(self, **overrides)

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "configuration") -> TrainConfig:
        """A configuration from a mapping; unknown keys and wrong types name the key."""
        known = {f.name: f for f in fields(cls)}
        checked = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in known:
                raise InputError(f"{source}: unknown key {key!r}")
            checked[name] = _coerce(name, value, known[name].type, source)
        return cls(**checked)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> TrainConfig:
        import yaml

        path = Path(path)
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({exc})") from None
        if not isinstance(values, dict):
            raise InputError(f"{path}: expected a mapping of configuration keys")
        return cls.from_dict(values, str(path))


def field_types() -> dict[str, type]:
    """Each key's Python type (bool, int, float or str), for the CLI's flags."""
    return {f.name: _TYPES[f.type] for f in fields(TrainConfig)}


_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def _coerce(name: str, value: Any, annotation: Any, source: str) -> Any:
    kind = _TYPES[annotation] if isinstance(annotation, str) else get_args(annotation)[0]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"{source}: key {name!r} expects {kind.__name__}, got {value!r}")
    return value


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise InputError(f"{name}: must be a positive integer, got {value}")

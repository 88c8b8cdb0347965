"""``lsr train`` as a library call: read the examples, fit the idf table when the configuration
needs one, train, and return the model folder."""

from __future__ import annotations

from pathlib import Path

import torch

from lsr.datasets import load_dataset, split_spec
from lsr.encoders import InferenceFreeEncoder, SpladeEncoder
from lsr.encoders.splade import load_masked_lm
from lsr.train.config import TrainConfig
from lsr.train.data.prepare import negative_refresher, training_examples
from lsr.train.examples import TrainingExample
from lsr.train.trainer import Callback, Trainer


def train(
    config: TrainConfig,
    resume: bool = False,
    progress: bool = True,
    on_checkpoint: Callback | None = None,
) -> Path:
    config = config.validate()
    examples = training_examples(config, progress)
    idf = corpus_idf(config, examples) if needs_idf(config) else None
    trainer = Trainer(
        config,
        examples,
        idf,
        on_checkpoint=on_checkpoint,
        progress=progress,
        refresher=negative_refresher(config, progress),
    )
    return trainer.train(resume=resume)


def needs_idf(config: TrainConfig) -> bool:
    return config.query_encoder == "idf" or config.doc_regularizer == "idf-flops"


def corpus_idf(config: TrainConfig, examples: list[TrainingExample]) -> torch.Tensor:
    """The idf of every token over the training corpus: ``corpus``, else the dataset's corpus
    when the data is a dataset, else the distinct documents of the examples (BM25's idf, as inference-free
    encoders have it)."""
    source = config.corpus or config.dataset
    if Path(source).name.endswith((".jsonl", ".jsonl.gz")):
        texts = sorted({doc for e in examples for doc in e.documents})
    else:
        dataset = load_dataset(split_spec(source)[0], config.data_dir or None)
        texts = (doc.full_text for doc in dataset.docs())
    mlm, tokenizer = load_masked_lm(config.model)
    fitted = InferenceFreeEncoder.fit(SpladeEncoder(mlm, tokenizer), texts)
    return torch.from_numpy(fitted.idf)

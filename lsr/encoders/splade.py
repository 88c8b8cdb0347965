"""SPLADE: a masked language model whose vocabulary logits, max-pooled, are the sparse vector.

Formal et al., "SPLADE v2: Sparse lexical and expansion model for information retrieval" (2021),
eq. 1-2: ``w_j = max_i log(1 + ReLU(logit_ij))`` over the non-padding positions i, as in
naver/splade's ``Splade.encode`` with ``agg="max"``. The same model encodes queries and documents
(siamese), each side with its own maximum length. Any Hugging Face masked LM works (BERT,
DistilBERT, RoBERTa...): the model runs with its vocabulary projection detached, and
:mod:`lsr.encoders.pooling` does the projection and the pooling in one pass.

An encoder is safe to share between threads (a server's request handlers): tokenization reads
per-length copies of the tokenizer (:mod:`lsr.encoders.tokens`) and the model runs as a headless
copy that shares the weights, so nothing is swapped or locked during a call.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from lsr.encoders.base import (
    Side,
    check_inputs,
    check_pruning,
    collection_metadata,
    write_config,
)
from lsr.encoders.pooling import (
    ACTIVATIONS,
    Projection,
    chunk_for,
    max_logits,
    prune,
)
from lsr.encoders.tokens import TruncatingTokenizer
from lsr.errors import InputError, ModelError
from lsr.vectors import SparseCollection

QUERY_MAX_LENGTH = 64
DOCUMENT_MAX_LENGTH = 256
BATCH_SIZE = 32


def bf16_screen_available() -> bool:
    """Whether this CPU has bfloat16 dot products (the screen is slower without them)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class SpladeEncoder:
    """A SPLADE encoder over a Hugging Face masked LM (siamese: one model for both sides).

    ``top_k`` and ``threshold`` prune every output vector (weights <= threshold dropped, then
    all but the top_k largest). ``screen`` turns on the exact bfloat16 screen of
    :mod:`lsr.encoders.pooling`; ``None`` turns it on where the CPU has bf16 dot products.
    ``device`` is a torch device ("cpu", "cuda"); the default is the CPU. ``activation`` is
    SPLADE's ``log(1 + ReLU(x))`` or the l0 variant (:data:`lsr.encoders.pooling.ACTIVATIONS`)
    that a model trained with it (``lsr train --activation l0``) needs at encoding time too.
    """

    kind = "splade"

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        query_max_length: int = QUERY_MAX_LENGTH,
        document_max_length: int = DOCUMENT_MAX_LENGTH,
        top_k: int | None = None,
        threshold: float = 0.0,
        batch_size: int = BATCH_SIZE,
        screen: bool | None = None,
        name: str | None = None,
        device: str | None = None,
        activation: str = "splade",
    ) -> None:
        for label, value in (
            ("query_max_length", query_max_length),
            ("document_max_length", document_max_length),
            ("batch_size", batch_size),
        ):
            if not isinstance(value, int) or value <= 0:
                raise InputError(f"{label} must be a positive integer, got {value!r}")
        check_pruning(top_k, threshold)
        if activation not in ACTIVATIONS:
            raise InputError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
            )
        self.activation = activation
        self.device = torch.device(device or "cpu")
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.query_max_length = query_max_length
        self.document_max_length = document_max_length
        self.top_k = top_k
        self.threshold = float(threshold)
        self.batch_size = batch_size
        on_cpu = self.device.type == "cpu"
        self.screen = (on_cpu and bf16_screen_available()) if screen is None else bool(screen)
        self.name = name or getattr(model, "name_or_path", "") or "splade"
        slot = _decoder_slot(self.model)
        self.projection = Projection.of(getattr(*slot))
        self._headless = _headless(self.model)
        self._tokenize = TruncatingTokenizer(tokenizer, (query_max_length, document_max_length))
        self.vocab_size = self.projection.vocab_size
        self.vocabulary = _vocabulary(tokenizer, self.vocab_size)
        # VectorMetadata keeps a tuple: handing it one saves copying 30k tokens per query.
        self._vocabulary_tuple = tuple(self.vocabulary)

    # -- loading and saving ---------------------------------------------------------------------

    @classmethod
    def load(cls, path_or_id: str | os.PathLike, **options: Any) -> SpladeEncoder:
        """Load a masked LM and its tokenizer from a local folder or a Hugging Face hub id."""
        model, tokenizer = load_masked_lm(path_or_id)
        return cls(model, tokenizer, name=str(path_or_id), **options)

    def options(self) -> dict[str, Any]:
        """The constructor options, as saved in ``lsr.json``."""
        return {
            "query_max_length": self.query_max_length,
            "document_max_length": self.document_max_length,
            "top_k": self.top_k,
            "threshold": self.threshold,
            "batch_size": self.batch_size,
            "activation": self.activation,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the model and tokenizer (Hugging Face layout) and ``lsr.json``."""
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            self.model.save_pretrained(path)
            self.tokenizer.save_pretrained(path)
        finally:
            hf_logging.enable_progress_bar()
        write_config(path, self.kind, self.options())

    # -- encoding -------------------------------------------------------------------------------

    def encode_queries(
        self, texts: Sequence[str], ids: Sequence[str] | None = None
    ) -> SparseCollection:
        return self._encode(texts, ids, "queries", self.query_max_length, progress=False)

    def encode_documents(
        self, texts: Sequence[str], ids: Sequence[str] | None = None, progress: bool = False
    ) -> SparseCollection:
        return self._encode(texts, ids, "documents", self.document_max_length, progress)

    def tokenize(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        """Token ids of each text, special tokens included, truncated to ``max_length``."""
        return self._tokenize(texts, max_length)

    def _encode(
        self,
        texts: Sequence[str],
        ids: Sequence[str] | None,
        side: Side,
        max_length: int,
        progress: bool,
    ) -> SparseCollection:
        ids = check_inputs(texts, ids)
        rows: list[tuple[np.ndarray, np.ndarray]] = [_EMPTY_ROW] * len(texts)
        # An empty text has no content to expand; its vector is empty rather than [CLS]'s.
        todo = [i for i, text in enumerate(texts) if text.strip()]
        token_ids = self.tokenize([texts[i] for i in todo], max_length)
        order = sorted(range(len(todo)), key=lambda k: -len(token_ids[k]))
        bar = tqdm(total=len(todo), unit="docs", disable=not progress, desc="batches", leave=False)
        with torch.inference_mode(), bar:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                weights = self.weights([token_ids[k] for k in batch])
                for k, row in zip(batch, _sparse_rows(weights)):
                    rows[todo[k]] = row
                bar.update(len(batch))
        metadata = collection_metadata(
            self._vocabulary_tuple,
            self.kind,
            side,
            model=self.name,
            max_length=max_length,
            top_k=self.top_k,
            threshold=self.threshold,
        )
        return SparseCollection.from_rows(ids, rows, metadata, source=f"{self.name} {side}")

    def weights(self, token_ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """Dense SPLADE weights (batch, vocabulary) of tokenized texts, pruned as configured."""
        return self.pool(*self.states(token_ids))

    def states(self, token_ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The MLM head's transformed states (batch, length, hidden), float32, of tokenized
        texts padded to the longest, and their attention mask (batch, length)."""
        input_ids, mask = _pad(token_ids, self.tokenizer.pad_token_id or 0)
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        # A single text has no padding: without a mask the model skips building one (~5%).
        attention_mask = None if len(token_ids) == 1 else mask
        with torch.inference_mode():
            states = self._headless(input_ids=input_ids, attention_mask=attention_mask).logits
        return states.float(), mask

    def pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """SPLADE weights of :meth:`states`' output: projection, max pooling, activation, pruning."""
        with torch.inference_mode():
            chunk = chunk_for(mask.numel())
            pooled = max_logits(states, mask, self.projection, chunk, self.screen)
            return prune(ACTIVATIONS[self.activation](pooled), self.top_k, self.threshold)


_EMPTY_ROW = (np.zeros(0, np.int64), np.zeros(0, np.float32))


def _pad(token_ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(t) for t in token_ids)
    input_ids = torch.full((len(token_ids), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(token_ids), length), dtype=torch.long)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = torch.as_tensor(ids)
        mask[row, : len(ids)] = 1
    return input_ids, mask


def _sparse_rows(weights: torch.Tensor) -> list[tuple[np.ndarray, np.ndarray]]:
    """(term ids, weights) of each row's non-zeros, found for the whole batch in one pass."""
    rows, terms = weights.nonzero(as_tuple=True)
    values = weights[rows, terms].cpu().numpy()
    ends = torch.cumsum(torch.bincount(rows, minlength=len(weights)), 0)[:-1].cpu().numpy()
    return list(zip(np.split(terms.cpu().numpy(), ends), np.split(values, ends)))


# -- the masked LM ----------------------------------------------------------------------------


def load_masked_lm(path_or_id: str | os.PathLike) -> tuple[torch.nn.Module, Any]:
    """A masked LM with its tokenizer; ModelError for a missing folder or a missing MLM head."""
    from transformers import AutoModelForMaskedLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    source = str(path_or_id)
    if not Path(source).is_dir() and _looks_like_path(source):
        raise ModelError(f"{source}: no such model folder")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model, info = AutoModelForMaskedLM.from_pretrained(source, output_loading_info=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"{source}: cannot load a masked language model and tokenizer from it ({exc})"
        ) from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    missing = sorted(info.get("missing_keys", ()))
    if missing:
        raise ModelError(
            f"{source}: the checkpoint has no masked-LM head (missing weights: "
            f"{', '.join(missing[:4])}{'...' if len(missing) > 4 else ''}); SPLADE needs a "
            "model saved with its MLM head (e.g. a *ForMaskedLM checkpoint)"
        )
    return model.eval(), tokenizer


def _looks_like_path(source: str) -> bool:
    """A hub id is ``name`` or ``owner/name``; anything else can only be a local path."""
    if os.sep != "/" and os.sep in source:
        return True
    return source.startswith((".", "/", "~")) or source.count("/") > 1


def _decoder_slot(model: torch.nn.Module) -> tuple[torch.nn.Module, str]:
    """The (parent module, attribute) holding the model's vocabulary projection."""
    decoder = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if not isinstance(decoder, torch.nn.Linear):
        raise ModelError(
            f"{type(model).__name__} has no linear vocabulary projection; SPLADE needs a masked LM"
        )
    for parent in model.modules():
        for attribute, child in parent.named_children():
            if child is decoder:
                return parent, attribute
    raise ModelError(f"{type(model).__name__}: cannot locate the vocabulary projection")


def _headless(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose vocabulary projection is the identity, sharing every weight.

    It returns the MLM head's transformed states, whatever the head's architecture; the
    projection itself is done by :func:`lsr.encoders.pooling.max_logits`. Only the module
    objects are copied (the parameters and buffers are the model's own, so the copy costs no
    memory), which lets threads run it side by side, where swapping the projection out of the
    one model (:func:`_detached`) needs a lock.
    """
    shared = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    headless = copy.deepcopy(model, memo=shared)
    parent, attribute = _decoder_slot(headless)
    setattr(parent, attribute, torch.nn.Identity())
    return headless.eval()


@contextlib.contextmanager
def _detached(slot: tuple[torch.nn.Module, str]) -> Iterator[None]:
    """Run the model with its vocabulary projection replaced by the identity.

    The model then returns the MLM head's transformed states, whatever the head's architecture.
    Training uses it (gradients must reach the one model being trained); encoding runs a
    :func:`_headless` copy instead, which needs no lock between threads.
    """
    parent, attribute = slot
    decoder = getattr(parent, attribute)
    setattr(parent, attribute, torch.nn.Identity())
    try:
        yield
    finally:
        setattr(parent, attribute, decoder)


def _vocabulary(tokenizer: Any, size: int) -> list[str]:
    """Token of every output id; ids the tokenizer lacks (padded vocabularies) get a placeholder."""
    by_id = {i: t for t, i in tokenizer.get_vocab().items() if i < size}
    return [by_id.get(i, f"[unused-id-{i}]") for i in range(size)]

"""What every encoder over a Hugging Face transformer shares, whatever turns its states into
term weights: input checks, per-length tokenization, batching by length, sparse rows out,
the options saved in ``lsr.json``, and loading a checkpoint with a clear error.

Subclasses (:class:`lsr.encoders.SpladeEncoder`: vocabulary logits, max-pooled;
:class:`lsr.encoders.MlpEncoder`: one weight per input token) implement :meth:`weights`, the
dense (batch, vocabulary) weights of tokenized texts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from lsr.encoders.base import Side, check_inputs, check_pruning, collection_metadata, write_config
from lsr.encoders.tokens import TruncatingTokenizer
from lsr.errors import InputError, ModelError
from lsr.vectors import SparseCollection

QUERY_MAX_LENGTH = 64
DOCUMENT_MAX_LENGTH = 256
BATCH_SIZE = 32


class TransformerEncoder:
    """Texts to sparse vectors through a transformer; :meth:`weights` is the subclass's part.

    ``top_k`` and ``threshold`` prune every output vector (weights <= threshold dropped, then
    all but the top_k largest). ``device`` is a torch device ("cpu", "cuda"); the default is the
    CPU.
    """

    kind = ""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        vocab_size: int,
        query_max_length: int = QUERY_MAX_LENGTH,
        document_max_length: int = DOCUMENT_MAX_LENGTH,
        top_k: int | None = None,
        threshold: float = 0.0,
        batch_size: int = BATCH_SIZE,
        name: str | None = None,
        device: str | None = None,
    ) -> None:
        for label, value in (
            ("query_max_length", query_max_length),
            ("document_max_length", document_max_length),
            ("batch_size", batch_size),
        ):
            if not isinstance(value, int) or value <= 0:
                raise InputError(f"{label} must be a positive integer, got {value!r}")
        check_pruning(top_k, threshold)
        self.device = torch.device(device or "cpu")
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.query_max_length = query_max_length
        self.document_max_length = document_max_length
        self.top_k = top_k
        self.threshold = float(threshold)
        self.batch_size = batch_size
        self.name = name or getattr(model, "name_or_path", "") or self.kind
        self._tokenize = TruncatingTokenizer(tokenizer, (query_max_length, document_max_length))
        self.vocab_size = vocab_size
        self.vocabulary = _vocabulary(tokenizer, vocab_size)
        # VectorMetadata keeps a tuple: handing it one saves copying 30k tokens per query.
        self._vocabulary_tuple = tuple(self.vocabulary)

    def options(self) -> dict[str, Any]:
        """The constructor options, as saved in ``lsr.json``."""
        return {
            "query_max_length": self.query_max_length,
            "document_max_length": self.document_max_length,
            "top_k": self.top_k,
            "threshold": self.threshold,
            "batch_size": self.batch_size,
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

    def weights(self, token_ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """Dense weights (batch, vocabulary) of tokenized texts, pruned as configured."""
        raise NotImplementedError

    def sparse_rows(self, token_ids: Sequence[Sequence[int]]) -> list[SparseRow]:
        """The non-zeros of :meth:`weights`, a (term ids ascending, weights) pair per text."""
        return _sparse_rows(self.weights(token_ids))

    def _encode(
        self,
        texts: Sequence[str],
        ids: Sequence[str] | None,
        side: Side,
        max_length: int,
        progress: bool,
    ) -> SparseCollection:
        ids = check_inputs(texts, ids)
        rows: list[SparseRow] = [_EMPTY_ROW] * len(texts)
        # An empty text has no content to weigh; its vector is empty rather than [CLS]'s.
        todo = [i for i, text in enumerate(texts) if text.strip()]
        token_ids = self.tokenize([texts[i] for i in todo], max_length)
        order = sorted(range(len(todo)), key=lambda k: -len(token_ids[k]))
        # No bar object at all unless asked for: a disabled one still costs a query ~10 us.
        bar = tqdm(total=len(todo), unit="docs", desc="batches", leave=False) if progress else None
        with torch.inference_mode(), bar or contextlib.nullcontext():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                for k, row in zip(batch, self.sparse_rows([token_ids[k] for k in batch])):
                    rows[todo[k]] = row
                if bar is not None:
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
        return SparseCollection.from_canonical_rows(
            ids, rows, metadata, source=f"{self.name} {side}"
        )

    def padded(self, token_ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids padded to the longest text and their attention mask, on the device."""
        input_ids, mask = _pad(token_ids, self.tokenizer.pad_token_id or 0)
        return input_ids.to(self.device), mask.to(self.device)


# (term ids ascending, their weights): a vector as the encoders produce it.
SparseRow = tuple[np.ndarray, np.ndarray]
_EMPTY_ROW: SparseRow = (np.zeros(0, np.int64), np.zeros(0, np.float32))


def _pad(token_ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    if len(token_ids) == 1:  # a query: nothing to pad
        input_ids = torch.tensor(token_ids, dtype=torch.long)
        return input_ids, torch.ones_like(input_ids)
    length = max(len(t) for t in token_ids)
    input_ids = torch.full((len(token_ids), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(token_ids), length), dtype=torch.long)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = torch.as_tensor(ids)
        mask[row, : len(ids)] = 1
    return input_ids, mask


def _sparse_rows(weights: torch.Tensor) -> list[SparseRow]:
    """(term ids, weights) of each row's non-zeros, found for the whole batch in one pass."""
    rows, terms = weights.nonzero(as_tuple=True)
    values = weights[rows, terms].cpu().numpy()
    ends = torch.cumsum(torch.bincount(rows, minlength=len(weights)), 0)[:-1].cpu().numpy()
    return list(zip(np.split(terms.cpu().numpy(), ends), np.split(values, ends)))


def _vocabulary(tokenizer: Any, size: int) -> list[str]:
    """Token of every output id; ids the tokenizer lacks (padded vocabularies) get a placeholder."""
    by_id = {i: t for t, i in tokenizer.get_vocab().items() if i < size}
    return [by_id.get(i, f"[unused-id-{i}]") for i in range(size)]


def load_pretrained(
    path_or_id: str | os.PathLike, auto_class: Any, what: str
) -> tuple[torch.nn.Module, Any, list[str]]:
    """``auto_class.from_pretrained`` with its tokenizer, and the weights the checkpoint lacked.

    ModelError for a missing folder or a checkpoint ``auto_class`` cannot read (``what`` names
    the model kind in the message). A tokenizer without a padding token (GPT-2's, Llama's) pads
    with its end-of-text token: padding positions are masked out, so any id does.
    """
    from transformers.utils import logging as hf_logging

    source = str(path_or_id)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = load_pretrained_tokenizer(source)
        model, info = auto_class.from_pretrained(source, output_loading_info=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{source}: cannot load a {what} from it ({exc})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer, sorted(info.get("missing_keys", ()))


def load_pretrained_tokenizer(path_or_id: str | os.PathLike) -> Any:
    """The tokenizer of a model folder or hub id; ModelError when there is none."""
    from transformers import AutoTokenizer

    source = str(path_or_id)
    if not Path(source).is_dir() and _looks_like_path(source):
        raise ModelError(f"{source}: no such model folder")
    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{source}: cannot load a tokenizer from it ({exc})") from None


def _looks_like_path(source: str) -> bool:
    """A hub id is ``name`` or ``owner/name``; anything else can only be a local path."""
    if os.sep != "/" and os.sep in source:
        return True
    return source.startswith((".", "/", "~")) or source.count("/") > 1

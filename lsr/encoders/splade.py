"""SPLADE: a masked language model whose vocabulary logits, max-pooled, are the sparse vector.

Formal et al., "SPLADE v2: Sparse lexical and expansion model for information retrieval" (2021),
eq. 1-2: ``w_j = max_i log(1 + ReLU(logit_ij))`` over the non-padding positions i, as in
naver/splade's ``Splade.encode`` with ``agg="max"``. The same model encodes queries and documents
(siamese), each side with its own maximum length. Any Hugging Face masked LM works (BERT,
DistilBERT, RoBERTa...), and any causal LM with its echo input (:mod:`lsr.encoders.echo`): the
model runs with its vocabulary projection detached, and :mod:`lsr.encoders.pooling` does the
projection and the pooling in one pass.

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
from typing import Any

import torch

from lsr.encoders.bert_states import BertStates
from lsr.encoders.echo import echo_inputs, second_copy
from lsr.encoders.pooling import (
    ACTIVATIONS,
    Projection,
    candidate_max_logits,
    chunk_for,
    max_logits,
    prune,
)
from lsr.encoders.transformer import (
    BATCH_SIZE,
    DOCUMENT_MAX_LENGTH,
    QUERY_MAX_LENGTH,
    SparseRow,
    TransformerEncoder,
    load_pretrained,
)
from lsr.errors import InputError, ModelError


def bf16_screen_available() -> bool:
    """Whether this CPU has bfloat16 dot products (AVX512-BF16 or AMX).

    The int8 screen of :mod:`lsr.encoders.pooling` is on by default where this holds: every such
    CPU has int8 dot products too (AVX512-VNNI came first), without which the screen is slower
    than the float32 projection it saves. lsr.train's teachers run under bf16 autocast there.
    """
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class SpladeEncoder(TransformerEncoder):
    """A SPLADE encoder over a Hugging Face masked LM (siamese: one model for both sides).

    ``screen`` turns on the exact int8 screen of :mod:`lsr.encoders.pooling`; ``None`` turns
    it on where the CPU has bf16 (hence int8) dot products. ``activation`` is SPLADE's ``log(1 + ReLU(x))``
    or the l0 variant (:data:`lsr.encoders.pooling.ACTIVATIONS`) that a model trained with it
    (``lsr train --activation l0``) needs at encoding time too. ``echo`` is for causal LMs
    (:mod:`lsr.encoders.echo`): each text is read twice and pooled over its second copy; it is
    on by default for a backbone that has no masked-LM class. Pruning and the rest:
    :class:`lsr.encoders.transformer.TransformerEncoder`.
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
        echo: bool = False,
    ) -> None:
        if activation not in ACTIVATIONS:
            raise InputError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
            )
        self.activation = activation
        self.echo = bool(echo)
        slot = _decoder_slot(model)
        self.projection = Projection.of(getattr(*slot))
        super().__init__(
            model,
            tokenizer,
            self.projection.vocab_size,
            query_max_length=query_max_length,
            document_max_length=document_max_length,
            top_k=top_k,
            threshold=threshold,
            batch_size=batch_size,
            name=name,
            device=device,
        )
        self.projection = Projection.of(getattr(*_decoder_slot(self.model)))  # on the device
        on_cpu = self.device.type == "cpu"
        self.screen = (on_cpu and bf16_screen_available()) if screen is None else bool(screen)
        self._headless = _headless(self.model)
        # A single text (a query at serving time) through plain torch calls where the model is
        # a plain BERT (bit-identical states, half the CPU time; lsr.encoders.bert_states).
        self._one_text = None if self.echo else BertStates.of(self.model)

    @classmethod
    def load(cls, path_or_id: str | os.PathLike, **options: Any) -> SpladeEncoder:
        """Load a masked (or, with echo, causal) LM and its tokenizer from a local folder or a
        Hugging Face hub id."""
        model, tokenizer, causal = load_language_model(path_or_id)
        options.setdefault("echo", causal)
        return cls(model, tokenizer, name=str(path_or_id), **options)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "activation": self.activation, "echo": self.echo}

    def weights(self, token_ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """Dense SPLADE weights (batch, vocabulary) of tokenized texts, pruned as configured."""
        return self.pool(*self.states(token_ids))

    def sparse_rows(self, token_ids: Sequence[Sequence[int]]) -> list[SparseRow]:
        """The non-zeros of :meth:`weights`; for a single text under the screen without top_k
        (a query at serving time), straight from the screen's candidates
        (:func:`lsr.encoders.pooling.candidate_max_logits`): the same row, without building and
        scanning a dense one of the whole vocabulary."""
        if not (self.screen and len(token_ids) == 1 and self.top_k is None):
            return super().sparse_rows(token_ids)
        states, mask = self.states(token_ids)
        with torch.inference_mode():
            chunk = chunk_for(mask.numel())
            columns, logits = candidate_max_logits(states, mask, self.projection, chunk)
            weights = ACTIVATIONS[self.activation](logits[0])
            kept = weights > self.threshold  # prune's threshold; zeros are not kept either
            return [(columns[0, kept].cpu().numpy(), weights[kept].cpu().numpy())]

    def states(self, token_ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The MLM head's transformed states (batch, length, hidden), float32, of tokenized
        texts padded to the longest, and their attention mask (batch, length)."""
        input_ids, mask = self.padded(token_ids)
        model_ids, model_mask = echo_inputs(input_ids, mask) if self.echo else (input_ids, mask)
        single = len(token_ids) == 1
        with torch.inference_mode():
            if single and self._one_text is not None and not self.model.training:
                states = self._one_text(model_ids)
            else:
                # A single text has no padding: without a mask the model skips building one.
                attention_mask = None if single else model_mask
                states = self._headless(input_ids=model_ids, attention_mask=attention_mask).logits
        if self.echo:
            states = second_copy(states, mask)
        return states.float(), mask

    def pool(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """SPLADE weights of :meth:`states`' output: projection, max pooling, activation, pruning."""
        with torch.inference_mode():
            chunk = chunk_for(mask.numel())
            pooled = max_logits(states, mask, self.projection, chunk, self.screen)
            return prune(ACTIVATIONS[self.activation](pooled), self.top_k, self.threshold)


# -- the masked LM ----------------------------------------------------------------------------


def load_language_model(path_or_id: str | os.PathLike) -> tuple[torch.nn.Module, Any, bool]:
    """A language model with a vocabulary head, its tokenizer, and whether it is causal.

    A checkpoint whose architecture has a masked-LM class loads as one (BERT, DistilBERT,
    RoBERTa...); any other loads as a causal LM (Llama, Mistral, GPT-2...), whose LM head gives
    the vocabulary logits (Mistral-SPLADE). ModelError for a missing folder or head.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    try:
        model_type = AutoConfig.from_pretrained(str(path_or_id)).model_type
    except (OSError, ValueError, KeyError):
        model_type = None  # load_pretrained names the problem
    causal = model_type is not None and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    auto_class = AutoModelForCausalLM if causal else AutoModelForMaskedLM
    what = "causal language model" if causal else "masked language model"
    model, tokenizer, missing = load_pretrained(path_or_id, auto_class, what)
    if missing:
        raise ModelError(
            f"{path_or_id}: the checkpoint has no {'causal' if causal else 'masked'}-LM head "
            f"(missing weights: "
            f"{', '.join(missing[:4])}{'...' if len(missing) > 4 else ''}); SPLADE needs a "
            "model saved with its vocabulary head (a *ForMaskedLM or *ForCausalLM checkpoint)"
        )
    return model, tokenizer, causal


def load_masked_lm(path_or_id: str | os.PathLike) -> tuple[torch.nn.Module, Any]:
    """The language model of :func:`load_language_model` and its tokenizer."""
    model, tokenizer, _ = load_language_model(path_or_id)
    return model, tokenizer


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

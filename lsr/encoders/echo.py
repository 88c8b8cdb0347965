"""Echo input for causal (decoder-only) backbones: the text twice, pooled over the second copy.

A causal LM's token i sees only tokens 0..i, so pooling over a text read once would weigh early
tokens with almost no context. Echo embeddings (Springer et al., "Repetition Improves Language
Model Embeddings", 2024), as Mistral-SPLADE uses them (Doshi et al., "Mistral-SPLADE: LLMs for
better Learned Sparse Retrieval", 2024, sec. 3): the input is the tokenized text followed by
the same tokens again, and only the second copy's positions are pooled, so that every pooled
position has attended to the whole text. The rewrite works on padded batches as tensors, so
training and encoding share it (and a batch needs no second tokenizer call).
"""

from __future__ import annotations

import torch


def echo_inputs(input_ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's ``n`` real tokens, then the same ``n`` again, right-padded to twice the length.

    ``input_ids`` and ``mask`` are (batch, length), each row's real tokens first. Returns the
    echoed ids and attention mask, (batch, 2 * length); padding positions repeat a real id
    (they are masked out, so any id does).
    """
    length = input_ids.shape[1]
    n = mask.sum(dim=1, keepdim=True)
    positions = torch.arange(2 * length, device=input_ids.device)[None, :]
    source = torch.where(positions < n, positions, positions - n).clamp(0, length - 1)
    return input_ids.gather(1, source), (positions < 2 * n).to(mask.dtype)


def second_copy(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The states of the second copy, (batch, length, hidden), aligned with ``mask``.

    ``states`` are the echoed input's (batch, 2 * length, hidden); position i of row b comes
    from position n_b + i, so the original ``mask`` marks the pooled positions.
    """
    length = mask.shape[1]
    n = mask.sum(dim=1, keepdim=True)
    index = (n + torch.arange(length, device=states.device)[None, :]).clamp(max=2 * length - 1)
    return states.gather(1, index.unsqueeze(-1).expand(-1, -1, states.shape[-1]))

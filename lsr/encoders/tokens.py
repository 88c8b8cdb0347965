"""Token ids of texts, truncated to a maximum length, safely from many threads at once.

A Hugging Face fast tokenizer keeps its truncation setting on the shared Rust tokenizer and
resets it inside any call whose ``max_length`` differs from the last one
(``PreTrainedTokenizerFast.set_truncation_and_padding``). Two threads encoding queries (64
tokens) and documents (256) at once can then each run with the other's setting, silently, or
fail with "Already borrowed" (huggingface/tokenizers#537). Here every maximum length gets its
own copy of the Rust tokenizer, configured once and only read afterwards; a Python-only ("slow")
tokenizer, which has no such copy, is called under a lock instead.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any


class TruncatingTokenizer:
    """``tokenize(texts, max_length)``: special tokens added, truncated as the wrapped tokenizer
    truncates (longest first, on its ``truncation_side``), no padding."""

    def __init__(self, tokenizer: Any, max_lengths: Sequence[int] = ()) -> None:
        self.tokenizer = tokenizer
        self._lock = threading.Lock()
        self._backends: dict[int, Any] = {}
        for max_length in max_lengths:
            self._backend(max_length)

    def __call__(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        backend = self._backend(max_length)
        if backend is None:
            with self._lock:
                encoded = self.tokenizer(list(texts), truncation=True, max_length=max_length)
            return encoded["input_ids"]
        if len(texts) == 1:  # no batch machinery (a thread pool) for a single query
            return [backend.encode(texts[0]).ids]
        return [encoding.ids for encoding in backend.encode_batch(list(texts))]

    def _backend(self, max_length: int) -> Any:
        """The Rust tokenizer that truncates to ``max_length``, made on first use; None if slow."""
        backend = self._backends.get(max_length)
        if backend is not None or not getattr(self.tokenizer, "is_fast", False):
            return backend
        with self._lock:
            if max_length not in self._backends:
                from tokenizers import Tokenizer

                backend = Tokenizer.from_str(self.tokenizer.backend_tokenizer.to_str())
                backend.no_padding()
                backend.enable_truncation(
                    max_length,
                    strategy="longest_first",
                    direction=getattr(self.tokenizer, "truncation_side", "right"),
                )
                self._backends[max_length] = backend
            return self._backends[max_length]

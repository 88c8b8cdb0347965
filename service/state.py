"""What a service serves: an index, its query encoder and docstore, loaded together and swapped
together.

A :class:`ServingState` is immutable. A request takes the current one once and uses it to the end,
so a reload (:class:`StateHolder.swap`) replaces the whole state with one reference assignment:
requests in flight finish on the old index, the next ones see the new one, and none sees an
index with another index's encoder. The old index's memory maps close when its last request
drops it.

The query encoder defaults to the model recorded in the index's provenance (``lsr encode``
writes ``model`` for SPLADE vectors); BM25 and inference-free vectors record how they were
weighted but not the folder the fitted encoder was saved to, so those need ``--model``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsr.index import persist
from lsr.index.exact import ExactIndex
from lsr.index.open import open_index
from lsr.index.segmented import SegmentedIndex
from lsr.index.seismic import SeismicIndex

from lsr.docstore import Docstore
from lsr.errors import InputError

if TYPE_CHECKING:  # lsr.encoders imports torch: a --no-model service never loads it
    from lsr.encoders import Encoder

#: Opens the index a service serves (``open_index``, or the Ray-served one).
Opener = Callable[[Path], SeismicIndex | SegmentedIndex]


@dataclass(frozen=True)
class ServingState:
    index_dir: Path
    #: A built index, or the live commit of a living one (:func:`lsr.index.open.open_index`).
    index: SeismicIndex | SegmentedIndex
    #: The searcher: the index itself, or exact search over its stored vectors.
    searcher: SeismicIndex | SegmentedIndex | ExactIndex
    #: The query encoder; None when the service takes vectors only (``--no-model``).
    encoder: Encoder | None
    model: str | None
    docstore: Docstore | None
    #: Term names (the index's vocabulary, else the encoder's; None: the vectors have none).
    vocabulary: tuple[str, ...] | None
    token_ids: dict[str, int]
    count_tokens: Callable[[str], int] | None
    loaded_at: float

    @property
    def exact(self) -> bool:
        return isinstance(self.searcher, ExactIndex) or getattr(self.searcher, "is_exact", False)

    def describe(self) -> dict[str, Any]:
        """What ``/stats`` shows of the index and model."""
        return {
            "index_dir": str(self.index_dir),
            "documents": len(self.index),
            "vocab_size": self.index.vocab_size,
            "search": "exact" if self.exact else self.index.engine_for(),
            "index_bytes": self.index.nbytes(),
            "build_parameters": self.index.config.to_json(),
            "search_defaults": self.index.search_defaults.to_json(),
            "model": self.model,
            "encoder": self.encoder.kind if self.encoder is not None else None,
            "docstore_documents": len(self.docstore) if self.docstore is not None else 0,
        }


def load_state(
    index_dir: str | Path,
    model: str | None = None,
    exact: bool = False,
    previous: ServingState | None = None,
    vectors_only: bool = False,
    engine: str | None = None,
    opener: Opener = open_index,
) -> ServingState:
    """Open ``index_dir`` with its query encoder (none if ``vectors_only``) and docstore.

    ``previous``'s encoder is reused when the model is the same (a nightly rebuild reloads in
    the time it takes to map the index, not to load a model). ``opener`` opens the index
    (:func:`lsr.service.ray_serve.open_on_ray`: its shards searched by Ray Serve deployments).
    """
    index_dir = Path(index_dir)
    index = opener(index_dir)
    if engine is not None:  # --engine: this service's choice over the index's stored one
        index.search_defaults = replace(index.search_defaults, engine=engine)
    encoder = None
    if not vectors_only:
        model = model or recorded_model(index, index_dir)
        encoder = query_encoder(model, index, previous)
    vocabulary = index.metadata.vocabulary or (encoder.vocabulary if encoder else None)
    return ServingState(
        index_dir=index_dir,
        index=index,
        searcher=index.exact() if exact else index,
        encoder=encoder,
        model=model if encoder else None,
        docstore=Docstore.open(index_dir),
        vocabulary=tuple(vocabulary) if vocabulary else None,
        token_ids={token: i for i, token in enumerate(vocabulary or ())},
        count_tokens=token_counter(encoder) if encoder else None,
        loaded_at=time.time(),
    )


def query_encoder(
    model: str, index: SeismicIndex | SegmentedIndex, previous: ServingState | None
) -> Encoder:
    """The encoder of ``model`` (``previous``'s if it is the same), checked against the index."""
    from lsr.encoders import load

    if previous is not None and previous.model == model and previous.encoder is not None:
        encoder = previous.encoder
    else:
        encoder = load(model)
    if encoder.vocab_size != index.vocab_size:
        raise InputError(
            f"model {model}: vocabulary of {encoder.vocab_size} terms, but the index has "
            f"{index.vocab_size}; encode queries with the model the documents were encoded with"
        )
    return encoder


def recorded_model(index: SeismicIndex | SegmentedIndex, index_dir: Path) -> str:
    """The query model the index's documents were encoded with, from their provenance."""
    from lsr.encoders import MlpEncoder, PerSideEncoder, SpladeEncoder

    provenance = index.metadata.provenance
    kind = provenance.get("encoder", "unknown")
    model = provenance.get("model")
    # the kinds whose recorded model encodes the queries too
    if model is None or kind not in (SpladeEncoder.kind, MlpEncoder.kind, PerSideEncoder.kind):
        raise InputError(
            f"{index_dir / persist.MANIFEST}: the documents are {kind} vectors and their "
            "provenance names no query model that encodes queries for them; pass --model "
            "(for BM25 and inference-free: the folder saved by `lsr encode --save-model`)"
        )
    if str(model).startswith((".", "/")) and not Path(model).exists():
        raise InputError(
            f"{index_dir / persist.MANIFEST}: the recorded model {model} does not exist "
            "from here; pass --model"
        )
    return str(model)


def token_counter(encoder: Encoder) -> Callable[[str], int]:
    """How many tokens of its own vocabulary ``encoder`` makes of a query text."""
    from lsr.encoders import Bm25Encoder, InferenceFreeEncoder

    if isinstance(encoder, Bm25Encoder):
        return lambda text: len(encoder.analyzer(text))
    tokenizer = (
        encoder.documents.tokenizer
        if isinstance(encoder, InferenceFreeEncoder)
        else encoder.tokenizer  # type: ignore[attr-defined]
    )
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


class StateHolder:
    """The current :class:`ServingState` (None until the first load completes) and the last
    load error; reloads are serialized, reads take no lock."""

    def __init__(self) -> None:
        self.current: ServingState | None = None
        self.error: str | None = None
        self.reload_lock = threading.Lock()

    def swap(self, state: ServingState) -> None:
        self.current = state
        self.error = None

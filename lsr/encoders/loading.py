"""``load(path_or_id)``: the encoder a model folder describes, by its ``lsr.json``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lsr.encoders.base import CONFIG_FILE, Encoder, read_config
from lsr.encoders.binary import BinaryEncoder
from lsr.encoders.bm25 import Bm25Encoder
from lsr.encoders.inference_free import InferenceFreeEncoder
from lsr.encoders.mlp import MlpEncoder
from lsr.encoders.per_side import PerSideEncoder
from lsr.encoders.splade import SpladeEncoder
from lsr.errors import InputError, ModelError

ENCODERS = {
    SpladeEncoder.kind: SpladeEncoder,
    InferenceFreeEncoder.kind: InferenceFreeEncoder,
    MlpEncoder.kind: MlpEncoder,
    PerSideEncoder.kind: PerSideEncoder,
    Bm25Encoder.kind: Bm25Encoder,
    BinaryEncoder.kind: BinaryEncoder,
}


def load(path_or_id: str | os.PathLike, **options: Any) -> Encoder:
    """Load an encoder; ``options`` override those saved in ``lsr.json``.

    A folder with ``lsr.json`` loads as the kind it names; a folder without one, or a hub id,
    loads as a :class:`SpladeEncoder` over the masked LM it holds.
    """
    record = read_config(path_or_id) if Path(path_or_id).is_dir() else None
    kind, saved = (
        (SpladeEncoder.kind, {}) if record is None else (record["kind"], record["options"])
    )
    if kind not in ENCODERS:
        raise ModelError(
            f"{Path(path_or_id) / CONFIG_FILE}: unknown encoder kind {kind!r}; "
            f"expected one of {', '.join(ENCODERS)}"
        )
    try:
        return ENCODERS[kind].load(path_or_id, **{**saved, **options})
    except TypeError as exc:
        raise InputError(
            f"{path_or_id}: an option does not apply to a {kind} encoder ({exc})"
        ) from None

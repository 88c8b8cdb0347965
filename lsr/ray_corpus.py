"""The corpus of ``lsr encode --ray`` read by Ray Data: files read and parsed as Ray tasks.

Ray Data reads a JSONL file (``.jsonl``, ``.jsonl.gz``), a Parquet file, or the corpus file of a
BEIR folder (``corpus.jsonl[.gz]``) in blocks on the runtime's workers, and composes each
document's text there (title and body joined by one space, as
:attr:`lsr.datasets.Document.full_text` does); this process receives the ``(id, text)`` records
in the file's order (Ray Data's ``preserve_order``) and cuts them into the chunks of
:func:`lsr.encoding.encode_to_parquet`, so a rerun's chunks are the same documents and resume
where the last run stopped. On a cluster the path must be readable by every node (a shared file
system, or a URI such as ``s3://...``); sources Ray Data does not read (ir-datasets ids) are read
by this process as without ``--ray``.

The reading tasks ask Ray for no CPU: the encoder actors hold the CPUs (one each, by default
every CPU of a local runtime), and parsing a block is small beside encoding it; tasks that
asked for a CPU would wait for ever behind the actors that wait for their records.

Ray is imported inside the functions only (``pip install lsr[ray]``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from lsr.datasets import BeirFolder, load_dataset
from lsr.errors import DatasetError

#: Records per batch this process takes from Ray Data's stream.
BATCH = 4096
ID_COLUMNS = ("_id", "id")


SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("bad", pa.string())])


def corpus_file(source: str | os.PathLike, data_dir: str | os.PathLike | None) -> Path | None:
    """The file Ray Data reads for ``source`` (a JSONL or Parquet file, or a BEIR folder's
    corpus file); ``None`` for a source it does not read (an ir-datasets id)."""
    path = Path(source)
    if path.is_file():
        return path
    dataset = load_dataset(source, data_dir)
    return dataset.corpus_path if isinstance(dataset, BeirFolder) else None


def read_corpus(path: Path) -> Iterator[tuple[str, str]]:
    """``(id, text)`` records of the JSONL or Parquet file ``path``, read by Ray Data, in the
    file's order. Ids that are integers become strings, missing titles and texts empty ones; a
    record whose id is missing, or whose id, title or text is not a string, is named by its
    number in the file (a task's exception reaches here without its message: the tasks mark
    bad records, this process names them)."""
    import ray

    try:
        yield from _checked(_stream(path), path)
    except ray.exceptions.RayTaskError as exc:
        cause = str(exc).strip().splitlines()[-1]
        raise DatasetError(f"{path}: Ray Data could not read it ({cause})") from None


def _stream(path: Path) -> Iterator[Any]:
    """Ray Data's batches of ``id``, ``text`` and ``bad`` (the field at fault, or empty)."""
    import ray

    context = ray.data.DataContext.get_current()
    ordered = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        dataset = _read(path).map_batches(_records, batch_format="pyarrow", num_cpus=0)
        yield from dataset.iter_batches(batch_size=BATCH, batch_format="pyarrow")
    finally:
        context.execution_options.preserve_order = ordered


def _checked(batches: Iterator[Any], path: Path) -> Iterator[tuple[str, str]]:
    seen = 0
    for batch in batches:
        bad = batch["bad"].to_pylist()
        if any(bad):
            row = next(i for i, field in enumerate(bad) if field)
            raise DatasetError(
                f"{path}, record {seen + row + 1}, field {bad[row]!r}: missing or not a string"
            )
        seen += len(bad)
        yield from zip(batch["id"].to_pylist(), batch["text"].to_pylist())


def _read(path: Path) -> Any:
    import ray

    if path.suffix == ".parquet":
        return ray.data.read_parquet(str(path), num_cpus=0)
    # Arrow's reader of JSON lines: strings stay strings
    return ray.data.read_json(str(path), num_cpus=0)


def _records(table: Any) -> Any:
    """One block's ids and texts (runs in a Ray task): the text composed as
    :attr:`lsr.datasets.Document.full_text` composes it, the first bad field of each record
    in ``bad``."""
    names = table.column_names
    id_column = next((name for name in ID_COLUMNS if name in names), "_id")
    columns = [_column(table, name) for name in (id_column, "title", "text")]
    ids, texts, bad = [], [], []
    for doc_id, title, text in zip(*columns):
        if isinstance(doc_id, int) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)
        faults = [
            name
            for name, value, ok in (
                (id_column, doc_id, isinstance(doc_id, str) and doc_id),
                ("title", title, title is None or isinstance(title, str)),
                ("text", text, text is None or isinstance(text, str)),
            )
            if not ok
        ]
        ids.append(doc_id if not faults else "")
        texts.append(f"{title or ''} {text or ''}".strip() if not faults else "")
        bad.append(faults[0] if faults else "")
    return pa.table({"id": ids, "text": texts, "bad": bad}, schema=SCHEMA)


def _column(table: Any, name: str) -> list[Any]:
    """Column ``name`` as Python values (``None`` throughout when absent)."""
    if name not in table.column_names:
        return [None] * table.num_rows
    return table[name].to_pylist()

"""Test collections: BEIR folders on disk and ir-datasets ids, behind one small interface.

A dataset is named by a local BEIR folder (``corpus.jsonl[.gz]``, ``queries.jsonl[.gz]``,
``qrels/<split>.tsv``), by a name found on the data search path (``--data-dir``, then the
``LSR_DATA`` variable), or by an ir-datasets id (``beir/scifact``) for machines with a network. A split may follow the name: ``scifact/test``, ``beir/scifact/test``.

Documents are read as BEIR does: ``title + " " + text``. Every malformed line is reported with
its file and line number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsr import jsonl
from lsr.errors import DatasetError, where

# Classic collections number queries and documents independently from 1, so a query id equal to
# a document id is a coincidence; BEIR's `ignore_identical_ids` must stay off for them.
INDEPENDENT_ID_COLLECTIONS = frozenset(
    {"vaswani", "cranfield", "cacm", "cisi", "medline", "npl", "lisa", "time", "adi"}
)
DATASET_CONFIG = (
    "lsr-dataset.json"  # optional per-folder declaration, e.g. {"ignore_identical_ids": false}
)


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str

    @property
    def full_text(self) -> str:
        """The text BEIR encodes: title and body joined by one space."""
        return f"{self.title} {self.text}".strip()


class Dataset:
    """A corpus with its queries and relevance judgements."""

    name: str
    ignore_identical_ids: bool

    def docs(self) -> Iterator[Document]:
        raise NotImplementedError

    def doc_count(self) -> int | None:
        return None

    def queries(self, split: str | None = None) -> dict[str, str]:
        raise NotImplementedError

    def qrels(self, split: str | None = None) -> dict[str, dict[str, int]]:
        raise NotImplementedError

    def splits(self) -> list[str]:
        raise NotImplementedError

    def default_split(self) -> str | None:
        """The split evaluated when none is named: BEIR's ``test`` where there is one."""
        splits = self.splits()
        if "test" in splits:
            return "test"
        return splits[0] if len(splits) == 1 else None


# -- BEIR folders -----------------------------------------------------------------------------


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.jsonl", f"{stem}.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _record_id(record: dict[str, Any], path: Path, number: int) -> str:
    for key in ("_id", "id"):
        value = record.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    raise DatasetError(f"{where(path, number, '_id')}: missing or not a string")


def _record_text(record: dict[str, Any], key: str, path: Path, number: int) -> str:
    value = record.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DatasetError(f"{where(path, number, key)}: expected a string, got {value!r}")
    return value


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Judgements from a BEIR TSV (``query-id, corpus-id, score`` with a header) or a TREC
    qrels file (``qid iteration docid relevance``)."""
    qrels: dict[str, dict[str, int]] = {}
    with jsonl.open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if number == 1 and fields[0].lower() in ("query-id", "query_id", "qid"):
                continue
            if len(fields) == 3:
                query_id, doc_id, grade = fields
            elif len(fields) == 4:
                query_id, _, doc_id, grade = fields
            else:
                raise DatasetError(
                    f"{where(path, number)}: expected 3 tab-separated columns "
                    f"(query-id, corpus-id, score) or 4 TREC columns, got {len(fields)}"
                )
            try:
                qrels.setdefault(query_id, {})[doc_id] = int(grade)
            except ValueError:
                raise DatasetError(
                    f"{where(path, number, 'score')}: {grade!r} is not an integer"
                ) from None
    return qrels


class BeirFolder(Dataset):
    """A collection in the BEIR layout on disk."""

    def __init__(self, folder: Path, name: str | None = None) -> None:
        self.folder = folder
        self.name = name or folder.name
        corpus = _find_file(folder, "corpus")
        if corpus is None:
            raise DatasetError(f"{folder}: no corpus.jsonl or corpus.jsonl.gz (not a BEIR folder)")
        self.corpus_path = corpus
        self.ignore_identical_ids = self._declared_ignore_identical_ids()

    def _declared_ignore_identical_ids(self) -> bool:
        config = self.folder / DATASET_CONFIG
        if config.is_file():
            try:
                value = json.loads(config.read_text())["ignore_identical_ids"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise DatasetError(
                    f"{config}: expected a JSON object with a boolean 'ignore_identical_ids'"
                ) from None
            return bool(value)
        return self.name.lower() not in INDEPENDENT_ID_COLLECTIONS

    def docs(self) -> Iterator[Document]:
        path = self.corpus_path
        for number, record in jsonl.iter_jsonl(path, DatasetError):
            yield Document(
                _record_id(record, path, number),
                _record_text(record, "title", path, number),
                _record_text(record, "text", path, number),
            )

    def doc_count(self) -> int:
        with jsonl.open_text(self.corpus_path) as handle:
            return sum(1 for line in handle if line.strip())

    def queries(self, split: str | None = None) -> dict[str, str]:
        path = _find_file(self.folder, "queries")
        if path is None:
            raise DatasetError(f"{self.folder}: no queries.jsonl or queries.jsonl.gz")
        queries = {
            _record_id(record, path, number): _record_text(record, "text", path, number)
            for number, record in jsonl.iter_jsonl(path, DatasetError)
        }
        if split is None:
            return queries
        judged = self.qrels(split)
        return {qid: text for qid, text in queries.items() if qid in judged}

    def qrels(self, split: str | None = None) -> dict[str, dict[str, int]]:
        split = split or self.default_split()
        if split is None:
            raise DatasetError(f"{self.name}: name a qrels split; splits here: {self.splits()}")
        path = self.folder / "qrels" / f"{split}.tsv"
        if not path.is_file():
            raise DatasetError(
                f"{self.name}: no qrels for split {split!r} ({path} is missing); "
                f"splits here: {', '.join(self.splits()) or 'none'}"
            )
        return read_qrels(path)

    def splits(self) -> list[str]:
        qrels = self.folder / "qrels"
        return sorted(p.stem for p in qrels.glob("*.tsv")) if qrels.is_dir() else []


# -- ir-datasets ------------------------------------------------------------------------------


class IrDatasetsDataset(Dataset):
    """A collection served by ir-datasets (downloaded on first use; needs a network)."""

    def __init__(self, dataset_id: str) -> None:
        self.name = dataset_id
        self.dataset_id = dataset_id
        self.ignore_identical_ids = dataset_id.startswith("beir/")

    def _load(self, split: str | None = None) -> Any:
        import ir_datasets

        dataset_id = f"{self.dataset_id}/{split}" if split else self.dataset_id
        try:
            return ir_datasets.load(dataset_id)
        except KeyError:
            raise DatasetError(f"ir-datasets has no dataset {dataset_id!r}") from None

    def docs(self) -> Iterator[Document]:
        for doc in self._load().docs_iter():
            title = getattr(doc, "title", "") or ""
            text = getattr(doc, "text", None)
            if text is None:
                text = doc.default_text()
                title = ""
            yield Document(doc.doc_id, title, text)

    def doc_count(self) -> int | None:
        return self._load().docs_count()

    def queries(self, split: str | None = None) -> dict[str, str]:
        dataset = self._load(split)
        if not dataset.has_queries():
            raise DatasetError(f"ir-datasets {dataset.dataset_id()!r} has no queries")
        return {
            q.query_id: getattr(q, "text", None) or q.default_text() for q in dataset.queries_iter()
        }

    def qrels(self, split: str | None = None) -> dict[str, dict[str, int]]:
        dataset = self._load(split)
        if not dataset.has_qrels():
            raise DatasetError(f"ir-datasets {dataset.dataset_id()!r} has no qrels")
        qrels: dict[str, dict[str, int]] = {}
        for row in dataset.qrels_iter():
            qrels.setdefault(row.query_id, {})[row.doc_id] = int(row.relevance)
        return qrels

    def default_split(self) -> str | None:
        return None  # the id names its own split, e.g. beir/scifact/test

    def splits(self) -> list[str]:
        import ir_datasets

        prefix = f"{self.dataset_id}/"
        return sorted(
            key[len(prefix) :]
            for key in ir_datasets.registry._registered
            if key.startswith(prefix) and "/" not in key[len(prefix) :]
        )


def _is_ir_datasets_id(dataset_id: str) -> bool:
    import ir_datasets

    return dataset_id in ir_datasets.registry._registered


# -- resolution -------------------------------------------------------------------------------


def data_search_path(data_dir: str | Path | None = None) -> list[Path]:
    """Where dataset names are looked up, in order: ``data_dir``, then ``$LSR_DATA`` (a path
    list). Nothing else: a name never resolves through a folder the user did not give."""
    paths = [Path(data_dir)] if data_dir else []
    paths += [Path(p) for p in os.environ.get("LSR_DATA", "").split(os.pathsep) if p]
    return paths


def split_spec(spec: str) -> tuple[str, str | None]:
    """``scifact/test`` -> (``scifact``, ``test``) for a local dataset; anything else whole.

    ir-datasets ids name their split themselves (``beir/scifact/test`` has the test queries
    and qrels, and the corpus of ``beir/scifact``), so they are not split here.
    """
    spec = str(spec).rstrip("/")
    head, _, tail = spec.rpartition("/")
    if head and not _is_local_dataset(spec) and _is_local_dataset(head):
        return head, tail
    return spec, None


def _is_local_dataset(spec: str) -> bool:
    return Path(spec).is_dir() or any((p / spec).is_dir() for p in data_search_path())


def load_dataset(spec: str | Path, data_dir: str | Path | None = None) -> Dataset:
    """Resolve a dataset name, path or ir-datasets id (without a split; see :func:`split_spec`)."""
    spec = str(spec).rstrip("/")
    path = Path(spec)
    if path.is_dir():
        return BeirFolder(path)
    search = data_search_path(data_dir)
    for folder in search:
        if (folder / spec).is_dir():
            return BeirFolder(folder / spec, name=spec)
    for candidate in (spec, f"beir/{spec}"):
        if _is_ir_datasets_id(candidate):
            return IrDatasetsDataset(candidate)
    tried = ", ".join(str(folder / spec) for folder in search)
    raise DatasetError(
        f"unknown dataset {spec!r}: not a folder, not found in the data search path ({tried}), "
        "and not an ir-datasets id (e.g. beir/scifact)"
    )


def iter_texts(source: str | Path, data_dir: str | Path | None = None) -> Iterator[tuple[str, str]]:
    """(id, text) pairs to encode: :func:`iter_documents` as BEIR encodes them (title + text)."""
    for doc in iter_documents(source, data_dir):
        yield doc.id, doc.full_text


def iter_documents(source: str | Path, data_dir: str | Path | None = None) -> Iterator[Document]:
    """The documents of a dataset, or of a JSONL / Parquet file of records with ``_id`` (or
    ``id``), ``text`` and an optional ``title``."""
    path = Path(source)
    if path.is_file():
        if path.suffix == ".parquet":
            yield from _parquet_documents(path)
            return
        for number, record in jsonl.iter_jsonl(path, DatasetError):
            yield Document(
                _record_id(record, path, number),
                _record_text(record, "title", path, number),
                _record_text(record, "text", path, number),
            )
        return
    yield from load_dataset(source, data_dir).docs()


def _parquet_documents(path: Path) -> Iterator[Document]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise DatasetError(f"{path}: not a readable Parquet file ({exc})") from None
    names = parquet.schema_arrow.names
    id_column = next((c for c in ("_id", "id") if c in names), None)
    if id_column is None or "text" not in names:
        raise DatasetError(f"{path}: expected columns '_id' (or 'id') and 'text', found {names}")
    columns = [id_column, "text"] + (["title"] if "title" in names else [])
    for batch in parquet.iter_batches(columns=columns):
        data = batch.to_pydict()
        titles = data.get("title") or [""] * batch.num_rows
        for doc_id, title, text in zip(data[id_column], titles, data["text"]):
            yield Document(str(doc_id), title or "", text or "")

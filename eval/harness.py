"""One evaluation: a model on a dataset with an index, from the corpus to the metrics.

The steps are those a user would run by hand (``lsr encode``, ``lsr index build``, ``lsr index
search``, trec_eval), composed with caching: the encoded corpus and the built index are kept under
the cache (see :mod:`eval.cache`), so that a second evaluation only encodes and searches the
queries. ``bm25`` names the BM25 encoder, fitted on the dataset's own corpus (its IDF statistics
are the corpus's).

Queries are encoded in one batch for the run, and a sample of them (100 by default) again one at a
time to time encoding as a service would; every query is searched alone and timed (top 10). The
run itself comes from one batch search at depth 1000 (R@1000 needs it), and accuracy@10 compares
a top-10 batch search of the approximate index against exact search over the index's own stored
weights (see :mod:`eval.approximation`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsr.eval.approximation import accuracy_at_k, exact_reference
from lsr.eval.cache import cache_root, entry_dir, slug
from lsr.eval.latency import Latency
from lsr.eval.metrics import evaluate
from lsr.eval.report import EvalRecord
from lsr.eval.runs import without_identical_ids

from lsr.atomic import write_directory_atomic
from lsr.datasets import Dataset, load_dataset, split_spec
from lsr.errors import InputError
from lsr.fingerprint import stable_hash
from lsr.vector_io import read_vectors, write_vectors
from lsr.vectors import SparseCollection

BM25 = "bm25"
DOCS_FILE = "docs.parquet"
INDEX_KINDS = ("exact", "seismic")
RUN_DEPTH = 1000


@dataclass(frozen=True)
class EvalOptions:
    """How to evaluate; the defaults are BEIR's (test split, depth 1000, the dataset's own
    ``ignore_identical_ids``). ``latency_queries``: how many queries are encoded one at a time
    to time encoding (``None``: all); every query's search is timed."""

    index: str = "exact"
    build_params: Mapping[str, Any] = field(default_factory=dict)
    search_params: Mapping[str, Any] = field(default_factory=dict)
    ignore_identical_ids: bool | None = None
    depth: int = RUN_DEPTH
    data_dir: str | os.PathLike | None = None
    cache_dir: str | os.PathLike | None = None
    out_dir: str | os.PathLike | None = None
    latency_queries: int | None = 100
    progress: bool = True
    shards: int = 1

    def __post_init__(self) -> None:
        if self.index not in INDEX_KINDS:
            raise InputError(f"index must be one of {', '.join(INDEX_KINDS)}, got {self.index!r}")
        shards = self.shards
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise InputError(f"--shards must be a positive integer, got {shards!r}")
        if shards > 1 and self.index != "seismic":
            raise InputError("--shards needs --index seismic")


@dataclass
class Prepared:
    """Everything an evaluation needs before the queries: reused by a parameter sweep."""

    model_name: str
    dataset: Dataset
    split: str | None
    qrels: dict[str, dict[str, int]]
    queries: SparseCollection
    encode_seconds: list[float]
    exact: Any
    approximate: Any | None
    index_dir: Path | None
    ignore_identical_ids: bool


def model_name(model: str) -> str:
    """How a model is called in tables and file names: its folder or hub name."""
    return BM25 if model == BM25 else Path(model.rstrip("/")).name


def prepare(model: str, dataset_spec: str, options: EvalOptions) -> Prepared:
    """Load the dataset, the encoder, the (cached) corpus vectors and indexes; encode queries."""
    from lsr.index import ExactIndex

    name, split = split_spec(dataset_spec)
    dataset = load_dataset(name, options.data_dir)
    split = split or dataset.default_split()  # None: an ir-datasets id names its own split
    qrels = dataset.qrels(split)
    texts = dataset.queries(split)
    if not texts:
        raise InputError(f"{dataset.name}: split {split!r} has no queries")
    entry = entry_dir(cache_root(options.cache_dir), model, dataset, model_name(model))
    encoder = _load_encoder(model, dataset, entry, options.progress)
    collection = _corpus_vectors(encoder, dataset, entry, options.progress)
    approximate, index_dir = None, None
    if options.index == "seismic":
        approximate, index_dir = _seismic_index(collection, entry, options)
    queries = encoder.encode_queries(list(texts.values()), ids=list(texts))
    seconds = encode_seconds(encoder, texts, options.latency_queries)
    ignore = options.ignore_identical_ids
    return Prepared(
        model_name=model_name(model),
        dataset=dataset,
        split=split,
        qrels=qrels,
        queries=queries,
        encode_seconds=seconds,
        exact=ExactIndex(collection),
        approximate=approximate,
        index_dir=index_dir,
        ignore_identical_ids=dataset.ignore_identical_ids if ignore is None else ignore,
    )


def run_evaluation(prepared: Prepared, options: EvalOptions) -> EvalRecord:
    """Search at depth, write the run, evaluate; time queries; compare with exact search."""
    approximate = options.index == "seismic"
    if approximate and prepared.approximate is None:
        raise InputError("prepare() was called without the Seismic index")
    index = prepared.approximate if approximate else prepared.exact
    search_params = dict(options.search_params) if approximate else {}
    extra = 1 if prepared.ignore_identical_ids else 0
    results = index.search_batch(prepared.queries, k=options.depth + extra, **search_params)
    if prepared.ignore_identical_ids:
        results = without_identical_ids(results, options.depth)
    run_file = None
    if options.out_dir is not None:
        run_file = _output_path(options.out_dir, "runs", prepared, f"{options.index}.trec")
        results.write_trec(run_file, tag=slug(prepared.model_name))
        write_vectors(
            _output_path(options.out_dir, "queries", prepared, "parquet"), prepared.queries
        )
    evaluation = evaluate(results.to_dict(), prepared.qrels)
    accuracy = None
    if approximate:
        accuracy = accuracy_at_k(
            prepared.approximate.search_batch(prepared.queries, k=10, **search_params),
            exact_reference(prepared.approximate, prepared.queries),
        )
    return EvalRecord(
        model=prepared.model_name,
        dataset=prepared.dataset.name,
        split=prepared.split or "",
        index=options.index,
        metrics=evaluation.means,
        n_queries=evaluation.n_queries,
        ignore_identical_ids=prepared.ignore_identical_ids,
        encode_latency=Latency.from_seconds(prepared.encode_seconds),
        search_latency=Latency.from_seconds(search_seconds(index, prepared.queries, search_params)),
        accuracy_at_10=accuracy,
        run_file=str(run_file) if run_file else None,
        index_dir=str(prepared.index_dir) if approximate else None,
        params=_effective_params(prepared.approximate, options) if approximate else {},
    )


def _effective_params(index: Any, options: EvalOptions) -> dict[str, Any]:
    """The build parameters given, and every search parameter: those given, the index's stored
    search defaults for the others (what the search used)."""
    return {
        **options.build_params,
        **index.search_defaults.to_json(),
        **options.search_params,
    }


def evaluate_model(model: str, dataset_spec: str, options: EvalOptions) -> EvalRecord:
    """:func:`prepare` then :func:`run_evaluation`."""
    return run_evaluation(prepare(model, dataset_spec, options), options)


def _output_path(out_dir: str | os.PathLike, kind: str, prepared: Prepared, suffix: str) -> Path:
    name = f"{slug(prepared.dataset.name)}.{slug(prepared.model_name)}.{suffix}"
    return Path(out_dir) / kind / name


# -- timing ------------------------------------------------------------------------------------


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def encode_seconds(encoder: Any, texts: Mapping[str, str], n: int | None) -> list[float]:
    """Seconds to encode each of the first ``n`` queries (all when ``None``) one at a time, as a
    service would; a first call warms the model up and is not counted."""
    sample = list(texts.items())[:n]
    if sample:
        encoder.encode_queries([sample[0][1]], ids=[sample[0][0]])
    return [_timed(lambda q=q, t=t: encoder.encode_queries([t], ids=[q]))[1] for q, t in sample]


def search_seconds(
    index: Any, queries: SparseCollection, search_params: Mapping[str, Any], k: int = 10
) -> list[float]:
    """Seconds of each query's top-k search, one query at a time (the first one warms up)."""
    if len(queries):
        index.search(*queries.row(0), k=k, **search_params)
    return [
        _timed(lambda i=i: index.search(*queries.row(i), k=k, **search_params))[1]
        for i in range(len(queries))
    ]


# -- cached steps ------------------------------------------------------------------------------


def _load_encoder(model: str, dataset: Dataset, entry: Path, progress: bool) -> Any:
    from lsr.encoders import Bm25Encoder, load

    if model != BM25:
        return load(model)
    saved = entry / "bm25"
    if not saved.is_dir():
        encoder = Bm25Encoder.fit(doc.full_text for doc in dataset.docs())
        write_directory_atomic(saved, encoder.save)
    return load(str(saved))


def _corpus_vectors(
    encoder: Any, dataset: Dataset, entry: Path, progress: bool
) -> SparseCollection:
    from lsr.encoding import encode_to_parquet

    path = entry / DOCS_FILE
    if not path.is_file():
        records = ((doc.id, doc.full_text) for doc in dataset.docs())
        encode_to_parquet(
            encoder, records, path, side="documents", total=dataset.doc_count(), progress=progress
        )
    return read_vectors(path)


def _seismic_index(
    collection: SparseCollection, entry: Path, options: EvalOptions
) -> tuple[Any, Path]:
    """The cached index of the corpus (one per build configuration and shard count), opened
    through :func:`~index.open.open_index` as ``lsr index search`` opens it: a sharded one
    (``options.shards`` > 1) is built by :func:`~index.sharded.build_sharded` from the cached
    vector file, as ``lsr index build --shards N`` builds it."""
    from lsr.index import BuildConfig, SeismicIndex
    from lsr.index.open import open_index
    from lsr.index.sharded import build_sharded

    config = BuildConfig(**options.build_params)
    name = f"seismic-{stable_hash(config.to_json())}"
    directory = entry / (name if options.shards == 1 else f"{name}-shards{options.shards}")
    if not directory.is_dir() and options.shards > 1:
        build_sharded(entry / DOCS_FILE, directory, options.shards, config,
                      progress=options.progress)  # fmt: skip
    elif not directory.is_dir():
        index = SeismicIndex.build(collection, config, progress=options.progress)
        index.save(directory)  # atomic: the index is swapped in whole
    return open_index(directory), directory

"""``lsr index``: build a Seismic index from a vector file, search it, describe it."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import click
from click.core import ParameterSource

from lsr.cli import living
from lsr.cli.index_options import build_config_options, engine_option
from lsr.cli.options import ray_option, threads_option
from lsr.errors import InputError
from lsr.index.config import COMPACT, COMPACT_SEARCH, BuildConfig, SearchDefaults
from lsr.threads import use_numba_threads


@click.group()
def index() -> None:
    """Seismic inverted indexes over learned sparse vectors (Parquet files from `lsr encode`)."""


def _mib(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.1f} MiB"


@index.command()
@click.argument("vectors", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("index_dir", type=click.Path(file_okay=False, path_type=Path))
@build_config_options
@engine_option(
    "auto",
    "Stored as the index's search default; at build, auto times the index against exact search "
    "on the collection's own documents (exact wins on small collections).",
)
@click.option(
    "--compact",
    is_flag=True,
    help="A smaller index: "
    + ", ".join(f"{name} {value}" for name, value in COMPACT.items())
    + " unless given. About 3x the forward index instead of 7-25x, the same recall at about "
    "1.5x the latency (measured on 200k documents). The index stores the search default "
    + ", ".join(f"{name} {value}" for name, value in COMPACT_SEARCH.items())
    + " that it needs, used by every search that does not give its own.",
)
@click.option(
    "--docs",
    help="Also write a docstore of this corpus into INDEX_DIR (the title and text `lsr serve` "
    "shows): a dataset name, BEIR folder, ir-datasets id or .jsonl/.parquet file, as for "
    "`lsr encode --corpus`.",
)
@click.option(
    "--shards",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Split the documents into this many shards, one index each (shard = crc32 of the "
    "UTF-8 id mod N: stable across runs), searched in parallel and merged exactly; "
    "`lsr index search`, `lsr serve` and `lsr index info` open the folder as one index.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With --shards: shards built at once, each in its own process (each with --threads).",
)
@ray_option(
    "With --shards: build the shards as Ray tasks instead of local processes, each asking "
    "for --threads CPUs (default 1), as many at once as the runtime has CPUs; the same index "
    "as without --ray, array for array"
)
@threads_option("the build (Numba)")
def build(
    vectors: Path,
    index_dir: Path,
    compact: bool,
    docs: str | None,
    threads: int | None,
    engine: str,
    shards: int,
    jobs: int,
    ray_address: str | None,
    **options,
) -> None:
    """Build a Seismic index of VECTORS (Parquet) into INDEX_DIR (replaced atomically).

    The file is read one row group at a time, never whole: the build holds the forward index
    (2 bytes per term id and per float16 weight) and the postings it keeps, not the vectors.
    With --shards N, the documents are first streamed into N files by shard, then each shard
    is built as one index (--jobs at a time) and a manifest (shards.json: sizes, checksums)
    written beside them.
    """
    from lsr.index.seismic import SeismicIndex

    use_numba_threads(threads)
    search_defaults = SearchDefaults(engine=engine)
    if compact:
        given = click.get_current_context().get_parameter_source
        defaults = {n: v for n, v in COMPACT.items() if given(n) is ParameterSource.DEFAULT}
        options |= defaults
        search_defaults = SearchDefaults(**COMPACT_SEARCH, engine=engine)
    config = BuildConfig(**options)
    start = time.perf_counter()
    if ray_address is not None and shards == 1:
        raise InputError("--ray builds shards: give --shards N (N > 1)")
    if shards > 1:
        _build_sharded(
            vectors, index_dir, shards, config, search_defaults, jobs=jobs, threads=threads,
            ray_address=ray_address,
        )  # fmt: skip
        if docs is not None:
            from lsr.index.open import open_index

            _write_docstore(index_dir, docs, open_index(index_dir).doc_ids)
        return
    built = SeismicIndex.build_from_file(
        vectors, config, progress=True, search_defaults=search_defaults
    )
    click.echo(f"read {len(built):,} vectors ({built.stats['nnz']:,} non-zeros) from {vectors}")
    built.save(index_dir)
    elapsed = time.perf_counter() - start
    sizes = built.nbytes()
    click.echo(
        f"wrote {index_dir}: {_mib(sizes['total'])} "
        f"({sizes['total'] / sizes['forward']:.2f}x the forward index of {_mib(sizes['forward'])}), "
        f"{built.stats['blocks']:,} blocks, centroid_fraction {built.config.centroid_fraction:.4g}, "
        f"in {elapsed:.1f} s"
    )
    click.echo(_engines_line(built))
    if docs is not None:
        _write_docstore(index_dir, docs, built.doc_ids)


def _runner(ray_address: str | None, threads: int | None):
    """Where shards are built: Ray tasks with --ray, else (None) local processes."""
    if ray_address is None:
        return contextlib.nullcontext(None)
    from lsr.distributed import ray_tasks

    return ray_tasks(ray_address or None, threads or 1)


def _build_sharded(
    vectors, index_dir, shards, config, search_defaults, *, jobs, threads, ray_address
) -> None:
    from lsr.index.sharded import build_sharded

    start = time.perf_counter()
    with _runner(ray_address, threads) as run:
        manifest = build_sharded(
            vectors, index_dir, shards, config, search_defaults, jobs=jobs, threads=threads,
            progress=True, run=run,
        )  # fmt: skip
    sizes = ", ".join(f"{s['name']} {s['n_docs']:,}" for s in manifest["shards"])
    click.echo(
        f"wrote {index_dir}: {manifest['n_docs']:,} documents in {shards} shards ({sizes}) "
        f"in {time.perf_counter() - start:.1f} s"
    )


def _engines_line(loaded) -> str:
    timing = loaded.timing
    if timing is None:
        return (
            "engine timing: none (index built before it was measured): auto searches with seismic"
        )
    return (
        f"engine timing ({timing.n_queries} {timing.measured_on} as queries, one thread): "
        f"seismic {timing.seismic_us:,.0f} µs, exact {timing.exact_us:,.0f} µs per query; "
        f"searches use {loaded.engine_for()} (engine {loaded.search_defaults.engine})"
    )


def _write_docstore(index_dir: Path, corpus: str, doc_ids) -> None:
    from lsr.datasets import iter_documents
    from lsr.docstore import Docstore, write_docstore

    count = write_docstore(index_dir, iter_documents(corpus), progress=True)
    missing = int((Docstore.open(index_dir).rows_of(list(doc_ids)) < 0).sum())
    click.echo(
        f"wrote the docstore of {corpus}: {count:,} documents; "
        f"{len(doc_ids) - missing:,} of {len(doc_ids):,} indexed documents have text"
    )


@index.command()
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("corpus")
def docstore(index_dir: Path, corpus: str) -> None:
    """Write (or replace) the docstore of INDEX_DIR from CORPUS, as `build --docs` does.

    CORPUS is a dataset name, BEIR folder, ir-datasets id or .jsonl/.parquet file.
    """
    from lsr.index.open import open_index

    _write_docstore(index_dir, corpus, open_index(index_dir).doc_ids)


@index.command()
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--k", type=int, default=10, show_default=True, help="Results per query.")
@click.option(
    "--query-cut",
    type=int,
    default=None,
    help="Posting lists visited: those of the query's largest entries. "
    "[default: the index's stored search default, see `lsr index info`; with --filter, scaled "
    "up as the share of documents allowed falls (index/selectivity.py)]",
)
@click.option(
    "--heap-factor",
    type=float,
    default=None,
    help="Skip a block when its summary score is below heap_factor x the k-th best score; "
    "lower is more accurate and slower. [default: the index's stored search default]",
)
@click.option(
    "--first-sorted/--no-first-sorted",
    default=None,
    help="Visit the first list's blocks by decreasing summary score. "
    "[default: the index's stored search default]",
)
@click.option(
    "--global-order/--no-global-order",
    default=None,
    help="Score the summaries of all the visited lists first, then visit their blocks in one "
    "order of decreasing summary score, ending the query at the first block skipped (the "
    "k-th best only rises): fewer documents scored at the same query_cut; --first-sorted has "
    "no effect with it. [default: the index's stored search default]",
)
@click.option(
    "--n-knn",
    type=int,
    default=None,
    help="Expand results via the kNN graph (the index must have one: built with --knn). "
    "[default: the index's stored search default]",
)
@engine_option()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="TREC run file to write.",
)
@click.option(
    "--filter",
    "filter_json",
    default=None,
    help="Search only documents whose attributes pass this filter (an index changed by `lsr "
    "index add --attributes`): JSON, or @FILE holding it, in Qdrant's shape, e.g. "
    '\'{"must": [{"key": "tenant", "match": {"value": "acme"}}, '
    '{"key": "year", "range": {"gte": 2020}}]}\'.',
)
@click.option("--tag", default=None, help="Run tag of the TREC file [default: seismic or exact].")
@threads_option("batch search (Numba)")
def search(
    index_dir: Path,
    queries: Path,
    k: int,
    query_cut: int | None,
    heap_factor: float | None,
    first_sorted: bool | None,
    global_order: bool | None,
    n_knn: int | None,
    engine: str | None,
    filter_json: str | None,
    out: Path,
    tag: str | None,
    threads: int | None,
) -> None:
    """Search INDEX_DIR with the QUERIES vector file (Parquet); write a TREC run to --out."""
    from lsr.index.filters import parse
    from lsr.index.open import open_index
    from lsr.index.segmented import SegmentedIndex
    from lsr.vector_io import read_vectors

    use_numba_threads(threads)

    loaded = open_index(index_dir)
    collection = read_vectors(queries)
    params = {
        "query_cut": query_cut, "heap_factor": heap_factor, "first_sorted": first_sorted,
        "global_order": global_order, "n_knn": n_knn, "engine": engine,
    }  # fmt: skip
    if filter_json is not None:
        if not isinstance(loaded, SegmentedIndex):
            raise InputError(
                f"--filter: {index_dir} is a built index without document attributes; add "
                "documents with attributes (lsr index add --attributes) to filter"
            )
        if filter_json.startswith("@"):
            filter_json = Path(filter_json[1:]).read_text(encoding="utf-8")
        params["filter"] = parse(filter_json, "--filter")
    # One query first, so that loading (or compiling) the Numba kernels is not timed as search.
    loaded.search_batch(collection.slice(0, 1), k=k, **params)
    start = time.perf_counter()
    results = loaded.search_batch(collection, k=k, **params)
    elapsed = time.perf_counter() - start
    results.write_trec(out, tag=tag or loaded.engine_for(engine))
    per_query = 1000 * elapsed / max(len(collection), 1)
    click.echo(
        f"searched {len(collection):,} queries in {elapsed:.2f} s ({per_query:.3f} ms/query); "
        f"wrote {out}"
    )


@index.command()
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("queries", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--target-accuracy",
    type=float,
    required=True,
    help="accuracy@k against exact search to reach (e.g. 0.95): the fraction of the exact "
    "top-k that search returns, averaged over queries.",
)
@click.option("--k", type=int, default=10, show_default=True, help="The k of accuracy@k.")
@click.option(
    "--budget-queries",
    type=int,
    default=200,
    show_default=True,
    help="Queries drawn from QUERIES: half choose the setting, half (held out) report it.",
)
@click.option(
    "--rounds",
    type=int,
    default=3,
    show_default=True,
    help="Timings per setting (interleaved; the fastest counts).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option("--dry-run", is_flag=True, help="Print the frontier and the choice; store nothing.")
def tune(
    index_dir: Path,
    queries: Path,
    target_accuracy: float,
    k: int,
    budget_queries: int,
    rounds: int,
    seed: int,
    dry_run: bool,
) -> None:
    """Find the fastest search parameters of INDEX_DIR that reach --target-accuracy on QUERIES
    (Parquet vectors of typical queries) and store them as the index's search defaults.

    Every (query_cut, heap_factor, first_sorted, global_order) of a grid is timed on one thread and its
    accuracy@k measured against exact search on half of a sample of QUERIES; the fastest that
    reaches the target there is chosen, and its accuracy on the other, held-out half is the
    figure to expect. The frontier (settings no other beats on both accuracy and speed) is
    printed; `lsr index search`, `lsr eval` and `lsr serve` then use the choice for every
    parameter they are not given. A living index (`lsr index add`) is tuned over all its
    segments and the choice stored in a new commit, which every segment is searched with.
    """
    from lsr.index.commit import is_living
    from lsr.index.segmented import SegmentedIndex
    from lsr.index.seismic import SeismicIndex
    from lsr.index.tuning import tune as tune_index
    from lsr.vector_io import read_vectors

    living = is_living(index_dir)
    loaded = SegmentedIndex.load(index_dir) if living else SeismicIndex.load(index_dir)
    result = tune_index(
        loaded, read_vectors(queries), target_accuracy, k=k, budget_queries=budget_queries,
        rounds=rounds, seed=seed,
    )  # fmt: skip
    click.echo(
        f"{result.n_tuning} tuning and {result.n_held_out} held-out queries, accuracy@{k} "
        f"against exact search, latency on one thread; the frontier:"
    )
    click.echo(_frontier_table(result))
    click.echo(f"  exact search: accuracy 1, {result.exact_us:,.0f} µs per query")
    if result.choice is None:
        best = result.frontier[-1]
        raise click.ClickException(
            f"no setting reached accuracy@{k} {target_accuracy} on the tuning queries (best "
            f"{best.tuning_accuracy:.4f}); nothing stored: rebuild with more postings "
            "(--n-postings) or larger summaries (--summary-energy)"
        )
    choice = result.choice
    click.echo(
        f"chosen: query_cut {choice.query_cut}, heap_factor {choice.heap_factor}, first_sorted "
        f"{choice.first_sorted}, global_order {choice.global_order}: accuracy@{k} {choice.held_out_accuracy:.4f} on held-out queries, "
        f"{choice.latency_us:,.0f} µs per query"
    )
    if not dry_run:
        _store_tuned(index_dir, result, living)


def _store_tuned(index_dir: Path, result, living: bool) -> None:
    from lsr.index.living import LivingIndex
    from lsr.index.seismic import SeismicIndex
    from lsr.index.tuning import store

    if living:
        with LivingIndex.open(index_dir) as writer:
            writer.set_search_defaults(result.choice.defaults(writer.reader.search_defaults))
            click.echo(
                f"stored in commit {writer.commit.generation} of {index_dir}: the search "
                "defaults of every segment"
            )
        return
    store(index_dir, result, SeismicIndex.load(index_dir).search_defaults)
    click.echo(f"stored as the search defaults of {index_dir}")
    click.echo(_engines_line(SeismicIndex.load(index_dir)))


def _frontier_table(result) -> str:
    rows = [
        f"  {'query_cut':>9} {'heap_factor':>11} {'first_sorted':>12} {'global_order':>12} "
        f"{'acc tuning':>10} "
        f"{'acc held-out':>12} {'µs/query':>9}"
    ]
    for p in result.frontier:
        mark = "  <- chosen" if p == result.choice else ""
        rows.append(
            f"  {p.query_cut:>9} {p.heap_factor:>11} {p.first_sorted!s:>12} "
            f"{p.global_order!s:>12} "
            f"{p.tuning_accuracy:>10.4f} {p.held_out_accuracy:>12.4f} {p.latency_us:>9,.0f}{mark}"
        )
    return "\n".join(rows)


@index.command()
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest summary as JSON.")
@click.option(
    "--verify",
    is_flag=True,
    help="Also check every file's checksum (reads the whole index). Without it, loading checks "
    "the structure only: offsets, ids and the summaries' layout.",
)
def info(index_dir: Path, as_json: bool, verify: bool) -> None:
    """Print an index's parameters, sizes and build statistics."""
    from lsr.index.open import open_index

    loaded = open_index(index_dir, verify=verify)
    summary = {
        "documents": len(loaded),
        "vocab_size": loaded.vocab_size,
        "vocabulary_fingerprint": loaded.metadata.vocabulary_fingerprint,
        "model": loaded.metadata.describe(),
        "config": loaded.config.to_json(),
        "search_defaults": loaded.search_defaults.to_json(),
        "bytes": loaded.nbytes(),
        "stats": loaded.stats,
    }
    # A plain index's: side_by_side, or two_arrays (format 3, other widths; index/forward.py).
    forward = getattr(loaded, "forward", None)  # living and sharded indexes have parts
    if forward is not None:
        summary["forward_layout"] = forward.layout
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    sizes = summary["bytes"]
    click.echo(
        f"{index_dir}: {len(loaded):,} documents, vocabulary {loaded.vocab_size:,} "
        f"(fingerprint {summary['vocabulary_fingerprint']}, {summary['model']})"
    )
    for name, value in loaded.config.to_json().items():
        click.echo(f"  {name:>18}  {value}")
    for name, value in loaded.search_defaults.to_json().items():
        click.echo(f"  {'search ' + name:>18}  {value}")
    if "forward_layout" in summary:
        click.echo(f"  {'forward layout':>18}  {summary['forward_layout']}")
    for name in ("forward", "postings", "summaries", "knn", "total"):
        click.echo(f"  {name + ' bytes':>18}  {_mib(sizes[name])}")
    click.echo(f"  {'total / forward':>18}  {sizes['total'] / max(sizes['forward'], 1):.2f}x")
    for segment in loaded.stats.get("segments", ()):
        click.echo(
            f"  {'segment ' + segment['name']:>18}  {segment['kind']}, "
            f"{segment['documents']:,} documents, {segment['deleted']:,} deleted"
        )
    if "segments" not in loaded.stats:  # a built index: how it was built
        for name in ("postings", "blocks", "summary_entries"):
            click.echo(f"  {name:>18}  {loaded.stats.get(name, 0):,}")
        click.echo(f"  {_engines_line(loaded)}")
        seconds = loaded.stats.get("seconds", {})
        click.echo(f"  {'build seconds':>18}  " + ", ".join(f"{k} {v}" for k, v in seconds.items()))
    if verify:
        click.echo("  checksums OK")


# The living index's commands (lsr/cli/living.py), in this group.
for _command in (living.add, living.delete, living.merge):
    index.add_command(_command)

"""``lsr eval``: evaluate models on BEIR-style collections, and compare runs.

This module stays import-light: the work happens in functions imported inside the commands.
"""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from lsr.cli.options import threads_option
from lsr.errors import InputError

DEFAULT_SWEEP = {"query_cut": [3, 5, 10, 20], "heap_factor": [0.6, 0.8, 1.0]}


def parse_value(text: str) -> Any:
    """``10`` -> int, ``0.8`` -> float, ``true``/``false`` -> bool, anything else stays text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_assignments(texts: tuple[str, ...], option: str) -> dict[str, str]:
    """``("a=1,b=2", "c=3")`` -> ``{"a": "1", "b": "2", "c": "3"}``."""
    pairs: dict[str, str] = {}
    for text in texts:
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = item.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise InputError(f"{option}: expected NAME=VALUE, got {item!r}")
            pairs[name.strip()] = value.strip()
    return pairs


def split_seismic_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sort ``--seismic-params`` into build parameters and search parameters by name."""
    from lsr.index import BuildConfig
    from lsr.index.config import SearchParams

    build_names = set(BuildConfig.__dataclass_fields__)
    search_names = set(SearchParams.__dataclass_fields__) - {"k"}
    build, search = {}, {}
    for name, value in params.items():
        if name in build_names:
            build[name] = value
        elif name in search_names:
            search[name] = value
        else:
            known = ", ".join(sorted(build_names | search_names))
            raise InputError(f"--seismic-params: unknown parameter {name!r}; known: {known}")
    return build, search


def parse_sweep(texts: tuple[str, ...]) -> dict[str, list[Any]]:
    """``--sweep query_cut=3/5/10`` -> ``{"query_cut": [3, 5, 10]}``; a bare ``--sweep default``
    gives the default grid."""
    if texts == ("default",):
        return dict(DEFAULT_SWEEP)
    values: dict[str, list[Any]] = {}
    for text in texts:
        name, sep, listed = text.partition("=")
        if not sep or not listed:
            raise InputError(f"--sweep: expected NAME=V1/V2/..., got {text!r}")
        values[name.strip()] = [parse_value(v) for v in listed.split("/") if v.strip()]
    return values


@click.group(invoke_without_command=True)
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    help="Model folder, hub id, or 'bm25' (fitted on each dataset's corpus). Repeatable.",
)
@click.option(
    "--dataset",
    "-d",
    "datasets",
    multiple=True,
    help="Dataset name on the data path (scifact), BEIR folder, or ir-datasets id "
    "(beir/scifact/test); a split may follow (scifact/train). Default split: test. Repeatable.",
)
@click.option(
    "--index",
    "index_kind",
    type=click.Choice(["exact", "seismic"]),
    default="exact",
    show_default=True,
    help="Exact search, or the Seismic index (then accuracy@10 against exact is reported).",
)
@click.option(
    "--shards",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="With --index seismic: build the corpus's index in this many shards (as 'lsr index "
    "build --shards N'; cached apart) and search it as one.",
)
@click.option(
    "--seismic-params",
    multiple=True,
    metavar="NAME=VALUE,...",
    help="Seismic build parameters (n_postings, summary_energy, centroid_fraction, ...) and "
    "search parameters (query_cut, heap_factor, first_sorted, global_order, n_knn).",
)
@click.option(
    "--sweep",
    multiple=True,
    metavar="NAME=V1/V2/...",
    help="Sweep Seismic search parameters (their product) and plot accuracy@10 against latency "
    "(sweep.png); '--sweep default' sweeps query_cut 3/5/10/20 x heap_factor 0.6/0.8/1.0.",
)
@click.option(
    "--ignore-identical-ids/--keep-identical-ids",
    default=None,
    help="Drop hits whose document id equals the query id (BEIR's convention). Default: as the "
    "dataset declares (on for BEIR datasets, off for vaswani, cranfield and other classic "
    "collections whose query and document ids are numbered independently).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder searched first for dataset names (then the folders of $LSR_DATA).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache of encoded corpora and indexes (default $LSR_CACHE, else .cache/lsr).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder: runs/*.trec, metrics.json, report.md (default reports/eval-TIMESTAMP).",
)
@click.option("--depth", default=1000, show_default=True, help="Hits per query in the run.")
@click.option(
    "--latency-queries",
    default=100,
    show_default=True,
    help="Queries encoded one at a time to time encoding (0: all); every search is timed.",
)
@click.option("--progress/--no-progress", default=True, help="Show progress bars.")
@threads_option("encoding (torch) and the index (Numba)")
@click.pass_context
def eval_command(ctx: click.Context, **options: Any) -> None:
    """Evaluate retrieval on BEIR collections.

    Reports nDCG@10, R@100, R@1000, MRR@10 and MAP@100. Encodes each corpus and builds the index once (cached), encodes and searches the queries one
    at a time (per-query latency), writes TREC runs, metrics.json and a Markdown table of datasets
    x models. Metrics equal trec_eval's: ties broken by document id descending, averaged over the
    judged queries (a judged query without hits counts as zero).

    \b
      lsr eval --model bm25 --model naver/splade-v3 \\
               --dataset beir/scifact/test --dataset data/vaswani --index seismic
      lsr eval compare reports/a/runs/scifact.bm25.exact.trec \\
               reports/b/runs/scifact.splade-tiny.exact.trec --dataset scifact
    """
    if ctx.invoked_subcommand is not None:
        return
    if not options["models"] or not options["datasets"]:
        raise click.UsageError("give at least one --model and one --dataset")
    _run(**options)


def _run(
    models: tuple[str, ...],
    datasets: tuple[str, ...],
    index_kind: str,
    shards: int,
    seismic_params: tuple[str, ...],
    sweep: tuple[str, ...],
    ignore_identical_ids: bool | None,
    data_dir: Path | None,
    cache_dir: Path | None,
    out: Path | None,
    depth: int,
    latency_queries: int,
    progress: bool,
    threads: int | None,
) -> None:
    from lsr.eval.harness import EvalOptions, prepare, run_evaluation
    from lsr.eval.report import results_table, summary_table, write_report
    from lsr.threads import use_numba_threads, use_torch_threads

    use_torch_threads(threads)
    use_numba_threads(threads)

    params = {
        k: parse_value(v) for k, v in parse_assignments(seismic_params, "--seismic-params").items()
    }
    build, search = split_seismic_params(params) if params else ({}, {})
    if params and index_kind != "seismic":
        raise InputError("--seismic-params needs --index seismic")
    swept = parse_sweep(sweep) if sweep else {}
    if swept and index_kind != "seismic":
        raise InputError("--sweep needs --index seismic")
    if swept:
        from lsr.eval.sweep import check_swept

        check_swept(list(swept))
    out = out or Path("reports") / f"eval-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    options = EvalOptions(
        index=index_kind,
        build_params=build,
        search_params=search,
        ignore_identical_ids=ignore_identical_ids,
        depth=depth,
        latency_queries=latency_queries or None,
        data_dir=data_dir,
        cache_dir=cache_dir,
        out_dir=out,
        progress=progress,
        shards=shards,
    )
    records, points = [], []
    for dataset in datasets:
        for model in models:
            click.echo(f"== {model} on {dataset} ({index_kind})", err=True)
            prepared = prepare(model, dataset, options)
            records.append(run_evaluation(prepared, options))
            if swept:
                points += _sweep(prepared, swept, search)
    command = shlex.join(["lsr", *sys.argv[1:]])
    report = write_report(out, records, command)
    click.echo(summary_table(records))
    click.echo(results_table(records))
    if points:
        _write_sweep(out, points)
    click.echo(f"report: {report}  (metrics.json, runs/ beside it)")


def _sweep(prepared: Any, swept: dict[str, list[Any]], search: dict[str, Any]) -> list[Any]:
    from lsr.eval.sweep import grid, sweep

    settings = [{**search, **point} for point in grid(swept)]
    for setting in settings:
        split_seismic_params(setting)  # unknown names fail before any search
    return sweep(prepared, settings)


def _write_sweep(out: Path, points: list[Any]) -> None:
    import json

    from lsr.atomic import write_text_atomic
    from lsr.eval.sweep import plot, sweep_table

    table = sweep_table(points)
    write_text_atomic(out / "sweep.md", table)
    write_text_atomic(out / "sweep.json", json.dumps([p.to_json() for p in points], indent=2))
    png = plot(points, out / "sweep.png")
    click.echo(table)
    click.echo(f"recall-latency curve: {png}")


@eval_command.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--dataset", "-d", required=True, help="Dataset (and split) whose qrels judge the runs."
)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--stat-test",
    type=click.Choice(["student", "fisher", "tukey"]),
    default="student",
    show_default=True,
    help="Paired t-test, Fisher's randomization test, or Tukey's HSD (ranx).",
)
@click.option("--max-p", default=0.05, show_default=True, help="Significance level.")
def compare_command(
    runs: tuple[Path, ...], dataset: str, data_dir: Path | None, stat_test: str, max_p: float
) -> None:
    """Compare TREC run files on a dataset's qrels with a paired significance test.

    Prints each run's metrics; a superscript letter marks the runs it beats significantly.
    """
    from lsr.datasets import load_dataset, split_spec
    from lsr.eval.compare import compare_runs

    if len(runs) < 2:
        raise click.UsageError("give at least two run files")
    name, split = split_spec(dataset)
    loaded = load_dataset(name, data_dir)
    report = compare_runs(runs, loaded.qrels(split), stat_test=stat_test, max_p=max_p)
    click.echo(report)

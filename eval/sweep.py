"""A sweep of Seismic's query-time parameters: the recall-latency trade-off as a table and a PNG.

Each point searches every query alone with one setting of ``query_cut`` / ``heap_factor`` (or any
other search parameter) and records accuracy@10 against exact search, nDCG@10 of that top 10 and
the mean per-query latency: the curve of Bruch et al. (SIGIR 2024, Figure 3).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lsr.eval.approximation import accuracy_at_k, exact_reference
from lsr.eval.harness import Prepared, search_seconds
from lsr.eval.latency import Latency
from lsr.eval.metrics import evaluate

from lsr.errors import InputError


@dataclass(frozen=True)
class SweepPoint:
    model: str
    dataset: str
    params: dict[str, Any]
    accuracy_at_10: float
    ndcg_at_10: float
    latency: Latency

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "latency": self.latency.to_json()}


def check_swept(names: Sequence[str]) -> None:
    """A sweep varies search parameters over one built index: a build parameter (or an unknown
    name) is refused before anything is encoded or built."""
    from lsr.index import BuildConfig
    from lsr.index.config import SearchDefaults

    searchable = list(SearchDefaults.__dataclass_fields__)
    for name in names:
        if name in BuildConfig.__dataclass_fields__:
            raise InputError(
                f"--sweep {name}: {name} is a build parameter; a sweep varies search parameters "
                f"({', '.join(searchable)}) over one index. Give build parameters with "
                f"--seismic-params {name}=..., one evaluation per value"
            )
        if name not in searchable:
            raise InputError(
                f"--sweep {name}: unknown search parameter; known: {', '.join(searchable)}"
            )


def grid(values: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the swept values, in the order given."""
    names = list(values)
    return [dict(zip(names, combo)) for combo in itertools.product(*(values[n] for n in names))]


def sweep(prepared: Prepared, settings: Sequence[Mapping[str, Any]]) -> list[SweepPoint]:
    """One point per setting, on the prepared (Seismic) index."""
    if prepared.approximate is None:
        raise InputError("a sweep needs the Seismic index (--index seismic)")
    for params in settings:
        check_swept(list(params))
    exact = exact_reference(prepared.approximate, prepared.queries)
    points = []
    for params in settings:
        results = prepared.approximate.search_batch(prepared.queries, k=10, **params)
        seconds = search_seconds(prepared.approximate, prepared.queries, params)
        points.append(
            SweepPoint(
                model=prepared.model_name,
                dataset=prepared.dataset.name,
                params=dict(params),
                accuracy_at_10=accuracy_at_k(results, exact),
                ndcg_at_10=evaluate(results.to_dict(), prepared.qrels, ["ndcg@10"]).means[
                    "ndcg@10"
                ],
                latency=Latency.from_seconds(seconds),
            )
        )
    return points


def plot(points: Sequence[SweepPoint], path: Path) -> Path:
    """accuracy@10 against mean latency, one frontier per (dataset, model), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    for (dataset, model), curve in _curves(points).items():
        frontier = pareto_frontier(curve)
        (line,) = axes.plot(
            [p.latency.mean_ms for p in frontier],
            [p.accuracy_at_10 for p in frontier],
            marker="o",
            label=f"{model} / {dataset}",
        )
        axes.scatter(
            [p.latency.mean_ms for p in curve],
            [p.accuracy_at_10 for p in curve],
            color=line.get_color(),
            alpha=0.3,
            s=12,
        )
    axes.set_xlabel("mean search latency per query (ms)")
    axes.set_ylabel("accuracy@10 vs exact search")
    axes.set_title("Seismic: recall-latency trade-off")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def pareto_frontier(points: Sequence[SweepPoint]) -> list[SweepPoint]:
    """The settings no other setting beats on both latency and accuracy@10, fastest first: the
    trade-off curve (the other settings are drawn as faint dots)."""
    frontier: list[SweepPoint] = []
    for point in sorted(points, key=lambda p: (p.latency.mean_ms, -p.accuracy_at_10)):
        if not frontier or point.accuracy_at_10 > frontier[-1].accuracy_at_10:
            frontier.append(point)
    return frontier


def _curves(points: Sequence[SweepPoint]) -> dict[tuple[str, str], list[SweepPoint]]:
    curves: dict[tuple[str, str], list[SweepPoint]] = {}
    for point in points:
        curves.setdefault((point.dataset, point.model), []).append(point)
    return curves


def sweep_table(points: Sequence[SweepPoint]) -> str:
    """The sweep as Markdown, one row per point."""
    names = list(dict.fromkeys(name for p in points for name in p.params))
    header = ["dataset", "model", *names, "acc@10", "nDCG@10", "search ms (mean/p50/p99)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for p in points:
        latency = f"{p.latency.mean_ms:.3f} / {p.latency.p50_ms:.3f} / {p.latency.p99_ms:.3f}"
        cells = [p.dataset, p.model, *(str(p.params.get(n, "")) for n in names)]
        cells += [f"{p.accuracy_at_10:.3f}", f"{p.ndcg_at_10:.3f}", latency]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

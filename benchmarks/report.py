"""Statistics, ratios and the Markdown report of the index benchmark (``benchmarks.index``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import provenance
from lsr.vectors import SparseCollection

TARGETS = (0.95, 0.99)
PEER = "pyseismic-lsr"
#: Our exact search's label in the sweep (measured at every point; it takes no parameters).
EXACT = "lsr-exact"


def forward_bytes(docs: SparseCollection) -> int:
    """Size of a forward index of u16 term ids and f16 values with u64 offsets (both systems'
    layout for a 30,522-term vocabulary): the yardstick of index sizes."""
    return docs.nnz * 4 + (len(docs) + 1) * 8


def data_stats(docs: SparseCollection, queries: SparseCollection) -> dict[str, Any]:
    """What makes a collection easy or hard for Seismic: lengths, skew, query concentration."""
    df = np.bincount(docs.indices, minlength=docs.vocab_size) / max(len(docs), 1)
    return {
        "n_docs": len(docs),
        "n_queries": len(queries),
        "doc_nnz_mean": float(docs.lengths().mean()),
        "doc_nnz_p5_p95": [float(x) for x in np.percentile(docs.lengths(), [5, 95])],
        "query_nnz_mean": float(queries.lengths().mean()),
        "terms_used": int(np.count_nonzero(df)),
        "terms_in_half_of_docs": int(np.count_nonzero(df >= 0.5)),
        "query_top3_mass": _top_mass(queries, 3),
        "query_top10_mass": _top_mass(queries, 10),
        "forward_bytes": forward_bytes(docs),
    }


def _top_mass(queries: SparseCollection, n: int) -> float:
    """Mean share of a query's L1 mass in its ``n`` largest weights (high: query_cut n suffices)."""
    shares = []
    for _, _, weights in queries.rows():
        if len(weights):
            top = np.sort(weights)[::-1][:n]
            shares.append(top.sum() / weights.sum())
    return float(np.mean(shares)) if shares else 0.0


def point_line(point: dict[str, Any], labels: list[str]) -> str:
    parts = [f"qc={point['query_cut']:>3} hf={point['heap_factor']:.2f}"]
    for label in labels:
        r = point[label]
        parts.append(f"{label}: R={r['recall']:.3f} {r['mean_us']:8.1f}us "
                     f"p99 {r['p99_us']:8.1f} batch {r['batch_mean_us']:8.1f}us")  # fmt: skip
    return " | ".join(parts)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summary(points, systems, exact, stats) -> dict[str, Any]:
    """Ours / peer ratios: latency at each recall target, build time, memory, size; exact speedup.

    ``systems`` are the report's entries (``label`` and ``build`` measurements each).
    """
    peer = next(s["build"] for s in systems if s["label"] == PEER)
    out: dict[str, Any] = {}
    for system in systems:
        if system["label"] == PEER:
            continue
        label, build = system["label"], system["build"]
        entry: dict[str, Any] = {
            "build_time_ratio": build["build_s"] / peer["build_s"],
            "build_cpu_ratio": _ratio(build.get("build_cpu_s"), peer.get("build_cpu_s")),
            "peak_memory_ratio": build["peak_rss_bytes"] / peer["peak_rss_bytes"],
            "index_bytes_ratio": build["index_bytes"] / peer["index_bytes"],
            "index_over_forward": build["index_bytes"] / stats["forward_bytes"],
            "peer_index_over_forward": peer["index_bytes"] / stats["forward_bytes"],
        }
        for target in TARGETS:
            for mode in ("single", "batch"):
                ours = fastest_at(points, label, target, mode)
                theirs = fastest_at(points, PEER, target, mode)
                entry[f"at_{target}_{mode}"] = {
                    "ours": ours,
                    "peer": theirs,
                    "latency_ratio": _ratio(ours and ours["mean_us"], theirs and theirs["mean_us"]),
                }
                entry[f"best_engine_at_{target}_{mode}"] = best_engine(
                    ours, exact_engine(points), target, mode, theirs
                )
            ours = entry[f"at_{target}_single"]["ours"]
            entry[f"exact_speedup_at_{target}"] = _ratio(
                exact["exact_index"]["mean_us"], ours and ours["mean_us"]
            )
            entry[f"scipy_speedup_at_{target}"] = _ratio(
                exact["scipy_csr"]["mean_us"], ours and ours["mean_us"]
            )
        out[label] = entry
    return out


def _mode_keys(mode: str) -> tuple[str, str]:
    """The latency and recall fields of a sweep entry for ``single`` or ``batch`` calls."""
    return ("mean_us", "recall") if mode == "single" else ("batch_mean_us", "batch_recall")


def exact_engine(points: list[dict]) -> dict | None:
    """Our exact search's figures in the sweep, where it runs at every point with the same
    configuration: the median latencies over the points (their fastest would pick the luckiest
    repeat) and the lowest recall; ``None`` for a sweep without it."""
    rows = [p[EXACT] for p in points if EXACT in p]
    if not rows:
        return None
    return {
        "mean_us": float(np.median([r["mean_us"] for r in rows])),
        "batch_mean_us": float(np.median([r["batch_mean_us"] for r in rows])),
        "recall": min(r["recall"] for r in rows),
        "batch_recall": min(r["batch_recall"] for r in rows),
    }


def best_engine(
    seismic: dict | None, exact: dict | None, target: float, mode: str, peer: dict | None
) -> dict[str, Any]:
    """The faster of our two engines reaching ``target`` (what ``engine="auto"`` serves where its
    timing agrees) against the peer's fastest setting reaching it."""
    key, recall_key = _mode_keys(mode)
    best = seismic and {"engine": "seismic", **seismic}
    if exact and exact[recall_key] >= target and (best is None or exact[key] < best["mean_us"]):
        best = {"engine": "exact", "recall": exact[recall_key], "mean_us": exact[key]}
    return {
        "ours": best,
        "latency_ratio": _ratio(best and best["mean_us"], peer and peer["mean_us"]),
    }


def fastest_at(points: list[dict], label: str, target: float, mode: str) -> dict | None:
    """The sweep point with the lowest mean latency whose recall reaches ``target``."""
    key, recall_key = _mode_keys(mode)
    ok = [p for p in points if p[label][recall_key] >= target]
    if not ok:
        return None
    best = min(ok, key=lambda p: p[label][key])
    return {"query_cut": best["query_cut"], "heap_factor": best["heap_factor"],
            "recall": best[label][recall_key], "mean_us": best[label][key]}  # fmt: skip


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        "# Index benchmark: lsr Seismic vs pyseismic-lsr 0.5.4",
        "",
        provenance.markdown(payload["provenance"]),
        f"Total {payload['seconds'] / 60:.1f} min, one thread per system, on a machine shared "
        "with other jobs: compare ratios, not absolute times.",
        "",
        "Ratios are ours / pyseismic-lsr: below 1 we are faster or smaller. Latencies in "
        "microseconds per query; `single` is one `search` call per query, `batch` one "
        "`search_batch`/`batch_search` call for all queries (fastest of the repeats).",
    ]
    for result in payload["results"]:
        lines += _dataset_section(result)
    return "\n".join(lines) + "\n"


def _dataset_section(result: dict[str, Any]) -> list[str]:
    s = result["stats"]
    lines = [
        "",
        f"## {result['data']}",
        "",
        f"{s['n_docs']:,} documents ({s['doc_nnz_mean']:.0f} non-zeros on average, 5-95%: "
        f"{s['doc_nnz_p5_p95'][0]:.0f}-{s['doc_nnz_p5_p95'][1]:.0f}), {s['n_queries']:,} queries "
        f"({s['query_nnz_mean']:.0f} non-zeros; top-3 terms hold {s['query_top3_mass']:.0%} of a "
        f"query's L1 mass, top-10 {s['query_top10_mass']:.0%}); {s['terms_used']:,} terms used, "
        f"{s['terms_in_half_of_docs']} in half the documents or more. Forward index (u16+f16): "
        f"{s['forward_bytes'] / 2**20:.1f} MiB.",
        "",
        "### Build",
        "",
        "| system | parameters | build s (CPU s) | peak RSS MiB (input MiB) | index MiB | index / forward |",
        "|---|---|---|---|---|---|",
    ]
    for system in result["systems"]:
        b = system["build"]
        params = ", ".join(f"{k}={v}" for k, v in system["params"].items())
        lines.append(
            f"| {system['label']} | {params} | {b['build_s']:.1f} ({_fmt(b.get('build_cpu_s'), '.1f')}) | "
            f"{b['peak_rss_bytes'] / 2**20:.0f} ({b['input_rss_bytes'] / 2**20:.0f}) | "
            f"{b['index_bytes'] / 2**20:.1f} | {b['index_bytes'] / s['forward_bytes']:.2f} |"
        )
    for system in result["systems"]:
        parts = system["build"].get("space") or system["build"].get("nbytes") or {}
        if parts:
            detail = ", ".join(f"{k} {v / 2**20:.1f}" for k, v in parts.items())
            lines.append(f"\n{system['label']} in memory (MiB): {detail}.")
    e = result["exact"]
    lines += [
        "",
        "### Exact search (one thread)",
        "",
        f"Over {e['queries']} queries: scipy CSR product + top-k {e['scipy_csr']['mean_us']:.0f} "
        f"us mean (p99 {e['scipy_csr']['p99_us']:.0f}); our ExactIndex.search "
        f"{e['exact_index']['mean_us']:.0f} us mean (p99 {e['exact_index']['p99_us']:.0f}), "
        f"search_batch {e['exact_index_batch_mean_us']:.0f} us per query. ExactIndex top-10 "
        f"agrees with scipy's at recall {e['agreement_with_scipy']:.4f}.",
        *_exact_in_sweep(result["sweep"]),
        "",
        "### Recall-latency sweep",
        "",
    ]
    labels = [system["label"] for system in result["systems"]]
    header = "| query_cut | heap_factor | " + " | ".join(
        f"{label} R@10 | {label} mean | {label} p99 | {label} batch" for label in labels
    )
    lines += [header + " |", "|" + "---|" * (2 + 4 * len(labels))]
    for p in result["sweep"]:
        cells = [str(p["query_cut"]), f"{p['heap_factor']:.2f}"]
        for label in labels:
            r = p[label]
            cells += [f"{r['recall']:.3f}", f"{r['mean_us']:.0f}", f"{r['p99_us']:.0f}",
                      f"{r['batch_mean_us']:.0f}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "### Ratios (ours / pyseismic-lsr)", ""]
    for label, entry in result["summary"].items():
        lines.append(
            f"- **{label}**: build time x{_fmt(entry['build_time_ratio'])} (CPU time "
            f"x{_fmt(entry.get('build_cpu_ratio'))}), peak memory "
            f"x{_fmt(entry['peak_memory_ratio'])}, index bytes x{_fmt(entry['index_bytes_ratio'])} "
            f"(index / forward: ours {_fmt(entry['index_over_forward'])}, peer "
            f"{_fmt(entry['peer_index_over_forward'])})."
        )
        for target in TARGETS:
            for mode in ("single", "batch"):
                at = entry[f"at_{target}_{mode}"]
                lines.append(
                    f"  - recall >= {target} ({mode}): ours {_where(at['ours'])}, peer "
                    f"{_where(at['peer'])}: latency x{_fmt(at['latency_ratio'])}"
                )
                best = entry.get(f"best_engine_at_{target}_{mode}")
                if best and best["ours"] and best["ours"]["engine"] == "exact":
                    lines.append(
                        f"  - recall >= {target} ({mode}), our faster engine: exact search "
                        f"{best['ours']['mean_us']:.0f} us (R={best['ours']['recall']:.3f}): "
                        f"latency x{_fmt(best['latency_ratio'])}"
                    )
            lines.append(
                f"  - exact speedup at recall >= {target}: ExactIndex / ours "
                f"x{_fmt(entry[f'exact_speedup_at_{target}'], '.1f')}, scipy CSR / ours "
                f"x{_fmt(entry[f'scipy_speedup_at_{target}'], '.1f')}"
            )
    return lines


def _exact_in_sweep(points: list[dict]) -> list[str]:
    engine = exact_engine(points)
    if engine is None:
        return []
    return [
        "",
        f"In the sweep, interleaved query by query with the others at every point (median over "
        f"the points): ExactIndex.search {engine['mean_us']:.0f} us, search_batch "
        f"{engine['batch_mean_us']:.0f} us per query, R@10 {engine['recall']:.3f}. Where this "
        f"is faster than the Seismic index, an index built with `engine=auto` (what `lsr index "
        f"build` stores) answers with it.",
    ]


def _where(at: dict[str, Any] | None) -> str:
    if at is None:
        return "never reached"
    return (f"{at['mean_us']:.0f} us (qc={at['query_cut']}, hf={at['heap_factor']}, "
            f"R={at['recall']:.3f})")  # fmt: skip


def rerender(json_path: Path) -> None:
    """Recompute the ratios and rewrite the Markdown of a saved report (same measurements)."""
    payload = json.loads(json_path.read_text())
    for result in payload["results"]:
        result["summary"] = summary(
            result["sweep"], result["systems"], result["exact"], result["stats"]
        )
    provenance.save_report(json_path, payload, markdown(payload))


if __name__ == "__main__":
    rerender(Path(sys.argv[1]))

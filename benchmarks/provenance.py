"""What a benchmark report records about where its figures come from: command, commit, CPU.

A ratio between two systems moves with the code measured and the CPU it ran on (vector
extensions such as AVX-512 and bf16 dot products, cache sizes), so every report names both.
Figures from uncommitted code name nothing anyone can check out: :func:`record` refuses a tree
with uncommitted changes unless the benchmark was given ``--allow-dirty``, and the report's
header then says the tree was dirty and lists the changed paths.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsr.atomic import write_json_atomic, write_text_atomic
from lsr.errors import InputError, LsrError

ROOT = Path(__file__).resolve().parents[1]
ALLOW_DIRTY_HELP = "measure a tree with uncommitted changes (the report says so)"
# The CPU features that change which kernels torch, oneDNN and Numba run.
NOTABLE_FLAGS = re.compile(r"(avx\w*|amx\w*|fma|f16c)")


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def git_state(root: Path = ROOT) -> dict[str, Any]:
    """HEAD and the paths with uncommitted changes (``git status --porcelain``: "XY path")."""
    changed = [line[3:] for line in _git(root, "status", "--porcelain").splitlines() if line]
    return {"commit": _git(root, "rev-parse", "HEAD").strip() or "unknown", "changed": changed}


def cpu_info() -> dict[str, Any]:
    """Model name, family/model/stepping and notable flags (first processor of /proc/cpuinfo),
    and the cache sizes lscpu reports."""
    try:
        first = Path("/proc/cpuinfo").read_text(encoding="utf-8").split("\n\n")[0]
    except OSError:
        first = ""
    fields = dict(
        (key.strip(), value.strip())
        for key, value in (line.split(":", 1) for line in first.splitlines() if ":" in line)
    )
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, env={"LC_ALL": "C"})
        caches = dict(re.findall(r"^(L\d\w*) cache:\s+(.+)$", lscpu.stdout, flags=re.MULTILINE))
    except OSError:
        caches = {}
    return {
        "model_name": fields.get("model name", platform.processor() or "unknown"),
        "family": fields.get("cpu family"),
        "model": fields.get("model"),
        "stepping": fields.get("stepping"),
        "logical_cpus": os.cpu_count(),
        "flags": sorted(f for f in fields.get("flags", "").split() if NOTABLE_FLAGS.fullmatch(f)),
        "caches": caches,
    }


def command_line(module: str) -> str:
    """The command as it was run, ``python -m MODULE ARGS``."""
    return f"python -m {module} {shlex.join(sys.argv[1:])}".rstrip()


def record(command: str, allow_dirty: bool, root: Path = ROOT) -> dict[str, Any]:
    """Provenance of a report about to be measured (call it first: a refusal then costs nothing).

    Raises InputError on a dirty tree unless ``allow_dirty``.
    """
    state = git_state(root)
    if state["changed"] and not allow_dirty:
        shown = ", ".join(state["changed"][:5]) + (" ..." if len(state["changed"]) > 5 else "")
        raise InputError(
            f"{root}: uncommitted changes ({shown}); commit them, or pass --allow-dirty and the "
            "report will say the tree was dirty"
        )
    return {
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": state["commit"],
        "dirty": bool(state["changed"]),
        "changed": state["changed"],
        "platform": platform.platform(),
        "cpu": cpu_info(),
    }


def markdown(provenance: dict[str, Any]) -> str:
    """The lines a report starts with: command, commit (and whether dirty), date, CPU."""
    cpu = provenance["cpu"]
    caches = ", ".join(f"{level} {size}" for level, size in cpu["caches"].items()) or "unknown"
    commit = provenance["commit"]
    if provenance["dirty"]:
        commit += (
            f" **with uncommitted changes (--allow-dirty): {', '.join(provenance['changed'])}**"
        )
    return (
        f"Command: `{provenance['command']}`  \n"
        f"Commit: {commit}  \n"
        f"Date: {provenance['date']}; platform: {provenance['platform']}  \n"
        f"CPU: {cpu['model_name']} (family {cpu['family']}, model {cpu['model']}, stepping "
        f"{cpu['stepping']}), {cpu['logical_cpus']} logical CPUs; caches: {caches}; flags: "
        f"{' '.join(cpu['flags']) or 'none of note'}\n"
    )


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's entry point; our errors (a dirty tree) print on one line, exit 2."""
    try:
        main()
    except LsrError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)


def save_report(out: str | os.PathLike, payload: dict[str, Any], text: str) -> str:
    """Write a report as ``OUT.json`` (the measurements, for re-rendering and later comparison)
    and ``OUT.md`` (``text``, for people), each atomically, so that a run stopped midway leaves
    the last complete pair; returns ``text`` for the caller to print."""
    path = Path(out)
    write_json_atomic(path.with_suffix(".json"), payload, indent=1)
    write_text_atomic(path.with_suffix(".md"), text)
    return text


def load_average() -> str:
    """The 1, 5 and 15-minute load averages, recorded beside a run's figures: on a shared
    machine they say how much of the time measured was the machine's queue."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure_and_report(
    module: str,
    out: str | os.PathLike,
    allow_dirty: bool,
    options: dict[str, Any],
    measure: Callable[[dict[str, Any]], Any],
    render: Callable[[dict[str, Any]], str],
) -> str:
    """Record the provenance, run ``measure(options)`` between two load readings and save the
    report (``provenance``, ``options``, ``result``, ``load_before``, ``load_after``); returns
    its Markdown. The provenance comes first, so a dirty tree is refused before any work."""
    origin = record(command_line(module), allow_dirty)
    before = load_average()
    result = measure(options)
    payload = {"provenance": origin, "options": options, "result": result,
               "load_before": before, "load_after": load_average()}  # fmt: skip
    return save_report(out, payload, render(payload))

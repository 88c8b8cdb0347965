"""A damaged index never crashes the process: random bytes flipped in one array file at a time.

Every case either loads and searches (every way, see ``fuzz_worker.py``) or fails with an
``IndexFormatError`` that names the damaged file; never a signal, a hang or another exception.
Cases run in subprocesses, a batch in each, so that a segfault is observed rather than suffered;
when a batch dies, the cases it did not report are rerun one per process to name the culprit.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from index_data import random_collection
from lsr.index import BuildConfig, SeismicIndex

from lsr.vectors import SparseCollection, VectorMetadata

#: Cases in all, spread evenly over the array files (the note of issue 12 reports this count).
FUZZ_CASES = 391
#: Cases per subprocess: starting one (numba, cached kernels) costs about a second.
BATCH = 57
#: Seconds a batch may take (it takes a few); a case alone gets a tenth.
BATCH_TIMEOUT = 120
WORKER = Path(__file__).with_name("fuzz_worker.py")


def fuzz_collection(n: int = 300) -> SparseCollection:
    """Random documents, each with one heavy term of its own and a light term 0 in common: with
    one centroid per document every document is a block of its own, so term 0's list has more
    than 256 blocks, two groups of summaries, both directory layouts occur, and the other lists'
    groups are masked (one block each). Some ids are not ASCII (the UTF-8 checks of the ids)."""
    base = random_collection(n, vocab_size=60, mean_nnz=8, seed=71)
    rows = []
    for i in range(n):
        terms, weights = base.row(i)
        rows.append(([0, *(terms + 1 + n)], [0.3, *weights]))
        rows[-1][0].append(1 + i)
        rows[-1][1].append(5.0)
    ids = [f"d{i}" if i % 3 else f"dé{i}✓" for i in range(n)]
    return SparseCollection.from_rows(ids, rows, VectorMetadata(1 + n + 60))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    config = BuildConfig(n_postings=1000, centroid_fraction=1.0, min_cluster_size=0, knn=3)
    index = SeismicIndex.build(fuzz_collection(), config)
    s = index.summaries
    assert s.list_group_ptr[1] - s.list_group_ptr[0] == 2
    assert len(s.word_bits) > 0 and len(s.comp_terms) > 0
    assert 0 < len(s.entry_block) < s.n_entries  # masked groups (one-block lists) and others
    path = tmp_path_factory.mktemp("fuzz") / "index"
    index.save(path)
    return path


def make_cases(directory: Path) -> list[dict]:
    """``FUZZ_CASES`` cases, the same number per array file: 1 to 4 bytes anywhere in the file
    (header included), each XORed with a random non-zero mask."""
    files = sorted(p.name for p in directory.glob("*.npy"))
    rng = np.random.default_rng(12)
    cases = []
    for i in range(FUZZ_CASES):
        name = files[i % len(files)]
        size = (directory / name).stat().st_size
        positions = rng.choice(size, size=min(size, int(rng.integers(1, 5))), replace=False)
        flips = [[int(p), int(rng.integers(1, 256))] for p in positions]
        cases.append({"id": i, "file": name, "flips": flips})
    return cases


def run_batch(pristine: Path, work: Path, cases: list[dict], timeout: float) -> tuple[dict, str]:
    """Outcomes of the cases the worker reported, and how it ended."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work)
    spec = work.with_suffix(".json")
    spec.write_text(json.dumps(cases))
    command = [sys.executable, str(WORKER), str(work), str(spec)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        stdout, ended = done.stdout, _how(done.returncode, done.stderr)
    except subprocess.TimeoutExpired as exc:
        stdout, ended = (exc.stdout or b"").decode(), f"hung (killed after {timeout} s)"
    outcomes = {}
    for line in stdout.splitlines():
        record = json.loads(line)
        outcomes[record["id"]] = record
    return outcomes, ended


def _how(returncode: int, stderr: str) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}: {stderr[-2000:]}" if returncode else "ok"


@pytest.mark.slow
def test_damaged_index_loads_and_searches_or_fails_naming_the_file(pristine, tmp_path):
    cases = make_cases(pristine)
    assert len({case["file"] for case in cases}) == len(list(pristine.glob("*.npy")))
    outcomes: dict[int, dict] = {}
    for start in range(0, len(cases), BATCH):
        batch = cases[start : start + BATCH]
        found, _ = run_batch(pristine, tmp_path / "work", batch, BATCH_TIMEOUT)
        outcomes |= found
        for case in batch:  # isolate what the batch did not report: the culprit, alone
            if case["id"] not in outcomes:
                alone, how = run_batch(pristine, tmp_path / "work", [case], BATCH_TIMEOUT / 10)
                outcomes[case["id"]] = alone.get(case["id"]) or {"outcome": how, "message": ""}
    failures = []
    for case in cases:
        result = outcomes[case["id"]]
        named = result["outcome"] == "IndexFormatError" and case["file"] in result["message"]
        if result["outcome"] != "ok" and not named:
            failures.append(f"{case}: {result['outcome']}: {result['message']}")
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures[:20])

"""Subprocess of ``test_index_fuzz.py``: load and search damaged copies of an index.

``python fuzz_worker.py INDEX_DIR CASES_JSON``: each case is ``{"id", "file", "flips": [[byte,
xor], ...]}``. The file is damaged in place, the index loaded and searched every way a server
would (parallel batch, serial single query, first_sorted with kNN expansion, exact search over
the stored vectors), and the file restored. One JSON line per case, flushed before the next
begins, so that the parent knows which case a crash or a hang happened in:
``{"id", "outcome": "ok" | "IndexFormatError" | "other", "message"}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from index_data import random_collection
from lsr.index import SeismicIndex

from lsr.errors import IndexFormatError


def search_every_way(directory: Path) -> None:
    index = SeismicIndex.load(directory)
    queries = random_collection(12, vocab_size=index.vocab_size, mean_nnz=6, seed=7, prefix="q")
    index.search_batch(queries, k=10).to_dict()
    index.search_batch(queries, k=10, heap_factor=0.5, first_sorted=True, n_knn=3).to_dict()
    index.search(*queries.row(0), k=5)
    index.exact().search_batch(queries, k=10).to_dict()


def replace(path: Path, data: bytes) -> None:
    """A new file under the name: arrays still mapped from the old one keep their pages."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def run_case(directory: Path, case: dict) -> dict:
    path = directory / case["file"]
    original = path.read_bytes()
    damaged = bytearray(original)
    for position, xor in case["flips"]:
        damaged[position] ^= xor
    replace(path, bytes(damaged))
    try:
        search_every_way(directory)
        return {"id": case["id"], "outcome": "ok", "message": ""}
    except IndexFormatError as exc:
        return {"id": case["id"], "outcome": "IndexFormatError", "message": str(exc)}
    except Exception as exc:  # any other exception is what the fuzzer looks for
        return {"id": case["id"], "outcome": "other", "message": f"{type(exc).__name__}: {exc}"}
    finally:
        replace(path, original)


def main() -> None:
    directory, cases = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    for case in cases:
        print(json.dumps(run_case(directory, case)), flush=True)


if __name__ == "__main__":
    main()

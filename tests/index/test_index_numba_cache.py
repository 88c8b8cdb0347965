"""index/numba_cache.py: the kernels' cache directory follows the package's sources, and nothing
else's cache moves."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT
from lsr.index import numba_cache, simd

PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import lsr, lsr.index.search as search
    import other
    search.new_scratch(4, 4, 1, np.zeros(1, np.uint64))  # compiles (or loads) one kernel of the index, caching it
    other.plus_one(1)
    print(json.dumps({"lsr": lsr.__file__, "index": search.new_scratch.stats.cache_path,
                      "other": other.plus_one.stats.cache_path}))
    """
)
OTHER = "from numba import njit\n\n@njit(cache=True)\ndef plus_one(x):\n    return x + 1\n"


def copied_package(root: Path) -> Path:
    """The lsr package laid out as installed (index/ as lsr/index), plus an unrelated module
    with a cached kernel of its own."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "lsr", root / "lsr", ignore=ignore)
    shutil.copytree(ROOT / "index", root / "lsr" / "index", ignore=ignore)
    (root / "other.py").write_text(OTHER)
    return root


def probe(root: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=root, env={"PYTHONPATH": str(root)},
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


def test_the_hash_covers_every_source_file(tmp_path):
    copy = copied_package(tmp_path) / "lsr" / "index"
    assert numba_cache.source_hash(copy) == numba_cache.source_hash()
    (copy / "simd.py").write_text((copy / "simd.py").read_text() + "# an edit\n")
    assert numba_cache.source_hash(copy) != numba_cache.source_hash()


def test_an_edit_to_an_inlined_module_moves_every_kernel_to_a_new_cache(tmp_path):
    root = copied_package(tmp_path)
    before = probe(root)
    assert Path(before["lsr"]).parent == root / "lsr"  # the copy, not the installed package
    index_cache = root / "lsr" / "index" / "__pycache__"
    assert Path(before["index"]).parent == index_cache
    lanes = simd.lane_loads()  # the subprocesses run on this CPU, in this environment
    assert Path(before["index"]).name == f"lsr-index-{numba_cache.source_hash()}-{lanes}"
    topk = root / "lsr" / "index" / "topk.py"  # inlined into search.py's kernels
    topk.write_text(topk.read_text() + "# an edit\n")
    after = probe(root)
    assert after["index"] != before["index"]
    assert Path(after["index"]).name == f"lsr-index-{numba_cache.source_hash(topk.parent)}-{lanes}"
    assert list(Path(after["index"]).glob("search.new_scratch-*.nbi"))
    # A kernel outside the package is cached where Numba always puts it.
    assert before["other"] == after["other"] == str(root / "__pycache__")

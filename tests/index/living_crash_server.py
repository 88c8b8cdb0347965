"""Preloaded by the crash test's forkserver: the writers it forks start with lsr imported and
its kernels loaded, so that they reach their first operation in milliseconds.

Numba's parallel kernels run on the "workqueue" threading layer here: it survives ``fork``,
while GNU OpenMP (this machine's default layer) aborts a forked child that launches a kernel
after its parent did.
"""

import tempfile

import numba

numba.config.THREADING_LAYER = "workqueue"

from living_crash_worker import warm_up  # noqa: E402

with tempfile.TemporaryDirectory() as scratch:
    warm_up(f"{scratch}/index")

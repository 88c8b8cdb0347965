"""Numba's parallel kernels launched from many Python threads at once, safely.

Numba runs ``prange`` loops on a threading layer: TBB or OpenMP where installed (both
thread-safe), else its own "workqueue", which *aborts the process* when two Python threads
launch parallel kernels at the same time (seen here: SIGABRT with four threads calling
``search_batch``; ``NUMBA_THREADING_LAYER=workqueue`` reproduces it anywhere). Slim container
images without the OpenMP runtime (``libgomp``) get workqueue, and a server answering requests in
threads would die on its first two concurrent batches. Under workqueue, or before the layer is
chosen (at the first launch), launches therefore take turns under one lock; under TBB or OpenMP
they run concurrently as before.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext

import numba

#: Re-entrant: a build launches searches of its own (the kNN graph) while holding it.
_TURNS = threading.RLock()


def launch_guard() -> AbstractContextManager:
    """What to hold around a parallel kernel launch: the lock where the layer needs it."""
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet: the layer is not chosen
        return _TURNS
    return _TURNS if layer == "workqueue" else nullcontext()

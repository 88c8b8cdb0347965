"""How many CPU threads a computing command uses: ``--threads N`` of ``lsr encode`` (torch),
``lsr index build`` / ``search`` (Numba) and ``lsr eval`` (both).

The default is every core this process may run on (its CPU affinity, which a container or
``taskset`` narrows), so that a command uses the machine it is given; ``--threads`` shares it.
Nothing here runs at import time: a command sets its threads when it starts.
"""

from __future__ import annotations

import os

from lsr.errors import InputError


def available_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check_threads(threads: object) -> int:
    """``threads`` as a positive integer, or an :class:`InputError` naming the parameter."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(f"threads must be a positive integer, got {threads!r}")
    return threads


def use_torch_threads(threads: int | None = None) -> None:
    """Let torch's intra-op pool (the encoders' matrix products) use ``threads`` threads
    (``None``: every available core)."""
    import torch

    torch.set_num_threads(available_cores() if threads is None else check_threads(threads))


def use_numba_threads(threads: int | None = None) -> None:
    """Let the index's parallel Numba kernels use ``threads`` threads (``None``: every available
    core that Numba's pool has).

    Numba's pool is sized once, when it starts (``NUMBA_NUM_THREADS``, default all cores), and can
    only be narrowed afterwards, so a larger request is refused rather than silently capped.
    """
    import numba

    most = numba.config.NUMBA_NUM_THREADS
    threads = min(available_cores(), most) if threads is None else check_threads(threads)
    if threads > most:
        raise InputError(
            f"threads must be at most {most} (NUMBA_NUM_THREADS, the size of Numba's pool), "
            f"got {threads}"
        )
    numba.set_num_threads(threads)

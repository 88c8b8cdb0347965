"""Where Numba caches the index kernels: a directory named after a hash of every source file of
this package, so that cached machine code is never older than the source.

Numba keys a cached kernel on its *own* module's source only, but our kernels inline helpers of
other modules (``forward.dot_dense``, ``simd``, ``prefetch``, ``topk``, ``summary``): after an
edit to ``topk.py`` (a ``git pull``), ``search.py``'s cached kernels would still hold the old
heap. Here every kernel of this package is cached under ``lsr-index-<hash of index/*.py>``, so
any change of any file starts a fresh cache.

How, and why it touches nothing else: Numba asks each class of its list of cache locators, in
order, whether it serves a function; :func:`install` puts :class:`IndexCacheLocator` first in
that list, and it serves only functions defined in this package's directory, declining every
other (Numba then asks its own locators, as before). Setting ``numba.config.CACHE_DIR``
instead would move the cache of every other library's kernels too (ranx's, for one), and
``NUMBA_CACHE_DIR`` in the environment would also reach child processes. ``lsr.index`` calls
:func:`install` first thing on import, before any kernel is decorated; a user's
``NUMBA_CACHE_DIR`` is respected (the keyed directory goes inside it).

The directory's name also carries how the dot product loads its lanes
(:func:`index.simd.lane_loads`), which ``LSR_DOT_LANES`` may force. Old ``lsr-index-*`` directories are left behind (another process may still use one); delete
them to reclaim the space.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from lsr.index.simd import lane_loads
from numba.core import caching, config
from numba.misc.appdirs import AppDirs

PACKAGE_DIR = Path(__file__).resolve().parent

# Numba 0.61 made these names public; 0.60 has them with a leading underscore.
_CacheImpl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
_CacheLocator = caching._CacheLocator
_SourceFileBacked = caching._SourceFileBackedLocatorMixin


def source_hash(directory: Path = PACKAGE_DIR) -> str:
    """SHA-256 (16 hex digits) of the names and contents of every ``*.py`` in ``directory``."""
    digest = hashlib.sha256()
    for path in sorted(directory.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@cache
def cache_directory_name() -> str:
    """``lsr-index-<hash>-<lane loads>``: computed once per process (reading ~20 small files).
    The dot product's lane loads (:func:`index.simd.lane_loads`) may be forced by an
    environment variable, which Numba's own cache key (the target CPU) does not see."""
    return f"lsr-index-{source_hash()}-{lane_loads()}"


def _bases() -> list[Path]:
    """Where the keyed directory may go, by preference: ``NUMBA_CACHE_DIR`` if the user set
    it, the package's ``__pycache__``, the user-wide cache (a read-only installation)."""
    bases = [Path(config.CACHE_DIR)] if config.CACHE_DIR else []
    user_wide = Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)
    return [*bases, PACKAGE_DIR / "__pycache__", user_wide]


class IndexCacheLocator(_SourceFileBacked, _CacheLocator):
    """Numba cache locator for the kernels of this package (see the module docstring)."""

    def __init__(self, py_func, py_file: str, cache_path: Path) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(cache_path)

    def get_cache_path(self) -> str:
        return self._cache_path

    @classmethod
    def from_function(cls, py_func, py_file: str):
        if Path(py_file).resolve().parent != PACKAGE_DIR:
            return None
        for base in _bases():
            locator = cls(py_func, py_file, base / cache_directory_name())
            try:
                locator.ensure_cache_path()
            except OSError:
                continue
            return locator
        return None


def install() -> None:
    """Put :class:`IndexCacheLocator` first in Numba's list of locators (once)."""
    if IndexCacheLocator not in _CacheImpl._locator_classes:
        _CacheImpl._locator_classes.insert(0, IndexCacheLocator)

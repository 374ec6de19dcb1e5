"""numba's on-disk cache for seglab's compiled kernels, in a folder this process can write.

numba stores a ``cache=True`` function's machine code in ``NUMBA_CACHE_DIR`` when set, else in
``__pycache__`` beside the function's file, else in ``~/.cache/numba``, and raises when none of
them is writable, which would make the kernels' module unimportable. :func:`cached_njit` then
falls back to :func:`fallback_cache_dir`, and without any writable folder compiles in every
process, with a warning.

numba invalidates a function's cache entry when the function's own file changes, not when a
function it calls from another file does: keep a kernel and everything it inlines in one file.
"""

from __future__ import annotations

import os
import tempfile
import warnings

import numba

from seglab.errors import SeglabWarning

__all__ = ["cached_njit", "fallback_cache_dir"]


def fallback_cache_dir() -> str:
    """Per-user temp folder for the kernels' cache when numba finds no writable one."""
    try:
        user = str(os.getuid())
    except AttributeError:  # Windows
        user = os.environ.get("USERNAME", "user")
    return os.path.join(tempfile.gettempdir(), f"seglab-numba-cache-{user}")


def cached_njit(**options):
    """``numba.njit(cache=True, **options)`` whose cache folder is writable, else no cache.

    Parameters
    ----------
    **options
        Options of ``numba.njit`` (``parallel``, ``error_model``, ...), except ``cache``.

    Returns
    -------
    decorate : callable
        Decorator that turns a function into a numba dispatcher.
    """

    def decorate(function):
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError:  # "cannot cache function ...: no locator available for file ..."
            pass
        previous = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = fallback_cache_dir()
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError:
            warnings.warn(
                f"no writable folder for numba's cache (set NUMBA_CACHE_DIR): "
                f"{function.__qualname__} is compiled in every process",
                SeglabWarning,
                stacklevel=3,
            )
            return numba.njit(cache=False, **options)(function)
        finally:
            numba.config.CACHE_DIR = previous

    return decorate

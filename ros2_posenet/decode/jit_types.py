"""numba types for the signatures of the CPU decoder's compiled loops (``linking``, ``peak_search``).

Every compiled function is given its signature, so that it compiles (or loads from numba's cache)
when its module is imported, never in the middle of a frame, and a call with other array types
raises TypeError instead of compiling another version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from numba import njit, types

I8, F4, F8, BOOL = types.int64, types.float32, types.float64, types.boolean
INDICES, VALUES = types.Array(I8, 1, "C"), types.Array(F8, 1, "C")


def given(dtype: types.Type, dimensions: int) -> types.Array:
    """A C-contiguous array argument, read-only or not (a cached topology array, an engine's output):
    numba passes a writable array where a read-only one is declared, not the other way round."""
    return types.Array(dtype, dimensions, "C", readonly=True)


def made(dtype: types.Type, dimensions: int) -> types.Array:
    """A C-contiguous array that a compiled function makes and writes."""
    return types.Array(dtype, dimensions, "C")


def compiled(signature: Any) -> Callable[[Callable], Any]:
    """numba's ``njit`` with the given signature(s), cached on disk, releasing the GIL (the node's
    worker decodes while its executor thread handles messages). Where numba finds no writable cache
    directory (a read-only install and home), it compiles in memory, at every start."""

    def decorate(function: Callable) -> Any:
        try:
            return njit(signature, cache=True, nogil=True)(function)
        except RuntimeError as error:  # numba's "cannot cache function ...: no locator available"
            if "cache" not in str(error):
                raise
            _warn_uncached()
            return njit(signature, nogil=True)(function)

    return decorate


@lru_cache(maxsize=1)
def _warn_uncached() -> None:
    """Say once that the loops are compiled at every start, and how to give numba a cache."""
    logging.getLogger(__name__).warning(
        "numba has nowhere to cache the decoder's compiled loops: compiling them at every start "
        "(about 10 s); set NUMBA_CACHE_DIR to a writable directory to keep them"
    )

"""Giving memory back after a large frame: glibc keeps freed heap memory mapped, so one 40 MB frame
would leave the node's resident size that much higher for good; ``malloc_trim`` returns it."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

LARGE_FRAME_PIXELS = 4_000_000  # frames above this (a 2.7K camera) are followed by a trim


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None  # glibc; musl and macOS have none
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def release_freed_memory() -> bool:
    """Return the heap's free pages to the OS; False where the C library cannot."""
    return bool(_TRIM(0)) if _TRIM is not None else False

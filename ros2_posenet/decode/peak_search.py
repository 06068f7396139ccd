"""Steps 1 and 2 of docs/decoding.md as one compiled loop: the local maxima of each keypoint's map
above the threshold, highest first, at most ``max_parts`` of each.

A frame of a few people has a few dozen peaks among 50 000 pixels: NumPy finds the pixels above the
threshold in one call, and a compiled loop looks at their neighbours and keeps each keypoint's best
in a short sorted list, in microseconds where a dozen more NumPy calls took tens of them.
Signatures: ``jit_types``.
"""

from __future__ import annotations

import numpy as np
from numba import types

from ros2_posenet.decode.jit_types import F4, I8, INDICES, compiled, given

# A pixel's 8 neighbours, the 4 sharing an edge first: most pixels above the threshold fail one of them.
_NEIGHBOURS = ((0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1))


@compiled(types.boolean(given(F4, 1), I8, F4, given(I8, 1)))
def _at_least_neighbours(flat: np.ndarray, pixel: int, value: float, offsets: np.ndarray) -> bool:  # pragma: no cover
    """Whether ``value`` at ``pixel`` is at least each neighbour at ``offsets``."""
    for offset in offsets:  # noqa: SIM110 (numba compiles no generator for all())
        if not value >= flat[pixel + offset]:
            return False
    return True


@compiled(types.Tuple((INDICES, INDICES))(given(F4, 3), given(I8, 1), I8))
def select_peaks(
    padded: np.ndarray, above: np.ndarray, max_parts: int
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover (compiled)
    """Flat indices into ``padded`` of each keypoint's peaks, keypoint by keypoint, and how many each
    has. ``padded``: the (K, H + 2 pad, W + 2 pad) maps with a border of -inf (pad >= 1), never a peak
    and never above a neighbour; ``above``: the flat indices of its pixels above the threshold, in
    raster order. A peak is at least each of its 8 neighbours (so a NaN neighbour rules it out); a
    keypoint's are sorted by value, descending, ties in raster order, and cut to ``max_parts``."""
    keypoints, rows, columns = padded.shape
    flat, plane = padded.reshape(-1), rows * columns
    offsets = np.array([dy * columns + dx for dy, dx in _NEIGHBOURS], np.int64)
    best = np.empty((keypoints, max_parts), np.int64)
    counts = np.zeros(keypoints, np.int64)
    for pixel in above:
        keypoint, value = pixel // plane, flat[pixel]
        kept, kept_pixels = counts[keypoint], best[keypoint]
        if kept == max_parts and value <= flat[kept_pixels[kept - 1]]:
            continue
        if not _at_least_neighbours(flat, pixel, value, offsets):
            continue
        place = min(kept, max_parts - 1)  # when full, the last one goes
        while place > 0 and flat[kept_pixels[place - 1]] < value:  # after the equal ones: raster order
            kept_pixels[place] = kept_pixels[place - 1]
            place -= 1
        kept_pixels[place] = pixel
        counts[keypoint] = min(kept + 1, max_parts)
    peaks = np.empty(counts.sum(), np.int64)
    start = 0
    for keypoint in range(keypoints):
        peaks[start : start + counts[keypoint]] = best[keypoint, : counts[keypoint]]
        start += counts[keypoint]
    return peaks, counts

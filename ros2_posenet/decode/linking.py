"""Steps 4 and 5 of docs/decoding.md as compiled loops: every candidate pair's PAF line integral
under OpenPose's criteria, and the greedy assignment of each link's pairs.

NumPy calls cost microseconds each whatever their size, and a frame of a few people has a few hundred
pairs of ten samples: per-pair loops compiled by numba do that work in a few microseconds where a
fixed sequence of NumPy calls took a quarter of a millisecond (docs/decoding.md). The arithmetic and
its order are the CUDA kernel's (``paf_scores`` in cuda/kernels/decode.cu), so both give the same
scores to the bit. Signatures: ``jit_types``.
"""

from __future__ import annotations

import numpy as np
from numba import types

from ros2_posenet.decode.jit_types import BOOL, F4, F8, I8, INDICES, VALUES, compiled, given, made

_PAIRS = types.Tuple((INDICES, INDICES, INDICES, VALUES))
# From this many pairs on (7 people of poseNet's body), a frame's pairs are first screened by where the
# field is strong (``_may_align``), which costs a pass over the PAF and saves reading it at most samples.
_SCREEN_PAIRS = 768


@compiled(F8(F8, F8))
def _clamp(value: float, high: float) -> float:  # pragma: no cover (compiled)
    """``value`` within [0, high], as np.clip for finite values; NaN becomes 0, so no read leaves the map."""
    value = value if value > 0.0 else 0.0
    return value if value < high else high


@compiled(F8(given(F4, 2), given(F4, 2), F8, F8, F8, F8))
def _alignment(
    x_plane: np.ndarray, y_plane: np.ndarray, y: float, x: float, dy: float, dx: float
) -> float:  # pragma: no cover (compiled)
    """``paf_x * dx + paf_y * dy`` at (y, x) within the map, each plane bilinear in float64 (the last row
    and column interpolate themselves), as the kernel's ``sample_map``."""
    row, column = np.floor(y), np.floor(x)
    y0, x0 = int(row), int(column)
    y1 = y0 + 1 if y0 < x_plane.shape[0] - 1 else y0
    x1 = x0 + 1 if x0 < x_plane.shape[1] - 1 else x0
    fy, fx = y - row, x - column
    top = np.float64(x_plane[y0, x0])
    top += (x_plane[y0, x1] - top) * fx
    bottom = np.float64(x_plane[y1, x0])
    bottom += (x_plane[y1, x1] - bottom) * fx
    along_x = top + (bottom - top) * fy
    top = np.float64(y_plane[y0, x0])
    top += (y_plane[y0, x1] - top) * fx
    bottom = np.float64(y_plane[y1, x0])
    bottom += (y_plane[y1, x1] - bottom) * fx
    return along_x * dx + (top + (bottom - top) * fy) * dy


@compiled(types.UniTuple(F8, 2)(F8, F8, F8, F8, I8, I8, I8, I8))
def _sample(
    ya: float, xa: float, dy: float, dx: float, step: int, samples: int, height: int, width: int
) -> tuple[float, float]:  # pragma: no cover (compiled)
    """y and x of sample ``step`` of ``samples`` along a pair, at the middle of its step, clamped to the map."""
    fraction = (step + 0.5) / samples
    return _clamp(ya + dy * fraction, height - 1.0), _clamp(xa + dx * fraction, width - 1.0)


@compiled(made(BOOL, 3)(given(F4, 3), given(I8, 2), F8))
def _may_align(paf: np.ndarray, channels: np.ndarray, threshold: float) -> np.ndarray:  # pragma: no cover (compiled)
    """Per link and pixel, whether a sample whose floor is that pixel may align better than ``threshold``
    (>= 0): whether one of the four corners it interpolates (the last row and column interpolate
    themselves) is stronger than that. An alignment is the projection of a convex combination of the
    corners on a unit vector, never longer than the longest corner, never longer than its |x| + |y|
    (exact in float64); the margin covers the rounding of the division by the length."""
    height, width = paf.shape[1], paf.shape[2]
    bound = threshold * (1 - 1e-6)
    strong = np.empty((len(channels), height, width), np.bool_)
    for link in range(len(channels)):
        x_plane, y_plane, mask = paf[channels[link, 0]], paf[channels[link, 1]], strong[link]
        for y in range(height):
            for x in range(width):
                mask[y, x] = abs(np.float64(x_plane[y, x])) + abs(np.float64(y_plane[y, x])) > bound
        for y in range(height):  # a pixel, or its right, lower or lower right neighbour
            for x in range(width - 1):
                mask[y, x] |= mask[y, x + 1]
        for y in range(height - 1):
            for x in range(width):
                mask[y, x] |= mask[y + 1, x]
    return strong


@compiled(
    BOOL(made(BOOL, 2), F8, F8, F8, F8, INDICES, I8)
)  # fmt: skip
def _fails_screen(
    strong: np.ndarray, ya: float, xa: float, dy: float, dx: float, by_centre: np.ndarray, may_fail: int
) -> bool:  # pragma: no cover (compiled)
    """Whether more than ``may_fail`` samples of a pair fall where ``_may_align``'s ``strong`` says they
    cannot align: one byte read a sample, where sampling reads eight floats."""
    samples, height, width = len(by_centre), strong.shape[0], strong.shape[1]
    failed = 0
    for step in by_centre:
        y, x = _sample(ya, xa, dy, dx, step, samples, height, width)
        if not strong[int(y), int(x)]:
            failed += 1
            if failed > may_fail:
                return True
    return False


@compiled(INDICES(I8))
def _centre_first(samples: int) -> np.ndarray:  # pragma: no cover (compiled)
    """The sample steps by distance from the middle of a pair, the nearer of two first."""
    order = np.empty(samples, np.int64)
    low, high = (samples - 1) // 2, samples // 2
    for taken in range(0, samples, 2):  # from the middle out, a step below and (if any) one above
        order[taken] = low - taken // 2
        if taken + 1 < samples:
            order[taken + 1] = high + taken // 2 + (samples % 2)
    return order


@compiled(
    _PAIRS(
        given(F4, 3), given(F8, 2), given(I8, 1), given(I8, 2), given(I8, 2),
        I8, F8, F8, BOOL,
    )
)  # fmt: skip
def score_pairs(
    paf: np.ndarray,
    positions: np.ndarray,
    counts: np.ndarray,
    ends: np.ndarray,
    channels: np.ndarray,
    samples: int,
    sample_threshold: float,
    min_aligned_fraction: float,
    distance_prior: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover (compiled)
    """Link, a row, b column and score of every candidate pair that passes OpenPose's criteria, in
    ``pair_layout``'s order (link by link, row-major). ``positions``: (2, N) y and x of all candidates,
    keypoint by keypoint (``counts``); ``ends``: per link its keypoints a, b; ``channels``: per link its
    PAF x channel, then y channel.

    A pair's mean is the sum of its samples' alignments in sample order over ``samples``, each sample
    bilinear in float64 from the float32 maps, clamped to the map. The samples nearest the middle are
    taken first (where a pair of two people's keypoints is furthest from both people's limbs), and a
    pair stops as soon as too many have failed to align: it could no longer be linked."""
    height, width = paf.shape[1], paf.shape[2]
    first = np.zeros(len(counts) + 1, np.int64)
    for keypoint in range(len(counts)):
        first[keypoint + 1] = first[keypoint] + counts[keypoint]
    total = 0
    for link in range(len(ends)):
        total += counts[ends[link, 0]] * counts[ends[link, 1]]
    links, rows, columns = np.empty(total, np.int64), np.empty(total, np.int64), np.empty(total, np.int64)
    scores = np.empty(total, np.float64)
    may_fail = samples - (int(np.floor(min_aligned_fraction * samples)) + 1)
    by_centre, along = _centre_first(samples), np.empty(samples, np.float64)
    screened = total >= _SCREEN_PAIRS and sample_threshold >= 0.0
    strong = _may_align(paf, channels, sample_threshold) if screened else np.zeros((0, 0, 0), np.bool_)
    found = 0
    for link in range(len(ends)):
        a, b = first[ends[link, 0]], first[ends[link, 1]]
        x_channel, y_channel = paf[channels[link, 0]], paf[channels[link, 1]]
        for i in range(counts[ends[link, 0]]):
            ya, xa = positions[0, a + i], positions[1, a + i]
            for j in range(counts[ends[link, 1]]):
                dy, dx = positions[0, b + j] - ya, positions[1, b + j] - xa
                length = np.sqrt(dy * dy + dx * dx)
                if not length >= 1e-6:  # coincident, or not finite
                    continue
                if screened and _fails_screen(strong[link], ya, xa, dy, dx, by_centre, may_fail):
                    continue
                failed = 0
                for step in by_centre:
                    y, x = _sample(ya, xa, dy, dx, step, samples, height, width)
                    along[step] = _alignment(x_channel, y_channel, y, x, dy, dx) / length
                    if not along[step] > sample_threshold:
                        failed += 1
                        if failed > may_fail:
                            break
                if failed > may_fail:
                    continue
                mean = along[0]
                for step in range(1, samples):
                    mean += along[step]
                mean /= samples
                prior = min(0.0, 0.5 * height / length - 1.0) if distance_prior else 0.0
                if samples - failed > min_aligned_fraction * samples and mean + prior > 0.0:
                    links[found], rows[found], columns[found], scores[found] = link, i, j, mean
                    found += 1
    return links[:found], rows[:found], columns[:found], scores[:found]


@compiled(
    INDICES(given(I8, 1), given(I8, 1), given(I8, 1), given(I8, 1), given(I8, 1))
)  # fmt: skip
def walk_greedily(
    links: np.ndarray, rows: np.ndarray, columns: np.ndarray, heights: np.ndarray, widths: np.ndarray
) -> np.ndarray:  # pragma: no cover (compiled)
    """Indices of the pairs taken, in order: pairs ranked link by link, best first, each taken unless its
    row or its column (a candidate of the link's keypoint a or b) was taken before in its link, so that
    a link never gets more than min(N_a, N_b) connections. ``heights``, ``widths``: each link's table shape."""
    chosen = np.empty(len(links), np.int64)
    taken_row = np.zeros(max(1, heights.max()) if len(heights) else 1, np.bool_)
    taken_column = np.zeros(max(1, widths.max()) if len(widths) else 1, np.bool_)
    found, current = 0, -1
    for pair in range(len(links)):
        if links[pair] != current:
            current = links[pair]
            taken_row[: heights[current]] = False
            taken_column[: widths[current]] = False
        row, column = rows[pair], columns[pair]
        if taken_row[row] or taken_column[column]:
            continue
        taken_row[row] = taken_column[column] = True
        chosen[found] = pair
        found += 1
    return chosen[:found]

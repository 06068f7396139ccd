"""The CPU reference decoder: CMAP and PAF maps to people, exactly as docs/decoding.md says.

Each step is its own function so that the CUDA decoder can mirror it and be compared with it
step by step; steps 5 and 6 (assignment, assembly) are shared with it in ``assembly.py``.
``decode_cpu`` runs the same steps on one flat table of all candidates: NumPy for the whole-map
work, compiled loops (``peak_search``, ``linking``, ``growth``) for the many small steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ros2_posenet.decode.assembly import assemble_table, assign_pairs, pairs_array, split_by_counts
from ros2_posenet.decode.linking import score_pairs
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.decode.peak_search import select_peaks
from ros2_posenet.pose import Pose
from ros2_posenet.topology import Topology


def decode_cpu(cmap: np.ndarray, paf: np.ndarray, topology: Topology, params: DecodeParams | None = None) -> list[Pose]:
    """People found in one frame's maps, keypoints in map pixels (pixel centres at integers)."""
    params = params or DecodeParams()
    cmap, paf = check_maps(cmap, paf, topology)
    padded = _PaddedMap(cmap, params.refine_window)
    peaks = padded.peaks(params)
    refined, counts = padded.refine(peaks, params), peaks.counts
    shapes = [(counts[a], counts[b]) for a, b in topology.links]
    links, rows, cols, scores = _linked_pairs(paf, refined, counts, topology, params)
    connections = assign_pairs(scores, links, rows, cols, shapes, params)
    return assemble_table(refined, counts, connections, topology, params)


def check_maps(cmap: np.ndarray, paf: np.ndarray, topology: Topology) -> tuple[np.ndarray, np.ndarray]:
    """The maps as float32 arrays, or a one-line ValueError saying which shape was expected."""
    cmap = np.asarray(cmap, dtype=np.float32)
    paf = np.asarray(paf, dtype=np.float32)
    keypoints, channels = topology.num_keypoints, 2 * topology.num_links
    if cmap.ndim != 3 or cmap.shape[0] != keypoints or min(cmap.shape) < 1:
        raise ValueError(f"cmap must be [{keypoints}, H, W] for topology {topology.name!r}, got {list(cmap.shape)}")
    if paf.shape != (channels, *cmap.shape[1:]):
        raise ValueError(
            f"paf must be [{channels}, {cmap.shape[1]}, {cmap.shape[2]}] for topology {topology.name!r} "
            f"and cmap {list(cmap.shape)}, got {list(paf.shape)}"
        )
    return cmap, paf


class _PeakSet(NamedTuple):
    """Peaks by flat index into a ``_PaddedMap``, keypoint by keypoint, highest first."""

    pixel: np.ndarray  # flat index into the padded map
    values: np.ndarray  # float32 peak values
    keypoint: np.ndarray
    counts: list[int]  # peaks of each keypoint type


class _PaddedMap:
    """The CMAP padded with -inf, so that a pixel's neighbours and refinement window are fixed
    offsets of its flat index, in the map or in the padding, which is never a peak, never higher
    than a neighbour and weighs nothing (as the window clipped to the map)."""

    def __init__(self, cmap: np.ndarray, refine_window: int) -> None:
        self.keypoints, height, width = cmap.shape
        self.pad = pad = max(1, refine_window // 2)
        padded = np.full((self.keypoints, height + 2 * pad, width + 2 * pad), -np.inf, dtype=np.float32)
        padded[:, pad:-pad, pad:-pad] = cmap
        self.padded, self.flat, self.plane, self.row = padded, padded.reshape(-1), padded[0].size, width + 2 * pad

    def peaks(self, params: DecodeParams) -> _PeakSet:
        """Steps 1-2: the local maxima above the threshold, sorted by value within each keypoint type
        (ties: raster order) and cut to ``max_parts`` per type (``peak_search.select_peaks``)."""
        above = np.flatnonzero(self.flat > np.float32(params.keypoint_threshold))  # raster order
        index, counts = select_peaks(self.padded, above, params.max_parts)
        keypoint = np.repeat(np.arange(self.keypoints), counts)
        return _PeakSet(index, self.flat[index], keypoint, counts.tolist())

    def at(self, counts: list[int], y: np.ndarray, x: np.ndarray, values: np.ndarray) -> _PeakSet:
        """The given pixels of the map, ``counts`` of each keypoint type in turn, as a peak set
        (refine_peaks' input)."""
        keypoint = np.repeat(np.arange(len(counts)), counts)
        index = keypoint * self.plane + (y + self.pad) * self.row + (x + self.pad)
        return _PeakSet(index.astype(np.int64), values, keypoint, counts)

    def coordinates(self, peaks: _PeakSet) -> np.ndarray:
        """(N, 2) map row and column of each peak."""
        return np.stack(np.divmod(peaks.pixel % self.plane, self.row), axis=1) - self.pad

    def refine(self, peaks: _PeakSet, params: DecodeParams) -> np.ndarray:
        """Step 3: (N, 3) float64 ``[y, x, score]``: each peak moved by ``_window_shifts``, and the
        peak value."""
        refined = np.empty((len(peaks.pixel), 3))
        refined[:, :2] = self.coordinates(peaks) + self._window_shifts(peaks, params)
        refined[:, 2] = peaks.values
        return refined

    def _window_shifts(self, peaks: _PeakSet, params: DecodeParams) -> np.ndarray:
        """(N, 2) shift in y and x from each peak to the weighted centroid of ``max(cmap, 0)`` in its
        window, or with ``refine_sigma`` to the smoothed window's maximum (``_smoothed_maximum``). The
        window's weight and first moments, and its smoothed values at the peak's 3x3 pixels, are each
        one product of the (N, window²) weights with a matrix made once per window."""
        radius = params.refine_window // 2
        offsets, moments = _window_moments(radius, self.row)
        weights = np.maximum(self.flat.take(peaks.pixel[:, None] + offsets), 0)
        sums = weights @ moments
        centroids = sums[:, 1:] / sums[:, :1]
        if not params.refine_sigma:
            return centroids
        return _smoothed_maximum(weights @ _smoothing(radius, params.refine_sigma), centroids)


@lru_cache(maxsize=16)
def _window_moments(radius: int, row: int) -> tuple[np.ndarray, np.ndarray]:
    """A refinement window of ``radius`` in a padded map of ``row`` pixels a row: its pixels' flat
    offsets from the centre, and the (window², 3) columns that turn its weights into their sum and
    their first moments in y and x about the centre."""
    steps = np.arange(-radius, radius + 1)
    dy, dx = (axis.reshape(-1) for axis in np.meshgrid(steps, steps, indexing="ij"))
    offsets, moments = dy * row + dx, np.stack([np.ones(len(dy)), dy, dx], axis=1).astype(np.float64)
    offsets.flags.writeable = moments.flags.writeable = False
    return offsets, moments


@lru_cache(maxsize=16)
def _smoothing(radius: int, sigma: float) -> np.ndarray:
    """(window², 9): the Gaussian of ``sigma`` from each window pixel to each of the 3x3 pixels around
    the centre (both in raster order), so that weights times it are the smoothed window there. As in
    the kernel, it is the product of the 1D Gaussians along y and x."""
    steps = np.arange(-radius, radius + 1, dtype=np.float64)[:, None] - np.arange(-1.0, 2.0)  # (window, 3)
    along = np.exp(steps * steps * (-0.5 / (sigma * sigma)))
    kernel = (along[:, None, :, None] * along[None, :, None, :]).reshape(-1, 9)  # [dy, dx, cy, cx]
    kernel.flags.writeable = False
    return kernel


def _smoothed_maximum(smoothed: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """(N, 2) shift in y and x to the vertex of the 2D quadratic (cross term included) through the logs
    of each peak's (N, 9) ``smoothed`` 3x3 values, at most a pixel each way: exact for a Gaussian blob,
    whose smoothed logs are a quadratic. Where that quadratic has no maximum, the ``fallback`` shift."""
    logs = np.log(smoothed).T.reshape(3, 3, -1)  # [dy + 1, dx + 1, peak]
    centre = logs[1, 1]
    gy, gx = (logs[2, 1] - logs[0, 1]) * 0.5, (logs[1, 2] - logs[1, 0]) * 0.5
    hyy, hxx = logs[2, 1] - 2.0 * centre + logs[0, 1], logs[1, 2] - 2.0 * centre + logs[1, 0]
    hxy = (logs[2, 2] - logs[2, 0] - logs[0, 2] + logs[0, 0]) * 0.25
    determinant = hyy * hxx - hxy * hxy
    peaked = (hyy < 0) & (determinant > 0)
    safe = np.where(peaked, determinant, 1.0)
    shift = np.stack(((hxy * gx - hxx * gy) / safe, (hxy * gy - hyy * gx) / safe), axis=1)
    return np.where(peaked[:, None], np.clip(shift, -1.0, 1.0), fallback)


def find_peaks(cmap: np.ndarray, params: DecodeParams) -> list[np.ndarray]:
    """Steps 1-2: per keypoint, a (N_k, 3) float32 array of local maxima ``[y, x, value]``.

    Rows are sorted by value, descending (ties: raster order) and cut to ``max_parts``. The
    threshold is rounded to float32, the maps' type, before the strict comparison.
    """
    padded = _PaddedMap(np.asarray(cmap, dtype=np.float32), params.refine_window)
    peaks = padded.peaks(params)
    table = np.column_stack((padded.coordinates(peaks), peaks.values)).astype(np.float32)
    return split_by_counts(table, peaks.counts)


def refine_peaks(cmap: np.ndarray, peaks: Sequence[np.ndarray], params: DecodeParams) -> list[np.ndarray]:
    """Step 3: per keypoint, (N_k, 3) float64 ``[y, x, score]`` with y, x the weighted centroid
    of ``max(cmap, 0)`` in the peak's window clipped to the map, or with ``refine_sigma`` the maximum
    of that window smoothed; score stays the peak value."""
    padded = _PaddedMap(np.asarray(cmap, dtype=np.float32), params.refine_window)
    counts = [len(p) for p in peaks]
    rows = np.concatenate([np.asarray(p, dtype=np.float32).reshape(-1, 3) for p in peaks])
    at = padded.at(counts, rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64), rows[:, 2])
    return split_by_counts(padded.refine(at, params), counts)


def link_scores(
    paf: np.ndarray, candidates: Sequence[np.ndarray], topology: Topology, params: DecodeParams
) -> list[np.ndarray]:
    """Step 4: per link (a, b), the (N_a, N_b) float64 table of mean PAF alignment along
    ``link_samples`` points between every candidate pair; -inf for a pair that fails OpenPose's
    criteria (too few aligned samples, or a non-positive mean with the distance prior) and for
    coincident candidates."""
    counts = [len(c) for c in candidates]
    points = np.concatenate([np.asarray(c, dtype=np.float64).reshape(-1, 3) for c in candidates])
    tables = [np.full((counts[a], counts[b]), -np.inf) for a, b in topology.links]
    links, rows, cols, scores = _linked_pairs(np.asarray(paf, np.float32), points, counts, topology, params)
    for link, row, col, score in zip(links, rows, cols, scores, strict=True):
        tables[link][row, col] = score
    return tables


def _linked_pairs(
    paf: np.ndarray, points: np.ndarray, counts: list[int], topology: Topology, params: DecodeParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 4: link, a and b candidate (as ``pair_layout``) and score of every candidate pair that
    passes OpenPose's criteria (``linking.score_pairs``). ``points`` holds all candidates' ``[y, x, ...]``
    rows, keypoint by keypoint (``counts``)."""
    return score_pairs(
        np.ascontiguousarray(paf),
        np.ascontiguousarray(points[:, :2].T),
        np.array(counts, dtype=np.int64),
        pairs_array(topology.links),
        pairs_array(topology.paf_channels),
        params.link_samples,
        params.sample_threshold,
        params.min_aligned_fraction,
        params.distance_prior,
    )

"""The NumPy reference decoder: CMAP and PAF maps to people, exactly as docs/decoding.md says.

Each step is its own function so that the CUDA decoder can mirror it and be compared with it
step by step; steps 5 and 6 (assignment, assembly) are shared with it in ``assembly.py``.
``decode_cpu`` runs the same steps on one flat table of all candidates and one flat list of all
candidate pairs, so that a frame costs a fixed number of NumPy calls whatever the topology.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

import numpy as np

from ros2_posenet.decode.assembly import assemble_table, assign_pairs, pair_layout, split_by_counts
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import Pose
from ros2_posenet.topology import Topology

_BATCH = 4096  # candidate pairs scored at once (temporaries of ~330 kB each)
_ONE_PASS = 256  # fewer pairs than this are sampled in full at once: screening would cost more calls
_REACH_PAIRS = 1024  # from this many pairs on, the field's reach (LinkField.reach) is worth computing
_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def decode_cpu(cmap: np.ndarray, paf: np.ndarray, topology: Topology, params: DecodeParams | None = None) -> list[Pose]:
    """People found in one frame's maps, keypoints in map pixels (pixel centres at integers)."""
    params = params or DecodeParams()
    cmap, paf = check_maps(cmap, paf, topology)
    padded = _PaddedMap(cmap, params.refine_window)
    peaks = padded.peaks(params)
    refined, counts = padded.refine(peaks, params.refine_window), peaks.counts
    shapes = [(counts[a], counts[b]) for a, b in topology.links]
    links, rows, cols = pair_layout(shapes)
    scores = _pair_scores(paf, refined, counts, topology, (links, rows, cols), params)
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
        self.flat, self.plane, self.row = padded.reshape(-1), padded[0].size, width + 2 * pad

    def peaks(self, params: DecodeParams) -> _PeakSet:
        """Steps 1-2: the local maxima above the threshold, sorted by value within each keypoint type
        (ties: raster order) and cut to ``max_parts`` per type."""
        index = np.flatnonzero(self.flat > np.float32(params.keypoint_threshold))  # raster order
        values = self.flat[index]
        neighbours = index[:, None] + np.array([dy * self.row + dx for dy, dx in _NEIGHBOURS])
        is_peak = (values[:, None] >= self.flat[neighbours]).all(axis=1)
        index, values = index[is_peak], values[is_peak]
        keypoint = index // self.plane
        order = np.lexsort((-values, keypoint))  # stable: equal values keep raster order
        index, values, keypoint = index[order], values[order], keypoint[order]
        counts = np.bincount(keypoint, minlength=self.keypoints)
        if counts.max(initial=0) > params.max_parts:
            keep = np.arange(len(index)) - (np.cumsum(counts) - counts)[keypoint] < params.max_parts
            index, values, keypoint = index[keep], values[keep], keypoint[keep]
        return _PeakSet(index, values, keypoint, np.minimum(counts, params.max_parts).tolist())

    def at(self, counts: list[int], y: np.ndarray, x: np.ndarray, values: np.ndarray) -> _PeakSet:
        """The given pixels of the map, ``counts`` of each keypoint type in turn, as a peak set
        (refine_peaks' input)."""
        keypoint = np.repeat(np.arange(len(counts)), counts)
        index = keypoint * self.plane + (y + self.pad) * self.row + (x + self.pad)
        return _PeakSet(index.astype(np.int64), values, keypoint, counts)

    def coordinates(self, peaks: _PeakSet) -> tuple[np.ndarray, np.ndarray]:
        """Map row and column of each peak."""
        y, x = np.divmod(peaks.pixel % self.plane, self.row)
        return y - self.pad, x - self.pad

    def refine(self, peaks: _PeakSet, refine_window: int) -> np.ndarray:
        """Step 3: (N, 3) float64 ``[y, x, score]``: the weighted centroid of ``max(cmap, 0)`` in each
        peak's window, and the peak value."""
        radius = refine_window // 2
        offsets = np.arange(-radius, radius + 1)
        window = self.flat[peaks.pixel[:, None, None] + (offsets * self.row)[:, None] + offsets]
        weights = np.maximum(window, 0).astype(np.float64)
        total = weights.sum(axis=(1, 2))
        y, x = self.coordinates(peaks)
        refined = np.empty((len(peaks.pixel), 3))
        refined[:, 0] = (weights.sum(axis=2) * (y[:, None] + offsets)).sum(axis=1) / total
        refined[:, 1] = (weights.sum(axis=1) * (x[:, None] + offsets)).sum(axis=1) / total
        refined[:, 2] = peaks.values
        return refined


def find_peaks(cmap: np.ndarray, params: DecodeParams) -> list[np.ndarray]:
    """Steps 1-2: per keypoint, a (N_k, 3) float32 array of local maxima ``[y, x, value]``.

    Rows are sorted by value, descending (ties: raster order) and cut to ``max_parts``. The
    threshold is rounded to float32, the maps' type, before the strict comparison.
    """
    padded = _PaddedMap(np.asarray(cmap, dtype=np.float32), params.refine_window)
    peaks = padded.peaks(params)
    table = np.stack([*padded.coordinates(peaks), peaks.values], axis=1).astype(np.float32)
    return split_by_counts(table, peaks.counts)


def refine_peaks(cmap: np.ndarray, peaks: Sequence[np.ndarray], params: DecodeParams) -> list[np.ndarray]:
    """Step 3: per keypoint, (N_k, 3) float64 ``[y, x, score]`` with y, x the weighted centroid
    of ``max(cmap, 0)`` in the peak's window clipped to the map; score stays the peak value."""
    padded = _PaddedMap(np.asarray(cmap, dtype=np.float32), params.refine_window)
    counts = [len(p) for p in peaks]
    rows = np.concatenate([np.asarray(p, dtype=np.float32).reshape(-1, 3) for p in peaks])
    at = padded.at(counts, rows[:, 0].astype(np.int64), rows[:, 1].astype(np.int64), rows[:, 2])
    return split_by_counts(padded.refine(at, params.refine_window), counts)


def link_scores(
    paf: np.ndarray, candidates: Sequence[np.ndarray], topology: Topology, params: DecodeParams
) -> list[np.ndarray]:
    """Step 4: per link (a, b), the (N_a, N_b) float64 table of mean PAF alignment along
    ``link_samples`` points between every candidate pair; -inf for a pair that fails OpenPose's
    criteria (too few aligned samples, or a non-positive mean with the distance prior) and for
    coincident candidates."""
    counts = [len(c) for c in candidates]
    points = np.concatenate([np.asarray(c, dtype=np.float64).reshape(-1, 3) for c in candidates])
    shapes = [(counts[a], counts[b]) for a, b in topology.links]
    scores = _pair_scores(np.asarray(paf, dtype=np.float32), points, counts, topology, pair_layout(shapes), params)
    tables = split_by_counts(scores, [rows * cols for rows, cols in shapes])
    return [table.reshape(shape) for table, shape in zip(tables, shapes, strict=True)]


@lru_cache(maxsize=64)
def _read_only(pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """A topology's (n, 2) pairs (links, PAF channels) as one int64 array, made once per topology."""
    array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    array.flags.writeable = False
    return array


def _pair_scores(
    paf: np.ndarray,
    points: np.ndarray,
    counts: list[int],
    topology: Topology,
    layout: tuple[np.ndarray, np.ndarray, np.ndarray],
    params: DecodeParams,
) -> np.ndarray:
    """Step 4 for every pair of ``pair_layout``: ``points`` holds all candidates' ``[y, x, ...]`` rows,
    keypoint by keypoint (``counts``). The pairs of all links are scored together, in cache-sized
    batches: per-link NumPy calls cost more than the arithmetic on small maps, one huge batch
    thrashes memory on crowds."""
    links, rows, cols = layout
    if not len(links):
        return np.zeros(0)
    ends = _read_only(topology.links)
    first = np.array([0, *accumulate(counts)][:-1])  # row of each keypoint's first candidate in ``points``
    start = points[first[ends[links, 0]] + rows, :2]
    end = points[first[ends[links, 1]] + cols, :2]
    field = LinkField(paf, topology)
    batches = [slice(k, k + _BATCH) for k in range(0, len(links), _BATCH)]
    return np.concatenate([_score_pairs(field, links[b], start[b], end[b], params) for b in batches])


class LinkField:
    """Each link's PAF as the decoders read it: the float32 maps as they are, of which only the
    sampled pixels are read (no conversion of the whole field). ``planes``: (2, L) offsets of
    each link's x and y channel in ``flat``."""

    def __init__(self, paf: np.ndarray, topology: Topology) -> None:
        self.paf, self.flat = paf, paf.reshape(-1)
        self.height, self.width = paf.shape[1:]
        self.channels = _read_only(topology.paf_channels)
        self.planes = self.channels.T * (self.height * self.width)
        self._reach: np.ndarray | None = None

    def reach(self) -> np.ndarray:
        """Flat ``[L, H, W]``: per link and pixel, the largest field magnitude among the four corners
        that a sample whose floor is that pixel interpolates (the last row and column interpolate
        themselves). A sample's alignment, the projection of a convex combination of those corners
        on a unit vector, never exceeds it. Computed once per frame, for crowds only."""
        if self._reach is None:
            reach = np.hypot(self.paf[self.channels[:, 0]], self.paf[self.channels[:, 1]])
            reach[:, :-1] = np.maximum(reach[:, :-1], reach[:, 1:])
            reach[:, :, :-1] = np.maximum(reach[:, :, :-1], reach[:, :, 1:])
            self._reach = reach.reshape(-1)
        return self._reach


def _score_pairs(
    field: LinkField, links: np.ndarray, start: np.ndarray, end: np.ndarray, params: DecodeParams
) -> np.ndarray:
    """Scores of candidate pairs ``start -> end`` (rows of ``[y, x]``) of ``links``: the mean alignment
    over ``link_samples`` points, or -inf where OpenPose's criteria fail.

    A pair needs more than ``min_aligned_fraction`` of its samples aligned, so as many samples as may
    fail, plus one, all failing reject it. Those are taken from the middle of the pair, where a wrong
    pair (two people's keypoints) is furthest from both people's limbs, so the many wrong pairs of a
    crowd are rejected before the rest is sampled; in a crowd, first those whose screening samples
    lie where the field is too weak to align (``LinkField.reach``), which costs one read a sample.
    The arithmetic is the CUDA kernel's, and the sum runs in sample order as there.
    """
    samples, threshold = params.link_samples, params.sample_threshold
    delta = end - start
    length = np.sqrt(delta[:, 0] ** 2 + delta[:, 1] ** 2)
    divisor = np.maximum(length, 1e-6)
    needed = int(np.floor(params.min_aligned_fraction * samples)) + 1  # aligned > fraction * samples
    steps = np.arange(samples)
    alive = np.arange(len(links))
    if len(links) < _ONE_PASS or needed == 1:
        along = _alignment(field, links, start, delta, divisor, steps, samples)
    else:
        by_centre = np.argsort(np.abs(2 * steps + 1 - samples), kind="stable")
        screen, rest = np.sort(by_centre[: samples - needed + 1]), np.sort(by_centre[samples - needed + 1 :])
        if len(links) >= _REACH_PAIRS and threshold >= 0:
            *_, pixels = _sample_pixels(field, start, delta, screen, samples)
            pixels += links * (field.height * field.width)
            alive = np.flatnonzero((field.reach().take(pixels) > threshold * (1 - 1e-6)).any(axis=0))
        screened = _alignment(field, links[alive], start[alive], delta[alive], divisor[alive], screen, samples)
        aligned_somewhere = (screened > threshold).any(axis=0)
        alive = alive[aligned_somewhere]
        along = np.empty((samples, len(alive)))
        along[screen] = screened[:, aligned_somewhere]
        along[rest] = _alignment(field, links[alive], start[alive], delta[alive], divisor[alive], rest, samples)
        length, divisor = length[alive], divisor[alive]
    aligned = (along > threshold).sum(axis=0)
    mean = np.add.accumulate(along, axis=0)[-1] / samples  # left to right, whatever the shape
    prior = np.minimum(0.0, 0.5 * field.height / divisor - 1.0) if params.distance_prior else 0.0
    passes = (length >= 1e-6) & (aligned > params.min_aligned_fraction * samples) & (mean + prior > 0)
    scores = np.full(len(links), -np.inf)
    scores[alive] = np.where(passes, mean, -np.inf)
    return scores


def _sample_pixels(
    field: LinkField, start: np.ndarray, delta: np.ndarray, steps: np.ndarray, samples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(len(steps), n) arrays for samples ``steps`` of ``samples`` along each pair, clamped to the map:
    y and x, their floors, and the flat index within a plane of the pixel at the floors."""
    fractions = ((steps + 0.5) / samples)[:, None]
    ys = np.minimum(np.maximum(start[:, 0] + delta[:, 0] * fractions, 0.0), field.height - 1)
    xs = np.minimum(np.maximum(start[:, 1] + delta[:, 1] * fractions, 0.0), field.width - 1)
    y0 = np.floor(ys)
    x0 = np.floor(xs)
    return ys, xs, y0, x0, (y0 * field.width + x0).astype(np.int64)


def _alignment(
    field: LinkField,
    links: np.ndarray,
    start: np.ndarray,
    delta: np.ndarray,
    divisor: np.ndarray,
    steps: np.ndarray,
    samples: int,
) -> np.ndarray:
    """(len(steps), n) PAF alignment ``(paf_x * dx + paf_y * dy) / |d|`` at samples ``steps`` of
    ``samples`` along each pair, bilinear as the kernel's sample_map (float64 from the float32 maps)."""
    height, width = field.height, field.width
    ys, xs, y0, x0, top_left = _sample_pixels(field, start, delta, steps, samples)
    top_right = top_left + (x0 < width - 1)
    down = (y0 < height - 1) * width
    ys -= y0  # the fractions fy, fx
    xs -= x0
    flat = field.flat

    def bilinear(planes: np.ndarray) -> np.ndarray:
        left, right = top_left + planes, top_right + planes
        top = flat.take(left).astype(np.float64)
        top += (flat.take(right) - top) * xs
        left += down
        right += down
        bottom = flat.take(left).astype(np.float64)
        bottom += (flat.take(right) - bottom) * xs
        top += (bottom - top) * ys
        return top

    dot = bilinear(field.planes[0].take(links)) * delta[:, 1]
    dot += bilinear(field.planes[1].take(links)) * delta[:, 0]
    dot /= divisor
    return dot

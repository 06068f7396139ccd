"""The NumPy reference decoder: CMAP and PAF maps to people, exactly as docs/decoding.md says.

Each step is its own function so that the CUDA decoder can mirror it and be compared with it
step by step; steps 5 and 6 (assignment, assembly) are shared with it in ``assembly.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ros2_posenet.decode.assembly import assemble_people, assign_links
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import Pose
from ros2_posenet.topology import Topology

_BATCH = 4096  # candidate pairs scored at once (temporaries of ~230 kB each)
_NEIGHBOURS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))


def decode_cpu(cmap: np.ndarray, paf: np.ndarray, topology: Topology, params: DecodeParams | None = None) -> list[Pose]:
    """People found in one frame's maps, keypoints in map pixels (pixel centres at integers)."""
    params = params or DecodeParams()
    cmap, paf = check_maps(cmap, paf, topology)
    candidates = refine_peaks(cmap, find_peaks(cmap, params), params)
    connections = assign_links(link_scores(paf, candidates, topology, params), params)
    return assemble_people(candidates, connections, topology, params)


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


def find_peaks(cmap: np.ndarray, params: DecodeParams) -> list[np.ndarray]:
    """Steps 1-2: per keypoint, a (N_k, 3) float32 array of local maxima ``[y, x, value]``.

    Rows are sorted by value, descending (ties: raster order) and cut to ``max_parts``. The
    threshold is rounded to float32, the maps' type, before the strict comparison.
    """
    _, height, width = cmap.shape
    ks, ys, xs = np.nonzero(cmap > np.float32(params.keypoint_threshold))  # few pixels: test only these
    values = cmap[ks, ys, xs]
    padded = np.pad(cmap, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    is_peak = np.ones(len(values), dtype=bool)
    for dy, dx in _NEIGHBOURS:
        is_peak &= values >= padded[ks, ys + 1 + dy, xs + 1 + dx]
    ks, ys, xs, values = ks[is_peak], ys[is_peak], xs[is_peak], values[is_peak]
    order = np.lexsort((-values, ks))  # stable: equal values keep nonzero's raster order
    table = np.stack([ys, xs, values], axis=1).astype(np.float32)[order]
    bounds = np.searchsorted(ks[order], np.arange(cmap.shape[0] + 1))
    return [table[start:stop][: params.max_parts] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def refine_peaks(cmap: np.ndarray, peaks: Sequence[np.ndarray], params: DecodeParams) -> list[np.ndarray]:
    """Step 3: per keypoint, (N_k, 3) float64 ``[y, x, score]`` with y, x the weighted centroid
    of ``max(cmap, 0)`` in the peak's window clipped to the map; score stays the peak value."""
    _, height, width = cmap.shape
    counts = [len(p) for p in peaks]
    if not sum(counts):
        return [np.zeros((0, 3)) for _ in peaks]
    table = np.concatenate(peaks).astype(np.float64)
    ks = np.repeat(np.arange(len(peaks)), counts)
    radius = params.refine_window // 2
    offsets = np.arange(-radius, radius + 1)
    ys = table[:, :1].astype(np.int64) + offsets  # (N, window)
    xs = table[:, 1:2].astype(np.int64) + offsets
    inside = ((ys >= 0) & (ys < height))[:, :, None] & ((xs >= 0) & (xs < width))[:, None, :]
    window = cmap[ks[:, None, None], np.clip(ys, 0, height - 1)[:, :, None], np.clip(xs, 0, width - 1)[:, None, :]]
    weights = np.where(inside, np.maximum(window, 0), 0).astype(np.float64)
    total = weights.sum(axis=(1, 2))
    refined = np.stack(
        [(weights.sum(axis=2) * ys).sum(axis=1) / total, (weights.sum(axis=1) * xs).sum(axis=1) / total, table[:, 2]],
        axis=1,
    )
    return np.split(refined, np.cumsum(counts)[:-1])


def link_scores(
    paf: np.ndarray, candidates: Sequence[np.ndarray], topology: Topology, params: DecodeParams
) -> list[np.ndarray]:
    """Step 4: per link (a, b), the (N_a, N_b) float64 table of mean PAF alignment along
    ``link_samples`` points between every candidate pair; -inf for a pair that fails OpenPose's
    criteria (too few aligned samples, or a non-positive mean with the distance prior) and for
    coincident candidates.

    The pairs of all links are scored together in cache-sized batches: per-link NumPy calls
    cost more than the arithmetic on small maps, one huge batch thrashes memory on crowds.
    """
    points = [np.asarray(c, dtype=np.float64).reshape(-1, 3)[:, :2] for c in candidates]  # rows of [y, x]
    shapes = [(len(points[a]), len(points[b])) for a, b in topology.links]
    pairs = [rows * cols for rows, cols in shapes]
    if not sum(pairs):
        return [np.zeros(shape) for shape in shapes]
    start = np.concatenate([np.repeat(points[a], len(points[b]), axis=0) for a, b in topology.links])
    end = np.concatenate([np.tile(points[b], (len(points[a]), 1)) for a, b in topology.links])
    links = np.repeat(np.arange(topology.num_links), pairs)
    field = LinkField(paf, topology)
    scores = np.concatenate(
        [
            _score_pairs(field, links[i : i + _BATCH], start[i : i + _BATCH], end[i : i + _BATCH], params)
            for i in range(0, len(links), _BATCH)
        ]
    )
    return [table.reshape(shape) for table, shape in zip(np.split(scores, np.cumsum(pairs)[:-1]), shapes, strict=True)]


class LinkField:
    """Each link's PAF as the decoders read it: the float32 maps as they are, of which only the
    sampled pixels are read (no conversion of the whole field)."""

    def __init__(self, paf: np.ndarray, topology: Topology) -> None:
        self.flat = paf.reshape(-1)
        self.height, self.width = paf.shape[1:]
        x_channels, y_channels = (np.array(c, dtype=np.int64) for c in zip(*topology.paf_channels, strict=True))
        self.x_planes, self.y_planes = x_channels * self.height * self.width, y_channels * self.height * self.width


def _score_pairs(
    field: LinkField, links: np.ndarray, start: np.ndarray, end: np.ndarray, params: DecodeParams
) -> np.ndarray:
    """Scores of candidate pairs ``start -> end`` (rows of ``[y, x]``) of ``links``: the mean alignment
    over ``link_samples`` points, or -inf where OpenPose's criteria fail.

    A pair needs more than ``min_aligned_fraction`` of its samples aligned, so a few spread samples
    that all fail reject it, and the many wrong pairs of a crowd are not sampled in full. The
    arithmetic is the CUDA kernel's, and the sum runs in sample order as there.
    """
    height, samples = field.height, params.link_samples
    delta = end - start
    length = np.sqrt(delta[:, 0] ** 2 + delta[:, 1] ** 2)
    divisor = np.maximum(length, 1e-6)
    needed = int(np.floor(params.min_aligned_fraction * samples)) + 1  # aligned > fraction * samples
    screen = np.unique(np.linspace(0, samples - 1, min(samples - needed + 1, samples)).round().astype(np.int64))
    screened = _alignment(field, links, start, delta, divisor, screen, samples)
    alive = np.flatnonzero((screened > params.sample_threshold).any(axis=1) | (len(screen) == samples))
    rest = np.setdiff1d(np.arange(samples), screen)
    along = np.empty((len(alive), samples))
    along[:, screen] = screened[alive]
    along[:, rest] = _alignment(field, links[alive], start[alive], delta[alive], divisor[alive], rest, samples)
    aligned = (along > params.sample_threshold).sum(axis=1)
    length, divisor = length[alive], divisor[alive]
    total = along[:, 0].copy()
    for column in range(1, samples):  # summed in sample order, as the CUDA kernel does
        total += along[:, column]
    mean = total / samples
    prior = np.minimum(0.0, 0.5 * height / divisor - 1.0) if params.distance_prior else 0.0
    passes = (length >= 1e-6) & (aligned > params.min_aligned_fraction * samples) & (mean + prior > 0)
    scores = np.full(len(start), -np.inf)
    scores[alive] = np.where(passes, mean, -np.inf)
    return scores


def _positions(
    start: np.ndarray, delta: np.ndarray, steps: np.ndarray, samples: int, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(steps)) clamped y and x of samples ``steps`` of ``samples`` along each pair."""
    height, width = size
    fractions = (steps + 0.5) / samples
    ys = np.clip(start[:, 0:1] + delta[:, 0:1] * fractions, 0, height - 1)
    xs = np.clip(start[:, 1:2] + delta[:, 1:2] * fractions, 0, width - 1)
    return ys, xs


def _alignment(
    field: LinkField,
    links: np.ndarray,
    start: np.ndarray,
    delta: np.ndarray,
    divisor: np.ndarray,
    steps: np.ndarray,
    samples: int,
) -> np.ndarray:
    """(n, len(steps)) PAF alignment ``(paf_x * dx + paf_y * dy) / |d|`` at samples ``steps`` of
    ``samples`` along each pair, bilinear as the kernel's sample_map (float64 from the float32 maps)."""
    height, width = field.height, field.width
    ys, xs = _positions(start, delta, steps, samples, (height, width))
    y0 = np.floor(ys)
    x0 = np.floor(xs)
    fy = ys - y0
    fx = xs - x0
    top_left = y0.astype(np.int64) * width + x0.astype(np.int64)
    right = x0 < width - 1
    bottom_left = top_left + (y0 < height - 1) * width
    flat = field.flat

    def bilinear(planes: np.ndarray) -> np.ndarray:
        base = planes[:, None]
        top = flat.take(base + top_left).astype(np.float64)
        top += (flat.take(base + top_left + right) - top) * fx
        bottom = flat.take(base + bottom_left).astype(np.float64)
        bottom += (flat.take(base + bottom_left + right) - bottom) * fx
        return top + (bottom - top) * fy

    dot = bilinear(field.x_planes[links]) * delta[:, 1:2] + bilinear(field.y_planes[links]) * delta[:, 0:1]
    return dot / divisor[:, None]

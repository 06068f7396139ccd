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
    padded = np.pad(cmap, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    is_peak = cmap > np.float32(params.keypoint_threshold)
    for dy, dx in _NEIGHBOURS:
        is_peak &= cmap >= padded[:, 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
    ks, ys, xs = np.nonzero(is_peak)
    values = cmap[ks, ys, xs]
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
    # Each link's PAF as one complex map x + iy: one gather reads both components.
    x_channels, y_channels = (list(channels) for channels in zip(*topology.paf_channels, strict=True))
    flat = paf.reshape(paf.shape[0], -1)
    vectors = (flat[x_channels].astype(np.float64) + 1j * flat[y_channels]).ravel()
    scores = np.concatenate(
        [
            _score_pairs(
                vectors, paf.shape[1:], links[i : i + _BATCH], start[i : i + _BATCH], end[i : i + _BATCH], params
            )
            for i in range(0, len(links), _BATCH)
        ]
    )
    return [table.reshape(shape) for table, shape in zip(np.split(scores, np.cumsum(pairs)[:-1]), shapes, strict=True)]


def _score_pairs(
    vectors: np.ndarray,
    size: tuple[int, int],
    links: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    params: DecodeParams,
) -> np.ndarray:
    """Line integrals of candidate pairs ``start -> end`` (rows of ``[y, x]``) over the PAF of
    ``links``; ``vectors`` holds each link's map as complex ``x + iy``, row-major, one after another."""
    height, width = size
    delta = end - start
    length = np.sqrt(delta[:, 0] ** 2 + delta[:, 1] ** 2)
    fractions = (np.arange(params.link_samples) + 0.5) / params.link_samples
    ys = np.clip(start[:, 0:1] + delta[:, 0:1] * fractions, 0, height - 1)  # (n, S)
    xs = np.clip(start[:, 1:2] + delta[:, 1:2] * fractions, 0, width - 1)
    y0 = np.floor(ys)
    x0 = np.floor(xs)
    fy = ys - y0
    fx = xs - x0
    top_left = links[:, None] * (height * width) + y0.astype(np.int64) * width + x0.astype(np.int64)
    right = x0 < width - 1
    bottom_left = top_left + (y0 < height - 1) * width
    top = vectors.take(top_left)
    top += (vectors.take(top_left + right) - top) * fx
    bottom = vectors.take(bottom_left)
    bottom += (vectors.take(bottom_left + right) - bottom) * fx
    top += (bottom - top) * fy  # bilinear PAF vector at each sample
    along = (top.real * delta[:, 1:2] + top.imag * delta[:, 0:1]) / np.maximum(length, 1e-6)[:, None]  # (n, S)
    total = along[:, 0].copy()
    for column in range(1, along.shape[1]):  # summed in sample order, as the CUDA kernel does
        total += along[:, column]
    mean = total / params.link_samples
    aligned = (along > params.sample_threshold).sum(axis=1)
    prior = np.minimum(0.0, 0.5 * height / np.maximum(length, 1e-6) - 1.0) if params.distance_prior else 0.0
    passes = (length >= 1e-6) & (aligned > params.min_aligned_fraction * params.link_samples) & (mean + prior > 0)
    return np.where(passes, mean, -np.inf)

"""The NumPy reference decoder: CMAP and PAF maps to people, exactly as docs/decoding.md says.

Each step is its own function so that the CUDA decoder can mirror it and be compared with it
step by step; steps 5 and 6 (assignment, assembly) are shared with it in ``assembly.py``.
``decode_cpu`` runs the same steps on one flat table of all candidates and one flat list of all
candidate pairs, so that a frame costs a fixed number of NumPy calls whatever the topology.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from ros2_posenet.decode.assembly import assemble_table, assign_pairs, split_by_counts
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import Pose
from ros2_posenet.topology import Topology

_ELEMENTS = 32768  # samples of candidate pairs taken at once: float64 temporaries of 256 kB
# From this many pairs on, screening them (_Screen) saves more than it costs: 5 people (525 pairs)
# decode faster without, 7 (1029) with.
_SCREEN_PAIRS = 768
# A peak's 8 neighbours, the 4 sharing an edge first: most pixels above the threshold fail one of them.
_NEIGHBOURS = (((0, -1), (0, 1), (-1, 0), (1, 0)), ((-1, -1), (-1, 1), (1, -1), (1, 1)))


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
        self.flat, self.plane, self.row = padded.reshape(-1), padded[0].size, width + 2 * pad

    def peaks(self, params: DecodeParams) -> _PeakSet:
        """Steps 1-2: the local maxima above the threshold, sorted by value within each keypoint type
        (ties: raster order) and cut to ``max_parts`` per type."""
        flat = self.flat
        index = np.flatnonzero(flat > np.float32(params.keypoint_threshold))  # raster order
        values = flat[index]
        for offsets in _neighbour_offsets(self.row):  # (4, n) gathers: one row per neighbour
            is_peak = (values >= flat.take(index + offsets)).all(axis=0)
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
def _neighbour_offsets(row: int) -> tuple[np.ndarray, ...]:
    """``_NEIGHBOURS``' groups as (4, 1) flat offsets in a padded map of ``row`` pixels a row."""
    groups = tuple(np.array([[dy * row + dx] for dy, dx in group]) for group in _NEIGHBOURS)
    for offsets in groups:
        offsets.flags.writeable = False
    return groups


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


@lru_cache(maxsize=64)
def _read_only(pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """A topology's (n, 2) pairs (links, PAF channels) as one int64 array, made once per topology."""
    array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    array.flags.writeable = False
    return array


class _Pairs(NamedTuple):
    """Candidate pairs ``start -> start + delta`` of ``links``, from candidate ``a`` to candidate ``b``
    (rows of the candidate table), one entry per pair along each array's last axis; ``start`` and
    ``delta`` are (2, n): y, then x. ``inside``: every start and end lies within the map, so that
    every sample does too (a sample is a convex combination of its ends, also in floating point, as
    it stops short of the end) and needs no clamping."""

    links: np.ndarray
    a: np.ndarray
    b: np.ndarray
    start: np.ndarray
    delta: np.ndarray
    inside: bool

    @staticmethod
    def of(links: np.ndarray, a: np.ndarray, b: np.ndarray, positions: np.ndarray, inside: bool) -> _Pairs:
        """The pairs ``a -> b`` of ``links``, with ``positions`` the (2, N) y and x of the candidates."""
        start = positions.take(a, axis=1)
        return _Pairs(links, a, b, start, positions.take(b, axis=1) - start, inside)

    def take(self, index: np.ndarray) -> _Pairs:
        return _Pairs._make([*(column.take(index, axis=-1) for column in self[:-1]), self.inside])

    def window(self, start: int, stop: int) -> _Pairs:
        return _Pairs._make([*(column[..., start:stop] for column in self[:-1]), self.inside])

    @staticmethod
    def concatenate(pieces: list[_Pairs]) -> _Pairs:
        if len(pieces) == 1:
            return pieces[0]
        columns = zip(*(piece[:-1] for piece in pieces), strict=True)
        return _Pairs._make([*(np.concatenate(column, axis=-1) for column in columns), pieces[0].inside])


def _linked_pairs(
    paf: np.ndarray, points: np.ndarray, counts: list[int], topology: Topology, params: DecodeParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Step 4: link, a and b candidate (as ``pair_layout``) and score of every candidate pair that
    passes OpenPose's criteria. ``points`` holds all candidates' ``[y, x, ...]`` rows, keypoint by
    keypoint (``counts``).

    The pairs of all links are taken together, as per-link NumPy calls cost more than the arithmetic
    on small maps. In a crowd, the pairs that cannot have enough aligned samples are screened out
    first (``_Screen``), in pieces of whole table rows of about ``_ELEMENTS`` samples: no per-pair
    array of the whole frame, as fresh pages for large temporaries (a crowd's 50 000 pairs) cost more
    than the arithmetic on them; the rest are sampled in full."""
    field = LinkField(paf, topology)
    tables = _TableRows(counts, topology)
    if not tables.pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    positions = np.ascontiguousarray(points[:, :2].T)
    if tables.pairs < _SCREEN_PAIRS or not _Screen.can_reject(params):
        pairs = _Pairs.of(*tables.every_pair(), positions, inside=_within_map(positions, field))
    else:
        screen = _Screen(field, params)
        inside = _within_map(positions, field)  # a few pairs are clamped for less
        pieces = (_Pairs.of(*piece, positions, inside) for piece in tables.pieces(_ELEMENTS // screen.width))
        pairs = _Pairs.concatenate([piece.take(screen(piece)) for piece in pieces])  # one piece alive at a time
    scores = _scores_in_batches(field, pairs, params)
    linked = np.flatnonzero(scores > -np.inf)
    links = pairs.links[linked]
    rows, columns = pairs.a[linked] - tables.first_a.take(links), pairs.b[linked] - tables.first_b.take(links)
    return links, rows, columns, scores[linked]


def _scores_in_batches(field: LinkField, pairs: _Pairs, params: DecodeParams) -> np.ndarray:
    """``_score_pairs`` in batches of about ``_ELEMENTS`` samples."""
    batch = _ELEMENTS // params.link_samples
    if len(pairs.links) <= batch:
        return _score_pairs(field, pairs, params)
    starts = range(0, len(pairs.links), batch)
    return np.concatenate([_score_pairs(field, pairs.window(k, k + batch), params) for k in starts])


def _within_map(positions: np.ndarray, field: LinkField) -> bool:
    """Whether every candidate of the (2, N) ``positions`` lies within the map."""
    high = positions.max(axis=1)
    return bool(positions.min() >= 0 and high[0] <= field.height - 1 and high[1] <= field.width - 1)


class _TableRows:
    """All links' score tables, link by link, as rows of the candidate table: ``first_a``, ``first_b``:
    per link, the candidate of its first row and of its first column; ``pairs``: their entries."""

    def __init__(self, counts: list[int], topology: Topology) -> None:
        ends = _read_only(topology.links)
        per_keypoint = np.array(counts, dtype=np.int64)
        first = np.cumsum(per_keypoint) - per_keypoint
        self.first_a, self.first_b = first.take(ends[:, 0]), first.take(ends[:, 1])
        self.heights, self.widths = per_keypoint.take(ends[:, 0]), per_keypoint.take(ends[:, 1])
        self.sizes = self.heights * self.widths
        self.pairs = int(self.sizes.sum())

    def every_pair(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Link, a and b candidate of every pair, in ``pair_layout``'s order."""
        links = np.repeat(np.arange(len(self.sizes)), self.sizes)
        within = np.arange(self.pairs) - np.repeat(np.cumsum(self.sizes) - self.sizes, self.sizes)
        rows, columns = np.divmod(within, self.widths.take(links))
        return links, self.first_a.take(links) + rows, self.first_b.take(links) + columns

    def pieces(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``every_pair`` in runs of whole rows of about ``size`` pairs (a row's pairs are its a
        candidate with each b candidate in turn)."""
        link = np.repeat(np.arange(len(self.heights)), self.heights)  # per row of all tables
        within = np.arange(len(link)) - (np.cumsum(self.heights) - self.heights).take(link)  # row in its table
        a, width = self.first_a.take(link) + within, self.widths.take(link)
        bounds = np.searchsorted(np.cumsum(width), np.arange(size, self.pairs, size), side="right").tolist()
        columns = np.arange(int(width.max()))
        for start, stop in pairwise([0, *bounds, len(link)]):
            if start == stop:
                continue
            piece, piece_width = link[start:stop], width[start:stop]
            b = (self.first_b.take(piece)[:, None] + columns)[columns < piece_width[:, None]]
            yield np.repeat(piece, piece_width), np.repeat(a[start:stop], piece_width), b


class LinkField:
    """Each link's PAF as the decoders read it: the float32 maps as they are, of which only the
    sampled pixels are read (no conversion of the whole field). ``planes``: (2, L) offsets of
    each link's y and x channel in ``flat``."""

    def __init__(self, paf: np.ndarray, topology: Topology) -> None:
        self.paf, self.flat = paf, paf.reshape(-1)
        self.height, self.width = paf.shape[1:]
        self.channels = _read_only(topology.paf_channels)  # per link: x channel, y channel
        self.index_type = np.int32 if paf.size < 2**31 else np.int64  # int32 indices take faster
        self.planes = (self.channels.T[::-1] * (self.height * self.width)).astype(self.index_type)

    def may_align(self, threshold: float) -> np.ndarray:
        """Flat bool ``[L, H, W]``: per link and pixel, whether a sample whose floor is that pixel may
        align better than ``threshold`` (>= 0): whether one of the four corners it interpolates (the
        last row and column interpolate themselves) is stronger than that. An alignment is the
        projection of a convex combination of the corners on a unit vector, never longer than the
        longest corner, which is never longer than its |x| + |y| (exact in float32, unlike a square)."""
        magnitude = np.abs(self.paf)
        strong = magnitude[self.channels[:, 0]] + magnitude[self.channels[:, 1]] > threshold * (1 - 1e-6)
        strong[:, :-1] |= strong[:, 1:]
        strong[:, :, :-1] |= strong[:, :, 1:]
        return strong.reshape(-1)


@lru_cache(maxsize=16)
def _fractions(samples: int) -> np.ndarray:
    """(samples, 1): how far along a pair each of its samples lies, at the middle of its step."""
    fractions = ((np.arange(samples) + 0.5) / samples)[:, None]
    fractions.flags.writeable = False
    return fractions


@lru_cache(maxsize=16)
def _screen_and_rest(samples: int, may_fail: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``_fractions`` of the ``may_fail + 1`` samples nearest the middle (where a wrong pair, two
    people's keypoints, is furthest from both people's limbs) and of the others, each in sample order."""
    steps = np.arange(samples)
    by_centre = np.argsort(np.abs(2 * steps + 1 - samples), kind="stable")
    fractions = _fractions(samples)
    return fractions[np.sort(by_centre[: may_fail + 1])], fractions[np.sort(by_centre[may_fail + 1 :])]


class _Screen:
    """Rejects the pairs that cannot have more than ``min_aligned_fraction`` of their samples aligned,
    judged by where each sample falls (``LinkField.may_align``, one read a sample): first at the
    middle samples, of which one must be able to align, then at all of them. Every pair rejected
    here fails OpenPose's criteria when sampled in full, so no score changes. Made once per frame."""

    def __init__(self, field: LinkField, params: DecodeParams) -> None:
        self.field, self.needed = field, _needed(params)
        self.screen, self.rest = _screen_and_rest(params.link_samples, params.link_samples - self.needed)
        self.width = len(self.screen)  # samples read of every pair
        self.may_align = field.may_align(params.sample_threshold)

    @staticmethod
    def can_reject(params: DecodeParams) -> bool:
        """Whether a sample can fail to align where the field is weak, and one failure can matter."""
        return _needed(params) > 1 and params.sample_threshold >= 0

    def __call__(self, pairs: _Pairs) -> np.ndarray:
        """Indices of the pairs that may still pass."""
        counts = self._hits(pairs, self.screen)
        alive = np.flatnonzero(counts)
        return alive[counts[alive] + self._hits(pairs.take(alive), self.rest) >= self.needed]

    def _hits(self, pairs: _Pairs, fractions: np.ndarray) -> np.ndarray:
        """Per pair, how many of the samples at ``fractions`` fall where they may align."""
        field, index = self.field, self.field.index_type
        ys, xs = _sample_points(field, pairs, fractions)
        pixels = ys.astype(index)  # the floors: samples are never negative
        pixels += (pairs.links * field.height).astype(index)
        pixels *= field.width
        pixels += xs.astype(index)
        return self.may_align.take(pixels).sum(axis=0)


def _needed(params: DecodeParams) -> int:
    """How many samples of a pair must align: more than ``min_aligned_fraction`` of them."""
    return int(np.floor(params.min_aligned_fraction * params.link_samples)) + 1


def _score_pairs(field: LinkField, pairs: _Pairs, params: DecodeParams) -> np.ndarray:
    """Scores of candidate pairs: the mean alignment over ``link_samples`` points, or -inf where
    OpenPose's criteria fail. The arithmetic is the CUDA kernel's, and the sum runs in sample order
    as there."""
    samples, threshold = params.link_samples, params.sample_threshold
    length = np.sqrt((pairs.delta * pairs.delta).sum(axis=0))  # dy² + dx²
    divisor = np.maximum(length, 1e-6)
    along = _alignment(field, pairs, divisor, _fractions(samples))
    aligned = (along > threshold).sum(axis=0)
    mean = np.add.accumulate(along, axis=0)[-1] / samples  # left to right, whatever the shape
    prior = np.minimum(0.0, 0.5 * field.height / divisor - 1.0) if params.distance_prior else 0.0
    passes = (length >= 1e-6) & (aligned > params.min_aligned_fraction * samples) & (mean + prior > 0)
    return np.where(passes, mean, -np.inf)


def _sample_points(field: LinkField, pairs: _Pairs, fractions: np.ndarray) -> np.ndarray:
    """(2, len(fractions), n) y and x of the samples at ``fractions`` along each pair, clamped to the map."""
    points = pairs.delta[:, None] * fractions
    points += pairs.start[:, None]
    if not pairs.inside:
        np.clip(points[0], 0.0, field.height - 1, out=points[0])
        np.clip(points[1], 0.0, field.width - 1, out=points[1])
    return points


def _alignment(field: LinkField, pairs: _Pairs, divisor: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """(len(fractions), n) PAF alignment ``(paf_y * dy + paf_x * dx) / |d|`` at the samples at
    ``fractions`` along each pair, bilinear as the kernel's sample_map (float64 from the float32
    maps), both channels at once."""
    points = _sample_points(field, pairs, fractions)
    floors = np.floor(points)
    y0, x0 = floors
    top_left = (y0 * field.width + x0).astype(field.index_type)
    top_left = top_left + field.planes.take(pairs.links, axis=1)[:, None]  # (2, samples, n): y, then x
    top_right = top_left + (x0 < field.width - 1)
    down = (y0 < field.height - 1) * field.width
    points -= floors  # the fractions fy, fx
    fy, fx = points
    flat = field.flat
    top = flat.take(top_left).astype(np.float64)
    top += (flat.take(top_right) - top) * fx
    bottom = flat.take(top_left + down).astype(np.float64)
    bottom += (flat.take(top_right + down) - bottom) * fx
    top += (bottom - top) * fy
    top *= pairs.delta[:, None]
    dot = top.sum(axis=0)  # paf_y * dy + paf_x * dx
    dot /= divisor
    return dot

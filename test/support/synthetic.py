"""CMAP and PAF maps rendered from known skeletons: ground truth for decoder tests and benchmarks.

The maps look like an ideal network's output: a Gaussian per visible keypoint (max over
people) and, along each limb, the limb's unit vector (averaged where limbs overlap). People are
``(N, K, 2)`` arrays of ``(x, y)`` map pixels (pixel centres at integers); NaN marks a keypoint
that is not visible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ros2_posenet.topology import Topology

# Upright people facing the camera (their left on the image's right), x centred, y down, height ~1.
# Heads are drawn a little large so that face links stay longer than a map pixel on small people.
_BODY = {
    "nose": (0.0, 0.09),
    "left_eye": (0.05, 0.05),
    "right_eye": (-0.05, 0.05),
    "left_ear": (0.1, 0.08),
    "right_ear": (-0.1, 0.08),
    "neck": (0.0, 0.2),
    "left_shoulder": (0.14, 0.22),
    "right_shoulder": (-0.14, 0.22),
    "left_elbow": (0.19, 0.37),
    "right_elbow": (-0.19, 0.37),
    "left_wrist": (0.21, 0.52),
    "right_wrist": (-0.21, 0.52),
    "left_hip": (0.08, 0.53),
    "right_hip": (-0.08, 0.53),
    "left_knee": (0.09, 0.75),
    "right_knee": (-0.09, 0.75),
    "left_ankle": (0.09, 0.97),
    "right_ankle": (-0.09, 0.97),
}


def _hand() -> dict[str, tuple[float, float]]:
    """An open right hand, palm at the bottom; finger joints _4 (knuckle) to _1 (tip), as trt_pose's."""
    points = {"palm": (0.0, 0.95)}
    fingers = (("thumb", -0.3, -0.9, 0.85), ("index_finger", -0.13, -0.25, 1.0), ("middle_finger", 0.0, 0.0, 1.05))
    fingers += (("ring_finger", 0.13, 0.25, 1.0), ("baby_finger", 0.26, 0.5, 0.8))
    for name, base_x, angle, reach in fingers:
        base = (base_x, 0.55 if name != "thumb" else 0.75)
        for joint in range(4, 0, -1):
            step = (4 - joint) * 0.13 * reach
            points[f"{name}_{joint}"] = (base[0] + step * math.sin(angle), base[1] - step * math.cos(angle))
    return points


_TEMPLATES = (_BODY, _hand())


def _template(topology: Topology) -> np.ndarray:
    """(K, 2) normalised ``(x, y)`` of a plausible pose: body or hand by keypoint names,
    otherwise keypoints spread on a circle (any topology still renders)."""
    for known in _TEMPLATES:
        if all(name in known for name in topology.keypoints):
            return np.array([known[name] for name in topology.keypoints], dtype=np.float64)
    angles = 2 * math.pi * np.arange(topology.num_keypoints) / max(topology.num_keypoints, 1)
    return 0.5 + 0.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def random_people(count: int, topology: Topology, height: int, width: int, seed: int = 0) -> np.ndarray:
    """``count`` people (``(count, K, 2)``), each alone in one cell of a grid over the map.

    Each is the topology's template, scaled to fill 80-100% of its cell, turned by up to +-10
    degrees, jittered and shifted at random within the cell (seeded), so that boxes never
    overlap and the same keypoint of two people is about a cell apart.
    """
    shape = _template(topology)
    shape = shape - (shape.min(axis=0) + shape.max(axis=0)) / 2
    span = np.ptp(shape, axis=0) + 1e-9
    margin = 1.0
    if count == 0:
        return np.zeros((0, topology.num_keypoints, 2))

    def scale_for(cols: int) -> float:
        rows = math.ceil(count / cols)
        return min((width / cols - 2 * margin) / span[0], (height / rows - 2 * margin) / span[1])

    cols = max(range(1, count + 1), key=scale_for)
    rows = math.ceil(count / cols)
    if scale_for(cols) * max(span) < 2:
        raise ValueError(f"{count} people do not fit on a {width}x{height} map")
    cell_w, cell_h = width / cols, height / rows
    rng = np.random.default_rng(seed)
    people = []
    for cell in rng.permutation(rows * cols)[:count]:
        row, col = divmod(int(cell), cols)
        angle = rng.uniform(-math.pi / 18, math.pi / 18)
        turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        points = (shape @ turn.T) * scale_for(cols) * rng.uniform(0.8, 1.0)
        points += rng.normal(0.0, 0.006 * scale_for(cols), points.shape)
        room = np.array([cell_w, cell_h]) - 2 * margin
        points *= min(1.0, *(room / (np.ptp(points, axis=0) + 1e-9)))  # turning and jitter may widen it
        low = np.array([col * cell_w, row * cell_h]) + margin - points.min(axis=0)
        high = np.array([(col + 1) * cell_w, (row + 1) * cell_h]) - margin - points.max(axis=0)
        people.append(points + rng.uniform(low, np.maximum(low, high)))
    return np.stack(people)


def render_maps(
    people: np.ndarray,
    topology: Topology,
    height: int,
    width: int,
    sigma: float = 1.0,
    limb_width: float = 1.0,
    amplitudes: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``cmap`` [K, H, W] and ``paf`` [2L, H, W] (link l: channels 2l = x, 2l+1 = y).

    A keypoint is ``amplitude * exp(-r^2 / (2 sigma^2))`` (amplitude 1 unless given per person);
    a limb covers the pixels whose projection falls on the segment and whose distance from its
    line is at most ``limb_width``.
    """
    people = np.asarray(people, dtype=np.float64).reshape(-1, topology.num_keypoints, 2)
    links = np.array(topology.links, dtype=np.int64).reshape(-1, 2)
    cmap = np.zeros((topology.num_keypoints, height, width), dtype=np.float32)
    field = np.zeros((topology.num_links, 2, height, width))
    cover = np.zeros((topology.num_links, height, width))
    reach = max(4 * sigma, limb_width) + 1
    for person, amplitude in zip(people, amplitudes if amplitudes is not None else [1.0] * len(people), strict=True):
        visible = ~np.isnan(person).any(axis=1)
        if not visible.any():
            continue
        x0, y0 = np.maximum(np.floor(person[visible].min(axis=0) - reach), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(person[visible].max(axis=0) + reach) + 1, (width, height)).astype(int)
        if x0 >= x1 or y0 >= y1:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        box = (slice(y0, y1), slice(x0, x1))
        ids = np.flatnonzero(visible)
        dx = xs - person[ids, 0, None, None]
        dy = ys - person[ids, 1, None, None]
        peaks = (amplitude * np.exp(-(dx**2 + dy**2) / (2 * sigma**2))).astype(np.float32)
        cmap[(ids, *box)] = np.maximum(cmap[(ids, *box)], peaks)
        drawn = np.flatnonzero(visible[links[:, 0]] & visible[links[:, 1]]) if len(links) else links[:0, 0]
        start, end = person[links[drawn, 0]], person[links[drawn, 1]]
        length = np.hypot(*(end - start).T)
        drawn, start, length = drawn[length > 1e-9], start[length > 1e-9], length[length > 1e-9]
        unit = (person[links[drawn, 1]] - start) / length[:, None]
        rel_x = xs - start[:, 0, None, None]
        rel_y = ys - start[:, 1, None, None]
        along = rel_x * unit[:, 0, None, None] + rel_y * unit[:, 1, None, None]
        across = np.abs(rel_x * unit[:, 1, None, None] - rel_y * unit[:, 0, None, None])
        on_limb = (along >= 0) & (along <= length[:, None, None]) & (across <= limb_width)
        field[(drawn, slice(None), *box)] += on_limb[:, None] * unit[:, :, None, None]
        cover[(drawn, *box)] += on_limb
    paf = np.where(cover[:, None] > 0, field / np.maximum(cover[:, None], 1), 0.0)
    return cmap, paf.reshape(2 * topology.num_links, height, width).astype(np.float32)

"""Maps drawn the way trt_pose's networks output them, written from trt_pose's description alone.

Independent of ``synthetic.py`` (our own renderer) on purpose: the facts come from trt_pose, not from
our decoder. trt_pose/coco.py ``coco_category_to_topology`` gives link k the PAF channels
``paf_i = 2k`` and ``paf_j = 2k + 1``; parse/paf_score_graph dots ``paf_i`` with the ROW (y)
direction of a candidate pair and ``paf_j`` with the COLUMN (x) direction, and train/generate_paf
writes the unit vector from the link's first keypoint to its second the same way. Heat maps are
Gaussians at each keypoint (trt_pose/train generate_cmap). Skeletons are trt_pose's JSON: 1-based.
"""

from __future__ import annotations

import numpy as np

from support.decode_helpers import BODY_NAMES, BODY_SKELETON, HAND_NAMES, HAND_SKELETON

SIGMA = 1.0  # heat map Gaussian, map pixels
LIMB_HALF_WIDTH = 1.0  # PAF drawn within this distance of the limb, map pixels


def draw_trt_pose_maps(
    people: list[dict[str, tuple[float, float]]],
    keypoint_names: list[str],
    skeleton: list[list[int]],
    height: int,
    width: int,
) -> tuple[np.ndarray, np.ndarray]:
    """cmap ``[K, h, w]`` and paf ``[2L, h, w]`` for people given as {keypoint name: (x, y) map pixels}."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    cmap = np.zeros((len(keypoint_names), height, width))
    paf = np.zeros((2 * len(skeleton), height, width))
    for person in people:
        for k, name in enumerate(keypoint_names):
            if name in person:
                x, y = person[name]
                cmap[k] = np.maximum(cmap[k], np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * SIGMA**2)))
        for k, (first, second) in enumerate(skeleton):
            a, b = keypoint_names[first - 1], keypoint_names[second - 1]
            if a not in person or b not in person:
                continue
            (xa, ya), (xb, yb) = person[a], person[b]
            length = np.hypot(xb - xa, yb - ya)
            unit_row, unit_col = (yb - ya) / length, (xb - xa) / length
            along = (cols - xa) * unit_col + (rows - ya) * unit_row
            across = np.abs((cols - xa) * unit_row - (rows - ya) * unit_col)
            on_limb = (along >= 0) & (along <= length) & (across <= LIMB_HALF_WIDTH)
            paf[2 * k][on_limb] = unit_row  # paf_i: the row (y) component
            paf[2 * k + 1][on_limb] = unit_col  # paf_j: the column (x) component
    return cmap.astype(np.float32), paf.astype(np.float32)


def standing_person(cx: float) -> dict[str, tuple[float, float]]:
    """Facing the camera (their left on the image's right), head at the top, in map pixels (no point
    halfway between two pixels: a Gaussian there has two equal maxima, two candidates)."""
    offsets = {
        "nose": (0, 4), "left_eye": (1, 3), "right_eye": (-1, 3), "left_ear": (2, 3.4), "right_ear": (-2, 3.4),
        "neck": (0, 8), "left_shoulder": (4, 9), "right_shoulder": (-4, 9), "left_elbow": (5, 15),
        "right_elbow": (-5, 15), "left_wrist": (5.4, 21), "right_wrist": (-5.4, 21), "left_hip": (2.4, 24),
        "right_hip": (-2.4, 24), "left_knee": (3, 33), "right_knee": (-3, 33), "left_ankle": (3, 42),
        "right_ankle": (-3, 42),
    }  # fmt: skip
    return {name: (cx + dx, 6.0 + dy) for name, (dx, dy) in offsets.items()}


def open_hand(cx: float) -> dict[str, tuple[float, float]]:
    """Palm below, five fingers up; trt_pose's hand joint 4 is a finger's base, joint 1 its tip."""
    points = {"palm": (cx, 40.0)}
    for finger, (base_x, base_y, step_x) in zip(
        ("thumb", "index_finger", "middle_finger", "ring_finger", "baby_finger"),
        ((-7.4, 34.0, -1.2), (-3.4, 30.0, -0.3), (0.0, 29.0, 0.0), (3.6, 30.0, 0.4), (7.0, 32.0, 0.8)),
        strict=True,
    ):
        for joint in range(4, 0, -1):
            reach = 4 - joint
            points[f"{finger}_{joint}"] = (cx + base_x + step_x * reach, base_y - 3.2 * reach)
    return points


SCENES = {  # network: (keypoint names, 1-based skeleton, people in map pixels of 56x56 maps)
    "resnet18-body": (BODY_NAMES, BODY_SKELETON, [standing_person(cx) for cx in (9.0, 28.0, 47.0)]),
    "resnet18-hand": (HAND_NAMES, HAND_SKELETON, [open_hand(cx) for cx in (15.0, 41.0)]),
}

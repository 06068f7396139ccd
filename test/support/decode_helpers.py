"""Facts for decoder tests: poseNet's body and hand topologies, and a ground-truth comparison.

The topologies are trt_pose's ``human_pose.json`` and ``hand_pose.json`` (1-based skeletons,
as published); any decoder test (NumPy or CUDA) can import them from here.
"""

from __future__ import annotations

import numpy as np

from ros2_posenet.pose import Pose
from ros2_posenet.topology import Topology

BODY_NAMES = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "neck",
]  # fmt: skip
BODY_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2],
    [1, 3], [2, 4], [3, 5], [4, 6], [5, 7], [18, 1], [18, 6], [18, 7], [18, 12], [18, 13],
]  # fmt: skip
HAND_NAMES = ["palm"] + [
    f"{finger}_{joint}"
    for finger in ("thumb", "index_finger", "middle_finger", "ring_finger", "baby_finger")
    for joint in range(1, 5)
]
HAND_SKELETON = [
    [1, 5], [1, 9], [1, 13], [1, 17], [1, 21], [2, 3], [3, 4], [4, 5], [6, 7], [7, 8], [8, 9], [10, 11],
    [11, 12], [12, 13], [14, 15], [15, 16], [16, 17], [18, 19], [19, 20], [20, 21],
]  # fmt: skip

BODY = Topology("human_pose", tuple(BODY_NAMES), tuple((a - 1, b - 1) for a, b in BODY_SKELETON))
HAND = Topology("hand", tuple(HAND_NAMES), tuple((a - 1, b - 1) for a, b in HAND_SKELETON))


def pose_points(pose: Pose, num_keypoints: int) -> np.ndarray:
    """(K, 2) ``(x, y)`` of a pose's keypoints, NaN where absent: comparable with ground truth."""
    points = np.full((num_keypoints, 2), np.nan)
    for keypoint in pose.keypoints:
        points[keypoint.id] = (keypoint.x, keypoint.y)
    return points


def expected_links(topology: Topology, truth: np.ndarray) -> tuple[tuple[int, int], ...]:
    """The topology's links whose two keypoints are visible (not NaN) in one ground-truth person."""
    visible = ~np.isnan(truth).any(axis=1)
    return tuple((a, b) for a, b in topology.links if visible[a] and visible[b])


def assert_recovered(poses: list[Pose], truth: np.ndarray, topology: Topology, tolerance: float = 1.0) -> list[int]:
    """Each pose is the nearest ground-truth person, one pose per person, with exactly that person's
    visible keypoints (each within ``tolerance`` pixels) and links. Returns the person of each pose."""
    assert len(poses) == len(truth), f"{len(poses)} poses for {len(truth)} people"
    matched = []
    for pose in poses:
        points = pose_points(pose, topology.num_keypoints)
        distances = np.linalg.norm(truth - points, axis=2)  # (people, K), NaN where either is absent
        shared = (~np.isnan(distances)).sum(axis=1)
        person = int(np.argmin(np.where(shared > 0, np.nansum(distances, axis=1) / np.maximum(shared, 1), np.inf)))
        assert np.array_equal(np.isnan(points[:, 0]), np.isnan(truth[person, :, 0])), f"pose {pose.id}: keypoints"
        assert np.nanmax(distances[person]) < tolerance, f"pose {pose.id}: {np.nanmax(distances[person]):.2f} px off"
        assert pose.links == expected_links(topology, truth[person]), f"pose {pose.id}: links {pose.links}"
        matched.append(person)
    assert sorted(matched) == list(range(len(truth))), f"people matched {sorted(matched)}"
    return matched

"""Persistent person ids across frames: each person keeps a ``track_id`` while in view.

Each frame's people are matched to the tracks of earlier frames by optimal assignment
(``scipy.optimize.linear_sum_assignment``) on a similarity of keypoints and boxes: the mean of an
OKS-like keypoint similarity (COCO's ``exp(-d^2 / (2 s^2 k^2))``, ``s^2`` the track's box area, one
constant ``k`` for every keypoint) and the boxes' IoU, both against where the track is predicted to
be (constant velocity, per keypoint). A track is confirmed, and gets its id, after ``min_hits``
detections in a row, so flickering false people get none; a confirmed track survives ``max_age``
frames without a detection (an occlusion, a missed frame) and keeps its id when the person comes
back; ids are never reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ros2_posenet.pose import Pose

KEYPOINT_FALLOFF = 0.1  # COCO's per-keypoint constants run from 0.025 (eyes) to 0.107 (hips): one for all


@dataclass(frozen=True)
class TrackerParams:
    """max_age: frames a confirmed track lives without a detection; min_hits: detections before a
    track gets an id; min_similarity: a person and a track less alike than this are not matched."""

    max_age: int = 15
    min_hits: int = 3
    min_similarity: float = 0.1

    def __post_init__(self) -> None:
        if self.max_age < 0 or self.min_hits < 1 or not 0.0 <= self.min_similarity <= 1.0:
            raise ValueError("tracker: max_age must be >= 0, min_hits >= 1, min_similarity in [0, 1]")


class _Track:
    """One person over time: last keypoints (NaN where never seen), per-keypoint velocity, box."""

    def __init__(self, points: np.ndarray) -> None:
        self.points = points
        self.velocity = np.zeros_like(points)
        self.hits, self.misses, self.track_id = 1, 0, 0

    def predicted(self) -> np.ndarray:
        return self.points + self.velocity * (self.misses + 1)

    def update(self, points: np.ndarray) -> None:
        seen = ~np.isnan(points[:, 0])
        both = seen & ~np.isnan(self.points[:, 0])
        moved = (points[both] - self.points[both]) / (self.misses + 1)
        self.velocity[both] = 0.5 * self.velocity[both] + 0.5 * moved  # smoothed: a keypoint jumps between peaks
        self.points[seen] = points[seen]
        self.hits += 1
        self.misses = 0


def _points(pose: Pose, num_keypoints: int) -> np.ndarray:
    points = np.full((num_keypoints, 2), np.nan)
    for keypoint in pose.keypoints:
        points[keypoint.id] = (keypoint.x, keypoint.y)
    return points


def _box(points: np.ndarray) -> np.ndarray:
    return np.concatenate([np.nanmin(points, axis=0), np.nanmax(points, axis=0)])


def similarity(detection: np.ndarray, predicted: np.ndarray) -> float:
    """Mean of the OKS-like keypoint similarity and the box IoU of two (K, 2) keypoint arrays."""
    box_a, box_b = _box(detection), _box(predicted)
    area = max((box_b[2] - box_b[0]) * (box_b[3] - box_b[1]), 1.0)
    shared = ~np.isnan(detection[:, 0]) & ~np.isnan(predicted[:, 0])
    squared = np.sum((detection[shared] - predicted[shared]) ** 2, axis=1)
    oks = float(np.mean(np.exp(-squared / (2 * area * KEYPOINT_FALLOFF**2)))) if shared.any() else 0.0
    low, high = np.maximum(box_a[:2], box_b[:2]), np.minimum(box_a[2:], box_b[2:])
    overlap = float(np.prod(np.maximum(high - low, 0.0)))
    union = float(np.prod(box_a[2:] - box_a[:2]) + np.prod(box_b[2:] - box_b[:2])) - overlap
    return 0.5 * oks + 0.5 * (overlap / union if union > 0 else 0.0)


class PoseTracker:
    """``update(poses)`` once per frame, in order: the same poses with ``track_id`` set."""

    def __init__(self, num_keypoints: int, params: TrackerParams | None = None) -> None:
        self.num_keypoints = num_keypoints
        self.params = params or TrackerParams()
        self._tracks: list[_Track] = []
        self._next_id = 1

    def reset(self) -> None:
        """Forget every track (a new camera, a replayed recording); ids go on from where they were."""
        self._tracks = []

    def update(self, poses: Sequence[Pose]) -> list[Pose]:
        detections = [_points(pose, self.num_keypoints) for pose in poses if pose.keypoints]
        owners: dict[int, _Track] = {}
        if detections and self._tracks:
            scores = np.array([[similarity(d, t.predicted()) for t in self._tracks] for d in detections])
            for row, column in zip(*linear_sum_assignment(-scores), strict=True):
                if scores[row, column] >= self.params.min_similarity:
                    owners[row] = self._tracks[column]
        for track in self._tracks:
            if track not in owners.values():
                track.misses += 1
        self._tracks = [t for t in self._tracks if t.misses == 0 or (t.track_id and t.misses <= self.params.max_age)]
        for row, points in enumerate(detections):
            if row in owners:
                owners[row].update(points)
            else:
                owners[row] = _Track(points)
                self._tracks.append(owners[row])
            track = owners[row]
            if not track.track_id and track.hits >= self.params.min_hits:
                track.track_id, self._next_id = self._next_id, self._next_id + 1
        with_keypoints = iter(range(len(detections)))
        return [pose.tracked(owners[next(with_keypoints)].track_id) if pose.keypoints else pose for pose in poses]

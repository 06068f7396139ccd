"""The two ways tests compare people: the same result exactly, or the same people within pixels."""

from __future__ import annotations

import numpy as np

from ros2_posenet.pose import Pose


def assert_same_people(actual: list[Pose], expected: list[Pose], tolerance: float = 1e-6) -> None:
    """Same people in the same order: ids, keypoint ids, links, positions, scores and boxes within ``tolerance``."""
    assert len(actual) == len(expected), f"{len(actual)} people, expected {len(expected)}"
    for got, want in zip(actual, expected, strict=True):
        assert got.id == want.id and got.links == want.links, f"pose {want.id}: links {got.links} != {want.links}"
        assert [k.id for k in got.keypoints] == [k.id for k in want.keypoints], f"pose {want.id}: keypoints"
        assert [k.name for k in got.keypoints] == [k.name for k in want.keypoints], f"pose {want.id}: names"
        values = np.array([(k.x, k.y, k.score) for k in got.keypoints])
        reference = np.array([(k.x, k.y, k.score) for k in want.keypoints])
        assert np.abs(values - reference).max() <= tolerance, f"pose {want.id}: {np.abs(values - reference).max()}"
        assert abs(got.score - want.score) <= tolerance
        assert np.abs(np.subtract(got.box, want.box)).max() <= tolerance, f"pose {want.id}: box {got.box}"


def match_people(actual: list[Pose], expected: list[Pose], tolerance_px: float) -> None:
    """Every expected person has one actual person with the same keypoints (at most one differs) within
    ``tolerance_px``: for paths whose arithmetic differs (another engine, FP16, another precision)."""
    assert len(actual) == len(expected), f"{len(actual)} people, expected {len(expected)}"
    unmatched = list(actual)
    for want in expected:
        points = {k.id: (k.x, k.y) for k in want.keypoints}

        def distance(got: Pose, points=points) -> float:
            shared = [k for k in got.keypoints if k.id in points]
            if not shared:
                return np.inf
            return max(np.hypot(k.x - points[k.id][0], k.y - points[k.id][1]) for k in shared)

        best = min(unmatched, key=distance)
        assert distance(best) <= tolerance_px, f"person {want.id}: nearest person {distance(best):.2f} px away"
        assert len({k.id for k in best.keypoints} ^ set(points)) <= 1, f"person {want.id}: keypoints differ"
        unmatched.remove(best)


def keypoint_distances(actual: list[Pose], expected: list[Pose]) -> list[float]:
    """For each expected person, the distances (pixels) of its keypoints to the same keypoints of the
    actual person nearest to it (mean over the keypoints both have); inf for one with no counterpart.
    What an accuracy guard reads: the counts, then the median and worst of these."""
    distances: list[float] = []
    for want in expected:
        points = {k.id: (k.x, k.y) for k in want.keypoints}
        candidates = [
            [float(np.hypot(k.x - points[k.id][0], k.y - points[k.id][1])) for k in got.keypoints if k.id in points]
            for got in actual
        ]
        nearest = min((c for c in candidates if c), key=lambda c: float(np.mean(c)), default=None)
        distances += nearest if nearest is not None else [float("inf")] * len(points)
    return distances

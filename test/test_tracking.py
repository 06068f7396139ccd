"""Person ids across frames: sequences of people with known identities, rendered as maps, decoded for
real (the CPU decoder) and tracked. Wherever the maps are unambiguous, no identity switches."""

from __future__ import annotations

import numpy as np
import pytest
from support.decode_helpers import BODY
from support.synthetic import random_people, render_maps

from ros2_posenet.decode.cpu import decode_cpu
from ros2_posenet.pose import Pose
from ros2_posenet.tracking import PoseTracker, TrackerParams

HEIGHT, WIDTH = 64, 96
PARAMS = TrackerParams(max_age=6, min_hits=3)
_SHAPE = random_people(1, BODY, 30, 14, seed=3)[0]
SHAPE = _SHAPE - _SHAPE.min(axis=0)  # one person about 12 x 28 map pixels, top-left at the origin


def person_at(x: float, y: float) -> np.ndarray:
    """The person with its top-left at (x, y); keypoints outside the map are not there (NaN)."""
    points = SHAPE + (x, y)
    outside = (points[:, 0] < 0) | (points[:, 0] > WIDTH - 1) | (points[:, 1] < 0) | (points[:, 1] > HEIGHT - 1)
    points[outside] = np.nan
    return points


def run(frames: list[dict[str, np.ndarray]], params: TrackerParams = PARAMS) -> list[dict[str, int]]:
    """Per frame, each drawn person's track id (the pose nearest its drawn keypoints); -1 if not found."""
    tracker = PoseTracker(BODY.num_keypoints, params)
    results = []
    for people in frames:
        truth = np.stack(list(people.values())) if people else np.zeros((0, BODY.num_keypoints, 2))
        cmap, paf = render_maps(truth, BODY, HEIGHT, WIDTH)
        poses = tracker.update(decode_cpu(cmap, paf, BODY))
        results.append({name: _track_of(points, poses) for name, points in people.items()})
    return results


def _track_of(points: np.ndarray, poses: list[Pose]) -> int:
    def distance(pose: Pose) -> float:
        shared = [k for k in pose.keypoints if not np.isnan(points[k.id, 0])]
        return np.mean([np.hypot(k.x - points[k.id, 0], k.y - points[k.id, 1]) for k in shared]) if shared else np.inf

    best = min(poses, key=distance, default=None)
    return best.track_id if best is not None and distance(best) < 2.0 else -1


def ids_of(results: list[dict[str, int]], name: str, frames: range) -> set[int]:
    return {result[name] for index, result in enumerate(results) if index in frames and name in result}


def test_walkers_keep_one_id_each_from_their_third_frame():
    frames = [{"a": person_at(2 + 1.5 * t, 4), "b": person_at(50 + 1.5 * t, 30)} for t in range(20)]
    results = run(frames)
    assert ids_of(results, "a", range(2)) == ids_of(results, "b", range(2)) == {0}  # not confirmed yet
    a, b = ids_of(results, "a", range(2, 20)), ids_of(results, "b", range(2, 20))
    assert len(a) == len(b) == 1 and a != b and 0 not in a | b


def test_two_people_passing_each_other_do_not_swap_ids():
    frames = [{"a": person_at(2 + 3 * t, 1), "b": person_at(80 - 3 * t, 34)} for t in range(26)]
    results = run(frames)
    a, b = ids_of(results, "a", range(2, 26)), ids_of(results, "b", range(2, 26))
    assert len(a) == len(b) == 1 and a != b, results


@pytest.mark.parametrize(("hidden", "same_id"), [(5, True), (PARAMS.max_age + 2, False)])
def test_a_person_hidden_for_a_while_keeps_the_id_and_longer_gets_a_new_one(hidden: int, same_id: bool):
    frames = [{"a": person_at(5 + 2 * t, 10)} if not 6 <= t < 6 + hidden else {} for t in range(6 + hidden + 6)]
    results = run(frames)
    before, after = ids_of(results, "a", range(2, 6)), ids_of(results, "a", range(6 + hidden + 3, 6 + hidden + 6))
    assert len(before) == len(after) == 1 and 0 not in before | after
    assert (before == after) == same_id, results


def test_people_entering_and_leaving_at_the_borders_get_new_ids_never_reused():
    frames = []
    for t in range(40):
        people = {"a": person_at(-14 + 4 * t, 8)}  # enters on the left, leaves on the right
        if t >= 24:
            people["b"] = person_at(-14 + 4 * (t - 24), 30)  # enters when a is leaving
        frames.append(people)
    results = run(frames)
    whole_a = [t for t in range(40) if not np.isnan(frames[t]["a"]).any()]
    whole_b = [t for t in range(24, 40) if not np.isnan(frames[t]["b"]).any()]
    a, b = ids_of(results, "a", range(whole_a[0] + 2, whole_a[-1] + 1)), ids_of(results, "b", range(whole_b[0] + 2, 40))
    assert len(a) == len(b) == 1 and a != b and 0 not in a | b, results


def test_a_person_seen_in_fewer_than_min_hits_frames_never_gets_an_id():
    frames = [{"a": person_at(10, 10)}, {"a": person_at(11, 10)}, {}, {}, {"b": person_at(60, 30)}]
    assert all(track in (0, -1) for result in run(frames) for track in result.values())


def test_reset_forgets_the_tracks_and_ids_are_not_reused():
    tracker = PoseTracker(BODY.num_keypoints, TrackerParams(min_hits=1))
    cmap, paf = render_maps(person_at(10, 10)[None], BODY, HEIGHT, WIDTH)
    poses = decode_cpu(cmap, paf, BODY)
    (first,) = tracker.update(poses)
    (again,) = tracker.update(poses)
    tracker.reset()
    (after,) = tracker.update(poses)
    assert first.track_id == again.track_id == 1 and after.track_id == 2


def test_bad_tracker_parameters_are_refused():
    with pytest.raises(ValueError, match="min_hits"):
        TrackerParams(min_hits=0)


def test_street_video_walkers_keep_their_ids():
    """vtest.avi, frames 0-199 (looked at frame by frame where it matters): the man walking left fast
    along the road from about (647, 283) is found in every frame 2-21 and keeps one id; people keep ids
    for long stretches (one walker 120 frames); about 14 people appear in these frames, some only far
    away at the top; the ids given stay near that number."""
    import cv2
    from support.photos import photo_path

    from ros2_posenet.posenet import PoseNet

    net = PoseNet(backend="onnxruntime-cpu")
    tracker = PoseTracker(net.topology.num_keypoints)
    capture = cv2.VideoCapture(str(photo_path("vtest.avi")))
    lives: dict[int, list[tuple[int, float, float]]] = {}
    try:
        for index in range(200):
            ok, frame = capture.read()
            assert ok
            for pose in tracker.update(net.process(frame)):
                if pose.track_id:
                    lives.setdefault(pose.track_id, []).append((index, (pose.left + pose.right) / 2, pose.bottom))
    finally:
        capture.release()
        net.close()
    runner = [track for track, life in lives.items() if life[0][0] == 2 and abs(life[0][1] - 647) < 15]
    assert len(runner) == 1, lives
    frames = [index for index, _, _ in lives[runner[0]]]
    assert frames[:20] == list(range(2, 22)), frames
    assert max(len(life) for life in lives.values()) >= 100
    assert len(lives) <= 16, sorted((track, len(life)) for track, life in lives.items())

"""Greedy assignment and person assembly, shared by both decoders (steps 5-6 of docs/decoding.md)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from ros2_posenet.decode.assembly import assemble_people, assign_links
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.topology import Topology

TRIANGLE = Topology("triangle", ("a", "b", "c"), ((0, 1), (1, 2), (0, 2)))
CHAIN = Topology("chain", ("a", "b", "c", "d"), ((0, 1), (2, 3), (1, 2)))  # the middle link comes last
PARAMS = DecodeParams()


def candidates(*counts: int, score: float = 0.5) -> list[np.ndarray]:
    """``counts[k]`` candidates of keypoint k; candidate c of keypoint k sits at x = 10k + c, y = 100 + k."""
    return [np.array([[100.0 + k, 10.0 * k + c, score] for c in range(n)]).reshape(-1, 3) for k, n in enumerate(counts)]


def people(poses: list) -> list[tuple[dict[str, float], tuple]]:
    """Each pose as ({keypoint name: x}, links): x identifies the candidate."""
    return [({k.name: k.x for k in pose.keypoints}, pose.links) for pose in poses]


def test_assign_links_is_greedy_by_descending_score() -> None:
    (chosen,) = assign_links([np.array([[0.9, 0.8], [0.85, 0.2]])], PARAMS)
    assert chosen == [(0, 0, 0.9), (1, 1, 0.2)]  # greedy, though 0.8 + 0.85 would pair more


def test_assign_links_threshold_is_strict_and_ties_go_to_smaller_ids() -> None:
    tables = [np.array([[0.5, 0.5], [0.5, 0.1]]), np.array([[0.1, 0.5], [0.5, 0.5]])]
    tables += [np.zeros((0, 3)), np.array([[0.3, 0.4]], np.float32)]
    tied, listed, empty, single = assign_links(tables, PARAMS)
    assert tied == [(0, 0, 0.5)]  # (0, 1) and (1, 0) lose the tie, (1, 1) is not above 0.1
    assert listed == [(0, 1, 0.5), (1, 0, 0.5)]  # equal scores: smaller i first
    assert empty == []
    assert single == [(0, 1, pytest.approx(0.4))]


def test_two_fragments_merge_when_a_later_link_joins_them() -> None:
    connections = [[(0, 0, 0.9)], [(0, 0, 0.8)], [(0, 0, 0.7)]]
    (pose,) = assemble_people(candidates(1, 1, 1, 1), connections, CHAIN, PARAMS)
    assert people([pose]) == [({"a": 0, "b": 10, "c": 20, "d": 30}, ((0, 1), (2, 3), (1, 2)))]
    assert pose.score == pytest.approx(0.5 + 0.8)
    assert (pose.keypoints[2].y, pose.keypoints[2].score) == (102.0, 0.5)


def test_fragments_that_share_a_keypoint_type_do_not_merge() -> None:
    connections = [[(0, 0, 0.9)], [(1, 0, 0.8)], [(0, 0, 0.7)]]  # a0-b0, b1-c0, then a0-c0
    poses = assemble_people(candidates(1, 2, 1), connections, TRIANGLE, PARAMS)
    assert people(poses) == [({"a": 0, "b": 10}, ((0, 1),)), ({"b": 11, "c": 20}, ((1, 2),))]


@pytest.mark.parametrize(
    ("counts", "last", "lone"),
    [
        ((1, 1, 2), (0, 1, 0.7), {"c": 21}),  # a0 is held, c1 is free but the slot c is taken
        ((2, 1, 1), (1, 0, 0.7), {"a": 1}),  # c0 is held, a1 is free but the slot a is taken
    ],
)
def test_a_connection_to_a_filled_slot_is_ignored(counts: tuple, last: tuple, lone: dict) -> None:
    connections = [[(0, 0, 0.9)], [(0, 0, 0.8)], [last]]
    poses = assemble_people(candidates(*counts), connections, TRIANGLE, PARAMS)
    assert people(poses) == [({"a": 0, "b": 10, "c": 20}, ((0, 1), (1, 2))), (lone, ())]


def test_a_link_inside_one_person_is_recorded() -> None:
    connections = [[(0, 0, 0.9)], [(0, 0, 0.6)], [(0, 0, 0.3)]]
    (pose,) = assemble_people(candidates(1, 1, 1), connections, TRIANGLE, PARAMS)
    assert pose.links == TRIANGLE.links and pose.score == pytest.approx(0.5 + 0.6)


def test_lone_candidates_are_people_unless_min_keypoints_drops_them() -> None:
    connections = [[(0, 0, 0.9)], [], []]
    found = assemble_people(candidates(1, 2, 1), connections, TRIANGLE, PARAMS)
    assert people(found) == [({"a": 0, "b": 10}, ((0, 1),)), ({"b": 11}, ()), ({"c": 20}, ())]
    kept = assemble_people(candidates(1, 2, 1), connections, TRIANGLE, DecodeParams(min_keypoints=2))
    assert people(kept) == people(found)[:1]


def test_min_pose_score_drops_weak_people_by_keypoint_plus_link_score() -> None:
    connections = [[(0, 0, 0.3)], [], []]
    parts = candidates(1, 1, 1, score=0.25)  # linked a-b scores 0.25 + 0.3 = 0.55; lone c scores 0.25
    assert people(assemble_people(parts, connections, TRIANGLE, DecodeParams(min_pose_score=0.5))) == [
        ({"a": 0, "b": 10}, ((0, 1),))
    ]
    assert assemble_people(parts, connections, TRIANGLE, DecodeParams(min_pose_score=0.56)) == []


def test_people_are_ordered_by_score_then_leftmost_x_capped_and_numbered() -> None:
    parts = candidates(3, 0, 1)
    parts[0][:, 1] = [30.0, 10.0, 20.0]  # three equal-score "a" candidates, out of x order
    parts[2][0, 2] = 0.7  # the best
    poses = assemble_people(parts, [[], [], []], TRIANGLE, PARAMS)
    assert [(p.id, p.keypoints[0].x, p.score) for p in poses] == [
        (0, 20.0, 0.7),
        (1, 10.0, 0.5),
        (2, 20.0, 0.5),
        (3, 30.0, 0.5),
    ]
    capped = assemble_people(parts, [[], [], []], TRIANGLE, DecodeParams(max_people=2))
    assert [p.to_dict() for p in capped] == [p.to_dict() for p in poses[:2]]


def test_inputs_that_do_not_fit_the_topology_are_refused() -> None:
    with pytest.raises(ValueError, match="assembly needs 3 candidate lists and 3 connection lists, got 3 and 2"):
        assemble_people(candidates(1, 1, 1), [[], []], TRIANGLE, PARAMS)


# The person filter: strong people (min_keypoints, min_pose_score), or complete ones with a torso
# (complete_min_keypoints, complete_min_score); a torso is the neck and a hip where the skeleton has them.
BODY = Topology("body", ("neck", "left_hip", "right_hip", "knee", "ankle"), ((0, 1), (0, 2), (1, 3), (3, 4), (1, 2)))
FILTER = DecodeParams(min_keypoints=2, min_pose_score=0.9, complete_min_keypoints=4, complete_min_score=0.5)


def chain_person(topology: Topology, keypoints: list[int], score: float = 0.3, params: DecodeParams = FILTER) -> list:
    """One candidate per keypoint in ``keypoints`` (score ``score``), every link among them at 0.3."""
    cands = [np.array([[100.0 + k, 10.0 * k, score]]) if k in keypoints else np.zeros((0, 3)) for k in range(5)]
    links = [[(0, 0, 0.3)] if a in keypoints and b in keypoints else [] for a, b in topology.links]
    return assemble_people(cands, links, topology, params)


def test_a_weak_person_is_kept_when_complete_with_a_torso() -> None:
    (whole,) = chain_person(BODY, [0, 1, 2, 3, 4])  # score 0.3 + 0.3 = 0.6: under 0.9, over 0.5
    assert len(whole.keypoints) == 5
    assert chain_person(BODY, [1, 3, 4]) == []  # as weak, no neck: a fragment
    assert chain_person(BODY, [1, 2, 3, 4]) == []  # 4 keypoints but no neck: no torso, too weak
    assert chain_person(BODY, [0, 1, 3, 4])  # neck and one hip: a torso, 4 keypoints
    assert chain_person(BODY, [0, 1, 2], score=0.3) == []  # a torso, but only 3 keypoints
    assert chain_person(BODY, [0, 1, 2, 3, 4], score=0.1) == []  # complete, but 0.1 + 0.3 < 0.5
    strong = replace(FILTER, complete_min_keypoints=0)
    assert assemble_people(*_whole(BODY), BODY, strong) == []  # the rule off: only strong people


def test_a_neck_without_a_hip_is_no_torso() -> None:
    neck_to_knee = Topology("body", BODY.keypoints, (*BODY.links, (0, 3)))
    three = replace(FILTER, complete_min_keypoints=3)
    assert chain_person(neck_to_knee, [0, 3, 4], params=three) == []  # neck, knee, ankle
    assert chain_person(neck_to_knee, [0, 2, 3], params=three)  # neck, right hip, knee


def test_a_person_score_adds_left_to_right_in_keypoint_and_link_order() -> None:
    """Both decoders add in this order (Python 3.12's sum compensates rounding, NumPy's adds pairwise),
    so that people with equal scores come in the same order. These scores were picked so that the exact
    sums, or sums starting at another keypoint or link, give another last bit."""
    cands = [np.array([[100.0, 10.0 * k, score]]) for k, score in enumerate((0.05, 0.05, 0.05, 0.15))]
    connections = [[(0, 0, 0.05)], [(0, 0, 0.05)], [(0, 0, 0.2)]]
    (pose,) = assemble_people(cands, connections, CHAIN, PARAMS)
    expected = (((0.05 + 0.05) + 0.05) + 0.15) / 4 + ((0.05 + 0.05) + 0.2) / 3
    assert expected != math.fsum((0.05, 0.05, 0.05, 0.15)) / 4 + math.fsum((0.05, 0.05, 0.2)) / 3
    assert expected != (((0.05 + 0.05) + 0.05) + 0.15) / 4 + ((0.05 + 0.2) + 0.05) / 3
    assert pose.score == expected


def _whole(topology: Topology) -> tuple[list, list]:
    cands = [np.array([[100.0 + k, 10.0 * k, 0.3]]) for k in range(5)]
    return cands, [[(0, 0, 0.3)] for _ in topology.links]


def test_a_skeleton_without_a_torso_needs_none() -> None:
    hand = Topology("hand", ("wrist", "a", "b", "c", "d"), ((0, 1), (1, 2), (2, 3), (3, 4)))
    assert hand.torso_masks == (0, 0)
    (person,) = assemble_people(*_whole(hand), hand, FILTER)
    assert len(person.keypoints) == 5

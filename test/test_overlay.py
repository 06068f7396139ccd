"""Overlay flags and drawing: colours land where the keypoints, links and boxes are."""

from __future__ import annotations

import numpy as np
import pytest

from ros2_posenet.overlay import draw_overlay, parse_overlay_flags
from ros2_posenet.pose import Keypoint, Pose
from ros2_posenet.topology import Topology

# RGB colours in the topology; the overlay must draw them as BGR.
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
TOPOLOGY = Topology("test", ("a", "b", "c"), ((0, 1), (1, 2)), colors=(RED, GREEN, BLUE))


def make_pose(scale: float = 1.0, pose_id: int = 0) -> Pose:
    points = ((20, 20), (60, 20), (60, 60))
    keypoints = tuple(Keypoint(i, TOPOLOGY.keypoints[i], x * scale, y * scale, 0.9) for i, (x, y) in enumerate(points))
    return Pose(id=pose_id, keypoints=keypoints, links=TOPOLOGY.links, score=1.0)


def grey(height: int = 480, width: int = 640) -> np.ndarray:
    return np.full((height, width, 3), 128, np.uint8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("links,keypoints", {"links", "keypoints"}),
        ("box", {"box"}),
        (" Box , LINKS ", {"box", "links"}),
        ("box,links,keypoints", {"box", "links", "keypoints"}),
        ("none", set()),
        ("keypoints,keypoints", {"keypoints"}),
        ("boxes,link,keypoint", {"box", "links", "keypoints"}),  # poseNet's own spellings
    ],
)
def test_parse_overlay_flags_accepts_any_mix(text: str, expected: set[str]) -> None:
    assert parse_overlay_flags(text) == frozenset(expected)


@pytest.mark.parametrize("text", ["boxs", "", "box,,links", "none,box", "skeleton"])
def test_parse_overlay_flags_rejects_with_one_line(text: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_overlay_flags(text)
    message = str(error.value)
    assert "\n" not in message and repr(text) in message


def test_draw_returns_a_copy_and_leaves_input_alone() -> None:
    image = grey()
    before = image.copy()
    out = draw_overlay(image, [make_pose()], TOPOLOGY, {"box", "links", "keypoints"})
    assert out is not image and out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(image, before)
    assert not np.array_equal(out, before)


@pytest.mark.parametrize("flags", ["links,keypoints", "box", "box,links,keypoints"])
def test_a_flag_string_draws_what_it_names(flags: str) -> None:
    """As the README shows it: ``draw_overlay(image, poses, topology, "links,keypoints")``."""
    image = grey()
    drawn = draw_overlay(image, [make_pose()], TOPOLOGY, flags)
    assert not np.array_equal(drawn, image)
    assert np.array_equal(drawn, draw_overlay(image, [make_pose()], TOPOLOGY, parse_overlay_flags(flags)))


def test_no_flags_draws_nothing() -> None:
    image = grey()
    assert np.array_equal(draw_overlay(image, [make_pose()], TOPOLOGY, parse_overlay_flags("none")), image)


def test_keypoints_take_their_colour_converted_to_bgr() -> None:
    out = draw_overlay(grey(), [make_pose()], TOPOLOGY, {"keypoints"})
    assert tuple(out[20, 20]) == (0, 0, 255)  # keypoint a, RGB red
    assert tuple(out[20, 60]) == (0, 255, 0)  # keypoint b, green
    assert tuple(out[60, 60]) == (255, 0, 0)  # keypoint c, RGB blue
    assert tuple(out[20, 40]) == (128, 128, 128)  # no link drawn between a and b


def test_links_take_the_colour_of_their_first_keypoint() -> None:
    out = draw_overlay(grey(), [make_pose()], TOPOLOGY, {"links"})
    assert tuple(out[20, 40]) == (0, 0, 255)  # a-b drawn in a's colour
    assert tuple(out[40, 60]) == (0, 255, 0)  # b-c drawn in b's colour
    assert tuple(out[40, 40]) == (128, 128, 128)  # a and c are not linked


def test_link_to_a_missing_keypoint_is_skipped() -> None:
    full = make_pose()
    pose = Pose(id=0, keypoints=full.keypoints[:2], links=TOPOLOGY.links, score=1.0)
    out = draw_overlay(grey(), [pose], TOPOLOGY, {"links"})
    assert tuple(out[20, 40]) == (0, 0, 255)
    assert tuple(out[40, 60]) == (128, 128, 128)


def test_box_surrounds_each_pose_only_when_asked() -> None:
    poses = [make_pose(pose_id=0), make_pose(scale=1.5, pose_id=1)]
    boxed = draw_overlay(grey(), poses, TOPOLOGY, {"box"})
    assert tuple(boxed[40, 20]) != (128, 128, 128)  # left edge of pose 0's box (x=20, y 20..60)
    assert tuple(boxed[60, 25]) != (128, 128, 128)  # its bottom edge
    assert tuple(boxed[90, 75]) != (128, 128, 128)  # pose 1's bottom edge (box 30..90)
    assert tuple(boxed[60, 25]) != tuple(boxed[90, 75])  # each person has its own box colour
    assert tuple(boxed[40, 40]) == (128, 128, 128)  # inside stays untouched
    unboxed = draw_overlay(grey(), poses, TOPOLOGY, {"keypoints"})
    assert tuple(unboxed[40, 20]) == (128, 128, 128)


def test_sizes_scale_with_the_image() -> None:
    small = draw_overlay(grey(480, 640), [make_pose()], TOPOLOGY, {"keypoints"})
    large = draw_overlay(grey(1440, 1920), [make_pose(scale=3)], TOPOLOGY, {"keypoints"})
    red_small = np.all(small == (0, 0, 255), axis=2).sum()
    red_large = np.all(large == (0, 0, 255), axis=2).sum()
    assert red_large > 5 * red_small  # about 9x the area for a 3x larger image


def test_grey_single_channel_image_gets_a_colour_overlay() -> None:
    out = draw_overlay(np.full((480, 640), 50, np.uint8), [make_pose()], TOPOLOGY, {"keypoints"})
    assert out.shape == (480, 640, 3)
    assert tuple(out[20, 20]) == (0, 0, 255)


def test_a_huge_image_gets_a_bounded_overlay_with_the_poses_where_they_belong() -> None:
    image = grey(4000, 4000)
    pose = make_pose(scale=50.0)  # keypoints at (1000, 1000), (3000, 1000), (3000, 3000)
    drawn = draw_overlay(image, [pose], TOPOLOGY, "keypoints", max_pixels=1000 * 1000)
    assert drawn.shape == (1000, 1000, 3)
    for keypoint in pose.keypoints:  # the circles sit at the scaled positions, in their colours
        x, y = (keypoint.x + 0.5) / 4 - 0.5, (keypoint.y + 0.5) / 4 - 0.5
        assert tuple(drawn[round(y), round(x)]) == tuple(reversed(TOPOLOGY.colors[keypoint.id]))
    assert draw_overlay(grey(), [make_pose()], TOPOLOGY, "keypoints", max_pixels=1000 * 1000).shape == (480, 640, 3)


def test_the_track_flag_colours_a_tracked_person_by_id_and_prints_it() -> None:
    tracked, untracked = make_pose().tracked(3), make_pose()
    by_track = draw_overlay(grey(), [tracked], TOPOLOGY, "links,keypoints,track")
    a, b, c = (tuple(by_track[y, x]) for x, y in ((20, 20), (60, 20), (60, 60)))
    assert a == b == c != (128, 128, 128), (a, b, c)  # one colour for the whole person
    assert by_track[:18, 10:60].std() > 0, "the id is printed above the person"
    other = draw_overlay(grey(), [make_pose().tracked(4)], TOPOLOGY, "keypoints,track")
    assert tuple(other[20, 20]) != a  # another track, another colour
    plain = draw_overlay(grey(), [untracked], TOPOLOGY, "links,keypoints")
    assert np.array_equal(draw_overlay(grey(), [untracked], TOPOLOGY, "links,keypoints,track"), plain)  # id 0

"""The pose node on real photos over real DDS: the right people, the input's header, the library's poses."""

from __future__ import annotations

import numpy as np
import pytest
from support.photos import load_photo
from support.poses import assert_same_people
from support.ros_harness import node_graph, require_ros

require_ros()

from ros2_posenet.posenet import PoseNet  # noqa: E402
from ros2_posenet.ros.image import image_to_bgr  # noqa: E402
from ros2_posenet.ros.messages import poses_from_msg  # noqa: E402

YUV_ENCODINGS = ("yuv422", "uyvy", "yuv422_yuy2", "yuyv")
COLOUR_ENCODINGS = ("bgr8", "rgba8", "bgra8", *YUV_ENCODINGS)
GREY_ENCODINGS = (("mono8", False), ("mono16", False), ("mono16", True))
WIRE_TOLERANCE = 0.01  # pixels and scores travel as float32


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    """The node at the default network and size, and a probe beside it."""
    with node_graph("photos", {}, tmp_path_factory.mktemp("node")) as graph:
        yield graph


@pytest.fixture(scope="module")
def library():
    net = PoseNet()
    yield net
    net.close()


@pytest.mark.parametrize("photo", ["basketball1.png", "basketball2.png"])
def test_photo_gives_the_people_the_header_and_an_overlay(graph, library, photo):
    node, probe = graph
    image = load_photo(photo)
    msg = probe.image_msg(image, "rgb8")
    poses, overlay = probe.request(msg)

    assert poses.header == msg.header  # stamp and frame_id copied from the input
    assert (poses.image_width, poses.image_height) == (640, 480)
    assert poses.network == "mobilenet-thin-body" and len(poses.keypoint_names) == 18
    assert len(poses.poses) == 2, f"{photo} shows two players"
    for pose in poses.poses:
        assert 0 <= pose.left <= pose.right < 640 and 0 <= pose.top <= pose.bottom < 480
        assert all(poses.keypoint_names[k.id] == k.name for k in pose.keypoints)
    assert_same_people(poses_from_msg(poses), library.process(image), WIRE_TOLERANCE)

    assert overlay is not None and overlay.header == msg.header
    assert (overlay.width, overlay.height, overlay.encoding) == (640, 480, "bgr8")
    drawn = image_to_bgr(overlay.encoding, overlay.height, overlay.width, overlay.step, False, overlay.data)
    assert np.count_nonzero(np.any(drawn != image, axis=2)) > 500, "the overlay draws the people"


WEAK_PEAK = 0.1


def test_every_encoding_gives_the_poses_of_rgb8(graph):
    node, probe = graph
    colour, grey = load_photo("messi5.jpg"), load_photo("basketball1.png")
    colour = colour[:, : colour.shape[1] // 2 * 2]  # YUV 4:2:2 needs an even width
    reference = {
        name: poses_from_msg(probe.request(probe.image_msg(img, "rgb8"))[0])
        for name, img in (("colour", colour), ("grey", grey))
    }
    assert reference["colour"] and reference["grey"]

    for encoding in COLOUR_ENCODINGS:
        received = poses_from_msg(probe.request(probe.image_msg(colour, encoding), overlay=False)[0])
        if encoding in YUV_ENCODINGS:
            # 4:2:2 halves the colour resolution: the same people, keypoints within a few pixels; a weak
            # one (peak under 0.1, above the 0.06 threshold) may take a neighbouring candidate instead
            assert len(received) == len(reference["colour"]), encoding
            for got, want in zip(received, reference["colour"], strict=True):
                common = {k.id for k in got.keypoints} & {k.id for k in want.keypoints}
                assert len(common) >= 0.8 * len(want.keypoints), encoding
                for kid in common:
                    a, b = got.find_keypoint(kid), want.find_keypoint(kid)
                    if min(a.score, b.score) >= WEAK_PEAK:
                        assert np.hypot(a.x - b.x, a.y - b.y) < 4.0, (encoding, a, b)
        else:
            assert_same_people(received, reference["colour"], WIRE_TOLERANCE)

    for encoding, big_endian in GREY_ENCODINGS:  # a grey photo: mono is exactly the rgb8 image
        msg = probe.image_msg(grey, encoding, is_bigendian=big_endian)
        assert_same_people(poses_from_msg(probe.request(msg, overlay=False)[0]), reference["grey"], WIRE_TOLERANCE)
    assert node.alive()

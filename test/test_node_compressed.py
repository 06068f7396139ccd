"""CompressedImage input (``image_transport`` compressed) over real DDS, as image_transport's compressed
plugin publishes it: sensor_msgs/CompressedImage on ``<image topic>/compressed``, format "jpeg", "png"
or "<encoding>; <jpeg|png> compressed <pixel format>"."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from support.photos import load_photo
from support.poses import match_people
from support.ros_harness import SMALL_INPUT, NodeProcess, node_graph, require_ros

require_ros()

from ros2_posenet.posenet import PoseNet, parse_input_size  # noqa: E402
from ros2_posenet.ros.messages import poses_from_msg  # noqa: E402

MAX_PIXELS = 1280 * 960


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    parameters = {"input_size": SMALL_INPUT, "image_transport": "compressed", "max_image_pixels": MAX_PIXELS}
    with node_graph("compressed", parameters, tmp_path_factory.mktemp("node"), "/image/compressed") as graph:
        yield graph


def encoded(image: np.ndarray, extension: str) -> bytes:
    ok, data = cv2.imencode(extension, image)
    assert ok
    return data.tobytes()


def test_a_png_gives_the_poses_of_the_raw_image(graph):
    node, probe = graph
    image = load_photo("basketball1.png")
    msg, _ = probe.request(probe.compressed_msg("rgb8; png compressed bgr8", encoded(image, ".png")))
    assert (msg.image_width, msg.image_height) == (image.shape[1], image.shape[0])
    net = PoseNet(input_size=parse_input_size(SMALL_INPUT), backend=node_backend(node))
    try:
        expected = net.process(image)
    finally:
        net.close()
    assert expected, "no people in basketball1.png"
    match_people(poses_from_msg(msg), expected, tolerance_px=0.01)  # lossless png: the same engine's people


def node_backend(node: NodeProcess) -> str:
    """The backend the node chose (its log), so the library runs the same engine here."""
    line = next(line for line in node.log().splitlines() if "backend auto: " in line and "not " not in line)
    return line.split("backend auto: ")[1].split(" ")[0]


def test_a_jpeg_is_answered_with_people(graph):
    _, probe = graph
    msg, _ = probe.request(probe.compressed_msg("jpeg", encoded(load_photo("basketball1.png"), ".jpg")))
    assert msg.poses


@pytest.mark.parametrize(
    ("fmt", "data", "reason"),
    [
        ("png", b"\x89PNG\r\n\x1a\n not really", "is not a png image"),
        ("jpeg", b"", "is not a jpeg image"),
        ("16UC1; compressedDepth png", b"\x00" * 16, "unsupported compressed format"),
        ("bgr8; tiff compressed bgr8", b"II*\x00", "unsupported compressed format"),
        ("png", encoded(np.zeros((2000, 2000, 3), np.uint8), ".png"), "image too large: 2000x2000"),
    ],
)
def test_bad_compressed_frames_are_one_line_and_the_node_goes_on(graph, fmt, data, reason):
    node, probe = graph
    for _ in range(3):
        probe.publish(probe.compressed_msg(fmt, data))
    log = node.wait_log(reason, timeout=20)
    assert "Traceback" not in log
    probe.request(probe.compressed_msg("jpeg", encoded(load_photo("messi5.jpg"), ".jpg")), overlay=False)

"""3D keypoints and markers over real DDS: colour, depth and camera_info publishers (stand-ins for a depth
camera's driver, which cannot exist here), the node pairing them by stamp; late, missing and malformed
depth frames and a missing camera_info cost the 3D only, with a reason."""

from __future__ import annotations

import math

import numpy as np
import pytest
from support.photos import load_photo
from support.ros_harness import SMALL_INPUT, Probe, node_graph, require_ros

require_ros()

from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

FX, FY, CX, CY = 500.0, 510.0, 319.5, 239.5


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    parameters = {"input_size": SMALL_INPUT, "depth_topic": "depth", "depth_slop": 0.05, "stats_period": 1.0}
    with node_graph("depth", parameters, tmp_path_factory.mktemp("node")) as (node, probe):
        probe.depth_publisher = probe.node.create_publisher(Image, "depth", qos_profile_sensor_data)
        probe.info_publisher = probe.node.create_publisher(CameraInfo, "camera_info", 10)
        probe.markers = []
        probe.node.create_subscription(MarkerArray, "markers", probe._keep(probe.markers), 50)
        yield node, probe


def camera_info(probe: Probe) -> CameraInfo:
    info = CameraInfo(width=640, height=480, distortion_model="plumb_bob")
    info.k = [FX, 0.0, CX, 0.0, FY, CY, 0.0, 0.0, 1.0]
    info.p = [FX, 0.0, CX, 0.0, 0.0, FY, CY, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def depth_msg(colour, values: np.ndarray, encoding: str, shift_s: float = 0.0) -> Image:
    """A depth frame stamped like ``colour`` (plus ``shift_s``), as a driver publishes it (REP-118)."""
    height, width = values.shape
    data = values.astype("<u2" if encoding == "16UC1" else "<f4").tobytes()
    msg = Image(encoding=encoding, height=height, width=width, step=len(data) // height, data=data)
    msg.header.frame_id = colour.header.frame_id
    total = colour.header.stamp.sec + colour.header.stamp.nanosec * 1e-9 + shift_s
    msg.header.stamp.sec, msg.header.stamp.nanosec = int(total), int(round((total % 1) * 1e9))
    return msg


def request_with_depth(probe: Probe, colour, depth: Image | None, info: bool = True):
    """The PoseArray for ``colour``, its depth frame and camera info sent first (best effort: resent)."""
    for _ in range(3):
        if info:
            probe.info_publisher.publish(camera_info(probe))
        if depth is not None:
            probe.depth_publisher.publish(depth)
    return probe.request(colour, overlay=False)[0]


def find_markers(probe: Probe, stamp) -> MarkerArray | None:
    with probe.lock:
        return next((a for a in probe.markers if a.markers and a.markers[0].header.stamp == stamp), None)


def find_markers_after(probe: Probe, colour) -> list[int]:
    """The marker actions published for the frame ``colour``."""
    markers = probe.wait_for(lambda: find_markers(probe, colour.header.stamp), 10)
    assert markers is not None, "no MarkerArray for the frame"
    return [m.action for m in markers.markers]


def positions(msg) -> list[tuple[float, float, float, float, float]]:
    return [(k.x, k.y, k.position.x, k.position.y, k.position.z) for p in msg.poses for k in p.keypoints]


def test_without_camera_info_poses_stay_2d_with_a_reason(graph):
    node, probe = graph
    colour = probe.image_msg(load_photo("basketball1.png"))
    msg = request_with_depth(probe, colour, depth_msg(colour, np.full((480, 640), 2000), "16UC1"), info=False)
    assert msg.poses and all(math.isnan(z) for *_, z in positions(msg))
    node.wait_log("frame published 2D only: no camera_info")
    assert find_markers_after(probe, colour) == [Marker.DELETEALL]  # nobody with 3D: markers cleared
    assert "frame failed" not in node.log()


@pytest.mark.parametrize(
    ("encoding", "values", "z"),
    [("16UC1", np.full((240, 320), 2000), 2.0), ("32FC1", np.full((480, 640), 1.5), 1.5)],
    ids=["16UC1 mm at half resolution", "32FC1 m"],
)
def test_keypoints_get_3d_from_the_paired_depth_frame(graph, encoding, values, z):
    _, probe = graph
    colour = probe.image_msg(load_photo("basketball1.png"))
    msg = request_with_depth(probe, colour, depth_msg(colour, values, encoding))
    found = positions(msg)
    assert found
    for u, v, x, y, depth in found:  # a wall at z: back-projected with the camera's P
        assert depth == pytest.approx(z, abs=1e-3)
        assert x == pytest.approx((u - CX) * z / FX, abs=1e-3) and y == pytest.approx((v - CY) * z / FY, abs=1e-3)
    markers = probe.wait_for(lambda: find_markers(probe, colour.header.stamp), 10)
    assert markers, "no MarkerArray for the frame"
    kinds = {m.type for m in markers.markers}
    assert Marker.SPHERE_LIST in kinds and Marker.LINE_LIST in kinds
    assert all(m.header.frame_id == colour.header.frame_id and m.lifetime.nanosec > 0 for m in markers.markers)


@pytest.mark.parametrize(
    ("shift_s", "encoding", "reason"),
    [(1.0, "16UC1", "no depth frame within depth_slop"), (0.0, "rgb8", "unsupported depth encoding 'rgb8'")],
    ids=["late", "not depth"],
)
def test_a_depth_frame_that_cannot_be_paired_costs_the_3d_only(graph, shift_s, encoding, reason):
    node, probe = graph
    colour = probe.image_msg(load_photo("basketball1.png"))
    depth = depth_msg(colour, np.full((480, 640), 2000), "16UC1", shift_s)
    depth.encoding = encoding
    msg = request_with_depth(probe, colour, depth)
    assert msg.poses and all(math.isnan(z) for *_, z in positions(msg))
    node.wait_log(reason)
    assert find_markers_after(probe, colour) == [Marker.DELETEALL]
    assert "frame failed" not in node.log()
    assert int(probe.latest_diagnostics(after=probe.now())["without_depth"]) >= 1


def test_a_frame_with_nobody_clears_the_markers(graph):
    _, probe = graph
    colour = probe.image_msg(np.zeros((480, 640, 3), np.uint8))
    assert not request_with_depth(probe, colour, depth_msg(colour, np.full((480, 640), 2000), "16UC1")).poses
    assert find_markers_after(probe, colour) == [Marker.DELETEALL]

"""The parameters of ``posenet_node``, without ROS: the node, the launch-file tests and the docs read this table."""

from __future__ import annotations

from typing import NamedTuple

from ros2_posenet.engines import BACKENDS
from ros2_posenet.networks import DEFAULT_NETWORK, NETWORKS
from ros2_posenet.overlay import DEFAULT_OVERLAY


class NodeParameter(NamedTuple):
    """One parameter: default (its type is the parameter's), description, inclusive range, changeable at run time."""

    default: str | float | int | bool
    description: str
    bounds: tuple[float, float] | None = None
    dynamic: bool = False


_DEFAULT_SPEC = NETWORKS[DEFAULT_NETWORK]

PARAMETERS: dict[str, NodeParameter] = {
    "network": NodeParameter(DEFAULT_NETWORK, f"registered network: {', '.join(NETWORKS)}"),
    "model": NodeParameter("", "custom ONNX model path (poseNet I/O contract); needs topology"),
    "topology": NodeParameter("", "trt_pose-format topology JSON for the custom model"),
    "backend": NodeParameter("auto", f"inference backend: {', '.join(BACKENDS)}"),
    "input_size": NodeParameter("", "network input as WxH (e.g. 432x368); empty: the network's own size"),
    "keypoint_threshold": NodeParameter(
        _DEFAULT_SPEC.keypoint_threshold, "keypoint (CMAP) threshold", (0.0, 1.0), True
    ),
    "link_threshold": NodeParameter(_DEFAULT_SPEC.link_threshold, "link (PAF) threshold", (0.0, 1.0), True),
    "max_people": NodeParameter(100, "at most this many people per image", (1, 1000), True),
    "overlay": NodeParameter(
        DEFAULT_OVERLAY, "overlay flags: comma-separated mix of box, links, keypoints, or none", None, True
    ),
    "publish_overlay": NodeParameter(True, "publish the overlay image on the overlay topic", None, True),
    "stats_period": NodeParameter(5.0, "seconds between statistics log lines and /diagnostics messages", (0.5, 3600.0)),
}

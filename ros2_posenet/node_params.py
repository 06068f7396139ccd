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


NETWORK_DEFAULT = -1.0  # a threshold parameter at this value uses the chosen network's own threshold
NETWORK_DEFAULT_NOTE = "-1.0: the network's own default"  # the launch file and YAML comments say the same
THRESHOLDS = ("keypoint_threshold", "link_threshold")  # the parameters where NETWORK_DEFAULT applies


def _threshold_description(what: str, field: str) -> str:
    """Says what -1.0 resolves to for each registered network, so ``ros2 param describe`` answers it."""
    own = ", ".join(f"{name} {getattr(spec, field)}" for name, spec in NETWORKS.items())
    return f"{what} in [0, 1]; {NETWORK_DEFAULT_NOTE} ({own})"


def check_threshold(name: str, value: float) -> None:
    """ValueError, with what to use instead, for a negative threshold other than -1.0."""
    if value < 0.0 and value != NETWORK_DEFAULT:
        raise ValueError(f"{name} {value} is negative: use a value in [0, 1], or {NETWORK_DEFAULT_NOTE}")


def effective_threshold(name: str, value: float, network_default: float) -> float:
    """The threshold the decoder uses for parameter ``name`` set to ``value`` (checked)."""
    check_threshold(name, value)
    return network_default if value == NETWORK_DEFAULT else value


PARAMETERS: dict[str, NodeParameter] = {
    "network": NodeParameter(DEFAULT_NETWORK, f"registered network: {', '.join(NETWORKS)}"),
    "model": NodeParameter("", "custom ONNX model path (poseNet I/O contract); needs topology"),
    "topology": NodeParameter("", "trt_pose-format topology JSON for the custom model"),
    "backend": NodeParameter("auto", f"inference backend: {', '.join(BACKENDS)}"),
    "input_size": NodeParameter("", "network input as WxH (e.g. 432x368); empty: the network's own size"),
    "keypoint_threshold": NodeParameter(
        NETWORK_DEFAULT,
        _threshold_description("keypoint (CMAP) peak threshold", "keypoint_threshold"),
        (NETWORK_DEFAULT, 1.0),
        True,
    ),
    "link_threshold": NodeParameter(
        NETWORK_DEFAULT,
        _threshold_description("link (PAF) mean alignment threshold", "link_threshold"),
        (NETWORK_DEFAULT, 1.0),
        True,
    ),
    "max_people": NodeParameter(100, "at most this many people per image", (1, 1000), True),
    "overlay": NodeParameter(
        DEFAULT_OVERLAY, "overlay flags: comma-separated mix of box, links, keypoints, or none", None, True
    ),
    "publish_overlay": NodeParameter(True, "publish the overlay image on the overlay topic", None, True),
    "stats_period": NodeParameter(5.0, "seconds between statistics log lines and /diagnostics messages", (0.5, 3600.0)),
}

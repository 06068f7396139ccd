"""The parameters of ``posenet_node``, without ROS: the one table behind every place that lists them.

The node declares them from ``PARAMETERS``; launch/posenet.launch.py makes a launch argument of each;
``config/posenet.yaml`` and the README's table are rendered from it (``python -m ros2_posenet.ros.params
yaml|markdown``) and test/test_launch_static.py checks that both files still hold what it renders.
"""

from __future__ import annotations

import json
import sys
from typing import NamedTuple

from ros2_posenet.engines import BACKENDS
from ros2_posenet.engines.base import MAX_THREADS, PRECISIONS
from ros2_posenet.models.registry import DEFAULT_NETWORK, NETWORKS
from ros2_posenet.overlay import DEFAULT_OVERLAY, OVERLAY_FLAGS


class NodeParameter(NamedTuple):
    """One parameter: default (its type is the parameter's), description, inclusive range, changeable at
    run time, the only values allowed (for strings that name a mode)."""

    default: str | float | int | bool
    description: str
    bounds: tuple[float, float] | None = None
    dynamic: bool = False
    choices: tuple[str, ...] | None = None


DEFAULT_MAX_IMAGE_PIXELS = 4096 * 3072  # a 12 MP camera; an uncompressed frame of up to 36 MB
NETWORK_DEFAULT = -1.0  # a threshold parameter at this value uses the chosen network's own threshold
NETWORK_DEFAULT_NOTE = "-1.0: the network's own default"  # the launch file and YAML comments say the same
THRESHOLDS = ("keypoint_threshold", "link_threshold")
# the parameters where NETWORK_DEFAULT applies: the thresholds and the person filter
NETWORK_OWN = (*THRESHOLDS, "min_keypoints", "min_pose_score")
KIND_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
# image_transport's names: sensor_msgs/Image on the topic, or sensor_msgs/CompressedImage on <topic>/compressed
IMAGE_TRANSPORTS = ("raw", "compressed")


def _threshold_description(what: str, field: str, high: float = 1.0) -> str:
    """Says what -1.0 resolves to for each registered network, so ``ros2 param describe`` answers it."""
    own = ", ".join(f"{name} {getattr(spec, field)}" for name, spec in NETWORKS.items())
    return f"{what} in [0, {high:g}]; {NETWORK_DEFAULT_NOTE} ({own})"


def check_threshold(name: str, value: float) -> None:
    """ValueError, with what to use instead, for a negative value other than -1 of a NETWORK_OWN parameter."""
    if value < 0.0 and value != NETWORK_DEFAULT:
        bounds = PARAMETERS[name].bounds
        high = bounds[1] if bounds else 1.0
        raise ValueError(f"{name} {value} is negative: use a value in [0, {high:g}], or {NETWORK_DEFAULT_NOTE}")


def effective_threshold(name: str, value: float, network_default: float) -> float:
    """The value the decoder uses for NETWORK_OWN parameter ``name`` set to ``value`` (checked)."""
    check_threshold(name, value)
    return network_default if value == NETWORK_DEFAULT else value


PARAMETERS: dict[str, NodeParameter] = {
    "network": NodeParameter(DEFAULT_NETWORK, f"registered network: {', '.join(NETWORKS)}"),
    "model": NodeParameter("", "custom ONNX model path (poseNet I/O contract); needs topology"),
    "topology": NodeParameter("", "trt_pose-format topology JSON for the custom model"),
    "backend": NodeParameter("auto", f"inference backend: {', '.join(BACKENDS)}"),
    "precision": NodeParameter(
        "auto", f"engine precision: {', '.join(PRECISIONS)}; auto: fp16 on NVIDIA GPUs, fp32 on CPUs"
    ),
    "threads": NodeParameter(
        0, "CPU inference threads; 0: every core (leave some to other nodes with N)", (0, MAX_THREADS)
    ),
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
    "min_keypoints": NodeParameter(
        -1, _threshold_description("people need this many keypoints", "min_keypoints", 1000), (-1, 1000), True
    ),
    "min_pose_score": NodeParameter(
        NETWORK_DEFAULT,
        _threshold_description("people need this score (mean keypoint + mean link score)", "min_pose_score", 2.0),
        (NETWORK_DEFAULT, 2.0),
        True,
    ),
    "overlay": NodeParameter(
        DEFAULT_OVERLAY, f"overlay flags: comma-separated mix of {', '.join(OVERLAY_FLAGS)}, or none", None, True
    ),
    "publish_overlay": NodeParameter(True, "publish the overlay image on the overlay topic", None, True),
    "max_image_pixels": NodeParameter(
        DEFAULT_MAX_IMAGE_PIXELS,
        "larger frames are rejected with a reason, so one frame's memory is bounded (default: 4096x3072)",
        (1, 100_000_000),
    ),
    "stats_period": NodeParameter(5.0, "seconds between statistics log lines and /diagnostics messages", (0.5, 3600.0)),
    "tracking": NodeParameter(
        True,
        "give people track_id values that persist across frames (reset when frame_id changes or time goes back)",
        None,
        True,
    ),
    "track_max_age": NodeParameter(
        15, "frames a confirmed track keeps its id without a detection (occlusions, missed frames)", (0, 1000), True
    ),
    "track_min_hits": NodeParameter(
        3, "frames in a row before a person gets a track_id (0 until then)", (1, 100), True
    ),
    "depth_topic": NodeParameter(
        "",
        "depth image aligned to the colour image (16UC1 mm or 32FC1 m, REP-118) for 3D keypoints and markers, "
        "with the colour camera's CameraInfo on camera_info; empty: 2D only",
    ),
    "depth_slop": NodeParameter(
        0.05, "seconds a depth frame's stamp may differ from the colour frame's to be paired", (0.0, 10.0)
    ),
    "image_transport": NodeParameter(
        "raw",
        "raw: sensor_msgs/Image on the image topic; compressed: sensor_msgs/CompressedImage (jpeg, png) on "
        "<image topic>/compressed",
        choices=IMAGE_TRANSPORTS,
    ),
    "autostart": NodeParameter(
        True, "configure and activate at start; false: wait for lifecycle transitions (ros2 lifecycle set)"
    ),
}


def check_value(name: str, value: str | float | int | bool) -> None:
    """ValueError, in one line, for a value of parameter ``name`` outside its range or choices."""
    spec = PARAMETERS[name]
    if spec.bounds is not None and not spec.bounds[0] <= float(value) <= spec.bounds[1]:
        low, high = (as_text(v) for v in spec.bounds)
        raise ValueError(f"{name} {as_text(value)} is out of range [{low}, {high}]")
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"{name} {value!r} is not one of {', '.join(spec.choices)}")
    if name in NETWORK_OWN:
        check_threshold(name, float(value))


def parse_value(name: str, text: str) -> str | float | int | bool:
    """The value of parameter ``name`` from its text (a launch argument), checked; ValueError in one line."""
    kind = type(PARAMETERS[name].default)
    try:
        if kind is bool:
            value: str | float | int | bool = {"true": True, "false": False}[text.strip().lower()]
        elif kind is int or kind is float:
            value = kind(text)
        else:
            value = text
    except (KeyError, ValueError):
        raise ValueError(f"{name}:={text!r} is not {KIND_NAMES[kind]}") from None
    check_value(name, value)
    return value


def as_text(value: str | float | int | bool) -> str:
    """A parameter value as launch arguments and the command line spell it (``true``, ``-1.0``, ``auto``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _yaml_value(value: str | float | int | bool) -> str:
    return json.dumps(value) if isinstance(value, str) else as_text(value)


def render_yaml() -> str:
    """config/posenet.yaml: every parameter with its default and description."""
    width = max(len(f"{name}: {_yaml_value(p.default)}") for name, p in PARAMETERS.items())
    lines = [
        "# Parameters of posenet_node with their defaults; generated from ros2_posenet/ros/params.py by",
        "#   python -m ros2_posenet.ros.params yaml > config/posenet.yaml",
        "# Use: ros2 run ros2_posenet posenet_node --ros-args --params-file config/posenet.yaml",
        "# Changeable at run time (ros2 param set /posenet NAME VALUE): "
        + ", ".join(name for name, p in PARAMETERS.items() if p.dynamic)
        + ".",
        "/**:",
        "  ros__parameters:",
    ]
    for name, parameter in PARAMETERS.items():
        setting = f"{name}: {_yaml_value(parameter.default)}"
        lines.append(f"    {setting.ljust(width)}  # {parameter.description}")
    return "\n".join(lines) + "\n"


def render_markdown() -> str:
    """The README's parameter table."""
    lines = ["| parameter | default | range | run time | |", "|---|---|---|---|---|"]
    for name, parameter in PARAMETERS.items():
        default = f"`{as_text(parameter.default)}`" if parameter.default != "" else '`""`'
        bounds = f"[{as_text(parameter.bounds[0])}, {as_text(parameter.bounds[1])}]" if parameter.bounds else ""
        changeable = "yes" if parameter.dynamic else "no"
        lines.append(f"| `{name}` | {default} | {bounds} | {changeable} | {parameter.description} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m ros2_posenet.ros.params yaml|markdown``: print the rendered YAML or README table."""
    args = sys.argv[1:] if argv is None else argv
    renderers = {"yaml": render_yaml, "markdown": render_markdown}
    if len(args) != 1 or args[0] not in renderers:
        print("usage: python -m ros2_posenet.ros.params yaml|markdown", file=sys.stderr)
        return 2
    sys.stdout.write(renderers[args[0]]())
    return 0


if __name__ == "__main__":
    sys.exit(main())

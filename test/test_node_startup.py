"""The node's start: a network or parameter that cannot work gives one error line and exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support.ros_harness import REPO, ROS_ENVIRONMENT, require_ros, ros_args, unique_namespace

require_ros()


def start_node(parameters: dict[str, object], tmp_path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "ros2_posenet.ros.node", *ros_args(unique_namespace("startup"), parameters)]
    env = {**os.environ, **ROS_ENVIRONMENT, "ROS2_POSENET_CACHE": str(tmp_path / "empty-cache")}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=REPO)


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({"network": "no-such-net"}, "unknown network 'no-such-net'"),
        ({"network": "resnet18-body"}, "resnet18-body"),  # files not here: where to get them
        ({"model": "/nonexistent/pose.onnx", "topology": "/nonexistent/pose.json"}, "/nonexistent/pose"),
        ({"model": "/nonexistent/pose.onnx"}, "topology"),
        ({"backend": "tpu"}, "unknown backend 'tpu'"),
        ({"input_size": "huge"}, "input size must look like"),
        ({"overlay": "sparkles"}, "'sparkles' is not one of"),
        ({"keypoint_threshold": 2.0}, "out of range"),
        ({"link_threshold": -0.5}, "link_threshold -0.5 is negative: use a value in [0, 1], or -1.0"),
        ({"max_people": "many"}, "expecting type 'INTEGER'"),
    ],
)
def test_a_node_that_cannot_start_says_why_in_one_line(parameters, reason, tmp_path):
    result = start_node(parameters, tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("posenet_node: error: "), result.stderr
    assert reason in lines[0]
    assert "Traceback" not in result.stdout + result.stderr

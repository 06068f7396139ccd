"""The node's start: a network or parameter that cannot work gives one error line and exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys
import time

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
        ({"max_people": "many"}, "max_people must be an integer, but ROS read the value given as STRING 'many'"),
        ({"input_size": "0x0"}, "input_size must be a string, but ROS read the value given as INTEGER 0; quote it"),
    ],
)
def test_a_node_that_cannot_start_says_why_in_one_line(parameters, reason, tmp_path):
    result = start_node(parameters, tmp_path)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("posenet_node: error: "), result.stderr
    assert reason in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_malformed_ros_argument_is_one_line_of_ours(tmp_path):
    """A trailing ``-p`` with no value: rcl refuses it in rclpy.init (rcl also logs one line of its own)."""
    command = [sys.executable, "-m", "ros2_posenet.ros.node", "--ros-args", "-p"]
    env = {**os.environ, **ROS_ENVIRONMENT}
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, cwd=REPO)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith("posenet_node: ")]
    assert ours == [ours[0]] and "trailing -p" in ours[0], result.stderr


def test_unknown_parameters_are_warned_about(tmp_path):
    from support.ros_harness import NodeProcess

    parameters = {"input_size": "224x192", "keypoint_treshold": 0.2}  # a typo users make
    node = NodeProcess("ros2_posenet.ros.node", unique_namespace("unknown"), parameters, tmp_path / "node.log")
    try:
        assert "unknown parameters ignored: keypoint_treshold" in node.wait_log("listening on")
    finally:
        assert node.stop() == 0, node.log()


def test_a_second_node_of_the_same_name_is_warned_about(tmp_path):
    from support.ros_harness import NodeProcess

    namespace, parameters = unique_namespace("twins"), {"input_size": "224x192"}
    first = NodeProcess("ros2_posenet.ros.node", namespace, parameters, tmp_path / "first.log")
    second = NodeProcess("ros2_posenet.ros.node", namespace, parameters, tmp_path / "second.log")
    try:
        first.wait_log("listening on")
        second.wait_log("listening on")
        warned = lambda: any("another node is also named" in n.log() for n in (first, second))  # noqa: E731
        deadline = time.monotonic() + 20
        while not warned() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert warned(), first.log() + second.log()
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize("gap", [0.01, 0.03, 0.1])
@pytest.mark.parametrize("module", ["ros2_posenet.ros.node", "ros2_posenet.ros.file_source"])
def test_a_second_ctrl_c_during_shutdown_is_quiet(tmp_path, gap, module):
    """Two SIGINTs ``gap`` s apart, as an impatient user sends them, or as a terminal's Ctrl-C plus
    ros2 launch's own SIGINT deliver them: 10 and 30 ms used to raise a KeyboardInterrupt traceback
    (in destroy_node, or as rclpy put Python's handler back); the file source raised one under launch."""
    import signal

    from support.photos import photo_path
    from support.ros_harness import NodeProcess

    parameters = {"input_size": "224x192"} if module.endswith("node") else {"source": str(photo_path("messi5.jpg"))}
    node = NodeProcess(module, unique_namespace("sigint"), parameters, tmp_path / "n.log")
    node.wait_log("listening on" if module.endswith("node") else "publishing")
    node.process.send_signal(signal.SIGINT)
    time.sleep(gap)
    node.process.send_signal(signal.SIGINT)
    assert node.process.wait(timeout=30) == 0, node.log()
    assert "Traceback" not in node.log(), node.log()


def test_the_first_interrupt_leaves_the_process_deaf_to_the_next():
    """The window that made the test above flaky in CI (a second SIGINT inside the executor's shutdown,
    after it unregistered its guard condition: its ``__del__`` printed a traceback) is closed only if
    the first signal's handler ignores every later SIGINT and SIGTERM before anything else runs."""
    script = (
        "import os, signal; from ros2_posenet.ros.spin import init_rclpy; init_rclpy([])\n"
        "try:\n    os.kill(os.getpid(), signal.SIGINT); signal.pause()\n"
        "except KeyboardInterrupt:\n    print('interrupted')\n"
        "os.kill(os.getpid(), signal.SIGINT); os.kill(os.getpid(), signal.SIGTERM); print('still here')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["interrupted", "still", "here"], result.stdout + result.stderr


def test_without_the_onnx_package_the_node_says_how_to_get_it(tmp_path):
    """ROS users install the runtime by hand (README); onnx missing used to be a traceback at start."""
    blocked = "import sys; sys.modules['onnx'] = None; from ros2_posenet.ros.node import main; sys.exit(main())"
    command = [sys.executable, "-c", blocked, *ros_args(unique_namespace("no_onnx"), {"input_size": "224x192"})]
    env = {**os.environ, **ROS_ENVIRONMENT}
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "posenet_node: error: mobilenet-thin-body is converted with the onnx package, which is not installed: "
        "pip install onnx"
    ]


def test_ctrl_c_while_the_network_loads_is_a_clean_exit(tmp_path):
    """SIGINT arrives in the main thread as KeyboardInterrupt (the node installs no rclpy signal
    handlers: theirs shut the context down under a frame being published); during the network's
    load it ends the node cleanly too."""
    import signal

    from support.ros_harness import NodeProcess

    node = NodeProcess(
        "ros2_posenet.ros.node", unique_namespace("early"), {"input_size": "224x192"}, tmp_path / "n.log"
    )
    # The backend is chosen, the engine not built yet: the network is loading. (Not earlier: a SIGINT
    # during OpenVINO's own import can be swallowed by that package's import-time error handling.)
    deadline = time.monotonic() + 60
    while not any(f"backend auto: {chosen}" in node.log() for chosen in ("openvino (", "onnxruntime-cpu")):
        assert node.alive() and time.monotonic() < deadline, node.log()
        time.sleep(0.005)
    assert "listening on" not in node.log()
    node.process.send_signal(signal.SIGINT)
    assert node.process.wait(timeout=30) == 0, node.log()
    assert "Traceback" not in node.log(), node.log()


def test_sigterm_ends_the_node_cleanly(tmp_path):
    """ros2 launch sends SIGTERM when SIGINT did not end a process in time."""
    import signal

    from support.ros_harness import NodeProcess

    node = NodeProcess("ros2_posenet.ros.node", unique_namespace("term"), {"input_size": "224x192"}, tmp_path / "n.log")
    node.wait_log("listening on")
    node.process.send_signal(signal.SIGTERM)
    assert node.process.wait(timeout=30) == 0, node.log()
    assert "Traceback" not in node.log() and "network released" in node.log(), node.log()

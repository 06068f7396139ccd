"""Real DDS on loopback for the node tests: the node runs as its own process, a probe node here.

Every test run gets its own ROS domain (from the pid) and every node its own namespace, so parallel
runs and consecutive tests never see each other's messages. Tests skip, saying why, when rclpy or
the package's built messages are missing (scripts/build_ros_msgs.sh builds them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DOMAIN_ID = 1 + os.getpid() % 100
ROS_ENVIRONMENT = {
    "ROS_DOMAIN_ID": str(DOMAIN_ID),
    "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    "FASTDDS_DEFAULT_PROFILES_FILE": str(REPO / "config" / "fastdds.xml"),
    "RCUTILS_LOGGING_BUFFERED_STREAM": "0",
    "PYTHONUNBUFFERED": "1",
}
SMALL_INPUT = "224x192"  # for tests where which people are found does not matter


def require_ros() -> None:
    """Skip the calling test module unless rclpy and the built messages import."""
    try:
        import rclpy  # noqa: F401

        import ros2_posenet.ros.messages  # noqa: F401
    except ImportError as error:
        pytest.skip(f"ROS 2 is not available here: {error}", allow_module_level=True)
    os.environ.update(ROS_ENVIRONMENT)  # before this process creates its first DDS participant


def ros_args(namespace: str, parameters: dict[str, object]) -> list[str]:
    """``--ros-args`` for a node in ``namespace`` with ``parameters``."""
    args = ["--ros-args", "-r", f"__ns:={namespace}"]
    for name, value in parameters.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        args += ["-p", f"{name}:={text}"]
    return args


class LoggedProcess:
    """A process whose output goes to a file the test can read, and waits on what it logs."""

    what = "process"

    def __init__(self, command: list[str], log_path: Path, env: dict[str, str], cwd: Path, **popen) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd, **popen)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 60.0) -> str:
        """The log once it holds ``text``; fails early, with the log, if the process ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            if self.process.poll() is not None:
                pytest.fail(f"{self.what} exited ({self.process.returncode}) before logging {text!r}:\n{log}")
            time.sleep(0.05)
        pytest.fail(f"no {text!r} in the {self.what} log after {timeout} s:\n{self.log()}")

    def alive(self) -> bool:
        return self.process.poll() is None


class NodeProcess(LoggedProcess):
    """``python -m <module>`` with ROS arguments."""

    what = "node"

    def __init__(self, module: str, namespace: str, parameters: dict[str, object], log_path: Path) -> None:
        command = [sys.executable, "-m", module, *ros_args(namespace, parameters)]
        super().__init__(command, log_path, {**os.environ, **ROS_ENVIRONMENT}, REPO)

    def rss_mib(self) -> float:
        """Resident memory of the node process."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc status")

    def stop(self) -> int:
        """Ctrl-C, as a user or ros2 launch would; the exit code."""
        if self.alive():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


class Probe:
    """A node in the test process: publishes images to the pose node and collects what it publishes."""

    def __init__(self, namespace: str) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.qos import qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage, Image

        from ros2_posenet.ros.messages import PoseArray

        self.namespace = namespace
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=DOMAIN_ID)
        self.node = Node("probe", namespace=namespace, context=self.context)
        self.lock = threading.Lock()
        self.poses: list = []
        self.overlays: list = []
        self.diagnostics: list = []
        self.publisher = self.node.create_publisher(Image, "image", qos_profile_sensor_data)
        # image_transport's compressed topic of "image", for a node with image_transport compressed
        self.compressed_publisher = self.node.create_publisher(
            CompressedImage, "image/compressed", qos_profile_sensor_data
        )
        self.node.create_subscription(PoseArray, "poses", self._keep(self.poses), 50)
        self.node.create_subscription(Image, "overlay", self._keep(self.overlays), 50)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._keep(self.diagnostics), 50)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        self._stamp = 0

    def _keep(self, store: list) -> Callable:
        def keep(msg) -> None:
            with self.lock:
                store.append(msg)

        return keep

    def image_msg(
        self, image_bgr: np.ndarray, encoding: str = "rgb8", is_bigendian: bool = False, overrides: dict | None = None
    ):
        """An Image message of ``image_bgr`` in ``encoding`` with a fresh stamp; ``overrides`` replace fields."""
        from sensor_msgs.msg import Image
        from std_msgs.msg import Header

        from ros2_posenet.ros.image import bgr_to_fields

        self._stamp += 1
        header = Header(frame_id=f"camera_{self._stamp}")
        header.stamp.sec, header.stamp.nanosec = 1000 + self._stamp, 1000 * self._stamp
        fields = bgr_to_fields(image_bgr, encoding, is_bigendian)._asdict()
        return Image(header=header, **{**fields, **(overrides or {})})

    def compressed_msg(self, fmt: str, data: bytes):
        """A CompressedImage with ``fmt`` and ``data`` and a fresh stamp."""
        from sensor_msgs.msg import CompressedImage
        from std_msgs.msg import Header

        self._stamp += 1
        header = Header(frame_id=f"camera_{self._stamp}")
        header.stamp.sec, header.stamp.nanosec = 1000 + self._stamp, 1000 * self._stamp
        return CompressedImage(header=header, format=fmt, data=data)

    def publish(self, msg) -> None:
        """To ``image`` or, for a CompressedImage, to ``image/compressed``."""
        from sensor_msgs.msg import CompressedImage

        (self.compressed_publisher if isinstance(msg, CompressedImage) else self.publisher).publish(msg)

    def find(self, store: list, stamp) -> object | None:
        with self.lock:
            return next((m for m in store if m.header.stamp == stamp), None)

    def wait_for(self, condition: Callable[[], object], timeout: float) -> object | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.02)
        return None

    def request(self, msg, timeout: float = 60.0, resend: float = 5.0, overlay: bool = True):
        """Publish ``msg`` until its PoseArray (and overlay) come back; (poses, overlay or None).

        Best-effort delivery may lose a sample while discovery completes, hence the resends; the
        node keeps only the newest frame, so a resend never queues work.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.publish(msg)
            poses = self.wait_for(lambda: self.find(self.poses, msg.header.stamp), min(resend, timeout))
            if poses is not None:
                image = self.wait_for(lambda: self.find(self.overlays, msg.header.stamp), 5.0) if overlay else None
                return poses, image
        pytest.fail(f"no PoseArray for the frame stamped {msg.header.stamp.sec} within {timeout} s")

    def call(self, service_type, name: str, request, timeout: float = 30.0):
        """Call the pose node's service ``name`` (relative to it, e.g. ``set_parameters``); the response."""
        client = self.node.create_client(service_type, f"{self.namespace}/posenet/{name}")
        try:
            assert client.wait_for_service(timeout_sec=timeout), f"the node's {name} service did not appear"
            future = client.call_async(request)
            assert self.wait_for(future.done, timeout), f"no answer from the {name} service"
            return future.result()
        finally:
            self.node.destroy_client(client)

    def set_parameters(self, **values) -> list:
        """Set parameters of the pose node through its parameter service; the SetParametersResult list."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        request = SetParameters.Request(
            parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()]
        )
        return list(self.call(SetParameters, "set_parameters", request).results)

    def latest_diagnostics(self, after: float, timeout: float = 10.0) -> dict[str, str]:
        """Key/values of the first /diagnostics status of this namespace's node received after ``after``."""
        name = f"{self.namespace}/posenet: pose estimation"

        def newest() -> dict[str, str] | None:
            with self.lock:
                for array in reversed(self.diagnostics):
                    received = array.header.stamp.sec + array.header.stamp.nanosec * 1e-9
                    for status in array.status:
                        if status.name == name and received >= after:
                            return {kv.key: kv.value for kv in status.values}
            return None

        result = self.wait_for(newest, timeout)
        assert result is not None, f"no /diagnostics from {name} after {after}"
        return result

    def now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


def unique_namespace(tag: str) -> str:
    return f"/t{os.getpid()}_{tag}"


@contextlib.contextmanager
def node_graph(tag: str, parameters: dict[str, object], folder: Path, ready: str = "listening on"):
    """The pose node in its own namespace and a probe beside it: (node, probe) once the node logs
    ``ready``; afterwards both stop, and the node must have exited 0."""
    namespace = unique_namespace(tag)
    node = NodeProcess("ros2_posenet.ros.node", namespace, parameters, folder / "node.log")
    probe = Probe(namespace)
    try:
        node.wait_log(ready)
        yield node, probe
    finally:
        probe.close()
        assert node.stop() == 0, node.log()

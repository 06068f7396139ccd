"""The file source (a camera stand-in) and the ROS demo, over real DDS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from support.photos import load_photo
from support.ros_harness import DOMAIN_ID, REPO, ROS_ENVIRONMENT, NodeProcess, require_ros, unique_namespace

require_ros()

import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import CompressedImage, Image  # noqa: E402

from ros2_posenet.ros.image import compressed_to_bgr, image_to_bgr  # noqa: E402

PHOTOS = ("basketball1.png", "basketball2.png")


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        cv2.imwrite(str(folder / name), load_photo(name))
    return folder


class ImageListener:
    """Collects the Image messages of one topic in this process (CompressedImage on image/compressed)."""

    def __init__(self, namespace: str, compressed: bool = False) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=DOMAIN_ID)
        self.node = Node("listener", namespace=namespace, context=self.context)
        self.images: list = []
        kind, topic = (CompressedImage, "image/compressed") if compressed else (Image, "image")
        self.node.create_subscription(kind, topic, self.images.append, qos_profile_sensor_data)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        threading.Thread(target=self.executor.spin, daemon=True).start()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


def publish_folder_once(namespace: str, parameters: dict, log, compressed: bool = False) -> list:
    """What the file source publishes of a folder, run once to its end (no loop), as a listener got it."""
    listener = ImageListener(namespace, compressed=compressed)
    source = NodeProcess("ros2_posenet.ros.file_source", namespace, {**parameters, "loop": False}, log)
    try:
        source.process.wait(timeout=60)
        time.sleep(0.5)
    finally:
        listener.close()
    assert source.stop() == 0, source.log()
    assert "end of" in source.log() and "after 2 frames" in source.log()
    return listener.images


def test_file_source_publishes_each_photo_once_in_the_chosen_encoding_then_exits(photo_folder, tmp_path):
    parameters = {"source": str(photo_folder / "*.png"), "rate": 5.0, "encoding": "mono8"}
    images = publish_folder_once(unique_namespace("source_once"), parameters, tmp_path / "source.log")
    assert [(m.encoding, m.width, m.height, m.header.frame_id) for m in images] == [("mono8", 640, 480, "camera")] * 2
    for msg, name in zip(images, PHOTOS, strict=True):  # natural order, the photos' own pixels
        image = image_to_bgr(msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian, msg.data)
        assert np.array_equal(image, load_photo(name)), name  # the basketball photos are grey
    assert images[0].header.stamp != images[1].header.stamp


@pytest.mark.parametrize("codec", ["png", "jpeg"])
def test_file_source_publishes_compressed_images_as_image_transport_does(photo_folder, tmp_path, codec):
    parameters = {"source": str(photo_folder), "rate": 5.0, "image_transport": "compressed", "compressed_format": codec}
    images = publish_folder_once(unique_namespace(f"source_{codec}"), parameters, tmp_path / "source.log", True)
    assert [m.format for m in images] == [f"bgr8; {codec} compressed bgr8"] * 2
    for msg, name in zip(images, PHOTOS, strict=True):
        error = np.abs(compressed_to_bgr(msg.format, msg.data).astype(int) - load_photo(name)).mean()
        assert error == 0 if codec == "png" else error < 3, (name, error)


def test_file_source_loops_until_stopped(photo_folder, tmp_path):
    namespace = unique_namespace("source_loop")
    listener = ImageListener(namespace)
    parameters = {"source": str(photo_folder), "rate": 20.0, "loop": True}
    source = NodeProcess("ros2_posenet.ros.file_source", namespace, parameters, tmp_path / "source.log")
    try:
        deadline = time.monotonic() + 60
        while len(listener.images) < 6 and time.monotonic() < deadline and source.alive():
            time.sleep(0.05)
    finally:
        code = source.stop()
        listener.close()
    assert code == 0, source.log()
    assert len(listener.images) >= 6, source.log()
    assert {m.encoding for m in listener.images} == {"bgr8"}


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({"source": "/nonexistent/video.mp4"}, "input not found"),
        ({"source": "x.png", "encoding": "jpeg"}, "jpeg"),
        ({"source": "x.png", "image_transport": "theora"}, "image_transport 'theora' is not one of raw, compressed"),
        ({"source": "x.png", "image_transport": "compressed", "compressed_format": "webp"}, "'webp' is not one of"),
    ],
)
def test_file_source_that_cannot_start_says_why_in_one_line(parameters, reason):
    command = [sys.executable, "-m", "ros2_posenet.ros.file_source", "--ros-args"]
    for name, value in parameters.items():
        command += ["-p", f"{name}:={value}"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env={**os.environ, **ROS_ENVIRONMENT}, cwd=REPO
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("posenet_file_source: error: ") and reason in lines[0], result.stderr


INTERRUPTED_WHILE_STARTING = """
import os, signal, sys, time
from ros2_posenet.ros import file_source

class Interrupted(file_source.FileSourceNode):
    def __init__(self):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the node is being made, as ros2 launch may send it
        time.sleep(5)

file_source.FileSourceNode = Interrupted
code = file_source.main(["posenet_file_source", "--ros-args", "-p", "source:=x.png"])
print("exit", code, "then SIGINT ignored:", signal.getsignal(signal.SIGINT) is signal.SIG_IGN)
sys.exit(code)
"""


def test_file_source_interrupted_while_starting_exits_quietly():
    """A Ctrl-C while the node is still being made (seen in CI: SIGINT right after its first log line)
    ends it with exit code 0 and no traceback, deaf to the second Ctrl-C that ros2 launch sends."""
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_WHILE_STARTING],
        capture_output=True, text=True, timeout=60, env={**os.environ, **ROS_ENVIRONMENT}, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "exit 0 then SIGINT ignored: True" in result.stdout


def test_ros_demo_writes_the_poses_and_overlays_it_received(photo_folder, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, **ROS_ENVIRONMENT, "ROS_DOMAIN_ID": str(DOMAIN_ID + 100)}
    command = [sys.executable, str(REPO / "scripts" / "ros_demo.py"), "--photos", str(photo_folder), "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2/2 photos answered" in result.stdout
    frames = json.loads((out / "poses.json").read_text())["frames"]
    assert [f["source"] for f in frames] == list(PHOTOS)
    for frame in frames:
        assert frame["people"] == len(frame["poses"]) == 2, frame["source"]
        assert frame["image_size"] == [640, 480] and frame["network"] == "mobilenet-thin-body"
        for pose in frame["poses"]:
            assert all(0 <= k["x"] < 640 and 0 <= k["y"] < 480 for k in pose["keypoints"])
    for name in PHOTOS:
        overlay = cv2.imread(str(out / name.replace(".png", "_overlay.png")))
        assert overlay is not None and overlay.shape == (480, 640, 3)
        assert not np.array_equal(overlay, load_photo(name))
    shutil.rmtree(out)

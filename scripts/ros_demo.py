#!/usr/bin/env python3
"""The ROS 2 demo: the sample photos go through posenet_node over real DDS; what comes back is saved.

Starts ``posenet_node`` as its own process, publishes every photo of ``--photos`` once with the
file source (``posenet_file_source``'s node, in this process so each frame's stamp is known), and
writes, for every PoseArray received: ``poses.json`` (all frames) and ``<photo>_overlay.png`` (the
overlay image the node published). Exit code 0 when every photo came back, 1 otherwise.

Usage: python scripts/ros_demo.py [--photos DIR] [--out DIR] [--input-size WxH] [--rate HZ]
Runs on loopback only (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) in a domain of its own unless
ROS_DOMAIN_ID is set.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("ROS_DOMAIN_ID", str(101 + os.getpid() % 100))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds.xml"))
os.environ.setdefault("RCUTILS_LOGGING_BUFFERED_STREAM", "0")

import cv2  # noqa: E402
import rclpy  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from ros2_posenet.models.cache import photos_dir  # noqa: E402
from ros2_posenet.ros.file_source import FileSourceNode  # noqa: E402
from ros2_posenet.ros.image import image_to_bgr  # noqa: E402
from ros2_posenet.ros.messages import PoseArray, poses_from_msg  # noqa: E402
from ros2_posenet.sources import Frame  # noqa: E402

NAMESPACE = "/posenet_demo"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--photos", type=Path, default=photos_dir(), help="folder of photos (default: the cache's)")
    parser.add_argument("--out", type=Path, default=REPO / "demo_output" / "ros", help="where results go")
    parser.add_argument("--input-size", default="", metavar="WxH", help="network input size (default: the network's)")
    parser.add_argument("--rate", type=float, default=1.0, help="photos per second (default 1)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all results")
    return parser.parse_args(argv)


def start_node(args: argparse.Namespace, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "ros2_posenet.ros.node", "--ros-args", "-r", f"__ns:={NAMESPACE}"]
    if args.input_size:
        command += ["-p", f"input_size:={args.input_size}"]
    with log_path.open("wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)


def stop_node(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def run(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    node_log = args.out / "node.log"
    process = start_node(args, node_log)
    rclpy.init()
    sent: dict[tuple[int, int], tuple[str, float]] = {}  # stamp -> (photo, wall time sent)
    poses: dict[tuple[int, int], tuple[PoseArray, float]] = {}
    overlays: dict[tuple[int, int], Image] = {}

    def key(msg) -> tuple[int, int]:
        return msg.header.stamp.sec, msg.header.stamp.nanosec

    def on_publish(frame: Frame, msg: Image) -> None:
        sent[key(msg)] = (Path(frame.source).name, time.time())

    source = FileSourceNode(
        on_publish=on_publish,
        namespace=NAMESPACE,
        parameter_overrides=[
            Parameter("source", value=str(args.photos)),
            Parameter("rate", value=args.rate),
            Parameter("loop", value=False),
        ],
    )
    listener = Node("posenet_demo_listener", namespace=NAMESPACE)
    listener.create_subscription(PoseArray, "poses", lambda m: poses.setdefault(key(m), (m, time.time())), 50)
    listener.create_subscription(Image, "overlay", lambda m: overlays.setdefault(key(m), m), 50)
    executor = SingleThreadedExecutor()
    executor.add_node(source)
    executor.add_node(listener)
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            executor.spin_once(timeout_sec=0.1)
            if source.finished and set(sent) <= set(poses) and set(sent) <= set(overlays):
                break
    finally:
        stop_node(process)
        executor.shutdown()
        source.destroy_node()
        listener.destroy_node()
        rclpy.try_shutdown()
    return report(args.out, sent, poses, overlays, node_log)


def report(out: Path, sent: dict, poses: dict, overlays: dict, node_log: Path) -> int:
    frames, latencies = [], []
    for stamp, (photo, sent_at) in sorted(sent.items()):
        if stamp not in poses:
            print(f"{photo}: no PoseArray came back")
            continue
        msg, received_at = poses[stamp]
        latencies.append(received_at - sent_at)
        people = poses_from_msg(msg)
        frames.append(
            {
                "source": photo,
                "stamp": {"sec": stamp[0], "nanosec": stamp[1]},
                "frame_id": msg.header.frame_id,
                "image_size": [msg.image_width, msg.image_height],
                "network": msg.network,
                "people": len(people),
                "poses": [p.to_dict() for p in people],
            }
        )
        overlay = overlays.get(stamp)
        if overlay is not None:
            image = image_to_bgr(overlay.encoding, overlay.height, overlay.width, overlay.step, False, overlay.data)
            cv2.imwrite(str(out / f"{Path(photo).stem}_overlay.png"), image)
        count = f"{len(people)} {'person' if len(people) == 1 else 'people'}"
        print(f"{photo}: {count}, round trip {1e3 * (received_at - sent_at):.0f} ms")
    (out / "poses.json").write_text(json.dumps({"frames": frames}, indent=1))
    if latencies:
        print(f"median round trip (publish -> PoseArray received) {1e3 * statistics.median(latencies):.0f} ms")
    print(f"ros_demo: {len(frames)}/{len(sent)} photos answered; results in {out} (node log: {node_log.name})")
    return 0 if sent and len(frames) == len(sent) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.photos.is_dir():
        print(f"ros_demo: error: no photo folder {args.photos} (run scripts/fetch_photos.py)", file=sys.stderr)
        return 1
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

"""The ROS 2 node's throughput over real DDS with each CPU engine: frames answered per second.

    source scripts/ros_env.sh && .venv/bin/python benchmarks/node_fps.py [--seconds 15] [--rounds 2]

A probe publishes basketball1.png (640x480, rgb8) at 30 Hz to ``posenet_node`` (input 432x368,
overlay on, as a robot would run it) and counts the PoseArrays that come back; the node keeps only
the newest frame, so its FPS is what the engine and the rest of the frame allow. Engines take turns
(``--rounds`` segments each, alternating), since two nodes at once would share the two cores.
Prints the median FPS per engine and the node's own /diagnostics latency; JSON as the others.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from results_io import run, write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))
from support.photos import load_photo  # noqa: E402
from support.ros_harness import NodeProcess, Probe, require_ros, unique_namespace  # noqa: E402

ENGINES = (("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "bf16"))
RATE_HZ = 30.0
WARM_UP_S = 3.0


def segment(backend: str, precision: str, seconds: float, image: np.ndarray, index: int, logs: Path) -> dict:
    """One node run: FPS of answered frames after the warm-up, and the node's mean latency."""
    namespace = unique_namespace(f"fps{index}")
    parameters = {"backend": backend, "precision": precision, "input_size": "432x368"}
    node = NodeProcess("ros2_posenet.ros.node", namespace, parameters, logs / f"node_{index}.log")
    probe = Probe(namespace)
    try:
        node.wait_log("listening on")
        probe.request(probe.image_msg(image))  # discovery done, first frame answered
        start = time.monotonic()
        counted_from, answered_before = start + WARM_UP_S, 0
        while time.monotonic() < start + WARM_UP_S + seconds:
            probe.publisher.publish(probe.image_msg(image))
            if answered_before == 0 and time.monotonic() >= counted_from:
                with probe.lock:
                    answered_before = len(probe.poses)
            time.sleep(1.0 / RATE_HZ)
        with probe.lock:
            answered = len(probe.poses) - answered_before
        diagnostics = probe.latest_diagnostics(after=0.0, timeout=15.0)
        return {"fps": answered / seconds, "latency_ms": float(diagnostics["latency_ms"])}
    finally:
        probe.close()
        node.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per segment")
    parser.add_argument("--rounds", type=int, default=2, help="segments per engine, alternating")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/node_fps.json"))
    args = parser.parse_args()
    require_ros()
    image = load_photo("basketball1.png")
    logs = args.json.parent / "node_fps_logs"
    logs.mkdir(parents=True, exist_ok=True)
    samples: dict[tuple[str, str], list[dict]] = {engine: [] for engine in ENGINES}
    index = 0
    for _ in range(args.rounds):
        for backend, precision in ENGINES:
            samples[backend, precision].append(segment(backend, precision, args.seconds, image, index, logs))
            index += 1
    rows = [
        {
            "engine": f"{backend} {precision}",
            "fps": round(float(np.median([s["fps"] for s in runs])), 2),
            "latency_ms": round(float(np.median([s["latency_ms"] for s in runs])), 1),
            "segments": [round(s["fps"], 2) for s in runs],
        }
        for (backend, precision), runs in samples.items()
    ]
    reference = rows[0]["fps"]
    print(
        f"posenet_node at 432x368, 640x480 rgb8 frames at {RATE_HZ:.0f} Hz, {args.rounds} x {args.seconds:.0f} s each"
    )
    print(f"{'engine':<17} {'FPS':>6} {'x ORT':>6} {'latency ms':>11}  segments")
    for row in rows:
        row["speedup"] = round(row["fps"] / reference, 2) if reference else 0.0
        speed = f"{row['fps']:>6.2f} {row['speedup']:>6.2f} {row['latency_ms']:>11.1f}"
        print(f"{row['engine']:<17} {speed}  {row['segments']}")
    write_results(args.json, args.rounds, rows, image="basketball1.png", rate_hz=str(RATE_HZ))
    return 0


if __name__ == "__main__":
    run(main)

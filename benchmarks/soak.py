"""Soak: the node's resident memory over a long run at camera rate; flat after warm-up is the goal.

    source scripts/ros_env.sh && .venv/bin/python benchmarks/soak.py [--minutes 21] [--warm-up 5]

A probe publishes basketball1.png (640x480 rgb8) at 30 Hz to ``posenet_node`` (default network and
input size, overlay on) over real DDS for ``--minutes``, sampling the node's RSS every 10 s. It prints
RSS once a minute and the least-squares slope in MB/h over the samples after ``--warm-up`` minutes
(the target: under 5 MB/h), with the frames answered; JSON as the other benchmarks.
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

RATE_HZ = 30.0
SAMPLE_S = 10.0


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MB per hour."""
    seconds, mib = np.array(samples).T
    return float(np.polyfit(seconds, mib, 1)[0]) * 3600 * 1.048576


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=21.0)
    parser.add_argument("--warm-up", type=float, default=5.0, help="minutes left out of the slope")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/soak.json"))
    args = parser.parse_args()
    require_ros()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    image = load_photo("basketball1.png")
    namespace = unique_namespace("soak")
    node = NodeProcess("ros2_posenet.ros.node", namespace, {}, args.json.parent / "soak_node.log")
    probe = Probe(namespace)
    samples: list[tuple[float, float]] = []
    try:
        node.wait_log("listening on")
        probe.request(probe.image_msg(image))
        start = next_sample = time.monotonic()
        print(f"soak: {args.minutes:.0f} min of 640x480 frames at {RATE_HZ:.0f} Hz; RSS in MiB")
        while (now := time.monotonic()) < start + 60 * args.minutes:
            probe.publisher.publish(probe.image_msg(image))
            with probe.lock:
                del probe.poses[:-5], probe.overlays[:-5], probe.diagnostics[:-5]  # the probe keeps little
            if now >= next_sample:
                samples.append((now - start, node.rss_mib()))
                if len(samples) % 6 == 1:
                    print(f"  {samples[-1][0] / 60:5.1f} min  {samples[-1][1]:7.1f}", flush=True)
                next_sample += SAMPLE_S
            time.sleep(1.0 / RATE_HZ)
        diagnostics = probe.latest_diagnostics(after=0.0, timeout=15.0)
    finally:
        probe.close()
        node.stop()
    after = [(t, m) for t, m in samples if t >= 60 * args.warm_up]
    slope = slope_mb_per_hour(after) if len(after) >= 2 else float("nan")
    first, last = samples[0][1], samples[-1][1]
    print(
        f"RSS {first:.1f} -> {last:.1f} MiB; slope after {args.warm_up:.0f} min: {slope:.2f} MB/h "
        f"(target < 5); frames processed {diagnostics['processed']}, dropped {diagnostics['dropped']}"
    )
    rows = [{"seconds": round(t, 1), "rss_mib": round(m, 2)} for t, m in samples]
    write_results(
        args.json,
        len(samples),
        rows,
        slope_mb_per_hour=f"{slope:.3f}",
        warm_up_minutes=str(args.warm_up),
        processed=diagnostics["processed"],
        dropped=diagnostics["dropped"],
    )
    return 0


if __name__ == "__main__":
    run(main)

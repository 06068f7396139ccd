"""CPU engines side by side: ONNX Runtime fp32 and OpenVINO at each precision, per stage, per input size.

    .venv/bin/python benchmarks/cpu_stages.py [--runs 30] [--threads 0] [--json benchmarks/results/cpu_stages.json]

Every engine and size runs once per round, in a shuffled order, so that all of them see the same
(shared, noisy) machine; the table gives medians in ms, FPS from the median total and the speed-up
over ONNX Runtime fp32 at the same size. Then the accuracy of each engine against ONNX Runtime fp32
on every real image the tests use (test/support/photos.py): images with the same number of people,
and the median and worst keypoint distance in pixels. Image: basketball1.png (640x480).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
from results_io import run, write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))
from support.photos import guard_images, load_photo  # noqa: E402
from support.poses import keypoint_distances  # noqa: E402

from ros2_posenet.engines.openvino import PRECISIONS, openvino_status  # noqa: E402
from ros2_posenet.errors import PoseNetError  # noqa: E402
from ros2_posenet.posenet import PoseNet  # noqa: E402

SIZES = [(224, 224), (432, 368), (656, 368)]
STAGES = ("preprocess", "inference", "decode", "total")
REFERENCE = ("onnxruntime", "fp32")


def engines(threads: int) -> list[tuple[str, str]]:
    """(backend, precision) pairs to compare: ONNX Runtime fp32, then OpenVINO at each precision it has here."""
    found = [REFERENCE]
    if not openvino_status()[0]:
        print(f"OpenVINO skipped: {openvino_status()[1]}")
        return found
    for precision in PRECISIONS:
        try:
            PoseNet(backend="openvino", precision=precision, input_size=SIZES[0], threads=threads).close()
        except PoseNetError as error:
            print(f"openvino {precision} skipped: {error}")
            continue
        found.append(("openvino", precision))
    return found


def accuracy(net: PoseNet, reference: PoseNet, images: list) -> dict:
    """Images with the same people count as ``reference``, and keypoint distances over the matched people."""
    same, distances = 0, []
    for _, image in images:
        expected, found = reference.process(image), net.process(image)
        same += len(found) == len(expected)
        distances += keypoint_distances(found, expected)
    finite = [d for d in distances if np.isfinite(d)]
    return {
        "same_count": same,
        "images": len(images),
        "median_px": round(float(np.median(finite)), 2) if finite else 0.0,
        "worst_px": round(max(distances), 2) if distances else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0, help="inference threads for both runtimes (0: all cores)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/cpu_stages.json"))
    args = parser.parse_args()
    image = load_photo("basketball1.png")
    configs = {
        (backend, precision, size): PoseNet(backend=backend, precision=precision, input_size=size, threads=args.threads)
        for backend, precision in engines(args.threads)
        for size in SIZES
    }
    for net in configs.values():  # warm-up: first-run allocations are not steady state
        net.process(image)
        net.timings.reset()
    order, shuffle = list(configs), random.Random(0).shuffle
    people = {}
    for _ in range(args.runs):
        shuffle(order)
        for key in order:
            people[key] = len(configs[key].process(image))
    images = guard_images()
    rows = []
    for (backend, precision, size), net in configs.items():
        summary = net.timings.summary()
        row = {
            "engine": f"{backend} {precision}",
            "input": f"{size[0]}x{size[1]}",
            "people": people[backend, precision, size],
        }
        row |= {stage: round(summary[stage]["median_ms"], 2) for stage in STAGES}
        row["fps"] = round(1e3 / row["total"], 1)
        rows.append(row)
        if (backend, precision) != REFERENCE:
            row |= accuracy(net, configs[(*REFERENCE, size)], images)
    for row in rows:
        reference = next(r for r in rows if r["input"] == row["input"] and r["engine"] == " ".join(REFERENCE))
        row["speedup"] = round(reference["total"] / row["total"], 2)
    print(f"CPU medians in ms over {args.runs} interleaved rounds, basketball1.png 640x480, threads {args.threads}")
    print(
        f"{'engine':<17} {'input':>8} {'preproc':>8} {'infer':>8} {'decode':>7} {'total':>7} {'FPS':>6} "
        f"{'x ORT':>6} people  same people   median/worst px"
    )
    for r in rows:
        same = f"{r['same_count']}/{r['images']}" if "same_count" in r else "reference"
        error = f"{r['median_px']:.2f} / {r['worst_px']:.2f}" if "same_count" in r else ""
        print(
            f"{r['engine']:<17} {r['input']:>8} {r['preprocess']:>8.2f} {r['inference']:>8.2f} {r['decode']:>7.2f} "
            f"{r['total']:>7.2f} {r['fps']:>6.1f} {r['speedup']:>6.2f} {r['people']:>6}  {same:>11}   {error}"
        )
    write_results(args.json, args.runs, rows, image="basketball1.png", time=time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return 0


if __name__ == "__main__":
    run(main)

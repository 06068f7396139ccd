"""Time preprocess, inference and decode separately on the CPU for each available network and size.

    .venv/bin/python benchmarks/cpu_stages.py [--runs 30] [--json benchmarks/results/cpu_stages.json]

Uses a real photo from the set-up's photo cache (basketball1.png, 640x480). Prints a table of
medians and writes every number as JSON. Networks whose files are not installed are skipped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from results_io import run, write_results

from ros2_posenet.errors import ModelError
from ros2_posenet.models.cache import photos_dir
from ros2_posenet.models.registry import NETWORKS
from ros2_posenet.posenet import PoseNet

SIZES = {"mobilenet-thin-body": [(224, 224), (432, 368), (656, 368)]}


def bench(net: PoseNet, image: np.ndarray, runs: int) -> dict:
    net.process(image)  # warm-up: first-run allocations are not steady state
    net.timings.reset()
    people = 0
    for _ in range(runs):
        people = len(net.process(image))
    summary = net.timings.summary()
    return {stage: round(values["median_ms"], 3) for stage, values in summary.items()} | {"people": people}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--image", type=Path, default=photos_dir() / "basketball1.png")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/cpu_stages.json"))
    args = parser.parse_args()
    image = cv2.imread(str(args.image))
    if image is None:
        raise SystemExit(f"cannot read {args.image}: run scripts/setup.sh first")
    rows = []
    for name, spec in NETWORKS.items():
        for size in SIZES.get(name, [spec.input_size]):
            try:
                net = PoseNet(name, backend="onnxruntime-cpu", input_size=size)
            except ModelError as error:
                print(f"skipped {name}: {error}")
                break
            rows.append({"network": name, "input": f"{size[0]}x{size[1]}"} | bench(net, image, args.runs))
    header = f"{'network':<22} {'input':>9} {'preprocess':>11} {'inference':>10} {'decode':>8} {'total':>8} people"
    print(f"CPU stage medians in ms over {args.runs} runs, image {args.image.name} {image.shape[1]}x{image.shape[0]}")
    print(header)
    for r in rows:
        print(
            f"{r['network']:<22} {r['input']:>9} {r['preprocess']:>11.2f} {r['inference']:>10.2f} "
            f"{r['decode']:>8.2f} {r['total']:>8.2f} {r['people']:>6}"
        )
    write_results(args.json, args.runs, rows, image=args.image.name, time=time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return 0


if __name__ == "__main__":
    run(main)

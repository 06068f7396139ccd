"""Our NumPy decoder against trt_pose's C++ parser, single thread, on the same maps, interleaved.

Synthetic people (support/synthetic.py) of poseNet's body topology at 56x56 (resnet18-body at
224x224); both parse the same CMAP and PAF (trt_pose reads its topology rows [paf_i = y channel,
paf_j = x channel, a, b], built here from our topology's paf_channels). trt_pose runs with its
ParseObjects defaults (window 5, 7 samples, threshold 0.1, link threshold 0.1); ours with
DecodeParams' (OpenPose's criteria, 10 samples). Each round times every row once, in a shuffled
order; medians in ms. "same people": both find as many people as were drawn.

    bash scripts/build_trt_pose_parser.sh <trt_pose git dir>   (the comparison library)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cpu_decode.py [--runs 50]
"""

from __future__ import annotations

import argparse
import ctypes
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from results_io import run, write_results  # noqa: E402
from support.decode_helpers import BODY  # noqa: E402
from support.synthetic import random_people, render_maps  # noqa: E402

from ros2_posenet.decode.cpu import decode_cpu  # noqa: E402
from ros2_posenet.decode.params import DecodeParams  # noqa: E402

COUNTS = (1, 5, 20, 50)
SIZE = (56, 56)
MAX_PARTS = MAX_OBJECTS = 100


class TrtPoseParser:
    """trt_pose's parser through benchmarks/trt_pose_shim.cpp."""

    def __init__(self, library: Path) -> None:
        self.lib = ctypes.CDLL(str(library))
        self.lib.trt_pose_parse.restype = ctypes.c_int
        rows = [(y, x, a, b) for (x, y), (a, b) in zip(BODY.paf_channels, BODY.links, strict=True)]
        self.topology = np.ascontiguousarray(rows, dtype=np.int32)

    def __call__(self, cmap: np.ndarray, paf: np.ndarray) -> int:
        channels, height, width = cmap.shape
        objects = np.empty((MAX_OBJECTS, channels), np.int32)
        counts = np.empty(channels, np.int32)
        refined = np.empty((channels, MAX_PARTS, 2), np.float32)
        pointer = ctypes.c_void_p
        return self.lib.trt_pose_parse(
            pointer(cmap.ctypes.data), pointer(paf.ctypes.data), pointer(self.topology.ctypes.data),
            channels, len(BODY.links), height, width, MAX_PARTS, MAX_OBJECTS,
            ctypes.c_float(0.1), ctypes.c_float(0.1), 5, 7,
            pointer(objects.ctypes.data), pointer(counts.ctypes.data), pointer(refined.ctypes.data),
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--library", type=Path, default=ROOT / "benchmarks" / "results" / "libtrt_pose_parse.so")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "cpu_decode.json")
    args = parser.parse_args()
    trt_pose = TrtPoseParser(args.library)
    params = DecodeParams()
    cases = []
    for count in COUNTS:
        cmap, paf = (np.ascontiguousarray(m, dtype=np.float32) for m in render_maps(
            random_people(count, BODY, *SIZE, seed=count), BODY, *SIZE
        ))  # fmt: skip
        cases.append((count, cmap, paf))
    jobs = [(index, name) for index in range(len(cases)) for name in ("ours", "trt_pose")]
    times: dict[tuple[int, str], list[float]] = {job: [] for job in jobs}
    found: dict[tuple[int, str], int] = {}
    for _ in range(args.runs):
        random.shuffle(jobs)
        for index, name in jobs:
            _, cmap, paf = cases[index]
            start = time.perf_counter()
            people = len(decode_cpu(cmap, paf, BODY, params)) if name == "ours" else trt_pose(cmap, paf)
            times[(index, name)].append(time.perf_counter() - start)
            found[(index, name)] = people
    rows = []
    print(f"{'people':>6} {'ours ms':>9} {'trt_pose ms':>12} {'ratio':>6} {'found (ours, trt_pose)':>24}")
    for index, (count, _, _) in enumerate(cases):
        ours, theirs = (1e3 * float(np.median(times[(index, name)])) for name in ("ours", "trt_pose"))
        row = {"people": count, "ours_ms": round(ours, 3), "trt_pose_ms": round(theirs, 3)}
        row |= {"ratio": round(ours / theirs, 2), "ours_found": found[(index, "ours")]}
        row |= {"trt_pose_found": found[(index, "trt_pose")]}
        rows.append(row)
        found_both = f"{row['ours_found']:>12} {row['trt_pose_found']:>10}"
        print(f"{count:>6} {ours:9.3f} {theirs:12.3f} {ours / theirs:6.2f} {found_both}")
    write_results(args.json, args.runs, rows, maps=f"{SIZE[1]}x{SIZE[0]}", topology=BODY.name)
    return 0


if __name__ == "__main__":
    run(main)

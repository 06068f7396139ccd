"""Our CPU decoder against trt_pose's C++ parser, single thread, on the same maps, interleaved.

Synthetic people (support/synthetic.py) of poseNet's body topology at 56x56 (resnet18-body at
224x224); both parse the same CMAP and PAF (trt_pose reads its topology rows [paf_i = y channel,
paf_j = x channel, a, b], built here from our topology's paf_channels). trt_pose runs with its
ParseObjects defaults (window 5, 7 samples, threshold 0.1, link threshold 0.1); ours with
DecodeParams' (OpenPose's criteria, 10 samples). Each round times every row once, in a shuffled
order; medians in ms. "found": how many people each finds (as many as were drawn is right).

    bash scripts/build_trt_pose_parser.sh <trt_pose git dir>   (the comparison library)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cpu_decode.py [--runs 50]

Where trt_pose's own Python package imports (scripts/build_trt_pose_torch.sh makes a venv with it;
run this script with that venv's python), its ParseObjects runs in the same rounds too, on torch
CPU tensors of the same maps, as trt_pose's users call it: the C++ parser plus torch's dispatch.
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
        return self.objects(cmap, paf)[0]

    def objects(self, cmap: np.ndarray, paf: np.ndarray) -> tuple[int, np.ndarray]:
        """The number of objects and the (MAX_OBJECTS, C) table of their parts (-1: none)."""
        channels, height, width = cmap.shape
        objects = np.empty((MAX_OBJECTS, channels), np.int32)
        counts = np.empty(channels, np.int32)
        refined = np.empty((channels, MAX_PARTS, 2), np.float32)
        pointer = ctypes.c_void_p
        count = self.lib.trt_pose_parse(
            pointer(cmap.ctypes.data), pointer(paf.ctypes.data), pointer(self.topology.ctypes.data),
            channels, len(BODY.links), height, width, MAX_PARTS, MAX_OBJECTS,
            ctypes.c_float(0.1), ctypes.c_float(0.1), 5, 7,
            pointer(objects.ctypes.data), pointer(counts.ctypes.data), pointer(refined.ctypes.data),
        )  # fmt: skip
        return count, objects


class TrtPoseParseObjects:
    """trt_pose's ParseObjects with its defaults, on torch tensors made once per case (a network's
    outputs are tensors already)."""

    def __init__(self, rows: np.ndarray) -> None:
        import torch
        from trt_pose.parse_objects import ParseObjects

        self.torch, self.parse = torch, ParseObjects(torch.from_numpy(rows))
        self.tensors: dict[int, tuple] = {}

    def __call__(self, cmap: np.ndarray, paf: np.ndarray) -> int:
        return self.objects(cmap, paf)[0]

    def objects(self, cmap: np.ndarray, paf: np.ndarray) -> tuple[int, np.ndarray]:
        maps = self.tensors.get(id(cmap))
        if maps is None:
            maps = self.tensors[id(cmap)] = (self.torch.from_numpy(cmap)[None], self.torch.from_numpy(paf)[None])
        counts, objects, _ = self.parse(*maps)
        return int(counts[0]), objects[0].numpy()


def check_shim(shim: TrtPoseParser, parse_objects: TrtPoseParseObjects, cases: list) -> None:
    """The shim must give ParseObjects' own objects, part for part: it once left unmatched
    connections at 0 instead of trt_pose's -1 and lost 2 of 20 people."""
    for count, cmap, paf in cases:
        (found, objects), (expected, expected_objects) = shim.objects(cmap, paf), parse_objects.objects(cmap, paf)
        if found != expected or not np.array_equal(objects[:found], expected_objects[:expected]):
            raise SystemExit(f"the shim disagrees with ParseObjects at {count} people: {found} != {expected} objects")
    print(f"the shim gives ParseObjects' objects on all {len(cases)} cases")


def parse_objects_or_none(rows: np.ndarray) -> TrtPoseParseObjects | None:
    try:
        return TrtPoseParseObjects(rows)
    except ImportError as error:
        print(f"trt_pose's ParseObjects skipped ({error}): see scripts/build_trt_pose_torch.sh")
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--library", type=Path, default=ROOT / "benchmarks" / "results" / "libtrt_pose_parse.so")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "cpu_decode.json")
    args = parser.parse_args()
    trt_pose = TrtPoseParser(args.library)
    params = DecodeParams()
    parsers = {"ours": lambda cmap, paf: len(decode_cpu(cmap, paf, BODY, params)), "trt_pose": trt_pose}
    parse_objects = parse_objects_or_none(trt_pose.topology)
    if parse_objects is not None:
        parsers["parse_objects"] = parse_objects
    cases = []
    for count in COUNTS:
        cmap, paf = (np.ascontiguousarray(m, dtype=np.float32) for m in render_maps(
            random_people(count, BODY, *SIZE, seed=count), BODY, *SIZE
        ))  # fmt: skip
        cases.append((count, cmap, paf))
    if parse_objects is not None:
        check_shim(trt_pose, parse_objects, cases)
    jobs = [(index, name) for index in range(len(cases)) for name in parsers]
    times: dict[tuple[int, str], list[float]] = {job: [] for job in jobs}
    found: dict[tuple[int, str], int] = {}
    for _ in range(args.runs):
        random.shuffle(jobs)
        for index, name in jobs:
            _, cmap, paf = cases[index]
            parse = parsers[name]
            start = time.perf_counter()
            people = parse(cmap, paf)
            times[(index, name)].append(time.perf_counter() - start)
            found[(index, name)] = people
    rows = []
    theirs = [name for name in parsers if name != "ours"]
    print(f"{'people':>6} {'ours ms':>9}" + "".join(f" {name + ' ms':>18} {'ratio':>6}" for name in theirs), "  found")
    for index, (count, _, _) in enumerate(cases):
        medians = {name: 1e3 * float(np.median(times[(index, name)])) for name in parsers}
        row: dict = {"people": count}
        for name in parsers:
            row |= {f"{name}_ms": round(medians[name], 3), f"{name}_found": found[(index, name)]}
        row |= {f"ratio_{name}": round(medians["ours"] / medians[name], 2) for name in theirs}
        rows.append(row)
        columns = "".join(f" {medians[name]:18.3f} {medians['ours'] / medians[name]:6.2f}" for name in theirs)
        print(f"{count:>6} {medians['ours']:9.3f}{columns}  ", ", ".join(str(found[(index, name)]) for name in parsers))
    write_results(args.json, args.runs, rows, maps=f"{SIZE[1]}x{SIZE[0]}", topology=BODY.name)
    return 0


if __name__ == "__main__":
    run(main)

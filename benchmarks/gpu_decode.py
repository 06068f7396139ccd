"""Decode time, CUDA vs NumPy, for 1/5/20/50 people at poseNet's 56x56 maps and 1/8 of 640x480 and 1280x720.

    python benchmarks/gpu_decode.py [--runs 200] [--json benchmarks/results/gpu_decode.json]

Maps are rendered from known people (ros2_posenet.synthetic) with poseNet's body topology. All
ratios come from one run. Columns (medians, ms):
  numpy        decode_cpu on host maps
  gpu          CudaDecoder.decode on maps already on the GPU (the pipeline's case): all six steps
               in 3 kernels, one copy, Pose objects built on the host; the same maps every time,
               so the launches are replayed as two CUDA graphs (cuda-bindings)
  gpu_launch   the same with graphs off: 3 kernel launches and 2 copies from Python every time
  gpu_device   CUDA-event time of the graphs (3 kernels + 2 copies) on the GPU's clock
  dev_no_asm   the same without the assembly kernel (gpu_steps=5): gpu_device - dev_no_asm is assembly
  gpu_host     the same as gpu on host maps (upload included)
  gpu_py_asm   steps 1-5 on the GPU, assembly by the shared Python assemble_people (gpu_steps=5)
  gpu_py_asg   steps 1-4 on the GPU, score tables copied, Python assignment + assembly (gpu_steps=4)
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
from results_io import run, write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))
from decode_helpers import BODY  # noqa: E402  (poseNet's body topology, shared with the tests)
from test_gpu_decode import assert_same_people  # noqa: E402

from ros2_posenet.cuda_context import GpuContext  # noqa: E402
from ros2_posenet.decode.cpu import decode_cpu  # noqa: E402
from ros2_posenet.decode.cuda import CudaDecoder  # noqa: E402
from ros2_posenet.synthetic import random_people, render_maps  # noqa: E402

MAP_SIZES = {"56x56 (poseNet)": (56, 56), "80x60 (640x480/8)": (60, 80), "160x90 (1280x720/8)": (90, 160)}
PEOPLE = (1, 5, 20, 50)
COLUMNS = ("numpy", "gpu", "gpu_launch", "gpu_device", "dev_no_asm", "gpu_host", "gpu_py_asm", "gpu_py_asg")


def median_ms(function, runs: int, warm_up: int = 20) -> float:
    """Median wall time of ``function()`` in ms after ``warm_up`` calls (graph capture, CPU clocks)."""
    for _ in range(warm_up):
        function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def device_ms(decoder: CudaDecoder, device_maps: tuple, runs: int) -> float:
    """Median GPU-clock time from before the first launch to the end of the result copy."""
    cuda = decoder.cuda
    with decoder.gpu:
        start, end = cuda.Event(), cuda.Event()
    times = []
    for _ in range(runs):
        with decoder.gpu:
            start.record(decoder.stream)
            decoder.enqueue(*device_maps)
            end.record(decoder.stream)
            end.synchronize()
            times.append(start.time_till(end))
    return float(np.median(times))


def measure(cmap: np.ndarray, paf: np.ndarray, decoders: dict[int, CudaDecoder], runs: int) -> dict:
    """Every column for one set of maps, after checking that the GPU finds the NumPy decoder's people."""
    from pycuda import gpuarray

    decoder = decoders[6]
    with decoder.gpu:
        device_maps = (gpuarray.to_gpu(cmap), gpuarray.to_gpu(paf))
    found = decoder.decode(*device_maps)
    assert_same_people(found, decode_cpu(cmap, paf, BODY))
    row = {
        "found": len(found),
        "fell_back": decoder.fell_back,
        "numpy": median_ms(lambda: decode_cpu(cmap, paf, BODY), max(runs // 10, 10)),
        "gpu": median_ms(lambda: decoder.decode(*device_maps), runs),
        "gpu_launch": median_ms(lambda: decoders["launch"].decode(*device_maps), runs),
        "gpu_device": device_ms(decoder, device_maps, runs),
        "dev_no_asm": device_ms(decoders[5], device_maps, runs),
        "gpu_host": median_ms(lambda: decoder.decode(cmap, paf), runs),
        "gpu_py_asm": median_ms(lambda: decoders[5].decode(*device_maps), runs),
        "gpu_py_asg": median_ms(lambda: decoders[4].decode(*device_maps), runs),
    }
    return row | {"speedup": row["numpy"] / row["gpu"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/gpu_decode.json"))
    args = parser.parse_args()
    gpu = GpuContext.get()
    decoders = {steps: CudaDecoder(BODY, gpu_steps=steps) for steps in (6, 5, 4)}
    decoders["launch"] = CudaDecoder(BODY, graphs=False)
    rows = []
    for label, (height, width) in MAP_SIZES.items():
        for count in PEOPLE:
            try:
                truth = random_people(count, BODY, height, width, seed=count)
            except ValueError as error:
                print(f"skipped {count} people at {label}: {error}")
                continue
            row = measure(*render_maps(truth, BODY, height, width), decoders, args.runs)
            rows.append({"maps": label, "people": count} | row)
    graphs = "with" if decoders[6].graphs[0].enabled else "WITHOUT (cuda-bindings missing)"
    print(f"Decode medians in ms on {gpu.name}, {graphs} CUDA graphs; body topology (18 keypoints, 21 links)")
    print(f"{'maps':<20} {'people':>6} {'found':>5} " + " ".join(f"{c:>10}" for c in COLUMNS) + f" {'speedup':>8}")
    for r in rows:
        cells = " ".join(f"{r[column]:>10.3f}" for column in COLUMNS)
        note = " (fell back to Python assembly)" if r["fell_back"] else ""
        print(f"{r['maps']:<20} {r['people']:>6} {r['found']:>5} {cells} {r['speedup']:>7.1f}x{note}")
    write_results(args.json, args.runs, rows, gpu=gpu.name, python=platform.python_version(), graphs=graphs)
    return 0


if __name__ == "__main__":
    run(main)

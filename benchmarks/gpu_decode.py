"""Decode time, CUDA vs the CPU decoder, for 1/5/20/50 people at poseNet's 56x56 maps and 1/8 of 640x480 and 1280x720.

    python benchmarks/gpu_decode.py [--runs 40] [--burst 5] [--json benchmarks/results/gpu_decode.json]

Maps are rendered from known people (test/support/synthetic.py) with poseNet's body topology. Each
round runs every measurement of every row, in a shuffled order, so that a slow spell of a shared
machine touches all columns alike: ``--burst`` calls in a row, of which all but the first are
kept (warm caches, as in a tight loop); ``--burst 1`` keeps single calls between unrelated work
(cold caches). Medians over ``--runs`` rounds. Each row has its own decoders (a decoder's graphs
follow one set of maps). Columns (medians, ms):
  cpu          decode_cpu on host maps (NumPy and its compiled loops)
  gpu          CudaDecoder.decode on maps already on the GPU (the pipeline's case): all six steps
               in 3 kernels, one copy, Pose objects built on the host; the same maps every time,
               so the launches are replayed as two CUDA graphs (cuda-bindings)
  gpu_launch   the same with graphs off: 3 kernel launches and 2 copies from Python every time
  gpu_device   CUDA-event time of the graphs (3 kernels + 2 copies) on the GPU's clock
  dev_no_asm   the same without the assembly kernel (gpu_steps=5): gpu_device - dev_no_asm is assembly
  dev_smooth   gpu_device with mobilenet-thin's refinement (the smoothed maximum in a 7x7 window,
               sigma 1.5): dev_smooth - gpu_device is what it costs over the 5x5 centroid
  gpu_host     the same as gpu on host maps (upload included)
  gpu_py_asm   steps 1-5 on the GPU, assembly by the shared Python assemble_people (gpu_steps=5)
  gpu_py_asg   steps 1-4 on the GPU, score tables copied, Python assignment + assembly (gpu_steps=4)
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from results_io import run, write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))
from support.decode_helpers import BODY  # noqa: E402  (poseNet's body topology, shared with the tests)
from support.poses import assert_same_people  # noqa: E402
from support.synthetic import random_people, render_maps  # noqa: E402

from ros2_posenet.cuda.context import GpuContext  # noqa: E402
from ros2_posenet.decode.cpu import decode_cpu  # noqa: E402
from ros2_posenet.decode.cuda import CudaDecoder  # noqa: E402
from ros2_posenet.decode.params import DecodeParams  # noqa: E402

DEFAULT = DecodeParams()
SMOOTHED = DecodeParams(refine_window=7, refine_sigma=1.5)  # mobilenet-thin-body's refinement (models/registry.py)
MAP_SIZES = {"56x56 (poseNet)": (56, 56), "80x60 (640x480/8)": (60, 80), "160x90 (1280x720/8)": (90, 160)}
PEOPLE = (1, 5, 20, 50)
COLUMNS = (
    "cpu",
    "gpu",
    "gpu_launch",
    "gpu_device",
    "dev_no_asm",
    "dev_smooth",
    "gpu_host",
    "gpu_py_asm",
    "gpu_py_asg",
)


Timer = Callable[[], float]  # one measurement, in ms


def wall_clock(function: Callable[[], object]) -> Timer:
    def measure() -> float:
        start = time.perf_counter()
        function()
        return (time.perf_counter() - start) * 1e3

    return measure


def gpu_clock(decoder: CudaDecoder, device_maps: tuple, params: DecodeParams = DEFAULT) -> Timer:
    """GPU-clock time from before the first launch to the end of the last result copy."""
    with decoder.gpu:
        start, end = decoder.cuda.Event(), decoder.cuda.Event()

    def measure() -> float:
        with decoder.gpu:
            start.record(decoder.stream)
            decoder.enqueue(*device_maps, params)
            end.record(decoder.stream)
            end.synchronize()
            return start.time_till(end)

    return measure


def timers_for(cmap: np.ndarray, paf: np.ndarray) -> tuple[dict, dict[str, Timer]]:
    """The row's facts and a timer per column, after checking that the GPU finds the CPU decoder's people."""
    from pycuda import gpuarray

    gpu, launch, host, smoothed = (
        CudaDecoder(BODY),
        CudaDecoder(BODY, graphs=False),
        CudaDecoder(BODY),
        CudaDecoder(BODY),
    )
    python_assembly, python_assignment = CudaDecoder(BODY, gpu_steps=5), CudaDecoder(BODY, gpu_steps=4)
    with gpu.gpu:
        maps = (gpuarray.to_gpu(cmap), gpuarray.to_gpu(paf))
    found = gpu.decode(*maps)
    assert_same_people(found, decode_cpu(cmap, paf, BODY))
    assert_same_people(smoothed.decode(*maps, SMOOTHED), decode_cpu(cmap, paf, BODY, SMOOTHED))
    timers = {
        "cpu": wall_clock(lambda: decode_cpu(cmap, paf, BODY)),
        "gpu": wall_clock(lambda: gpu.decode(*maps)),
        "gpu_launch": wall_clock(lambda: launch.decode(*maps)),
        "gpu_device": gpu_clock(gpu, maps),
        "dev_no_asm": gpu_clock(python_assembly, maps),
        "dev_smooth": gpu_clock(smoothed, maps, SMOOTHED),
        "gpu_host": wall_clock(lambda: host.decode(cmap, paf)),
        "gpu_py_asm": wall_clock(lambda: python_assembly.decode(*maps)),
        "gpu_py_asg": wall_clock(lambda: python_assignment.decode(*maps)),
    }
    return {"found": len(found), "fell_back": gpu.fell_back, "graphs": gpu.graphs[0].enabled}, timers


def measure_interleaved(timers: dict[tuple, Timer], runs: int, burst: int, warm_up: int = 10) -> dict[tuple, float]:
    """Median of each timer over ``runs`` rounds after ``warm_up``; in each round, in a shuffled
    order, every timer runs ``burst`` times and all but the first are kept (all, for a burst of 1)."""
    samples: dict[tuple, list[float]] = {key: [] for key in timers}
    order, shuffle = list(timers), random.Random(0).shuffle
    for round_number in range(warm_up + runs):
        shuffle(order)
        for key in order:
            elapsed = [timers[key]() for _ in range(burst)]
            if round_number >= warm_up:
                samples[key] += elapsed[1:] if burst > 1 else elapsed
    return {key: float(np.median(values)) for key, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--burst", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/gpu_decode.json"))
    args = parser.parse_args()
    gpu = GpuContext.get()
    rows, timers = [], {}
    for label, (height, width) in MAP_SIZES.items():
        for count in PEOPLE:
            try:
                truth = random_people(count, BODY, height, width, seed=count)
            except ValueError as error:
                print(f"skipped {count} people at {label}: {error}")
                continue
            facts, row_timers = timers_for(*render_maps(truth, BODY, height, width))
            rows.append({"maps": label, "people": count} | facts)
            timers |= {(len(rows) - 1, column): timer for column, timer in row_timers.items()}
    medians = measure_interleaved(timers, args.runs, args.burst)
    for index, row in enumerate(rows):
        row |= {column: medians[index, column] for column in COLUMNS}
        row["speedup"] = row["cpu"] / row["gpu"]
    graphs = "with" if rows[0]["graphs"] else "WITHOUT (cuda-bindings missing)"
    calls = f"{args.burst - 1} warm calls" if args.burst > 1 else "single cold calls"
    print(f"Decode medians in ms on {gpu.name}, {graphs} CUDA graphs, {calls} per round; body topology")
    print(f"{'maps':<20} {'people':>6} {'found':>5} " + " ".join(f"{c:>10}" for c in COLUMNS) + f" {'speedup':>8}")
    for r in rows:
        cells = " ".join(f"{r[column]:>10.3f}" for column in COLUMNS)
        note = " (fell back to Python assembly)" if r["fell_back"] else ""
        print(f"{r['maps']:<20} {r['people']:>6} {r['found']:>5} {cells} {r['speedup']:>7.1f}x{note}")
    context = {"gpu": gpu.name, "python": platform.python_version(), "graphs": graphs, "calls": calls}
    write_results(args.json, args.runs, rows, **context)
    return 0


if __name__ == "__main__":
    run(main)

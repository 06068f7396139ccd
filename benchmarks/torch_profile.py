"""Where the torch-cuda engine's time goes: kernels per forward pass, their time, and what fusing does.

    python benchmarks/torch_profile.py [--runs 300] [--json benchmarks/results/torch_profile.json]

For mobilenet-thin-body (the real network from the model cache) at 224x224 and 432x368, FP16, as
the engine runs it: torch.profiler over eager passes counts the CUDA kernels and sums their GPU time
(the floor a replayed graph cannot go below), and CUDA events time the replayed CUDA graph. Each
variant is measured in the same run, interleaved: plain (one kernel per ONNX node: conv, then
ReLU) and with Conv + ReLU fused into one cuDNN call; the maps of both are compared.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
from results_io import run, write_results

from ros2_posenet.engines.onnx_torch import load_onnx_module
from ros2_posenet.models.fetch import resolve_network

SIZES = [(224, 224), (432, 368)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/torch_profile.json"))
    args = parser.parse_args()
    import torch
    from torch.profiler import ProfilerActivity, profile

    path = str(resolve_network("mobilenet-thin-body").model_path)
    torch.backends.cudnn.benchmark = True
    variants = {}
    for width, height in SIZES:
        x = torch.rand(1, 3, height, width, device="cuda", dtype=torch.float16) * 255
        for fused in (False, True):
            module = load_onnx_module(path, fuse_conv_relu=fused).eval().to("cuda", torch.float16)
            with torch.inference_mode():
                for _ in range(3):
                    outputs = module(x)
                torch.cuda.synchronize()
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    module(x)
                    torch.cuda.synchronize()
                kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
                stream = torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    for _ in range(3):
                        module(x)
                torch.cuda.current_stream().wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    captured = module(x)
            top: dict[str, float] = {}
            for event in kernels:
                top[event.name] = top.get(event.name, 0.0) + event.device_time
            variants[(width, height, fused)] = {
                "graph": graph,
                "keep_alive": (module, x),  # the graph reads the weights and the input in place
                "outputs": [o.float() for o in captured],
                "eager": [o.float() for o in outputs],
                "kernels": len(kernels),
                "kernel_us": sum(e.device_time for e in kernels),
                "top": sorted(top.items(), key=lambda kv: -kv[1])[:5],
                "samples": [],
            }
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    order, shuffle = list(variants), random.Random(0).shuffle
    for _ in range(args.runs):
        shuffle(order)
        for key in order:
            start.record()
            variants[key]["graph"].replay()
            end.record()
            end.synchronize()
            variants[key]["samples"].append(start.elapsed_time(end))
    rows = []
    print(f"torch-cuda FP16, mobilenet-thin-body, {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"{'input':>8} {'variant':>12} {'kernels':>8} {'kernel sum ms':>14} {'graph replay ms':>16} {'max diff':>9}")
    for (width, height, fused), v in variants.items():
        plain = variants[(width, height, False)]
        diff = max(float((a - b).abs().max()) for a, b in zip(v["outputs"], plain["outputs"], strict=True))
        row = {
            "input": f"{width}x{height}",
            "variant": "conv+relu" if fused else "plain",
            "kernels": v["kernels"],
            "kernel_sum_ms": round(v["kernel_us"] / 1e3, 4),
            "graph_ms": round(float(np.median(v["samples"])), 4),
            "max_diff_vs_plain": diff,
            "top_kernels_us": [(name[:60], round(us, 1)) for name, us in v["top"]],
        }
        rows.append(row)
        print(
            f"{row['input']:>8} {row['variant']:>12} {row['kernels']:>8} {row['kernel_sum_ms']:>14.3f} "
            f"{row['graph_ms']:>16.3f} {diff:>9.2e}"
        )
        for name, us in row["top_kernels_us"]:
            print(f"{'':>22} {us:>8.1f} us  {name}")
    write_results(args.json, args.runs, rows, gpu=torch.cuda.get_device_name(), torch=torch.__version__)
    return 0


if __name__ == "__main__":
    run(main)

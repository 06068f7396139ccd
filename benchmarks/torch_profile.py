"""Where the torch-cuda engine's time goes: CUDA kernels per forward pass, their GPU time, the graph replay.

    python benchmarks/torch_profile.py [--runs 300] [--json benchmarks/results/torch_profile.json]

For mobilenet-thin-body (the real network from the model cache) at 224x224 and 432x368, FP16:
torch.profiler over an eager pass counts the CUDA kernels and sums their GPU time (the floor a
replayed graph cannot go below: what is left is launch gaps), and CUDA events time the replayed
CUDA graph, every size and variant interleaved. The five costliest kernels are listed.

Variants, side by side with the ONNX graph run as converted (one cuDNN call, one bias add and one
ReLU per convolution): "channels-last" (NHWC tensors); "folded, channels-last": every depthwise
convolution folded into the pointwise one that alone reads it (conv_folding.py; slim's separable
convolutions have nothing nonlinear between the two), as dense convolutions, which cuDNN runs in
NHWC (in NCHW it adds layout conversions: 381 kernels, the slowest of all); "1x1 as
GEMM+bias+ReLU": channels-last, each pointwise convolution one cuBLASLt GEMM with its bias and
ReLU in the epilogue (onnx_torch's ``pointwise_as_gemm``), which is what the engine runs.

Fusing each Conv + ReLU into one cuDNN call (torch.cudnn_convolution_relu) was measured with an
earlier version of this script on the H200 (2026-12-01): 301 -> 270 kernels at 224x224 but 0.955 ->
1.144 ms per replay; a later run of the plain pass alone took 1.086 ms (cuDNN's benchmark mode picks
algorithms per run), so that fusion showed no gain beyond that spread and was not kept.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import onnx
from conv_folding import fold_linear_convolutions
from results_io import run, write_results

from ros2_posenet.engines.onnx_torch import OnnxGraphModule
from ros2_posenet.models.fetch import resolve_network

SIZES = [(224, 224), (432, 368)]
VARIANTS = {  # name: (fold depthwise into pointwise, channels-last, 1x1 convolutions as fused GEMMs)
    "as converted": (False, False, False),
    "channels-last": (False, True, False),
    "folded, channels-last": (True, True, False),
    "1x1 as GEMM+bias+ReLU": (False, True, True),  # the engine
}


def profile_size(torch, profile, activity, path: str, width: int, height: int, variant: str) -> dict:
    """One input size and variant: the kernels of an eager pass, and a captured CUDA graph of the same pass."""
    fold, channels_last, gemm = VARIANTS[variant]
    model = onnx.load(path)
    module = OnnxGraphModule(fold_linear_convolutions(model)[0] if fold else model, path, gemm).eval()
    module = module.to("cuda", torch.float16)
    seeded = torch.Generator("cuda").manual_seed(0)  # every variant sees the same input
    x = torch.rand(1, 3, height, width, device="cuda", dtype=torch.float16, generator=seeded) * 255
    if channels_last:
        module, x = module.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        for _ in range(3):
            eager = module(x)
        torch.cuda.synchronize()
        with profile(activities=[activity.CUDA]) as prof:
            module(x)
            torch.cuda.synchronize()
        kernels = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up off the default stream, as capture requires
            for _ in range(3):
                module(x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            replayed = module(x)
    top: dict[str, float] = {}
    for event in kernels:
        top[event.name] = top.get(event.name, 0.0) + event.device_time
    return {
        "graph": graph,
        "keep_alive": (module, x),  # the graph reads the weights and the input in place
        "replayed": replayed,
        "eager": [o.clone() for o in eager],
        "kernels": len(kernels),
        "kernel_us": sum(e.device_time for e in kernels),
        "top": sorted(top.items(), key=lambda kv: -kv[1])[:5],
        "samples": [],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/torch_profile.json"))
    args = parser.parse_args()
    import torch
    from torch.profiler import ProfilerActivity, profile

    path = str(resolve_network("mobilenet-thin-body").model_path)
    torch.backends.cudnn.benchmark = True
    sizes = {
        (*size, variant): profile_size(torch, profile, ProfilerActivity, path, *size, variant)
        for size in SIZES
        for variant in VARIANTS
    }
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    order, shuffle = list(sizes), random.Random(0).shuffle
    for _ in range(args.runs):
        shuffle(order)
        for size in order:
            start.record()
            sizes[size]["graph"].replay()
            end.record()
            end.synchronize()
            sizes[size]["samples"].append(start.elapsed_time(end))
    rows = []
    print(f"torch-cuda FP16, mobilenet-thin-body, {torch.cuda.get_device_name()}, torch {torch.__version__}")
    head = f"{'input':>8} {'variant':>22} {'kernels':>8} {'kernel sum ms':>14} {'graph replay ms':>16}"
    print(f"{head} {'graph vs eager':>15} {'vs as converted':>16}")
    for (width, height, variant), v in sizes.items():
        diff = max(float((a - b).abs().max()) for a, b in zip(v["replayed"], v["eager"], strict=True))
        plain = sizes[(width, height, "as converted")]["eager"]
        change = max(float((a - b).abs().max()) for a, b in zip(v["eager"], plain, strict=True))
        row = {
            "input": f"{width}x{height}",
            "variant": variant,
            "vs_as_converted_max_diff": change,
            "kernels": v["kernels"],
            "kernel_sum_ms": round(v["kernel_us"] / 1e3, 4),
            "graph_ms": round(float(np.median(v["samples"])), 4),
            "graph_vs_eager_max_diff": diff,
            "top_kernels_us": [(name[:60], round(us, 1)) for name, us in v["top"]],
        }
        rows.append(row)
        timing = f"{row['kernel_sum_ms']:>14.3f} {row['graph_ms']:>16.3f}"
        print(f"{row['input']:>8} {variant:>22} {row['kernels']:>8} {timing} {diff:>15.2e} {change:>16.2e}")
        for name, us in row["top_kernels_us"]:
            print(f"{'':>9} {us:>8.1f} us  {name}")
    write_results(args.json, args.runs, rows, gpu=torch.cuda.get_device_name(), torch=torch.__version__)
    return 0


if __name__ == "__main__":
    run(main)

"""End-to-end latency and throughput of the GPU path: uint8 host image in, people on the host out.

    python benchmarks/gpu_end_to_end.py [--runs 300] [--json benchmarks/results/gpu_end_to_end.json]

Networks (torch-cuda engine, FP16, CUDA graph):
  resnet18-body   poseNet's architecture (trt_pose resnet18_baseline_att: ResNet-18, three
                  transposed-conv upsamplings, attention heads) at 224x224 with random weights,
                  exported to ONNX with poseNet's I/O contract here; its maps hold noise, so
                  the number of candidates decoded is printed with it
  mobilenet-thin-body  the real pretrained network at 224x224 and 432x368 (from the model cache)
Images: basketball1.png at 640x480 and resized to 1280x720 (synthetic when there is no photo).
Every row is a camera's stream (its own pipeline and CUDA graphs): 200 frames of warm-up each, then
the timed frames in ROUNDS rounds, every row a block of frames per round in a shuffled order, so
that all rows see the same (shared) machine: run one after another, a row that met a slow spell of
the machine read 0.28 ms of rest where the next one read 0.17.
Columns (ms, medians): total per frame (host wall clock) and its 99th percentile; net = the
network's own GPU time inside each of those frames (CUDA events around the network, in the
pipeline's graph: see NetworkTimer); rest = total - net, frame by frame (what preprocessing,
decoding and the host cost on top of the network) of a frame in ordinary memory (a library
caller's array: the driver stages it through page-locked memory); restPL = the same for a frame in
the pipeline's page-locked frame buffer (where the node and the command put raw frames: one DMA);
at30 = restPL for frames paced at a camera's 30 fps (the host sleeps between frames, as a node
waiting for the next image does, and comes back slower); prep / infer / decode measured in a
second pass that waits for the GPU after each stage (infer there also counts the launch); fps =
1000 / the mean of the timed frames;
cpu = the same frame through PoseNet with ONNX Runtime on this machine's CPU, for comparison.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from results_io import run, write_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))
from support.decode_helpers import BODY, BODY_NAMES, BODY_SKELETON  # noqa: E402  (poseNet's body topology)

from ros2_posenet.cuda.graph import checked  # noqa: E402
from ros2_posenet.decode.cpu import find_peaks  # noqa: E402
from ros2_posenet.errors import PoseNetError  # noqa: E402
from ros2_posenet.models.cache import photos_dir  # noqa: E402
from ros2_posenet.posenet import PoseNet  # noqa: E402

IMAGE_SIZES = ((640, 480), (1280, 720))
CPU = "onnxruntime-cpu"


def resnet18_pose_onnx(path: Path, keypoints: int, links: int, size: int = 224) -> Path:
    """poseNet's resnet18_baseline_att architecture with random weights, exported with its I/O names."""
    import torch
    import torchvision
    from torch import nn

    def upsample(channels: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i in range(3):
            layers += [nn.ConvTranspose2d(channels if i == 0 else 256, 256, 4, 2, 1), nn.BatchNorm2d(256), nn.ReLU()]
        return nn.Sequential(*layers)

    class PoseResNet18(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            backbone = torchvision.models.resnet18(weights=None)
            self.backbone = nn.Sequential(*list(backbone.children())[:-2])  # up to layer4, stride 32
            self.cmap_up, self.paf_up = upsample(512), upsample(512)
            self.cmap_att, self.paf_att = nn.Conv2d(256, 256, 3, padding=1), nn.Conv2d(256, 256, 3, padding=1)
            self.cmap_conv, self.paf_conv = nn.Conv2d(256, keypoints, 1), nn.Conv2d(256, 2 * links, 1)

        def forward(self, x):
            features = self.backbone(x)
            cmap = self.cmap_up(features)
            paf = self.paf_up(features)
            cmap = self.cmap_conv(cmap * torch.sigmoid(self.cmap_att(cmap)))
            paf = self.paf_conv(paf * torch.tanh(self.paf_att(paf)))
            return cmap, paf

    torch.manual_seed(0)
    model = PoseResNet18().eval()
    example = torch.randn(1, 3, size, size)
    names = {"input_names": ["input"], "output_names": ["cmap", "paf"]}
    try:
        torch.onnx.export(model, (example,), str(path), opset_version=17, dynamo=False, **names)
    except Exception as error:  # newer torch may have dropped the TorchScript exporter: use the dynamo one
        print(f"TorchScript ONNX export failed ({type(error).__name__}); exporting with dynamo")
        torch.onnx.export(model, (example,), str(path), dynamo=True, **names)
    return path


def sample_image(width: int, height: int) -> np.ndarray:
    photo = cv2.imread(str(photos_dir() / "basketball1.png"))
    if photo is None:
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return photo if photo.shape[:2] == (height, width) else cv2.resize(photo, (width, height))


WARM_UP = 200  # frames before timing: the GPU's clocks come back up after the CPU comparison runs
ROUNDS = 10


class NetworkTimer:
    """The network's own GPU time inside every timed frame, so that total - network is the rest of the
    same frame (a second pass that waits after each stage also counts the launch and loses the
    overlap). Two CUDA events (cuda-bindings) around the network: event nodes around its graph in
    the engine's ``network_graph``, which the pipeline runs inside its own graph, and around
    ``infer_device`` (wrapped) for frames without. Make it before the pipeline; ``read`` after each frame."""

    def __init__(self, engine) -> None:
        from cuda.bindings import driver

        self.driver = driver
        with engine.gpu:
            self.start, self.end = (checked(driver, driver.cuEventCreate(0)) for _ in range(2))
        stream, infer = driver.CUstream(engine.stream.handle), engine.infer_device

        def timed():
            driver.cuEventRecord(self.start, stream)
            outputs = infer()
            driver.cuEventRecord(self.end, stream)
            return outputs

        engine.infer_device = timed
        if engine.network_graph is not None:
            graph = checked(driver, driver.cuGraphCreate(0))
            before = checked(driver, driver.cuGraphAddEventRecordNode(graph, None, 0, self.start))
            network = driver.CUgraph(engine.network_graph.graph)
            child = checked(driver, driver.cuGraphAddChildGraphNode(graph, [before], 1, network))
            checked(driver, driver.cuGraphAddEventRecordNode(graph, [child], 1, self.end))
            self.graph = graph  # kept alive with the timer
            engine.network_graph = engine.network_graph._replace(graph=int(graph))

    def read(self) -> float:
        """GPU milliseconds of the network in the frame that just finished."""
        return checked(self.driver, self.driver.cuEventElapsedTime(self.start, self.end))


class Row:
    """One table row: a GPU pipeline for the network of ``cpu`` (a PoseNet on ONNX Runtime CPU, timed
    too) on one image, and the frames timed so far."""

    def __init__(self, cpu: PoseNet, image: np.ndarray) -> None:
        from ros2_posenet.engines.torch_cuda import TorchCudaEngine
        from ros2_posenet.pipelines.gpu import GpuPipeline

        self.cpu, self.image = cpu, image
        engine = TorchCudaEngine(cpu.network, input_size=cpu.input_size)
        self.network = NetworkTimer(engine)
        self.pipeline = GpuPipeline(cpu.network, engine, cpu.decode_params)
        height, width = image.shape[:2]
        self.page_locked = self.pipeline.frame_buffer(height, width)  # where the node and the command put frames
        self.page_locked[...] = image
        self.frames: list[float] = []
        self.network_ms: list[float] = []
        self.page_locked_rest: list[float] = []
        self.paced_rest: list[float] = []
        self.poses: list = []

    def run(self, frames: int, timed: bool = True) -> None:
        for _ in range(frames):
            began = time.perf_counter()
            self.poses = self.pipeline.process(self.image)
            elapsed = 1e3 * (time.perf_counter() - began)
            if timed:
                self.frames.append(elapsed)
                self.network_ms.append(self.network.read())

    def run_page_locked(self, frames: int, period_s: float = 0.0) -> None:
        """``frames`` frames from the pipeline's page-locked frame buffer, each starting ``period_s``
        after the one before (0: back to back); their rest is kept."""
        rests = self.paced_rest if period_s else self.page_locked_rest
        for _ in range(frames):
            began = time.perf_counter()
            self.pipeline.process(self.page_locked)
            rests.append(1e3 * (time.perf_counter() - began) - self.network.read())
            time.sleep(max(0.0, began + period_s - time.perf_counter()))

    def results(self, runs: int, cpu_runs: int) -> dict:
        """The timed frames' figures, then the pass that waits after each stage and the CPU's frames."""
        pipeline, image, cpu = self.pipeline, self.image, self.cpu
        rest = [frame - inference for frame, inference in zip(self.frames, self.network_ms, strict=True)]
        pipeline.timings.reset()
        for _ in range(runs):
            pipeline.process(image, sync_stages=True)
        stages = {name: values["median_ms"] for name, values in pipeline.timings.summary().items()}
        cpu.process(image)
        cpu.timings.reset()
        for _ in range(cpu_runs):
            cpu.process(image)
        cmap, _ = pipeline.engine.infer_device()
        maps = cmap.cpu().numpy().reshape(-1, *cmap.shape[-2:])  # [K, h, w]
        candidates = sum(len(peaks) for peaks in find_peaks(maps, pipeline.decode_params))
        return {
            "total": float(np.median(self.frames)),
            "p99": float(np.percentile(self.frames, 99)),
            "net": float(np.median(self.network_ms)),
            "rest": float(np.median(rest)),
            "rest_page_locked": float(np.median(self.page_locked_rest)),
            "rest_30fps": float(np.median(self.paced_rest)) if self.paced_rest else float("nan"),
            "fps": 1e3 / float(np.mean(self.frames)),
            "preprocess": stages["preprocess"],
            "inference": stages["inference"],
            "decode": stages["decode"],
            "cpu": cpu.timings.summary()["total"]["median_ms"],
            "people": len(self.poses),
            "candidates": candidates,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--cpu-runs", type=int, default=20)
    parser.add_argument("--paced-runs", type=int, default=90, help="frames at 30 fps per row (3 s)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/gpu_end_to_end.json"))
    args = parser.parse_args()
    import torch

    folder = Path(tempfile.mkdtemp())
    topology = folder / "human_pose.json"
    topology.write_text(json.dumps({"supercategory": "person", "keypoints": BODY_NAMES, "skeleton": BODY_SKELETON}))
    model = resnet18_pose_onnx(folder / "pose_resnet18_body.onnx", BODY.num_keypoints, BODY.num_links)
    networks = [
        (
            "resnet18-body (random weights)",
            lambda: PoseNet("resnet18-body", model=model, topology=topology, backend=CPU),
        )
    ]
    for size in ((224, 224), (432, 368)):
        networks.append(
            ("mobilenet-thin-body", lambda size=size: PoseNet("mobilenet-thin-body", input_size=size, backend=CPU))
        )
    labelled: list[tuple[dict, Row]] = []
    for label, make in networks:
        try:
            cpu = make()
        except PoseNetError as error:
            print(f"skipped {label}: {error}")
            continue
        for width, height in IMAGE_SIZES:
            size = f"{cpu.input_size[0]}x{cpu.input_size[1]}"
            facts = {"network": label, "input": size, "image": f"{width}x{height}"}
            labelled.append((facts, Row(cpu, sample_image(width, height))))
    for _, row in labelled:
        row.run(WARM_UP, timed=False)
    order = [row for _, row in labelled]
    for _ in range(ROUNDS):
        random.shuffle(order)
        for row in order:
            row.run(1, timed=False)  # the switch from the other rows' pipelines is not timed
            row.run(args.runs // ROUNDS)
            row.run_page_locked(args.runs // ROUNDS)
            row.run_page_locked(args.paced_runs // ROUNDS, 1 / 30)
    rows = [facts | row.results(args.runs, args.cpu_runs) for facts, row in labelled]
    gpu = torch.cuda.get_device_name()
    print(f"End-to-end medians in ms on {gpu} (torch-cuda FP16 + CUDA graph, GPU preprocess and decode)")
    print(
        f"{'network':<31} {'input':>8} {'image':>9} {'total':>7} {'p99':>7} {'net':>6} {'fps':>7} {'prep':>6} "
        f"{'infer':>6} {'decode':>6} {'rest':>6} {'restPL':>6} {'at30':>6} {'cpu':>8} {'people':>6} {'cands':>5}"
    )
    for r in rows:
        print(
            f"{r['network']:<31} {r['input']:>8} {r['image']:>9} {r['total']:>7.3f} {r['p99']:>7.3f} {r['net']:>6.3f} "
            f"{r['fps']:>7.0f} {r['preprocess']:>6.3f} {r['inference']:>6.3f} {r['decode']:>6.3f} "
            f"{r['rest']:>6.3f} {r['rest_page_locked']:>6.3f} {r['rest_30fps']:>6.3f} {r['cpu']:>8.2f} "
            f"{r['people']:>6} {r['candidates']:>5}"
        )
    write_results(args.json, args.runs, rows, gpu=gpu, torch=torch.__version__)
    return 0


if __name__ == "__main__":
    run(main)

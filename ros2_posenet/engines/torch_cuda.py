"""PyTorch CUDA engine: the network's ONNX graph run by PyTorch (``onnx_torch``), in FP16, as a CUDA graph.

The GPU engine for machines without TensorRT (desktop GPUs with PyTorch). ONNX Runtime's CUDA
provider is the other candidate; for the H100 machine here its onnxruntime-gpu wheel (256 MB) is
four times what a run can bring and the machine has CUDA 13, so PyTorch (installed there) it is.
It shares the GPU's primary context and a pycuda stream with the GPU preprocessing and decoder.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ros2_posenet.cuda.context import GpuContext, gpu_status, import_pycuda
from ros2_posenet.cuda.graph import graph_launcher
from ros2_posenet.engines.base import Engine, NetworkGraph, check_output_channels
from ros2_posenet.errors import BackendUnavailableError, ModelError, first_line, import_optional
from ros2_posenet.models.registry import ResolvedNetwork

LOG = logging.getLogger("ros2_posenet")

TORCH_HINT = "pip install torch (a CUDA build) and pycuda"


def _import_torch() -> ModuleType:
    return import_optional("torch", f"PyTorch is not installed: {TORCH_HINT}")


def torch_cuda_status() -> tuple[bool, str]:
    """(True, description) when torch has CUDA and pycuda is there; else (False, what to install)."""
    try:
        torch = _import_torch()
    except BackendUnavailableError as error:
        return False, str(error)
    if not torch.cuda.is_available():
        return False, f"torch {torch.__version__} sees no CUDA GPU: install a CUDA build of torch"
    ok, detail = gpu_status()
    return (True, f"torch {torch.__version__} on {detail}") if ok else (False, detail)


class TorchCudaEngine(Engine):
    """Runs the network's ONNX as a PyTorch module on the GPU.

    ``precision`` "fp16" (default) runs the weights in half precision with float32 input and
    outputs; ``cuda_graph`` captures the forward pass once and replays it (no per-layer launches).
    GPU pipeline use: write into ``input`` (float32 ``[1, 3, H, W]`` torch tensor), call
    ``infer_device()``; everything runs on ``stream`` (pycuda), shared with preprocessing and decoding.
    """

    def __init__(
        self,
        network: ResolvedNetwork,
        precision: str = "fp16",
        input_size: tuple[int, int] | None = None,
        cuda_graph: bool = True,
        device_index: int = 0,
        stream: Any = None,
    ) -> None:
        if precision not in ("fp32", "fp16"):
            raise ValueError(f"precision must be fp32 or fp16, got {precision!r}")
        torch = _import_torch()
        if not torch.cuda.is_available():
            raise BackendUnavailableError(f"torch {torch.__version__} sees no CUDA GPU: install a CUDA build of torch")
        from ros2_posenet.engines.onnx_torch import load_onnx_module

        self.torch = torch
        self.network = network
        self.gpu = GpuContext.get(device_index)
        cuda = import_pycuda()
        spec = network.spec
        model_path = Path(network.model_path)
        module = load_onnx_module(str(model_path), pointwise_as_gemm=True)  # 301 -> 171 kernels on mobilenet-thin
        output_names = module.output_names
        if not {spec.cmap_output, spec.paf_output} <= set(output_names):
            expected = f"{spec.cmap_output!r} and {spec.paf_output!r}"
            raise ModelError(f"{model_path} has outputs {output_names}; expected {expected}")
        self._output_index = (output_names.index(spec.cmap_output), output_names.index(spec.paf_output))
        self.device = torch.device("cuda", device_index)
        self._dtype = torch.float16 if precision == "fp16" else torch.float32
        self.module = module.eval().to(self.device, self._dtype).to(memory_format=module.memory_format)
        torch.backends.cudnn.benchmark = True
        with self.gpu:
            self.stream = stream or cuda.Stream()
        self._torch_stream = torch.cuda.ExternalStream(self.stream.handle, device=self.device)
        width, height = input_size or spec.input_size
        self.input = torch.zeros((1, 3, height, width), dtype=torch.float32, device=self.device)
        self.name = f"torch-cuda-{precision}"
        self._graph = None
        self.network_graph: NetworkGraph | None = None
        self._launch: Any = None  # the captured graph's direct launch (cuda-bindings), when there is one
        self._outputs: Any = self._forward()  # also the warm-up that picks cuDNN algorithms
        cmap, paf = self._outputs
        check_output_channels(tuple(cmap.shape), tuple(paf.shape), network.topology, str(model_path))
        if cuda_graph:
            self._capture()

    def _forward(self) -> tuple[Any, Any]:
        """One eager pass on ``self.input`` on ``stream``."""
        with self.torch.cuda.stream(self._torch_stream):
            return self._run()

    def _run(self) -> tuple[Any, Any]:
        """The forward pass on the current stream: float32 ``[K, h, w]`` and ``[2L, h, w]`` tensors."""
        with self.torch.inference_mode():
            outputs = self.module(self.input.to(self._dtype, memory_format=self.module.memory_format))  # one kernel
            return tuple(outputs[i][0].float().contiguous() for i in self._output_index)

    def _capture(self) -> None:
        """Record the forward pass as a CUDA graph; eager mode stays in use if capture fails."""
        torch = self.torch
        try:
            for _ in range(2):  # warm-up off the default stream, as graph capture requires
                self._forward()
            self._torch_stream.synchronize()
            graph, kept = self._new_graph()
            with torch.cuda.graph(graph):  # captured on torch's own side stream
                outputs = self._run()
            if kept:
                graph.instantiate()
            self._graph, self._outputs = graph, outputs
        except RuntimeError as error:
            LOG.warning("CUDA graph capture failed (%s); running eagerly", first_line(error))
            return
        raw_executable = getattr(self._graph, "raw_cuda_graph_exec", None)  # torch 2.11 has it; else replay()
        if raw_executable is not None:
            self._launch = graph_launcher(raw_executable(), self.stream.handle)
        if kept and self._launch is not None:  # a graph of graphs needs cuda-bindings, as the launch does
            self.network_graph = NetworkGraph(graph.raw_cuda_graph(), outputs)

    def _new_graph(self) -> tuple[Any, bool]:
        """A torch CUDAGraph that keeps its ``cudaGraph_t`` (torch 2.8 on: the pipeline puts it in its
        own graph), and whether it does; torch's plain CUDAGraph on older versions."""
        try:
            return self.torch.cuda.CUDAGraph(keep_graph=True), True
        except TypeError:
            return self.torch.cuda.CUDAGraph(), False

    def infer_device(self) -> tuple[Any, Any]:
        """Run on ``self.input``; (cmap, paf) float32 CUDA tensors, ordered on ``stream``.

        With a CUDA graph the same output tensors are refilled on every call: decode them
        before the next call.
        """
        if self.module is None:
            raise ModelError(f"the torch-cuda engine for {self.network.model_path} is closed")
        if self._graph is None:
            return self._forward()
        if self._launch is not None:  # torch's replay() costs ~50 us of host time a frame on the H200
            try:
                with self.gpu:
                    self._launch()
                return self._outputs
            except RuntimeError as error:  # the driver refused: torch's own replay from now on
                LOG.warning("launching the CUDA graph through the driver failed (%s); replaying it", first_line(error))
                self._launch = None
        with self.torch.cuda.stream(self._torch_stream):
            self._graph.replay()
        return self._outputs

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tensor = np.ascontiguousarray(tensor, dtype=np.float32)
        if tuple(tensor.shape) != tuple(self.input.shape):
            raise ValueError(f"input must be {tuple(self.input.shape)}, got {tensor.shape}")
        torch = self.torch
        with torch.cuda.stream(self._torch_stream):
            self.input.copy_(torch.from_numpy(tensor))
            cmap, paf = self.infer_device()
            result = cmap.cpu().numpy(), paf.cpu().numpy()
        return result

    def close(self) -> None:
        """Drop the graph, the module and the buffers, and give their memory back to the GPU now."""
        if self.module is None:
            return
        self._torch_stream.synchronize()
        self._graph = self._launch = self._outputs = self.module = self.network_graph = None
        self.input = self.torch.empty(0, device=self.device)
        self.torch.cuda.empty_cache()

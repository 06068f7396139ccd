"""Backend selection: ``create_engine(backend, network, input_size)``; ``auto`` picks the fastest available.

Order for ``auto``: TensorRT (when importable and a GPU is present), then PyTorch CUDA, then
ONNX Runtime (CUDA provider if onnxruntime-gpu is installed, else CPU); the choice and the reason
each faster one was passed over are logged. Runtimes are imported only when chosen, so a machine
without a GPU or without an optional runtime can import everything.
"""

from __future__ import annotations

import logging

from ros2_posenet.engines.base import Engine
from ros2_posenet.models.registry import ResolvedNetwork

LOG = logging.getLogger("ros2_posenet")

BACKENDS = ("auto", "tensorrt", "torch-cuda", "onnxruntime", "onnxruntime-cpu", "onnxruntime-cuda")


def _tensorrt(network: ResolvedNetwork, input_size: tuple[int, int]) -> Engine:
    from ros2_posenet.engines.tensorrt import TensorRTEngine

    return TensorRTEngine(network, input_size=input_size)


def _torch_cuda(network: ResolvedNetwork, input_size: tuple[int, int]) -> Engine:
    from ros2_posenet.engines.torch_cuda import TorchCudaEngine

    return TorchCudaEngine(network, input_size=input_size)


def _onnxruntime(device: str):
    def create(network: ResolvedNetwork, input_size: tuple[int, int]) -> Engine:
        from ros2_posenet.engines.onnx_runtime import OnnxRuntimeEngine

        return OnnxRuntimeEngine(network, device=device)

    return create


FACTORIES = {
    "tensorrt": _tensorrt,
    "torch-cuda": _torch_cuda,
    "onnxruntime": _onnxruntime("cpu"),
    "onnxruntime-cpu": _onnxruntime("cpu"),
    "onnxruntime-cuda": _onnxruntime("cuda"),
}


def _auto_choice() -> str:
    """The fastest backend usable here; logs why each faster one was skipped."""
    from ros2_posenet.engines.onnx_runtime import cuda_provider_available
    from ros2_posenet.engines.tensorrt import tensorrt_status
    from ros2_posenet.engines.torch_cuda import torch_cuda_status

    for name, status in (("tensorrt", tensorrt_status), ("torch-cuda", torch_cuda_status)):
        ok, detail = status()
        if ok:
            LOG.info("backend auto: %s (%s)", name, detail)
            return name
        LOG.info("backend auto: not %s: %s", name, detail)
    choice = "onnxruntime-cuda" if cuda_provider_available() else "onnxruntime-cpu"
    LOG.info("backend auto: %s", choice)
    return choice


def create_engine(backend: str, network: ResolvedNetwork, input_size: tuple[int, int] | None = None) -> Engine:
    """The engine for ``backend`` (one of ``BACKENDS``); one-line errors for unknown/unavailable ones."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = _auto_choice()
    return FACTORIES[backend](network, input_size or network.spec.input_size)

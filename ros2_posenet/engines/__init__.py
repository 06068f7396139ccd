"""Backend selection: ``create_engine(backend, network, input_size, options)``; ``auto`` picks the fastest here.

Order for ``auto``: TensorRT (when importable and a GPU is present), then PyTorch CUDA, then ONNX
Runtime's CUDA provider (onnxruntime-gpu), then OpenVINO on the CPU (when installed: it is faster
there than ONNX Runtime, see the README), then ONNX Runtime on the CPU. The choice and the reason
each faster one was passed over are logged. Runtimes are imported only when chosen, so a machine
without a GPU or without an optional runtime can import everything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ros2_posenet.engines.base import DEFAULT_OPTIONS, Engine, EngineOptions
from ros2_posenet.models.registry import ResolvedNetwork

LOG = logging.getLogger("ros2_posenet")

BACKENDS = ("auto", "tensorrt", "torch-cuda", "openvino", "onnxruntime", "onnxruntime-cpu", "onnxruntime-cuda")

Factory = Callable[[ResolvedNetwork, tuple[int, int], EngineOptions], Engine]


def _tensorrt(network: ResolvedNetwork, input_size: tuple[int, int], options: EngineOptions) -> Engine:
    from ros2_posenet.engines.tensorrt import TensorRTEngine

    return TensorRTEngine(
        network, precision=options.gpu_precision(), input_size=input_size, build_progress=options.build_progress
    )


def _torch_cuda(network: ResolvedNetwork, input_size: tuple[int, int], options: EngineOptions) -> Engine:
    from ros2_posenet.engines.torch_cuda import TorchCudaEngine

    return TorchCudaEngine(network, precision=options.gpu_precision(), input_size=input_size)


def _openvino(network: ResolvedNetwork, input_size: tuple[int, int], options: EngineOptions) -> Engine:
    from ros2_posenet.engines.openvino import OpenVinoEngine

    return OpenVinoEngine(network, input_size, options)


def _onnxruntime(device: str) -> Factory:
    def create(network: ResolvedNetwork, input_size: tuple[int, int], options: EngineOptions) -> Engine:
        from ros2_posenet.engines.onnx_runtime import OnnxRuntimeEngine

        if options.precision not in ("auto", "fp32"):
            raise ValueError(f"onnxruntime runs fp32 only, not {options.precision}: use --backend openvino for it")
        return OnnxRuntimeEngine(network, device=device, threads=options.threads)

    return create


FACTORIES: dict[str, Factory] = {
    "tensorrt": _tensorrt,
    "torch-cuda": _torch_cuda,
    "openvino": _openvino,
    "onnxruntime": _onnxruntime("cpu"),
    "onnxruntime-cpu": _onnxruntime("cpu"),
    "onnxruntime-cuda": _onnxruntime("cuda"),
}


def _auto_choice() -> str:
    """The fastest backend usable here; logs why each faster one was skipped."""
    from ros2_posenet.engines.onnx_runtime import cuda_provider_available
    from ros2_posenet.engines.openvino import openvino_status
    from ros2_posenet.engines.tensorrt import tensorrt_status
    from ros2_posenet.engines.torch_cuda import torch_cuda_status

    for name, status in (("tensorrt", tensorrt_status), ("torch-cuda", torch_cuda_status)):
        ok, detail = status()
        if ok:
            LOG.info("backend auto: %s (%s)", name, detail)
            return name
        LOG.info("backend auto: not %s: %s", name, detail)
    if cuda_provider_available():
        LOG.info("backend auto: onnxruntime-cuda (ONNX Runtime's CUDA provider)")
        return "onnxruntime-cuda"
    LOG.info("backend auto: not onnxruntime-cuda: ONNX Runtime has no CUDA provider here")
    ok, detail = openvino_status()
    if ok:
        LOG.info("backend auto: openvino (%s; faster than ONNX Runtime on CPUs)", detail)
        return "openvino"
    LOG.info("backend auto: not openvino: %s", detail)
    LOG.info("backend auto: onnxruntime-cpu")
    return "onnxruntime-cpu"


def create_engine(
    backend: str,
    network: ResolvedNetwork,
    input_size: tuple[int, int] | None = None,
    options: EngineOptions = DEFAULT_OPTIONS,
) -> Engine:
    """The engine for ``backend`` (one of ``BACKENDS``); one-line errors for unknown/unavailable ones."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = _auto_choice()
    return FACTORIES[backend](network, input_size or network.spec.input_size, options)

"""Backend selection: ``create_engine(backend, network)``; ``auto`` picks the fastest available.

Order for ``auto``: TensorRT (when importable and a GPU is present), then the other GPU engine,
then ONNX Runtime on the CPU. Runtimes are imported only when chosen, so a machine without a
GPU or without an optional runtime can import everything.
"""

from __future__ import annotations

import logging

from ros2_posenet.engines.base import Engine
from ros2_posenet.errors import BackendUnavailableError
from ros2_posenet.networks import ResolvedNetwork

LOG = logging.getLogger("ros2_posenet")

BACKENDS = ("auto", "onnxruntime", "onnxruntime-cpu", "onnxruntime-cuda")


def create_engine(backend: str, network: ResolvedNetwork) -> Engine:
    """The engine for ``backend`` (one of ``BACKENDS``); one-line errors for unknown/unavailable ones."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    from ros2_posenet.engines.onnx_runtime import OnnxRuntimeEngine, cuda_provider_available

    if backend == "auto":
        device = "cuda" if cuda_provider_available() else "cpu"
        engine = OnnxRuntimeEngine(network, device=device)
        LOG.info("backend auto: using %s", engine.name)
        return engine
    if backend in ("onnxruntime", "onnxruntime-cpu"):
        return OnnxRuntimeEngine(network, device="cpu")
    if backend == "onnxruntime-cuda":
        return OnnxRuntimeEngine(network, device="cuda")
    raise BackendUnavailableError(f"backend {backend!r} is not available")

"""ONNX Runtime engine: the CPU path everywhere, CUDA when onnxruntime-gpu is installed."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np

from ros2_posenet.engines.base import Engine, check_output_channels
from ros2_posenet.errors import BackendUnavailableError, ModelError, first_line, import_optional
from ros2_posenet.models.registry import ResolvedNetwork


def _import_onnxruntime() -> ModuleType:
    return import_optional(
        "onnxruntime",
        "ONNX Runtime is not installed: pip install onnxruntime (CPU) or onnxruntime-gpu (CUDA), "
        "or use --backend openvino",
    )


def cuda_provider_available() -> bool:
    """True when the installed ONNX Runtime build offers the CUDA execution provider."""
    try:
        return "CUDAExecutionProvider" in _import_onnxruntime().get_available_providers()
    except BackendUnavailableError:
        return False


class OnnxRuntimeEngine(Engine):
    """Runs the ONNX with ONNX Runtime; ``device`` "cpu" or "cuda" picks the execution provider."""

    def __init__(self, network: ResolvedNetwork, device: str = "cpu", threads: int = 0) -> None:
        ort = _import_onnxruntime()
        if device == "cuda" and not cuda_provider_available():
            raise BackendUnavailableError(
                "ONNX Runtime has no CUDA provider here: pip install onnxruntime-gpu (matching your CUDA)"
            )
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.network = network
        self.name = f"onnxruntime-{device}"
        path = Path(network.model_path)
        try:
            self._session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as error:  # ORT raises its own types for unreadable/corrupt/invalid models
            raise ModelError(f"cannot load model {path}: {first_line(error)}") from None
        spec = network.spec
        inputs = [i.name for i in self._session.get_inputs()]
        outputs = [o.name for o in self._session.get_outputs()]
        if spec.input_name not in inputs or not {spec.cmap_output, spec.paf_output} <= set(outputs):
            raise ModelError(
                f"model {path} has inputs {inputs} and outputs {outputs}; expected input {spec.input_name!r} "
                f"and outputs {spec.cmap_output!r}, {spec.paf_output!r} (the poseNet I/O contract)"
            )
        self._output_names = [spec.cmap_output, spec.paf_output]
        self._checked = False

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cmap, paf = self._session.run(self._output_names, {self.network.spec.input_name: tensor})
        cmap, paf = cmap[0], paf[0]
        if not self._checked:
            check_output_channels(cmap.shape, paf.shape, self.network.topology, str(self.network.model_path))
            self._checked = True
        return cmap, paf

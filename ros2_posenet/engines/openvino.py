"""OpenVINO engine: Intel's runtime for CPUs (x86 boards and NUCs without an NVIDIA GPU).

The ONNX is read by OpenVINO, reshaped to the one input size it will run at and compiled once;
OpenVINO's own model cache (``CACHE_DIR``, under our cache folder) keeps the compiled blob, so a
restart skips the compilation. ``precision`` is OpenVINO's ``INFERENCE_PRECISION_HINT``: fp32, or
bf16 / fp16 where the CPU computes them natively (OpenVINO lists them in its
``OPTIMIZATION_CAPABILITIES``). "auto" is fp32, not OpenVINO's own default (bf16 on CPUs with
AVX-512 BF16 or AMX): bf16 is 2-3x faster but changes who is found (the README's accuracy table;
test/test_openvino.py guards fp32). ``threads`` > 0 caps ``INFERENCE_NUM_THREADS``, so that other
nodes keep a core; 0 uses every core for the one camera, with the latency performance hint.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ros2_posenet.engines.base import DEFAULT_OPTIONS, Engine, EngineOptions, check_output_channels
from ros2_posenet.errors import BackendUnavailableError, ModelError, first_line, import_optional
from ros2_posenet.models.cache import cache_dir
from ros2_posenet.models.registry import ResolvedNetwork

LOG = logging.getLogger("ros2_posenet")

OPENVINO_HINT = "pip install openvino (or the package's [openvino] extra)"
# Our precision names -> OpenVINO's hint values and the capability a device must list for them.
PRECISIONS = {"fp32": ("f32", "FP32"), "bf16": ("bf16", "BF16"), "fp16": ("f16", "FP16")}
DEVICE = "CPU"


def _import_openvino() -> ModuleType:
    return import_optional("openvino", f"OpenVINO is not installed: {OPENVINO_HINT}")


def openvino_status() -> tuple[bool, str]:
    """(True, description) when OpenVINO is installed and sees a CPU; else (False, why not)."""
    try:
        ov = _import_openvino()
        core = ov.Core()
    except BackendUnavailableError as error:
        return False, str(error)
    if DEVICE not in core.available_devices:
        return False, f"OpenVINO {ov.__version__} sees no CPU device"
    return True, f"OpenVINO {ov.get_version().split('-')[0]} on {core.get_property(DEVICE, 'FULL_DEVICE_NAME')}"


def _precision_hint(core: Any, precision: str) -> str:
    """OpenVINO's hint for ``precision``; BackendUnavailableError when the CPU lacks it."""
    precision = "fp32" if precision == "auto" else precision  # the precision that keeps the people right
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be auto, {', '.join(PRECISIONS)} for openvino, got {precision!r}")
    hint, capability = PRECISIONS[precision]
    capabilities = core.get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")
    if capability not in capabilities:
        raise BackendUnavailableError(
            f"this CPU has no native {precision} for OpenVINO (it offers {', '.join(capabilities)}); use fp32 or auto"
        )
    return hint


class OpenVinoEngine(Engine):
    """Runs the ONNX with OpenVINO on the CPU, compiled for one input size."""

    def __init__(
        self, network: ResolvedNetwork, input_size: tuple[int, int], options: EngineOptions = DEFAULT_OPTIONS
    ) -> None:
        ov = _import_openvino()
        core = ov.Core()
        hint = _precision_hint(core, options.precision)
        self.network = network
        spec = network.spec
        path = Path(network.model_path)
        try:
            model = core.read_model(str(path))
        except Exception as error:  # OpenVINO raises RuntimeError subclasses of its own for bad files
            raise ModelError(f"cannot load model {path}: {first_line(error)}") from None
        inputs = [name for port in model.inputs for name in port.get_names()]
        outputs = [name for port in model.outputs for name in port.get_names()]
        if spec.input_name not in inputs or not {spec.cmap_output, spec.paf_output} <= set(outputs):
            raise ModelError(
                f"model {path} has inputs {inputs} and outputs {outputs}; expected input {spec.input_name!r} "
                f"and outputs {spec.cmap_output!r}, {spec.paf_output!r} (the poseNet I/O contract)"
            )
        width, height = input_size
        try:
            model.reshape({spec.input_name: [1, 3, height, width]})
        except Exception as error:
            raise ModelError(f"model {path} does not take a {width}x{height} input: {first_line(error)}") from None
        config: dict[str, Any] = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": hint,
            "CACHE_DIR": str(cache_dir() / "openvino"),
        }
        if options.threads > 0:
            config["INFERENCE_NUM_THREADS"] = options.threads
        compiled = core.compile_model(model, DEVICE, config)
        used = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # an ov.Type: "bf16", "f32"
        self.precision = {value: name for name, (value, _) in PRECISIONS.items()}.get(used, used)
        self.name = f"openvino-{self.precision}"
        self._request = compiled.create_infer_request()
        self._input = compiled.input(spec.input_name)
        self._outputs = (compiled.output(spec.cmap_output), compiled.output(spec.paf_output))
        self._checked = False
        threads = compiled.get_property("INFERENCE_NUM_THREADS")
        LOG.info("openvino: %s at %dx%d, %s, %s threads", path.name, width, height, self.precision, threads)

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        results = self._request.infer({self._input: tensor})
        cmap, paf = (results[port][0] for port in self._outputs)
        if not self._checked:
            check_output_channels(cmap.shape, paf.shape, self.network.topology, str(self.network.model_path))
            self._checked = True
        return cmap, paf

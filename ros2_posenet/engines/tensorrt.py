"""TensorRT engine: ONNX -> engine (FP16 where the GPU is fast at it), cached on disk, run on device buffers.

One API for every supported TensorRT: the tensor-name I/O with ``execute_async_v3``, which TensorRT
has had since 8.5 (JetPack 5: 8.5; JetPack 6: 8.6 and 10.x; desktops: 10.x). Older TensorRT is
refused with a one-line error (the ``tensorrt`` extra asks for 8.5 or newer). Outputs stay in GPU
memory (``infer_device``) for the CUDA decoder; ``infer`` copies them to the host for everything
else. A first build takes minutes on a Jetson: it is logged as it goes, and ``build_progress``
(the command's progress bar) hears every step where TensorRT reports them (10.x).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ros2_posenet.cuda.context import GpuContext, gpu_status, import_pycuda
from ros2_posenet.engines.base import Engine, NetworkGraph, check_output_channels
from ros2_posenet.engines.engine_cache import EngineCache, EngineKey, engine_path
from ros2_posenet.errors import BackendUnavailableError, ModelError, import_optional
from ros2_posenet.models.files import sha256_file
from ros2_posenet.models.registry import ResolvedNetwork

LOG = logging.getLogger("ros2_posenet")

TENSORRT_HINT = (
    "TensorRT's Python bindings are not installed: on Jetson they come with JetPack (python3-libnvinfer), "
    "elsewhere pip install tensorrt; the GPU path also needs pip install pycuda"
)
PRECISIONS = ("fp32", "fp16")
WORKSPACE_BYTES = 1 << 30


def import_tensorrt() -> ModuleType:
    """The ``tensorrt`` module, or a one-line BackendUnavailableError saying what to install."""
    return import_optional("tensorrt", TENSORRT_HINT)


def tensorrt_status() -> tuple[bool, str]:
    """(True, description) when TensorRT, pycuda and a GPU are all there; else (False, what to install)."""
    try:
        trt = import_tensorrt()
    except BackendUnavailableError as error:
        return False, str(error)
    ok, detail = gpu_status()
    return (True, f"TensorRT {trt.__version__} on {detail}") if ok else (False, detail)


BuildProgress = Callable[[str, int, int], None]  # (phase, steps done, steps in the phase)


def _progress_monitor(trt: ModuleType, progress: BuildProgress | None) -> Any:
    """An IProgressMonitor that logs build phases every tenth of their steps and tells ``progress``
    each step (TensorRT 10+); None where the API lacks it."""
    if not hasattr(trt, "IProgressMonitor"):
        return None

    class BuildProgress(trt.IProgressMonitor):  # type: ignore[name-defined]  # a class of the runtime module
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self._steps: dict[str, int] = {}

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            self._steps[phase_name] = num_steps
            LOG.info("TensorRT build: %s (%d steps)", phase_name, num_steps)
            if progress is not None:
                progress(phase_name, 0, num_steps)

        def step_complete(self, phase_name: str, step: int) -> bool:
            total = self._steps.get(phase_name, 0)
            if total >= 10 and (step + 1) % max(total // 10, 1) == 0:
                LOG.info("TensorRT build: %s %d/%d", phase_name, step + 1, total)
            if progress is not None:
                progress(phase_name, step + 1, total)
            return True  # False would cancel the build

        def phase_finish(self, phase_name: str) -> None:
            self._steps.pop(phase_name, None)

    return BuildProgress()


def _has_fast_fp16(builder, compute_capability: str) -> bool:
    """TensorRT's own answer where it still gives one (deprecated in 10), else the GPU generation's."""
    answer = getattr(builder, "platform_has_fast_fp16", None)
    if answer is not None:
        return bool(answer)
    major, minor = (int(n) for n in compute_capability.split("."))
    return major >= 7 or (major, minor) in ((5, 3), (6, 0), (6, 2))


def build_engine(
    trt: ModuleType,
    model_path: Path,
    input_name: str,
    input_shape: tuple[int, ...],
    precision: str,
    logger: Any,
    compute_capability: str,
    progress: BuildProgress | None = None,
) -> bytes:
    """Parse the ONNX and build a serialised engine for one fixed input shape."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (int8 is not supported yet)")
    builder = trt.Builder(logger)
    explicit_batch = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    # TensorRT 8 needs explicit batch for ONNX; 10 (and TensorRT-RTX) only has explicit batch.
    eight = _version(trt)[0] == 8
    network = builder.create_network(1 << int(explicit_batch) if explicit_batch is not None and eight else 0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(model_path.read_bytes()) or network.num_inputs == 0:
        errors = "; ".join(str(parser.get_error(i)).replace("\n", " ") for i in range(parser.num_errors))
        raise ModelError(f"TensorRT cannot parse {model_path}: {errors or 'no network inputs found'}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if precision == "fp16":
        if _has_fast_fp16(builder, compute_capability) and hasattr(trt.BuilderFlag, "FP16"):
            config.set_flag(trt.BuilderFlag.FP16)
        else:
            LOG.info("no fast FP16 here (GPU or TensorRT build without BuilderFlag.FP16): building in FP32")
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    if input_name not in [tensor.name for tensor in inputs]:
        raise ModelError(f"{model_path} has inputs {[t.name for t in inputs]}, expected {input_name!r}")
    if any(-1 in tuple(tensor.shape) for tensor in inputs):
        profile = builder.create_optimization_profile()
        profile.set_shape(input_name, input_shape, input_shape, input_shape)
        config.add_optimization_profile(profile)
    monitor = _progress_monitor(trt, progress)
    if monitor is not None:
        config.progress_monitor = monitor
    LOG.info(
        "building a %s TensorRT engine for %s at %s: this takes minutes (on a Jetson too), once; it is cached",
        precision,
        model_path.name,
        "x".join(str(n) for n in input_shape),
    )
    start = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelError(f"TensorRT could not build an engine for {model_path} (see the TensorRT log above)")
    LOG.info("TensorRT engine built in %.0f s", time.perf_counter() - start)
    return bytes(serialized)


class TensorRTEngine(Engine):
    """Runs a network's ONNX through TensorRT; the engine file is built once and cached (see engine_cache).

    GPU pipeline use: write the preprocessed image into ``input`` (a ``[1, 3, H, W]`` float32
    GPUArray), call ``infer_device()`` and hand its outputs to the CUDA decoder; all on ``stream``.
    """

    def __init__(
        self,
        network: ResolvedNetwork,
        precision: str = "fp16",
        input_size: tuple[int, int] | None = None,
        engine_dir: Path | None = None,
        device_index: int = 0,
        stream: Any = None,
        build_progress: BuildProgress | None = None,
    ) -> None:
        trt = import_tensorrt()
        if _version(trt) < (8, 5):
            raise BackendUnavailableError(
                f"TensorRT {trt.__version__} is older than 8.5, whose tensor API this engine uses: "
                "JetPack 5 or newer, or pip install 'tensorrt>=8.5'"
            )
        cuda = self.cuda = import_pycuda()
        self.network = network
        self.precision = precision
        self.gpu = GpuContext.get(device_index)
        spec = network.spec
        width, height = input_size or spec.input_size
        input_shape = (1, 3, height, width)
        model_path = Path(network.model_path)
        if not model_path.is_file():
            raise ModelError(f"model file not found: {model_path}")
        key = EngineKey(
            model_sha256=sha256_file(model_path),
            tensorrt_version=trt.__version__,
            gpu_name=self.gpu.name,
            compute_capability=self.gpu.compute_capability,
            precision=precision,
            input_shape=input_shape,
        )
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        loaded: list[Any] = []  # the tensorrt.ICudaEngine, once deserialised

        def accept(data: bytes) -> bool:
            try:
                engine = self._runtime.deserialize_cuda_engine(data)
            except Exception:  # TensorRT raises or returns None for foreign/corrupt plans, by version
                engine = None
            loaded[:] = [] if engine is None else [engine]
            return engine is not None

        with self.gpu:
            cache = EngineCache(engine_path(model_path, key, engine_dir))
            data = cache.load_or_build(
                key,
                lambda: build_engine(
                    trt,
                    model_path,
                    spec.input_name,
                    input_shape,
                    precision,
                    self._logger,
                    self.gpu.compute_capability,
                    build_progress,
                ),
                accept,
            )
            if not loaded and not accept(data):
                raise ModelError(f"TensorRT could not load the engine it built for {model_path}")
            self._engine = engine = loaded[0]
            self._context: Any = engine.create_execution_context()
            context = self._context
            names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
            if -1 in tuple(engine.get_tensor_shape(spec.input_name)):
                context.set_input_shape(spec.input_name, input_shape)
            shapes = {name: tuple(context.get_tensor_shape(name)) for name in names}
            needed = (spec.input_name, spec.cmap_output, spec.paf_output)
            if not set(needed) <= set(shapes):
                raise ModelError(f"{model_path}: engine has tensors {sorted(shapes)}, needs {list(needed)}")
            if any(np.dtype(trt.nptype(engine.get_tensor_dtype(name))) != np.float32 for name in names):
                raise ModelError(f"{model_path}: input and outputs must be float32 in the engine")
            from pycuda.gpuarray import GPUArray

            check_output_channels(
                shapes[spec.cmap_output][-3:], shapes[spec.paf_output][-3:], network.topology, str(model_path)
            )
            self.stream = stream or cuda.Stream()
            self.buffers = {name: GPUArray(shape, np.float32) for name, shape in shapes.items()}
            for name, buffer in self.buffers.items():
                context.set_tensor_address(name, int(buffer.gpudata))
            self._host = {
                name: cuda.pagelocked_empty(shapes[name], np.float32) for name in (spec.cmap_output, spec.paf_output)
            }
        self.input = self.buffers[spec.input_name]
        self.network_graph: NetworkGraph | None = None  # execute_async_v3 runs uncaptured: no graph to share
        self.name = f"tensorrt-{precision}"
        self._checked = False

    def _require_open(self) -> None:
        if self._context is None:
            raise ModelError(f"the TensorRT engine for {self.network.model_path} is closed")

    def infer_device(self) -> tuple[Any, Any]:
        """Run on ``self.input``; returns the (cmap, paf) GPUArrays ``[1, C, h, w]``, ordered on ``stream``."""
        self._require_open()
        with self.gpu:
            if not self._context.execute_async_v3(self.stream.handle):
                raise ModelError("TensorRT failed to run the engine")
        spec = self.network.spec
        return self.buffers[spec.cmap_output], self.buffers[spec.paf_output]

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._require_open()
        spec = self.network.spec
        tensor = np.ascontiguousarray(tensor, dtype=np.float32)
        if tensor.shape != self.input.shape:
            raise ValueError(f"input must be {self.input.shape}, got {tensor.shape}")
        with self.gpu:
            self.cuda.memcpy_htod_async(self.input.gpudata, tensor, self.stream)
            self.infer_device()
            for name in (spec.cmap_output, spec.paf_output):
                self.cuda.memcpy_dtoh_async(self._host[name], self.buffers[name].gpudata, self.stream)
            self.stream.synchronize()
        cmap, paf = self._host[spec.cmap_output][0].copy(), self._host[spec.paf_output][0].copy()
        if not self._checked:
            check_output_channels(cmap.shape, paf.shape, self.network.topology, str(self.network.model_path))
            self._checked = True
        return cmap, paf

    def close(self) -> None:
        """Free the device buffers, the execution context and the engine; the engine refuses work after."""
        if self._context is None:
            return
        with self.gpu:
            self.stream.synchronize()
            for buffer in self.buffers.values():
                buffer.gpudata.free()
        self.buffers.clear()
        self._host.clear()
        self._context = self._engine = None


def _version(trt: ModuleType) -> tuple[int, int]:
    major, minor = (int(part) for part in trt.__version__.split(".")[:2])
    return major, minor

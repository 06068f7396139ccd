"""STAND-IN for TensorRT's Python API (``import tensorrt``), for machines where TensorRT cannot run.

Not TensorRT: the "engine" it builds is the ONNX itself plus what the build fixed (input shape,
precision), and running it means ONNX Runtime on the bytes at the bound device addresses of the
pycuda stand-in (pycuda_standin.py), so outputs can be checked against the CPU engine. It implements
only what ros2_posenet calls, with the signatures of TensorRT's Python API reference
(docs.nvidia.com/deeplearning/tensorrt/api/python_api), for two API generations:

- ``"10"`` (TensorRT 10.x, JetPack 6.1+): tensor-name I/O with ``execute_async_v3``,
  ``IProgressMonitor``, no ``platform_has_fast_fp16`` (deprecated), explicit batch implied;
- ``"8"`` (TensorRT 8.5/8.6, JetPack 5 and 6.0): the same tensor-name API (new in 8.5),
  ``platform_has_fast_fp16``, no ``IProgressMonitor``, and the ONNX parser refuses a network
  created without the EXPLICIT_BATCH flag, as TensorRT 8 does.

Anything else (a missing argument, an unknown attribute, a call the version lacks) raises, so a wrong
call in our code fails the test that uses it.
"""

from __future__ import annotations

import json
import sys
from enum import Enum, IntEnum
from typing import Any

import numpy as np
import onnx
import onnxruntime

from support.pycuda_standin import DeviceMemory, StandInModule

PLAN_MAGIC = b"TRT-STAND-IN\x00"
VERSIONS = {"10": "10.3.0", "8": "8.6.2"}


class Severity(Enum):
    INTERNAL_ERROR = 0
    ERROR = 1
    WARNING = 2
    INFO = 3
    VERBOSE = 4


class DataType(Enum):
    FLOAT = 0
    HALF = 1


class BuilderFlag(Enum):
    FP16 = 0


class MemoryPoolType(Enum):
    WORKSPACE = 0


class NetworkDefinitionCreationFlag(IntEnum):
    EXPLICIT_BATCH = 0


def install(monkeypatch, generation: str, memory: DeviceMemory, version: str | None = None) -> StandInModule:
    """Put a ``tensorrt`` stand-in of API ``generation`` ("10" or "8") in ``sys.modules``; it counts builds."""
    trt = StandInModule("tensorrt")
    trt.__version__ = version or VERSIONS[generation]
    trt.builds = 0  # type: ignore[attr-defined]
    modern = generation == "10"

    class Logger:
        WARNING, ERROR, INFO, VERBOSE = Severity.WARNING, Severity.ERROR, Severity.INFO, Severity.VERBOSE

        def __init__(self, min_severity: Severity = Severity.WARNING) -> None:
            self.min_severity = min_severity
            self.messages: list[str] = []

        def log(self, severity: Severity, message: str) -> None:
            self.messages.append(message)

    class Tensor:
        __slots__ = ("name", "shape")

        def __init__(self, name: str, shape: tuple[int, ...]) -> None:
            self.name, self.shape = name, shape

    class Network:
        __slots__ = ("explicit_batch", "model", "inputs", "outputs")

        def __init__(self, explicit_batch: bool) -> None:
            self.explicit_batch = explicit_batch
            self.model: bytes | None = None
            self.inputs: list[Tensor] = []
            self.outputs: list[Tensor] = []

        @property
        def num_inputs(self) -> int:
            return len(self.inputs)

        def get_input(self, index: int) -> Tensor:
            return self.inputs[index]

    class OnnxParser:
        def __init__(self, network: Network, logger: Logger) -> None:
            self.network, self.errors = network, []

        def parse(self, model: bytes, path: str | None = None) -> bool:
            if not self.network.explicit_batch:
                self.errors = ["Network must have explicit batch (create it with EXPLICIT_BATCH)"]
                return False
            try:
                proto = onnx.load_from_string(bytes(model))
                onnx.checker.check_model(proto)
            except Exception as error:  # what TensorRT reports as a parser error
                self.errors = [f"ModelImporter.cpp: failed to parse ONNX: {type(error).__name__}"]
                return False

            def dims(value: Any) -> tuple[int, ...]:
                return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim)

            self.network.model = bytes(model)
            self.network.inputs = [Tensor(i.name, dims(i)) for i in proto.graph.input]
            self.network.outputs = [Tensor(o.name, dims(o)) for o in proto.graph.output]
            return True

        @property
        def num_errors(self) -> int:
            return len(self.errors)

        def get_error(self, index: int) -> str:
            return self.errors[index]

    class OptimizationProfile:
        def __init__(self) -> None:
            self.shapes: dict[str, tuple[tuple[int, ...], ...]] = {}

        def set_shape(self, input: str, min: Any, opt: Any, max: Any) -> None:  # noqa: A002 (TensorRT's names)
            self.shapes[input] = (tuple(min), tuple(opt), tuple(max))

    class BuilderConfig:
        __slots__ = ("flags", "pools", "profiles", *(("progress_monitor",) if modern else ()))

        def __init__(self) -> None:
            self.flags: set[BuilderFlag] = set()
            self.pools: dict[MemoryPoolType, int] = {}
            self.profiles: list[OptimizationProfile] = []
            if modern:
                self.progress_monitor = None

        def set_memory_pool_limit(self, pool: MemoryPoolType, pool_size: int) -> None:
            self.pools[MemoryPoolType(pool)] = int(pool_size)

        def set_flag(self, flag: BuilderFlag) -> None:
            self.flags.add(BuilderFlag(flag))

        def add_optimization_profile(self, profile: OptimizationProfile) -> int:
            self.profiles.append(profile)
            return len(self.profiles) - 1

    class Builder:
        def __init__(self, logger: Logger) -> None:
            self.logger = logger

        def create_network(self, flags: int = 0) -> Network:
            explicit = bool(flags & (1 << NetworkDefinitionCreationFlag.EXPLICIT_BATCH.value))
            return Network(explicit_batch=modern or explicit)

        def create_builder_config(self) -> BuilderConfig:
            return BuilderConfig()

        def create_optimization_profile(self) -> OptimizationProfile:
            return OptimizationProfile()

        def build_serialized_network(self, network: Network, config: BuilderConfig) -> bytes | None:
            if MemoryPoolType.WORKSPACE not in config.pools:
                raise RuntimeError("stand-in TensorRT: no workspace limit set")
            shapes = {}
            for tensor in network.inputs:
                if -1 in tensor.shape:
                    profile = next((p for p in config.profiles if tensor.name in p.shapes), None)
                    if profile is None:
                        self.logger.log(Severity.ERROR, f"{tensor.name}: dynamic input without a profile")
                        return None
                    shapes[tensor.name] = profile.shapes[tensor.name][1]
                else:
                    shapes[tensor.name] = tensor.shape
            monitor = getattr(config, "progress_monitor", None)
            if monitor is not None:
                monitor.phase_start("Building engine", None, 20)
                for step in range(20):
                    if not monitor.step_complete("Building engine", step):
                        return None
                monitor.phase_finish("Building engine")
            trt.builds += 1
            header = json.dumps(
                {"fp16": BuilderFlag.FP16 in config.flags, "inputs": shapes, "version": trt.__version__}
            )
            return PLAN_MAGIC + len(header).to_bytes(4, "little") + header.encode() + (network.model or b"")

        if not modern:

            @property
            def platform_has_fast_fp16(self) -> bool:
                return True

    class ExecutionContext:
        def __init__(self, engine: Engine) -> None:
            self.engine = engine
            self.shapes = dict(engine.shapes)
            self.addresses: dict[str, int] = {}

        def set_input_shape(self, name: str, shape: Any) -> bool:
            if name not in self.engine.input_names:
                raise RuntimeError(f"stand-in TensorRT: {name!r} is not an input")
            self.shapes[name] = tuple(shape)
            return True

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            if name in self.engine.input_names:
                return self.shapes[name]
            return self.engine.output_shape(name, self.shapes)

        def set_tensor_address(self, name: str, memory_address: int) -> bool:
            if name not in self.engine.names:
                raise RuntimeError(f"stand-in TensorRT: no tensor {name!r}")
            self.addresses[name] = int(memory_address)
            return True

        def execute_async_v3(self, stream_handle: int) -> bool:
            if set(self.addresses) != set(self.engine.names):
                raise RuntimeError(f"stand-in TensorRT: unbound tensors {set(self.engine.names) - set(self.addresses)}")
            feeds = {}
            for name in self.engine.input_names:
                shape = self.shapes[name]
                size = int(np.prod(shape)) * 4
                feeds[name] = memory.view(self.addresses[name], size).view(np.float32).reshape(shape).copy()
            outputs = self.engine.session.run(self.engine.output_names, feeds)
            for name, value in zip(self.engine.output_names, outputs, strict=True):
                if self.engine.fp16:
                    value = value.astype(np.float16).astype(np.float32)
                data = np.ascontiguousarray(value, np.float32).view(np.uint8).reshape(-1)
                memory.view(self.addresses[name], data.nbytes)[:] = data
            return True

    class Engine:
        def __init__(self, header: dict, model: bytes) -> None:
            self.fp16 = header["fp16"]
            self.session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
            self.input_names = [i.name for i in self.session.get_inputs()]
            self.output_names = [o.name for o in self.session.get_outputs()]
            self.names = self.input_names + self.output_names
            self.shapes = {name: tuple(header["inputs"][name]) for name in self.input_names}

        @property
        def num_io_tensors(self) -> int:
            return len(self.names)

        def get_tensor_name(self, index: int) -> str:
            return self.names[index]

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            return self.shapes[name] if name in self.shapes else self.output_shape(name, self.shapes)

        def get_tensor_dtype(self, name: str) -> DataType:
            if name not in self.names:
                raise RuntimeError(f"stand-in TensorRT: no tensor {name!r}")
            return DataType.FLOAT

        def output_shape(self, name: str, inputs: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
            feeds = {n: np.zeros(shape, np.float32) for n, shape in inputs.items()}
            return tuple(self.session.run([name], feeds)[0].shape)

        def create_execution_context(self) -> ExecutionContext:
            return ExecutionContext(self)

    class Runtime:
        def __init__(self, logger: Logger) -> None:
            self.logger = logger

        def deserialize_cuda_engine(self, serialized_engine: bytes) -> Engine | None:
            data = bytes(serialized_engine)
            if not data.startswith(PLAN_MAGIC):
                self.logger.log(Severity.ERROR, "Serialization assertion failed: magic tag does not match")
                return None
            length = int.from_bytes(data[len(PLAN_MAGIC) : len(PLAN_MAGIC) + 4], "little")
            start = len(PLAN_MAGIC) + 4
            header = json.loads(data[start : start + length])
            if header["version"] != trt.__version__:
                self.logger.log(Severity.ERROR, f"engine plan built by TensorRT {header['version']}")
                return None
            return Engine(header, data[start + length :])

    def nptype(trt_type: DataType) -> type:
        return {DataType.FLOAT: np.float32, DataType.HALF: np.float16}[DataType(trt_type)]

    trt.Logger, trt.Builder, trt.Runtime, trt.OnnxParser = Logger, Builder, Runtime, OnnxParser
    trt.DataType, trt.BuilderFlag, trt.MemoryPoolType = DataType, BuilderFlag, MemoryPoolType
    trt.NetworkDefinitionCreationFlag, trt.nptype = NetworkDefinitionCreationFlag, nptype
    if modern:

        class IProgressMonitor:
            def __init__(self) -> None:
                self.initialised = True

        trt.IProgressMonitor = IProgressMonitor
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    return trt

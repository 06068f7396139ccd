"""The interface every inference backend implements, whatever runtime is behind it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeGuard, runtime_checkable

import numpy as np

from ros2_posenet.errors import ModelError
from ros2_posenet.topology import Topology

PRECISIONS = ("auto", "fp32", "fp16", "bf16")  # what an engine may be asked to compute in
MAX_THREADS = 1024  # inference threads one may ask a CPU runtime for (0: every core)


@dataclass(frozen=True)
class EngineOptions:
    """How to run a network, whatever the backend: ``precision`` ("auto": the fastest that keeps the
    people right: fp16 on the NVIDIA GPU engines, fp32 on OpenVINO and ONNX Runtime) and
    ``threads`` for CPU runtimes (0: every core, for one camera; N: leave the rest to other nodes)."""

    precision: str = "auto"
    threads: int = 0
    # (phase, steps done, steps) while an engine is built (TensorRT): the command's progress bar
    build_progress: Callable[[str, int, int], None] | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not 0 <= self.threads <= MAX_THREADS:
            raise ValueError(f"threads must be 0 (every core) to {MAX_THREADS}, got {self.threads!r}")

    def gpu_precision(self) -> str:
        """fp16 or fp32 for the GPU engines ("auto": fp16); a one-line ValueError for bf16."""
        if self.precision not in ("auto", "fp16", "fp32"):
            raise ValueError(f"the GPU engines run fp16 or fp32, not {self.precision}")
        return "fp16" if self.precision == "auto" else self.precision


DEFAULT_OPTIONS = EngineOptions()


class Engine(ABC):
    """Runs one network: NCHW float32 input in, CMAP ``[K, h, w]`` and PAF ``[2L, h, w]`` out.

    Outputs are host float32 arrays as the network has them (``Topology.paf_channels`` says which PAF
    channels are each link's x and y);
    GPU engines may offer a device-side path in addition, for the GPU decoder.
    """

    #: Name shown to users and in logs, e.g. "onnxruntime-cpu".
    name: str = "engine"

    @abstractmethod
    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on ``tensor`` ``[1, 3, H, W]`` float32; return (cmap, paf)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing to free
        """Free runtime resources early (also done when the engine is garbage collected)."""


class NetworkGraph(NamedTuple):
    """The network captured as a CUDA graph (a ``cudaGraph_t`` handle): running it, on its own or as
    a step of a bigger graph, refills ``outputs`` (the device cmap and paf) from the engine's input."""

    graph: int
    outputs: tuple[Any, Any]


@runtime_checkable
class DeviceEngine(Protocol):
    """An engine whose input and outputs stay on the GPU, for the GPU pipeline.

    ``input`` is its ``[1, 3, H, W]`` float32 device buffer (anything with
    ``__cuda_array_interface__``), ``stream`` the pycuda stream it runs on, and ``infer_device``
    runs on ``input`` and returns device (cmap, paf) maps ordered on ``stream``. ``network_graph``
    (None when there is none) lets the pipeline run preprocessing and the network as one graph.
    """

    name: str
    input: Any
    stream: Any
    network_graph: NetworkGraph | None

    def infer_device(self) -> tuple[Any, Any]: ...

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def close(self) -> None: ...


def has_device_path(engine: object) -> TypeGuard[DeviceEngine]:
    """True for engines whose input and outputs can stay on the GPU (``input``, ``infer_device``, ``stream``)."""
    return isinstance(engine, DeviceEngine)


def check_output_channels(cmap: tuple[int, ...], paf: tuple[int, ...], topology: Topology, model: str) -> None:
    """Output shapes (``[K, h, w]``, ``[2L, h, w]``) that do not match the topology: a user error worth one
    clear line, at load rather than on every frame."""
    cmap, paf = tuple(cmap), tuple(paf)
    if len(cmap) != 3 or len(paf) != 3 or cmap[1:] != paf[1:]:
        raise ModelError(f"{model}: cmap {cmap} and paf {paf} are not [K,h,w] and [2L,h,w] maps")
    if cmap[0] != topology.num_keypoints or paf[0] != 2 * topology.num_links:
        raise ModelError(
            f"{model}: outputs have {cmap[0]} keypoint and {paf[0]} PAF channels, topology "
            f"{topology.name!r} needs {topology.num_keypoints} and {2 * topology.num_links}"
        )

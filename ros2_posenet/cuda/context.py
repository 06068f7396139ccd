"""pycuda on the GPU's primary context, the one PyTorch and TensorRT use too.

With one shared context, a torch tensor's device pointer can be handed straight to a pycuda
kernel or a TensorRT binding: no copies between frameworks. pycuda's own ``autoinit`` would
create a second context whose memory the others cannot see, so it is never used here.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ros2_posenet.errors import BackendUnavailableError, first_line, import_optional

PYCUDA_HINT = "pip install pycuda (builds against the CUDA toolkit; needs nvcc on PATH at run time)"
KERNELS_DIR = Path(__file__).parent / "kernels"
CUDA_BIN = Path("/usr/local/cuda/bin")  # where JetPack and NVIDIA's installers put nvcc, often not on PATH


def import_pycuda() -> ModuleType:
    """``pycuda.driver``, or a one-line BackendUnavailableError saying what to install."""
    return import_optional("pycuda.driver", f"pycuda is not installed: {PYCUDA_HINT}")


def gpu_status() -> tuple[bool, str]:
    """(True, GPU name) when pycuda can reach a CUDA GPU, else (False, what is missing)."""
    try:
        cuda = import_pycuda()
        cuda.init()
        if cuda.Device.count() == 0:
            return False, "no CUDA GPU is visible to the driver"
        return True, cuda.Device(0).name()
    except BackendUnavailableError as error:
        return False, str(error)
    except Exception as error:  # pycuda.driver.Error and friends: no driver, no device
        return False, f"CUDA driver not usable: {first_line(error)}"


class GpuContext:
    """The primary context of one GPU; ``with ctx:`` makes it current in the calling thread."""

    _lock = threading.Lock()
    _instances: dict[int, GpuContext] = {}

    def __init__(self, device_index: int) -> None:
        cuda = import_pycuda()
        cuda.init()
        if device_index >= cuda.Device.count():
            raise BackendUnavailableError(f"no CUDA GPU number {device_index} (found {cuda.Device.count()})")
        self.cuda = cuda
        self.device = cuda.Device(device_index)
        self.context = self.device.retain_primary_context()
        self.name = self.device.name()
        major, minor = self.device.compute_capability()
        self.compute_capability = f"{major}.{minor}"

    @classmethod
    def get(cls, device_index: int = 0) -> GpuContext:
        """The shared instance for ``device_index`` (created once per process)."""
        with cls._lock:
            if device_index not in cls._instances:
                cls._instances[device_index] = cls(device_index)
            return cls._instances[device_index]

    def __enter__(self) -> GpuContext:
        self.context.push()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cuda.Context.pop()


def compile_kernels(name: str) -> Any:
    """A pycuda SourceModule of ``kernels/<name>.cu`` (compiled once by nvcc, then cached on disk by pycuda).

    Built with ``-fmad=false`` so that the kernels round like the NumPy reference. Call with the
    context current. /usr/local/cuda/bin is added to PATH when nvcc is not on it.
    """
    if shutil.which("nvcc") is None and (CUDA_BIN / "nvcc").is_file():
        os.environ["PATH"] = f"{CUDA_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    if shutil.which("nvcc") is None:
        raise BackendUnavailableError("nvcc not found: install the CUDA toolkit or put its bin folder on PATH")
    from pycuda.compiler import SourceModule

    return SourceModule((KERNELS_DIR / f"{name}.cu").read_text(), options=["-fmad=false"])


@dataclass(frozen=True)
class DeviceArray:
    """A C-contiguous array in GPU memory, seen through ``__cuda_array_interface__``."""

    pointer: int
    shape: tuple[int, ...]
    dtype: np.dtype

    @classmethod
    def of(cls, array: Any) -> DeviceArray | None:
        """The view of a torch CUDA tensor, CuPy array or pycuda GPUArray; None for host arrays."""
        interface = getattr(array, "__cuda_array_interface__", None)
        if interface is None:
            return None
        shape = tuple(int(n) for n in interface["shape"])
        dtype = np.dtype(interface["typestr"])
        strides = interface.get("strides")
        if strides is not None and tuple(strides) != _c_strides(shape, dtype.itemsize):
            raise ValueError(f"GPU array of shape {shape} must be C-contiguous, got strides {tuple(strides)}")
        return cls(int(interface["data"][0]), shape, dtype)

    @classmethod
    def require(cls, array: Any, what: str) -> DeviceArray:
        """The view of ``array``; ValueError naming ``what`` when it is not a GPU array."""
        view = cls.of(array)
        if view is None:
            raise ValueError(f"{what} must be a GPU array (torch CUDA tensor, CuPy array, pycuda GPUArray)")
        return view


class LastView:
    """``DeviceArray.of`` for callers handed the same device array every frame (an engine's fixed
    input and output tensors): the view of the last one is kept while that object comes again, since a
    torch tensor's ``__cuda_array_interface__`` costs ~10 us. Holding the array keeps its id its own;
    an array resized in place under the same object is not noticed."""

    def __init__(self) -> None:
        self._array: Any = None
        self._view: DeviceArray | None = None

    def of(self, array: Any) -> DeviceArray | None:
        if array is not self._array:
            view = DeviceArray.of(array)
            self._array, self._view = (array, view) if view is not None else (None, None)
            return view
        return self._view


def _c_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    strides, step = [], itemsize
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))

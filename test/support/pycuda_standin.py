"""STAND-IN for pycuda (``pycuda.driver`` and ``pycuda.gpuarray``), for machines without a GPU.

Not pycuda: "device memory" is host memory behind integer addresses, so that the TensorRT engine
and the TensorRT stand-in (tensorrt_standin.py) pass real pointers around. It implements only the
subset of pycuda 2024-2026 that ros2_posenet's TensorRT path calls, with pycuda's signatures
(documentation.tician.de/pycuda: driver.init, Device.count/name/compute_capability/
retain_primary_context, Context.pop, Stream, mem_alloc, pagelocked_empty, memcpy_htod_async,
memcpy_dtoh_async, DeviceAllocation.free, gpuarray.GPUArray); any other attribute raises
AttributeError naming the stand-in, so a call our code should not make fails the test.
"""

from __future__ import annotations

import itertools
import sys
import types
from typing import Any

import numpy as np

_addresses = itertools.count(0x7F0000000000, 0x10000)


class StandInModule(types.ModuleType):
    """A module that refuses every name it does not define."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{self.__name__} (stand-in) has no {name!r}: not in the subset ros2_posenet may call")


class DeviceMemory:
    """Every live allocation: address -> bytes. ``freed`` counts frees; ``live`` says what is left."""

    def __init__(self) -> None:
        self.blocks: dict[int, np.ndarray] = {}
        self.freed = 0

    def view(self, address: int, nbytes: int) -> np.ndarray:
        """The bytes at ``address`` (start of an allocation or inside one)."""
        for start, block in self.blocks.items():
            if start <= address and address + nbytes <= start + block.nbytes:
                return block[address - start : address - start + nbytes]
        raise ValueError(f"stand-in pycuda: {nbytes} bytes at {address:#x} are not allocated (freed or never)")

    @property
    def live(self) -> int:
        return len(self.blocks)


class DeviceAllocation:
    """pycuda.driver.DeviceAllocation: ``int(allocation)`` is the device address; ``free()`` releases it."""

    def __init__(self, memory: DeviceMemory, nbytes: int) -> None:
        self._memory, self._address = memory, next(_addresses)
        memory.blocks[self._address] = np.zeros(max(nbytes, 1), np.uint8)

    def __int__(self) -> int:
        return self._address

    __index__ = __int__

    def free(self) -> None:
        if self._memory.blocks.pop(self._address, None) is not None:
            self._memory.freed += 1


def _address(target: Any) -> int:
    return int(target.gpudata) if hasattr(target, "gpudata") else int(target)


def install(monkeypatch, compute_capability: tuple[int, int] = (8, 7), name: str = "Orin (stand-in)") -> DeviceMemory:
    """Put ``pycuda``, ``pycuda.driver`` and ``pycuda.gpuarray`` stand-ins in ``sys.modules``; their memory."""
    memory = DeviceMemory()
    driver = StandInModule("pycuda.driver")
    gpuarray = StandInModule("pycuda.gpuarray")
    package = StandInModule("pycuda")
    state = {"initialised": False, "context_depth": 0}

    def require_init() -> None:
        if not state["initialised"]:
            raise RuntimeError("stand-in pycuda: cuInit has not been called (driver.init())")

    class Context:
        def push(self) -> None:
            state["context_depth"] += 1

        @staticmethod
        def pop() -> None:
            if state["context_depth"] == 0:
                raise RuntimeError("stand-in pycuda: Context.pop() with no context current")
            state["context_depth"] -= 1

    def require_context() -> None:
        require_init()
        if state["context_depth"] == 0:
            raise RuntimeError("stand-in pycuda: no CUDA context is current (use GpuContext)")

    class Device:
        def __init__(self, index: int) -> None:
            require_init()
            if index != 0:
                raise RuntimeError(f"stand-in pycuda: no device {index}")

        @staticmethod
        def count() -> int:
            require_init()
            return 1

        def name(self) -> str:
            return name

        def compute_capability(self) -> tuple[int, int]:
            return compute_capability

        def retain_primary_context(self) -> Context:
            return Context()

    class Stream:
        def __init__(self, flags: int = 0) -> None:
            require_context()
            self.handle = next(_addresses)

        def synchronize(self) -> None:
            """Work is done when it is issued here."""

    def init(flags: int = 0) -> None:
        state["initialised"] = True

    def mem_alloc(nbytes: int) -> DeviceAllocation:
        require_context()
        return DeviceAllocation(memory, int(nbytes))

    def pagelocked_empty(shape: Any, dtype: Any) -> np.ndarray:
        require_context()
        return np.empty(shape, dtype)

    def memcpy_htod_async(dest: Any, src: np.ndarray, stream: Stream | None = None) -> None:
        require_context()
        data = np.ascontiguousarray(src).view(np.uint8).reshape(-1)
        memory.view(_address(dest), data.nbytes)[:] = data

    def memcpy_dtoh_async(dest: np.ndarray, src: Any, stream: Stream | None = None) -> None:
        require_context()
        if not dest.flags.c_contiguous:
            raise ValueError("stand-in pycuda: memcpy_dtoh needs a contiguous host array")
        dest.view(np.uint8).reshape(-1)[:] = memory.view(_address(src), dest.nbytes)

    class GPUArray:
        def __init__(self, shape: Any, dtype: Any) -> None:
            self.shape = tuple(int(n) for n in (shape if isinstance(shape, tuple | list) else (shape,)))
            self.dtype = np.dtype(dtype)
            self.nbytes = int(np.prod(self.shape)) * self.dtype.itemsize
            self.gpudata = mem_alloc(self.nbytes)

        @property
        def __cuda_array_interface__(self) -> dict:
            return {"shape": self.shape, "typestr": self.dtype.str, "data": (int(self.gpudata), False), "version": 3}

        def get(self) -> np.ndarray:
            host = np.empty(self.shape, self.dtype)
            memcpy_dtoh_async(host, self.gpudata)
            return host

        def set(self, array: np.ndarray) -> None:
            memcpy_htod_async(self.gpudata, np.asarray(array, self.dtype))

    for function in (init, mem_alloc, pagelocked_empty, memcpy_htod_async, memcpy_dtoh_async):
        setattr(driver, function.__name__, function)
    driver.Device, driver.Context, driver.Stream, driver.DeviceAllocation = Device, Context, Stream, DeviceAllocation
    gpuarray.GPUArray = GPUArray
    package.driver, package.gpuarray, package.VERSION_TEXT = driver, gpuarray, "stand-in"
    for module in (package, driver, gpuarray):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    memory.context_depth = lambda: state["context_depth"]  # type: ignore[attr-defined]
    return memory

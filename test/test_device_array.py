"""DeviceArray and LastView without a GPU: objects that publish ``__cuda_array_interface__`` (version 3
of Numba's CUDA Array Interface: shape, typestr, data = (pointer, read-only), strides None for
C order) stand in for torch CUDA tensors, which publish the same dictionary."""

from __future__ import annotations

import numpy as np
import pytest

from ros2_posenet.cuda.context import DeviceArray, LastView


class InterfaceArray:
    """A device array as the interface describes one; counts how often its interface is read."""

    def __init__(self, pointer: int, shape: tuple[int, ...], strides: tuple[int, ...] | None = None) -> None:
        self.pointer, self.shape, self.strides, self.reads = pointer, shape, strides, 0

    @property
    def __cuda_array_interface__(self) -> dict:
        self.reads += 1
        return {
            "shape": self.shape,
            "typestr": "<f4",
            "data": (self.pointer, False),
            "strides": self.strides,
            "version": 3,
        }


def test_device_array_reads_pointer_shape_and_type_and_refuses_strided_arrays() -> None:
    view = DeviceArray.of(InterfaceArray(0x7000, (1, 3, 4, 5)))
    assert view == DeviceArray(0x7000, (1, 3, 4, 5), np.dtype(np.float32))
    assert DeviceArray.of(InterfaceArray(0x7000, (2, 3), strides=(12, 4))) is not None  # C order spelled out
    with pytest.raises(ValueError, match="C-contiguous"):
        DeviceArray.of(InterfaceArray(0x7000, (2, 3), strides=(4, 8)))
    assert DeviceArray.of(np.zeros(3)) is None


def test_last_view_reads_the_interface_once_per_object() -> None:
    views, first, second = LastView(), InterfaceArray(0x1000, (2, 3)), InterfaceArray(0x2000, (2, 3))
    assert [views.of(first).pointer for _ in range(3)] == [0x1000] * 3
    assert first.reads == 1
    assert views.of(second).pointer == 0x2000 and second.reads == 1  # another object: read again
    assert views.of(first).pointer == 0x1000 and first.reads == 2
    host = np.zeros(3)
    assert (
        views.of(host) is None and views.of(first).pointer == 0x1000 and first.reads == 3
    )  # host arrays: no view kept

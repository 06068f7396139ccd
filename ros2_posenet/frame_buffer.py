"""One reusable host array for the next frame, made where the pipeline reads frames fastest.

A camera's frames are copied once anyway (out of the ROS message, out of OpenCV's capture); when
that copy lands in page-locked memory, the GPU path uploads the frame with one DMA instead of the
driver staging it through page-locked memory of its own first (0.035-0.08 ms of host time a
640x480 frame on the H200).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Allocate = Callable[[tuple[int, int, int]], np.ndarray]
BufferFor = Callable[[int, int], np.ndarray]
"""(height, width) -> the array to write a frame of that size into (``PoseNet.frame_buffer``)."""


def frame_shape(height: int, width: int) -> tuple[int, int, int]:
    if height < 1 or width < 1:
        raise ValueError(f"a frame buffer needs a positive size, got {width}x{height}")
    return height, width, 3


def host_frame(height: int, width: int) -> np.ndarray:
    """A new uint8 ``(height, width, 3)`` array each time: the host path reads frames where they are,
    and keeping one would only keep a large frame's memory after it."""
    return np.empty(frame_shape(height, width), np.uint8)


class FrameBuffer:
    """A uint8 ``(height, width, 3)`` array made by ``allocate``, the same one while frames keep their
    size: fill it, ``process`` it, and fill it again only once ``process`` has returned (the GPU may
    read it until then)."""

    def __init__(self, allocate: Allocate) -> None:
        self._allocate = allocate
        self._array: np.ndarray | None = None

    def get(self, height: int, width: int) -> np.ndarray:
        shape = frame_shape(height, width)
        if self._array is None or self._array.shape != shape:
            self._array = None  # the old one goes before the new one is made
            self._array = self._allocate(shape)
        return self._array

    def release(self) -> None:
        """Drop the array (its memory goes once its last holder lets go of it)."""
        self._array = None

"""A frame buffer that notes the sizes it is asked for (what the node and the command ask the network for)."""

from __future__ import annotations

import numpy as np

from ros2_posenet.frame_buffer import FrameBuffer


class RecordingFrameBuffer(FrameBuffer):
    """``FrameBuffer`` whose ``asked`` lists every (height, width) a caller asked it for."""

    def __init__(self) -> None:
        super().__init__(lambda shape: np.empty(shape, np.uint8))
        self.asked: list[tuple[int, int]] = []

    def __call__(self, height: int, width: int) -> np.ndarray:
        self.asked.append((height, width))
        return self.get(height, width)

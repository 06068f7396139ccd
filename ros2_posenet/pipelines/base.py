"""What every pipeline offers ``PoseNet``: process a frame, its stage timings, its decoder settings."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import Pose
from ros2_posenet.timing import StageTimer


class Pipeline(Protocol):
    """Image in, people in image pixels out.

    ``decode_params`` is read once at the start of each ``process`` call, so a change from another
    thread applies from the next frame and never splits one. ``timings`` always has "total"; the
    other stages it records are the pipeline's own.
    """

    decode_params: DecodeParams
    timings: StageTimer

    def process(self, image: np.ndarray, channel_order: str = "bgr") -> list[Pose]:
        """People in ``image`` (uint8 HxW[xC], see ``preprocess.validate_image``)."""
        ...

    def frame_buffer(self, height: int, width: int) -> np.ndarray:
        """A uint8 (height, width, 3) array to write the next frame into, where this pipeline reads
        frames fastest: on the GPU path page-locked memory, the same array while the size stays
        (``frame_buffer.FrameBuffer``); on the host path a new array."""
        ...

    def close(self) -> None:
        """Release the engine and every buffer (GPU memory included); the pipeline is unusable after."""
        ...

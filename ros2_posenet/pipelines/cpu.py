"""The host path: OpenCV/NumPy preprocessing, any engine's host ``infer``, the CPU decoder."""

from __future__ import annotations

import numpy as np

from ros2_posenet.decode.cpu import decode_cpu
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.engines.base import Engine
from ros2_posenet.errors import ModelError
from ros2_posenet.frame_buffer import host_frame
from ros2_posenet.models.registry import ResolvedNetwork
from ros2_posenet.pose import Pose
from ros2_posenet.preprocess import Preprocessor
from ros2_posenet.timing import StageTimer


class CpuPipeline:
    """Preprocess, infer and decode in turn; ``timings`` has each stage and their total."""

    def __init__(
        self,
        network: ResolvedNetwork,
        engine: Engine,
        input_size: tuple[int, int],
        decode_params: DecodeParams,
        letterbox: bool = False,
    ) -> None:
        self.engine = engine
        self.topology = network.topology
        self.stride = network.spec.stride
        self.preprocess = Preprocessor(input_size, network.spec.normalization, letterbox=letterbox)
        self.decode_params = decode_params
        self.timings = StageTimer()
        self.closed = False

    def close(self) -> None:
        self.engine.close()
        self.closed = True

    def frame_buffer(self, height: int, width: int) -> np.ndarray:
        """A new array each time (``frame_buffer.host_frame``): nothing to gain from keeping one here."""
        return host_frame(height, width)

    def process(self, image: np.ndarray, channel_order: str = "bgr") -> list[Pose]:
        if self.closed:
            raise ModelError(f"this {self.engine.name} pipeline is closed")
        params = self.decode_params
        with self.timings.stage("total"):
            with self.timings.stage("preprocess"):
                tensor, transform = self.preprocess(image, channel_order)
            with self.timings.stage("inference"):
                cmap, paf = self.engine.infer(tensor)
            with self.timings.stage("decode"):
                to_image = transform.map_to_image(self.stride)
                return [pose.map_points(to_image) for pose in decode_cpu(cmap, paf, self.topology, params)]

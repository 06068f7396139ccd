"""The GPU path for one frame: the image goes up once and only the people come back.

upload (page-locked) -> preprocess kernel writing the engine's input -> engine on device
buffers -> CUDA decoder -> people on the host, all ordered on the engine's stream. Works with
any engine that has ``input``, ``infer_device()`` and ``stream`` (TensorRT, torch-cuda).
"""

from __future__ import annotations

import numpy as np

from ros2_posenet.cuda_context import DeviceArray
from ros2_posenet.decode.cuda import CudaDecoder
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.engines.base import has_device_path
from ros2_posenet.gpu_preprocess import GpuPreprocessor
from ros2_posenet.networks import ResolvedNetwork
from ros2_posenet.pose import Pose
from ros2_posenet.timing import StageTimer


class GpuPipeline:
    """Runs preprocessing, ``engine`` and decoding on the GPU; ``process`` returns people in image pixels."""

    def __init__(
        self,
        network: ResolvedNetwork,
        engine: object,
        decode_params: DecodeParams | None = None,
        letterbox: bool = False,
    ) -> None:
        if not has_device_path(engine):
            raise ValueError(f"engine {getattr(engine, 'name', engine)!r} has no device path")
        self.engine = engine
        _, _, height, width = DeviceArray.of(engine.input).shape
        self.input_size = (width, height)
        self.preprocess = GpuPreprocessor(self.input_size, network.spec.normalization, letterbox, stream=engine.stream)
        self.decoder = CudaDecoder(network.topology, decode_params, stream=engine.stream)
        self.timings = StageTimer()

    @property
    def decode_params(self) -> DecodeParams:
        return self.decoder.params

    @decode_params.setter
    def decode_params(self, params: DecodeParams) -> None:
        self.decoder.params = params

    def process(self, image: np.ndarray, channel_order: str = "bgr", sync_stages: bool = False) -> list[Pose]:
        """People in ``image`` (uint8 host array). ``sync_stages`` waits for the GPU after each stage
        so that ``timings`` shows where the time goes; otherwise the stages overlap and only
        "total" is meaningful."""
        stream = self.engine.stream
        with self.timings.stage("total"):
            with self.timings.stage("preprocess"):
                _, transform = self.preprocess(image, channel_order, output=self.engine.input)
                if sync_stages:
                    stream.synchronize()
            with self.timings.stage("inference"):
                cmap, paf = self.engine.infer_device()
                if sync_stages:
                    stream.synchronize()
            with self.timings.stage("decode"):
                map_height, map_width = DeviceArray.of(cmap).shape[-2:]
                stride_x, stride_y = self.input_size[0] / map_width, self.input_size[1] / map_height
                poses = self.decoder.decode(cmap, paf, to_image=transform.map_to_image(stride_x, stride_y))
        return poses

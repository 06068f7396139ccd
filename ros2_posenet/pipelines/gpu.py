"""The GPU path for one frame: the image goes up once and only the people come back.

upload -> preprocess kernel writing the engine's input -> engine on device buffers -> CUDA
decoder -> people on the host, all ordered on the engine's stream. Works with any engine that
has ``input``, ``infer_device()`` and ``stream`` (TensorRT, torch-cuda). When the engine's network
is a CUDA graph (``network_graph``), the preprocess kernel and the network are one graph, launched
once a frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ros2_posenet.cuda.context import DeviceArray
from ros2_posenet.cuda.graph import StreamGraph
from ros2_posenet.cuda.preprocess import GpuPreprocessor
from ros2_posenet.decode.cuda import CudaDecoder
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.engines.base import DeviceEngine, has_device_path
from ros2_posenet.errors import ModelError
from ros2_posenet.models.registry import ResolvedNetwork
from ros2_posenet.pose import Pose
from ros2_posenet.preprocess import InputTransform
from ros2_posenet.timing import StageTimer


class GpuPipeline:
    """Runs preprocessing, ``engine`` and decoding on the GPU; ``process`` returns people in image pixels."""

    def __init__(
        self,
        network: ResolvedNetwork,
        engine: DeviceEngine,
        decode_params: DecodeParams | None = None,
        letterbox: bool = False,
    ) -> None:
        if not has_device_path(engine):
            raise ValueError(f"engine {getattr(engine, 'name', engine)!r} has no device path")
        self.engine = engine
        _, _, height, width = DeviceArray.require(engine.input, f"engine {engine.name!r}'s input").shape
        self.input_size = (width, height)
        self.stride = network.spec.stride
        self.preprocess = GpuPreprocessor(self.input_size, network.spec.normalization, letterbox, stream=engine.stream)
        self.decoder = CudaDecoder(network.topology, stream=engine.stream)
        with self.preprocess.gpu:
            self._front = StreamGraph(engine.stream.handle, enabled=engine.network_graph is not None)
        self.decode_params = decode_params or DecodeParams()
        self.timings = StageTimer()
        self.closed = False

    def close(self) -> None:
        with self.preprocess.gpu:
            self.engine.stream.synchronize()
            self._front.reset()
        self.decoder.close()
        self.preprocess.close()
        self.engine.close()
        self.closed = True

    def frame_buffer(self, height: int, width: int) -> np.ndarray:
        """Page-locked: ``process`` uploads a frame written here with one DMA (``GpuPreprocessor``)."""
        return self.preprocess.frame_buffer(height, width)

    def process(self, image: np.ndarray, channel_order: str = "bgr", sync_stages: bool = False) -> list[Pose]:
        """People in ``image`` (uint8 host array). The GPU runs the stages asynchronously, so only
        "total" is timed; ``sync_stages`` (benchmarks) waits for the GPU after each stage and times
        "preprocess", "inference" and "decode" too, at the cost of the overlap."""
        if self.closed:
            raise ModelError(f"this {self.engine.name} pipeline is closed")
        params = self.decode_params
        with self.timings.stage("total"):
            if sync_stages:
                with self._stage("preprocess", True):
                    _, transform = self.preprocess(image, channel_order, output=self.engine.input)
                with self._stage("inference", True):
                    cmap, paf = self.engine.infer_device()
            else:
                transform, (cmap, paf) = self._preprocess_and_infer(image, channel_order)
            with self._stage("decode", sync_stages):
                return self.decoder.decode(cmap, paf, params, to_image=transform.map_to_image(self.stride))

    def _preprocess_and_infer(self, image: np.ndarray, channel_order: str) -> tuple[InputTransform, tuple[Any, Any]]:
        """Upload, then the preprocess kernel and the network: one graph when the network is one
        (the two launches cost ~0.05 ms of host time a frame, during which the GPU waited)."""
        _, transform, launch_kernel = self.preprocess.stage(image, channel_order, output=self.engine.input)
        network = self.engine.network_graph
        with self.preprocess.gpu:
            if network is None:
                launch_kernel()
                return transform, self.engine.infer_device()

            def launch() -> None:
                launch_kernel()
                if not self._front.capturing:
                    self.engine.infer_device()

            self._front.run((launch_kernel, network.graph), launch, then=network.graph)
        return transform, network.outputs

    @contextmanager
    def _stage(self, name: str, timed: bool) -> Iterator[None]:
        """Time stage ``name`` up to the GPU finishing it, when ``timed``; otherwise just run it."""
        if not timed:
            yield
            return
        with self.timings.stage(name):
            yield
            self.engine.stream.synchronize()

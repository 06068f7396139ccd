"""PoseNet: the one object users hold. Load a network once, then ``process`` frames."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ros2_posenet.decode.cpu import decode_cpu
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.engines import create_engine
from ros2_posenet.engines.base import has_device_path
from ros2_posenet.networks import DEFAULT_NETWORK, ResolvedNetwork, resolve_custom, resolve_network
from ros2_posenet.pose import Pose
from ros2_posenet.preprocess import Preprocessor, validate_image
from ros2_posenet.timing import StageTimer
from ros2_posenet.topology import Topology


def parse_input_size(text: str) -> tuple[int, int]:
    """Parse "WxH" into (W, H); ValueError with a reason for anything else or sizes out of [32, 4096]."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"input size must look like 432x368, got {text!r}") from None
    if not (32 <= width <= 4096 and 32 <= height <= 4096):
        raise ValueError(f"input size {width}x{height} is outside 32..4096 per side")
    return width, height


class PoseNet:
    """A loaded pose network with its engine, preprocessing and decoder.

    ``network`` names a registry entry; ``model`` + ``topology`` load a custom ONNX with the
    poseNet I/O contract instead (sizes and normalisation then come from the ``network`` entry).
    ``input_size`` (W, H) overrides the network's size for networks that accept any size.
    Errors are ``PoseNetError`` subclasses with one-line messages.
    """

    def __init__(
        self,
        network: str = DEFAULT_NETWORK,
        *,
        model: str | Path | None = None,
        topology: str | Path | None = None,
        backend: str = "auto",
        input_size: tuple[int, int] | None = None,
        letterbox: bool = False,
        decode_params: DecodeParams | None = None,
    ) -> None:
        if (model is None) != (topology is None):
            raise ValueError("a custom model needs both model and topology paths")
        self.network: ResolvedNetwork = (
            resolve_custom(model, topology, base=network) if model is not None else resolve_network(network)
        )
        spec = self.network.spec
        if input_size is not None and input_size != spec.input_size and not spec.dynamic_input:
            raise ValueError(
                f"network {spec.name} has a fixed input of {spec.input_size[0]}x{spec.input_size[1]}; "
                "--input-size applies to networks that accept any size"
            )
        self.input_size = input_size or spec.input_size
        self.preprocess = Preprocessor(self.input_size, spec.normalization, letterbox=letterbox)
        self.engine = create_engine(backend, self.network, self.input_size)
        params = decode_params or DecodeParams(
            keypoint_threshold=spec.keypoint_threshold,
            link_threshold=spec.link_threshold,
            min_keypoints=spec.min_keypoints,
            min_pose_score=spec.min_pose_score,
        )
        # GPU engines keep the frame on the device: GPU preprocessing and decoding around them.
        self.gpu_pipeline = None
        if has_device_path(self.engine):
            from ros2_posenet.gpu_pipeline import GpuPipeline

            self.gpu_pipeline = GpuPipeline(self.network, self.engine, params, letterbox=letterbox)
            self.timings = self.gpu_pipeline.timings
        else:
            self.timings = StageTimer()
        self._decode_params = params

    @property
    def topology(self) -> Topology:
        return self.network.topology

    @property
    def network_name(self) -> str:
        return self.network.spec.name

    @property
    def backend_name(self) -> str:
        return self.engine.name

    @property
    def decode_params(self) -> DecodeParams:
        return self._decode_params

    @decode_params.setter
    def decode_params(self, params: DecodeParams) -> None:
        """Takes effect from the next frame, on the CPU and the GPU decoder alike."""
        self._decode_params = params
        if self.gpu_pipeline is not None:
            self.gpu_pipeline.decode_params = params

    @property
    def last_timings(self) -> dict[str, float]:
        """Seconds spent in each stage of the last ``process`` call."""
        return dict(self.timings.last)

    def set_thresholds(self, keypoint: float | None = None, link: float | None = None) -> None:
        """Change thresholds between frames (validated by DecodeParams)."""
        changes = {"keypoint_threshold": keypoint, "link_threshold": link}
        self.decode_params = replace(self.decode_params, **{k: v for k, v in changes.items() if v is not None})

    def process(self, image: np.ndarray, channel_order: str = "bgr") -> list[Pose]:
        """Find every person in ``image`` (uint8 HxW[xC]); keypoints in image pixels."""
        if self.gpu_pipeline is not None:
            validate_image(image)
            return self.gpu_pipeline.process(image, channel_order)
        with self.timings.stage("preprocess"):
            tensor, transform = self.preprocess(image, channel_order)
        with self.timings.stage("inference"):
            cmap, paf = self.engine.infer(tensor)
        with self.timings.stage("decode"):
            poses = decode_cpu(cmap, paf, self.topology, self.decode_params)
            stride_x = self.input_size[0] / cmap.shape[2]
            stride_y = self.input_size[1] / cmap.shape[1]
            to_image = transform.map_to_image(stride_x, stride_y)
            poses = [p.map_points(to_image) for p in poses]
        self.timings.record("total", sum(self.timings.last[s] for s in ("preprocess", "inference", "decode")))
        return poses

    def close(self) -> None:
        self.engine.close()

"""PoseNet: the one object users hold. Load a network once, then ``process`` frames."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.engines import create_engine
from ros2_posenet.engines.base import EngineOptions
from ros2_posenet.models.fetch import resolve_custom, resolve_network
from ros2_posenet.models.registry import DEFAULT_NETWORK, ResolvedNetwork
from ros2_posenet.pipelines import Pipeline, create_pipeline
from ros2_posenet.pose import Pose
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
    ``precision``, ``threads`` and ``build_progress`` go to the engine (``engines.base.EngineOptions``).
    Errors are ``PoseNetError`` subclasses with one-line messages.
    """

    def __init__(
        self,
        network: str = DEFAULT_NETWORK,
        *,
        model: str | Path | None = None,
        topology: str | Path | None = None,
        backend: str = "auto",
        precision: str = "auto",
        threads: int = 0,
        build_progress: Callable[[str, int, int], None] | None = None,
        input_size: tuple[int, int] | None = None,
        letterbox: bool = False,
        decode_params: DecodeParams | None = None,
    ) -> None:
        if model is not None and topology is not None:
            self.network: ResolvedNetwork = resolve_custom(model, topology, base=network)
        elif model is None and topology is None:
            self.network = resolve_network(network)
        else:
            raise ValueError("a custom model needs both model and topology paths")
        spec = self.network.spec
        if input_size is not None and input_size != spec.input_size and not spec.dynamic_input:
            raise ValueError(
                f"network {spec.name} has a fixed input of {spec.input_size[0]}x{spec.input_size[1]}; "
                "--input-size applies to networks that accept any size"
            )
        self.input_size = input_size or spec.input_size
        self.engine = create_engine(
            backend, self.network, self.input_size, EngineOptions(precision, threads, build_progress)
        )
        params = decode_params or DecodeParams(
            keypoint_threshold=spec.keypoint_threshold,
            link_threshold=spec.link_threshold,
            refine_window=spec.refine_window,
            refine_sigma=spec.refine_sigma,
            min_keypoints=spec.min_keypoints,
            min_pose_score=spec.min_pose_score,
            complete_min_keypoints=spec.complete_min_keypoints,
            complete_min_score=spec.complete_min_score,
        )
        self.pipeline: Pipeline = create_pipeline(self.network, self.engine, self.input_size, params, letterbox)
        self._check_at_load()

    def _check_at_load(self) -> None:
        """One black frame through the whole pipeline: a model whose outputs do not fit its topology
        fails here, in one line, instead of on every frame (and first-run allocations are done)."""
        width, height = self.input_size
        try:
            self.pipeline.process(np.zeros((height, width, 3), np.uint8))
        except BaseException:
            self.pipeline.close()  # nobody will hold this PoseNet: give its engine (and GPU memory) back now
            raise
        self.pipeline.timings.reset()

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
        return self.pipeline.decode_params

    @decode_params.setter
    def decode_params(self, params: DecodeParams) -> None:
        """Takes effect from the next frame; a frame in flight keeps the settings it started with."""
        self.pipeline.decode_params = params

    @property
    def timings(self) -> StageTimer:
        """Every stage's timings so far (``summary()``); "total" is the whole ``process`` call."""
        return self.pipeline.timings

    @property
    def last_timings(self) -> dict[str, float]:
        """Seconds spent in each stage of the last ``process`` call."""
        return dict(self.pipeline.timings.last)

    def set_thresholds(self, keypoint: float | None = None, link: float | None = None) -> None:
        """Change thresholds between frames (validated by DecodeParams)."""
        self.set_decoding(keypoint_threshold=keypoint, link_threshold=link)

    def set_decoding(self, **changes: Any) -> None:
        """Change DecodeParams fields between frames (``min_pose_score=0.4``, ``min_keypoints=6``, ...);
        None leaves a field as it is; DecodeParams validates."""
        self.decode_params = replace(self.decode_params, **{k: v for k, v in changes.items() if v is not None})

    def frame_buffer(self, height: int, width: int) -> np.ndarray:
        """A uint8 (height, width, 3) array to write the next frame into, in the memory this backend
        reads fastest: on the GPU path page-locked, the same array while the size stays, which
        ``process`` uploads with one DMA instead of the driver's staging copy (refill it only after
        ``process`` has returned); on the host path a new array."""
        return self.pipeline.frame_buffer(height, width)

    def process(self, image: np.ndarray, channel_order: str = "bgr") -> list[Pose]:
        """Find every person in ``image`` (uint8 HxW[xC]); keypoints in image pixels."""
        return self.pipeline.process(image, channel_order)

    def close(self) -> None:
        """Release the engine and the pipeline's buffers (GPU memory included)."""
        self.pipeline.close()

"""One frame's path from image to people: ``create_pipeline`` picks the CPU or the GPU pipeline.

Both implement ``Pipeline`` (base.py), so ``PoseNet`` holds one object and never branches per frame.
"""

from __future__ import annotations

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.engines.base import Engine, has_device_path
from ros2_posenet.models.registry import ResolvedNetwork
from ros2_posenet.pipelines.base import Pipeline
from ros2_posenet.pipelines.cpu import CpuPipeline

__all__ = ["Pipeline", "create_pipeline"]


def create_pipeline(
    network: ResolvedNetwork,
    engine: Engine,
    input_size: tuple[int, int],
    decode_params: DecodeParams,
    letterbox: bool = False,
) -> Pipeline:
    """The GPU pipeline for engines that keep tensors on the device, the CPU pipeline otherwise."""
    if has_device_path(engine):
        from ros2_posenet.pipelines.gpu import GpuPipeline  # compiles CUDA kernels: only when needed

        return GpuPipeline(network, engine, decode_params, letterbox=letterbox)
    return CpuPipeline(network, engine, input_size, decode_params, letterbox=letterbox)

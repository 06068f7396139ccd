"""The pipeline behind PoseNet: one decode-parameter snapshot per frame, and a clean close."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from support.decode_helpers import BODY
from support.synthetic import random_people, render_maps

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.engines.base import Engine
from ros2_posenet.errors import ModelError
from ros2_posenet.models.registry import ResolvedNetwork, get_spec
from ros2_posenet.pipelines import create_pipeline
from ros2_posenet.pipelines.cpu import CpuPipeline

MAPS = render_maps(random_people(3, BODY, 56, 56, seed=1), BODY, 56, 56)


class ParametersChangedMidFrame(Engine):
    """Test double: returns fixed maps, and meanwhile a 'parameter service' raises the threshold,
    as the node's executor thread can while the worker is inside a frame."""

    name = "test-double"

    def __init__(self) -> None:
        self.pipeline: CpuPipeline | None = None
        self.closed = False

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self.pipeline is not None
        self.pipeline.decode_params = replace(self.pipeline.decode_params, keypoint_threshold=1.0)
        return MAPS

    def close(self) -> None:
        self.closed = True


def test_a_parameter_change_during_a_frame_applies_from_the_next_frame() -> None:
    engine = ParametersChangedMidFrame()
    network = ResolvedNetwork(get_spec("resnet18-body"), get_spec("resnet18-body").model_file, BODY)
    pipeline = create_pipeline(network, engine, (224, 224), DecodeParams(keypoint_threshold=0.15))
    assert isinstance(pipeline, CpuPipeline)
    engine.pipeline = pipeline
    image = np.zeros((224, 224, 3), np.uint8)
    assert len(pipeline.process(image)) == 3  # decoded with the settings the frame started with
    assert pipeline.decode_params.keypoint_threshold == 1.0
    assert pipeline.process(image) == []  # the next frame sees the change
    pipeline.close()
    assert engine.closed
    with pytest.raises(ModelError, match="closed"):
        pipeline.process(image)

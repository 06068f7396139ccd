"""The poseNet networks' maps decoded right: maps drawn in trt_pose's own PAF convention
(support/trt_pose_maps.py, y component in channel 2k) through the public path, as a user runs them.

A constant-output ONNX with the poseNet I/O contract stands in for the jetson-inference file (which
cannot be downloaded here); the topology is trt_pose's published JSON. Read the PAF as x-first and
the three people below fall apart into fragments.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.contract_onnx import write_constant_onnx
from support.decode_helpers import assert_recovered
from support.trt_pose_maps import SCENES, draw_trt_pose_maps

from ros2_posenet import cli
from ros2_posenet.posenet import PoseNet

MAP_SIZE = 56  # 224x224 input, stride 4
STRIDE = 4


@pytest.fixture(params=list(SCENES))
def trt_pose_network(request, tmp_path: Path):
    """(network name, ONNX path, topology JSON path, ground truth in image pixels [people, K, 2])."""
    names, skeleton, people = SCENES[request.param]
    cmap, paf = draw_trt_pose_maps(people, names, skeleton, MAP_SIZE, MAP_SIZE)
    model = write_constant_onnx(tmp_path / "model.onnx", cmap, paf)
    topology = tmp_path / "pose.json"
    topology.write_text(json.dumps({"supercategory": "person", "keypoints": names, "skeleton": skeleton}))
    truth = np.array([[person[name] for name in names] for person in people]) * STRIDE + (STRIDE - 1) / 2
    return request.param, model, topology, truth


def test_posenet_recovers_every_person(trt_pose_network) -> None:
    network, model, topology, truth = trt_pose_network
    net = PoseNet(network, model=model, topology=topology, backend="onnxruntime")
    poses = net.process(np.zeros((224, 224, 3), np.uint8))
    assert_recovered(poses, truth, net.topology, tolerance=STRIDE)  # within one map pixel


def test_posenet_command_recovers_every_person(trt_pose_network, tmp_path: Path, capsys) -> None:
    network, model, topology, truth = trt_pose_network
    image, report = tmp_path / "frame.png", tmp_path / "poses.json"
    cv2.imwrite(str(image), np.zeros((224, 224, 3), np.uint8))
    arguments = ["--network", network, "--model", str(model), "--topology", str(topology), "--backend", "onnxruntime"]
    assert cli.main([*arguments, str(image), "--json", str(report)]) == 0, capsys.readouterr().err
    (frame,) = json.loads(report.read_text())["frames"]
    assert frame["people"] == len(truth)
    net = PoseNet(network, model=model, topology=topology, backend="onnxruntime")
    for pose in frame["poses"]:
        points = np.array([[k["x"], k["y"]] for k in pose["keypoints"]])
        distances = np.linalg.norm(truth[:, [k["id"] for k in pose["keypoints"]]] - points, axis=2).max(axis=1)
        assert len(pose["keypoints"]) == net.topology.num_keypoints and distances.min() < STRIDE, pose
        assert len(pose["links"]) == net.topology.num_links, pose

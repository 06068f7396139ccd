"""Builds small ONNX files with poseNet's I/O contract (random weights) for tests and benchmarks.

A stand-in for the jetson-inference files, which cannot be downloaded here: the same input and
output names, shapes and stride, so registry look-up, engines and decoding run for real on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def write_contract_onnx(
    path: Path, keypoints: int = 18, links: int = 21, size: tuple[int, int] = (224, 224), stride: int = 4
) -> Path:
    """input [1,3,H,W] -> AveragePool(stride) -> 1x1 convs -> sigmoid cmap [1,K,..] and tanh paf [1,2L,..]."""
    rng = np.random.default_rng(0)
    width, height = size
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (keypoints, 3, 1, 1)).astype(np.float32), "w_cmap"),
        numpy_helper.from_array(rng.normal(0, 0.5, (2 * links, 3, 1, 1)).astype(np.float32), "w_paf"),
    ]
    nodes = [
        helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[stride, stride], strides=[stride, stride]),
        helper.make_node("Conv", ["pooled", "w_cmap"], ["cmap_logits"]),
        helper.make_node("Sigmoid", ["cmap_logits"], ["cmap"]),
        helper.make_node("Conv", ["pooled", "w_paf"], ["paf_raw"]),
        helper.make_node("Tanh", ["paf_raw"], ["paf"]),
    ]
    h, w = height // stride, width // stride
    graph = helper.make_graph(
        nodes,
        "posenet_contract_stand_in",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, height, width])],
        [
            helper.make_tensor_value_info("cmap", TensorProto.FLOAT, [1, keypoints, h, w]),
            helper.make_tensor_value_info("paf", TensorProto.FLOAT, [1, 2 * links, h, w]),
        ],
        inits,
    )
    return save_checked(graph, path)


def write_constant_onnx(path: Path, cmap: np.ndarray, paf: np.ndarray, size: tuple[int, int] = (224, 224)) -> Path:
    """A poseNet-contract ONNX whose outputs are the given maps, whatever the image: to feed maps
    drawn in a network's own convention through the public path (engine, pipeline, command)."""
    width, height = size
    nodes = [
        helper.make_node("Constant", [], [name], value=numpy_helper.from_array(maps[np.newaxis].astype(np.float32)))
        for name, maps in (("cmap", cmap), ("paf", paf))
    ]
    graph = helper.make_graph(
        nodes,
        "posenet_constant_maps",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, height, width])],
        [
            helper.make_tensor_value_info("cmap", TensorProto.FLOAT, [1, *cmap.shape]),
            helper.make_tensor_value_info("paf", TensorProto.FLOAT, [1, *paf.shape]),
        ],
    )
    return save_checked(graph, path)


def checked_model(graph: onnx.GraphProto) -> onnx.ModelProto:
    """``graph`` as a checked opset-13 model of IR version 8, which ONNX Runtime 1.16 and newer read
    (the onnx package's own default IR version can be newer than a machine's ONNX Runtime)."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def float_model(
    nodes: list, inputs: dict[str, list[int]], outputs: dict[str, list[int]], weights: dict[str, np.ndarray]
) -> onnx.ModelProto:
    """A checked model of float32 ``nodes`` with these inputs and outputs (name: shape) and initializers."""
    graph = helper.make_graph(
        nodes,
        "test",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs.items()],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in outputs.items()],
        [numpy_helper.from_array(np.asarray(w, dtype=np.float32), name) for name, w in weights.items()],
    )
    return checked_model(graph)


def save_checked(graph: onnx.GraphProto, path: Path) -> Path:
    """``checked_model(graph)`` saved at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(checked_model(graph), str(path))
    return path

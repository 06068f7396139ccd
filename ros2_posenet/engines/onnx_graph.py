"""Facts about an ONNX graph's nodes that graph rewrites need (the torch engine's fused 1x1 GEMMs,
benchmarks/conv_folding.py), without torch, so that ONNX-only tools can use them too."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper

Attributes = dict[str, Any]  # ONNX node attributes as onnx.helper.get_attribute_value gives them


def node_attributes(node: onnx.NodeProto) -> Attributes:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def tensor_readers(graph: onnx.GraphProto) -> dict[str, int]:
    """How many nodes read each tensor, a graph output counting as one reader more: a node's output
    may be folded into its one reader only where this is 1."""
    readers = dict.fromkeys((output.name for output in graph.output), 1)
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    return readers


def is_pointwise_conv(attrs: Attributes, weight: np.ndarray | None) -> bool:
    """Whether a Conv with these attributes and ``weight`` (None where it is not a constant) is 1x1,
    stride 1, unpadded and ungrouped, with constant weights."""
    return (
        weight is not None
        and weight.shape[2:] == (1, 1)
        and int(attrs.get("group", 1)) == 1
        and list(attrs.get("strides", [1, 1])) == [1, 1]
        and list(attrs.get("dilations", [1, 1])) == [1, 1]
        and not any(attrs.get("pads", [0, 0, 0, 0]))
    )

"""TensorFlow frozen GraphDef -> native NCHW ONNX, without TensorFlow.

The GraphDef is parsed with protobuf alone (graph_def_proto.py: TF's messages from their published
field numbers), and the ONNX graph is written with ``onnx.helper``. Only the ops of convolutional pose networks
are handled (Placeholder, Const, Identity, Conv2D, DepthwiseConv2dNative, BiasAdd, Relu,
MaxPool, ConcatV2): anything else is refused by name rather than converted approximately.

The result is NCHW throughout, so runtimes need no layout transposes: weights HWIO -> OIHW,
depthwise [kh, kw, C, M] -> grouped conv [C*M, 1, kh, kw] with ``group=C`` (TF's output
channel ``c*M + m`` is ONNX group ``c``'s ``m``-th output), BiasAdd folded into the
preceding convolution, concat axis 3 -> 1. TF's SAME padding puts the odd pixel after
(``pad_before = total // 2``): explicit pads where they do not depend on the input size
(stride 1), ONNX ``SAME_UPPER`` (the same rule) otherwise, so any input size gives TF's numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper, numpy_helper

from ros2_posenet.errors import ModelError
from ros2_posenet.models.graph_def_proto import DATA_TYPE_NAMES, DT_FLOAT, DT_INT32, DT_INT64, GraphDef

OPSET = 13
IR_VERSION = 8  # opset 13 needs IR >= 7; kept low so older runtimes (TensorRT 8.x) accept the file
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


@dataclass(frozen=True)
class OutputSpec:
    """One ONNX output: a TF tensor, optionally only some of its channels, in the given order."""

    name: str
    tensor: str
    channels: tuple[int, ...] | None = None


def load_graph_def(path: str | Path) -> Any:
    """Read a binary frozen GraphDef; ModelError if it is not one."""
    graph_def = GraphDef()
    try:
        graph_def.ParseFromString(Path(path).read_bytes())
    except (OSError, DecodeError) as error:
        raise ModelError(f"cannot read TensorFlow graph {path}: {error}") from None
    if not graph_def.node:
        raise ModelError(f"TensorFlow graph {path} has no nodes")
    return graph_def


def tensor_to_numpy(tensor) -> np.ndarray:
    """A TF TensorProto's value (packed ``tensor_content`` or the typed ``*_val`` lists)."""
    dtypes = {DT_FLOAT: np.float32, DT_INT32: np.int32, DT_INT64: np.int64}
    values = {DT_FLOAT: tensor.float_val, DT_INT32: tensor.int_val, DT_INT64: tensor.int64_val}
    if tensor.dtype not in dtypes:
        raise ModelError(f"unsupported constant dtype {DATA_TYPE_NAMES.get(tensor.dtype, tensor.dtype)}")
    dtype = dtypes[tensor.dtype]
    shape = tuple(d.size for d in tensor.tensor_shape.dim)
    if tensor.tensor_content:
        return np.frombuffer(tensor.tensor_content, dtype=dtype).reshape(shape).copy()
    listed = np.asarray(values[tensor.dtype], dtype=dtype)
    if listed.size == int(np.prod(shape)):
        return listed.reshape(shape)
    return np.full(shape, listed[-1] if listed.size else 0, dtype=dtype)  # TF repeats the last value


def graph_def_to_onnx(
    graph_def: Any,
    outputs: Sequence[OutputSpec],
    input_name: str = "input",
    batch: int = 1,
    producer: str = "ros2_posenet.models.tf_graph",
) -> onnx.ModelProto:
    """Convert the part of ``graph_def`` that ``outputs`` need; its one Placeholder becomes ``input``."""
    converter = _Converter(graph_def, input_name, batch)
    model = converter.run(outputs)
    model.producer_name = producer
    onnx.checker.check_model(model)
    return model


def _node_name(tensor: str) -> str:
    """``name`` of a TF input reference ``name``, ``name:0`` or ``^name`` (control input)."""
    name, _, index = tensor.lstrip("^").partition(":")
    if index not in ("", "0"):
        raise ModelError(f"TF tensor {tensor!r}: only first outputs of ops are supported")
    return name


def _ints(node, attr: str) -> list[int]:
    return list(node.attr[attr].list.i)


def _nhwc_pairs(node, attr: str, default: int) -> tuple[int, int]:
    """(h, w) of an NHWC 4-list attribute such as ``strides``; refuses NCHW graphs."""
    fmt = node.attr["data_format"].s.decode() if "data_format" in node.attr else "NHWC"
    if fmt != "NHWC":
        raise ModelError(f"TF node {node.name}: data_format {fmt} is not supported (NHWC only)")
    values = _ints(node, attr) or [1, default, default, 1]
    return values[1], values[2]


class _Converter:
    """One pass over the needed TF nodes in dependency order, emitting ONNX nodes."""

    def __init__(self, graph_def: Any, input_name: str, batch: int) -> None:
        self.tf_nodes = {n.name: n for n in graph_def.node}
        self.input_name = input_name
        self.batch = batch
        self.consumers: dict[str, list[str]] = {}
        for node in graph_def.node:
            for ref in node.input:
                if not ref.startswith("^"):
                    self.consumers.setdefault(_node_name(ref), []).append(node.name)
        self.constants: dict[str, np.ndarray] = {}
        self.onnx_name: dict[str, str] = {}  # TF node -> ONNX value holding its (NCHW) output
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []

    def run(self, outputs: Sequence[OutputSpec]) -> onnx.ModelProto:
        for name in self._needed_in_order([_node_name(o.tensor) for o in outputs]):
            node = self.tf_nodes[name]
            handler = getattr(self, f"_op_{node.op}", None)
            if handler is None:
                raise ModelError(f"TF op {node.op} (node {node.name}) is not supported by the ONNX converter")
            handler(node)
        if len(self.inputs) != 1:
            raise ModelError(f"the converted graph needs {len(self.inputs)} Placeholders; exactly one is supported")
        graph_outputs = [self._emit_output(spec) for spec in outputs]
        graph = helper.make_graph(self.nodes, "tf_graph", self.inputs, graph_outputs, self.initializers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)

    def _needed_in_order(self, roots: list[str]) -> list[str]:
        """Nodes the roots depend on, each after its inputs (iterative DFS, cycle-safe)."""
        order: list[str] = []
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        for root in roots:
            stack = [(root, False)]
            while stack:
                name, expanded = stack.pop()
                if name not in self.tf_nodes:
                    raise ModelError(f"TF graph has no node {name!r}")
                if expanded:
                    state[name] = 2
                    order.append(name)
                    continue
                if state.get(name) == 2:
                    continue
                if state.get(name) == 1:
                    raise ModelError(f"TF graph has a cycle through {name!r}")
                state[name] = 1
                stack.append((name, True))
                stack.extend((_node_name(ref), False) for ref in self.tf_nodes[name].input if not ref.startswith("^"))
        return order

    # --- helpers ------------------------------------------------------------------------

    def _activation(self, ref: str) -> str:
        name = _node_name(ref)
        if name not in self.onnx_name:
            raise ModelError(f"TF node {name} feeds an op as data but is not an image tensor")
        return self.onnx_name[name]

    def _constant(self, ref: str) -> np.ndarray:
        name = _node_name(ref)
        if name not in self.constants:
            raise ModelError(f"TF node {name} must be a constant (weights, axis) for this converter")
        return self.constants[name]

    def _initializer(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def _fused_bias(self, conv) -> tuple[np.ndarray | None, str]:
        """The bias of a BiasAdd that is the convolution's only consumer, and whose output to write."""
        users = self.consumers.get(conv.name, [])
        if len(users) == 1 and self.tf_nodes[users[0]].op == "BiasAdd":
            bias_add = self.tf_nodes[users[0]]
            bias_node = self.tf_nodes[_node_name(bias_add.input[1])]
            if bias_node.op == "Const":
                self._op_Const(bias_node)
                return self.constants[bias_node.name], bias_add.name
        return None, conv.name

    def _padding(self, node, kernel: tuple[int, int], strides: tuple[int, int], dilations: tuple[int, int]) -> dict:
        padding = node.attr["padding"].s.decode()
        if padding == "VALID":
            return {"pads": [0, 0, 0, 0]}
        if padding != "SAME":
            raise ModelError(f"TF node {node.name}: padding {padding} is not supported")
        if strides != (1, 1):
            return {"auto_pad": "SAME_UPPER"}
        totals = [(k - 1) * d for k, d in zip(kernel, dilations, strict=True)]
        return {"pads": [t // 2 for t in totals] + [t - t // 2 for t in totals]}

    # --- ops ------------------------------------------------------------------------------

    def _op_Const(self, node) -> None:  # noqa: N802 (TF op names)
        if node.name not in self.constants:
            self.constants[node.name] = tensor_to_numpy(node.attr["value"].tensor)

    def _op_Placeholder(self, node) -> None:  # noqa: N802
        dims = [d.size for d in node.attr["shape"].shape.dim]
        if len(dims) != 4 or dims[3] <= 0:
            raise ModelError(f"TF input {node.name}: shape {dims} is not NHWC with known channels")
        height = dims[1] if dims[1] > 0 else "height"
        width = dims[2] if dims[2] > 0 else "width"
        shape = [self.batch, dims[3], height, width]
        self.inputs.append(helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT, shape))
        self.onnx_name[node.name] = self.input_name

    def _op_Identity(self, node) -> None:  # noqa: N802
        source = _node_name(node.input[0])
        if source in self.constants:
            self.constants[node.name] = self.constants[source]
        else:
            self.onnx_name[node.name] = self._activation(node.input[0])

    def _convolution(self, node, weights: np.ndarray, group: int) -> None:
        """Emit a Conv with OIHW ``weights``, taking a following BiasAdd into it."""
        strides = _nhwc_pairs(node, "strides", 1)
        dilations = _nhwc_pairs(node, "dilations", 1)
        kernel = (weights.shape[2], weights.shape[3])
        bias, output = self._fused_bias(node)
        inputs = [self._activation(node.input[0]), self._initializer(f"{node.name}/W", weights)]
        if bias is not None:
            inputs.append(self._initializer(f"{node.name}/B", bias.astype(np.float32)))
        attrs = self._padding(node, kernel, strides, dilations)
        self.nodes.append(
            helper.make_node(
                "Conv",
                inputs,
                [output],
                name=node.name,
                kernel_shape=list(kernel),
                strides=list(strides),
                dilations=list(dilations),
                group=group,
                **attrs,
            )
        )
        self.onnx_name[output] = output

    def _op_Conv2D(self, node) -> None:  # noqa: N802
        hwio = self._constant(node.input[1])
        self._convolution(node, np.ascontiguousarray(hwio.transpose(3, 2, 0, 1)), group=1)

    def _op_DepthwiseConv2dNative(self, node) -> None:  # noqa: N802
        kh, kw, channels, multiplier = self._constant(node.input[1]).shape
        weights = self._constant(node.input[1]).reshape(kh, kw, channels * multiplier).transpose(2, 0, 1)
        self._convolution(node, np.ascontiguousarray(weights[:, None]), group=channels)

    def _op_BiasAdd(self, node) -> None:  # noqa: N802
        if node.name in self.onnx_name:  # already folded into its convolution
            return
        bias = self._constant(node.input[1]).astype(np.float32).reshape(1, -1, 1, 1)
        inputs = [self._activation(node.input[0]), self._initializer(f"{node.name}/B", bias)]
        self.nodes.append(helper.make_node("Add", inputs, [node.name], name=node.name))
        self.onnx_name[node.name] = node.name

    def _op_Relu(self, node) -> None:  # noqa: N802
        self.nodes.append(helper.make_node("Relu", [self._activation(node.input[0])], [node.name], name=node.name))
        self.onnx_name[node.name] = node.name

    def _op_MaxPool(self, node) -> None:  # noqa: N802
        kernel = _nhwc_pairs(node, "ksize", 1)
        strides = _nhwc_pairs(node, "strides", 1)
        attrs = self._padding(node, kernel, strides, (1, 1))
        source = self._activation(node.input[0])
        self.nodes.append(
            helper.make_node(
                "MaxPool",
                [source],
                [node.name],
                name=node.name,
                kernel_shape=list(kernel),
                strides=list(strides),
                **attrs,
            )
        )
        self.onnx_name[node.name] = node.name

    def _op_ConcatV2(self, node) -> None:  # noqa: N802
        *data, axis_ref = node.input
        axis = int(self._constant(axis_ref))
        if axis % 4 not in _NHWC_TO_NCHW_AXIS:
            raise ModelError(f"TF node {node.name}: concat axis {axis} of a 4-D tensor is invalid")
        inputs = [self._activation(ref) for ref in data]
        concat = helper.make_node("Concat", inputs, [node.name], name=node.name, axis=_NHWC_TO_NCHW_AXIS[axis % 4])
        self.nodes.append(concat)
        self.onnx_name[node.name] = node.name

    def _emit_output(self, spec: OutputSpec) -> onnx.ValueInfoProto:
        """Name a TF tensor as a graph output, gathering the chosen channels when asked."""
        source = self._activation(spec.tensor)
        if spec.channels is None:
            self.nodes.append(helper.make_node("Identity", [source], [spec.name], name=f"{spec.name}/identity"))
            channels: int | str = f"{spec.name}_channels"
        else:
            index = self._initializer(f"{spec.name}/channels", np.asarray(spec.channels, dtype=np.int64))
            self.nodes.append(helper.make_node("Gather", [source, index], [spec.name], name=spec.name, axis=1))
            channels = len(spec.channels)
        shape = [self.batch, channels, "map_height", "map_width"]
        return helper.make_tensor_value_info(spec.name, TensorProto.FLOAT, shape)

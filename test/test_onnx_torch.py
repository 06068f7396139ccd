"""The torch engine's ONNX runner with its 1x1 convolutions as fused GEMMs (``pointwise_as_gemm``):
the same outputs as ONNX Runtime on a graph of every case the rewrite must tell apart. Runs wherever
torch is installed (on the CPU too); the GPU tests run the real networks through it."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper
from support.contract_onnx import float_model

torch = pytest.importorskip("torch")

from ros2_posenet.engines.onnx_torch import OnnxGraphModule  # noqa: E402


def _graph():
    """x -> 1x1+bias -> Relu (fuses) -> 3x3 -> 1x1, no bias -> Relu (fuses) -> 1x1+bias = y (an output,
    so the Relu reading it must stay) -> Relu = z; and a Relu right after a 1x1 that reads another
    tensor, read by it alone (must not fuse)."""
    rng = np.random.default_rng(0)
    weights = {
        "w1": rng.normal(size=(6, 4, 1, 1)), "b1": rng.normal(size=6),
        "w2": rng.normal(size=(5, 6, 3, 3)),
        "w3": rng.normal(size=(7, 5, 1, 1)),
        "w4": rng.normal(size=(3, 7, 1, 1)), "b4": rng.normal(size=3),
        "w5": rng.normal(size=(2, 4, 1, 1)),
        "w6": rng.normal(size=(3, 4, 3, 3)),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["a"]),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("Conv", ["b", "w2"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["c", "w3"], ["d"]),
        helper.make_node("Relu", ["d"], ["e"]),
        helper.make_node("Conv", ["e", "w4", "b4"], ["y"]),
        helper.make_node("Relu", ["y"], ["z"]),
        helper.make_node("Conv", ["x", "w6"], ["q"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["x", "w5"], ["u"]),
        helper.make_node("Relu", ["q"], ["v"]),  # right after the 1x1 of u, but it reads q
        helper.make_node("Concat", ["u", "v"], ["w"], axis=1),
    ]
    outputs = {"y": [1, 3, 9, 11], "z": [1, 3, 9, 11], "w": [1, 5, 9, 11]}
    return float_model(nodes, {"x": [1, 4, 9, 11]}, outputs, weights)


def test_pointwise_gemms_compute_what_onnxruntime_does() -> None:
    model = _graph()
    module = OnnxGraphModule(model, "test", pointwise_as_gemm=True).eval()
    module = module.to(memory_format=module.memory_format)
    kinds = [operator.__name__ for operator, *_ in module._nodes]
    assert kinds == [
        *("_pointwise_relu", "_conv", "_pointwise_relu", "_plain_pointwise", "_relu"),
        *("_conv", "_plain_pointwise", "_relu", "<lambda>"),
    ]
    x = np.random.default_rng(1).normal(size=(1, 4, 9, 11)).astype(np.float32)
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    with torch.inference_mode():
        got = module(torch.from_numpy(x))
    for expected, actual in zip(want, got, strict=True):
        np.testing.assert_allclose(actual.contiguous().numpy(), expected, rtol=1e-4, atol=1e-4)

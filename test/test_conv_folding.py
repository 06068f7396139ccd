"""benchmarks/conv_folding.py, the layer-folding variant of benchmarks/torch_profile.py: a folded
graph computes what the original does (ONNX Runtime runs both), and only what may fold is folded."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import helper
from support.contract_onnx import float_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from conv_folding import fold_linear_convolutions  # noqa: E402


def _graph():
    """x -> depthwise 3x3 (stride 2, SAME_UPPER, bias) -> 1x1 -> 1x1 (a chain) -> Relu -> grouped 3x3
    -> 1x1 -> y, and a 3x3 read by a 1x1 and by the output (must not fold)."""
    rng = np.random.default_rng(0)
    weights = {
        "dw": rng.normal(size=(8, 1, 3, 3)), "dw_b": rng.normal(size=8),
        "pw1": rng.normal(size=(12, 8, 1, 1)), "pw1_b": rng.normal(size=12),
        "pw2": rng.normal(size=(6, 12, 1, 1)),
        "grouped": rng.normal(size=(6, 3, 3, 3)),
        "pw3": rng.normal(size=(5, 6, 1, 1)), "pw3_b": rng.normal(size=5),
        "shared": rng.normal(size=(4, 8, 3, 3)), "pw4": rng.normal(size=(3, 4, 1, 1)),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "dw", "dw_b"], ["a"], group=8, strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Conv", ["a", "pw1", "pw1_b"], ["b"]),
        helper.make_node("Conv", ["b", "pw2"], ["c"]),
        helper.make_node("Relu", ["c"], ["d"]),
        helper.make_node("Conv", ["d", "grouped"], ["e"], group=2, pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["e", "pw3", "pw3_b"], ["y"]),
        helper.make_node("Conv", ["x", "shared"], ["s"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["s", "pw4"], ["t"]),
    ]
    outputs = {"y": [1, 5, 8, 8], "s": [1, 4, 15, 16], "t": [1, 3, 15, 16]}
    return float_model(nodes, {"x": [1, 8, 15, 16]}, outputs, weights)


def _run(model, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


def test_folded_graph_computes_the_same() -> None:
    model = _graph()
    folded, count = fold_linear_convolutions(model)
    assert count == 3  # dw+pw1, then that +pw2, grouped+pw3; "shared" is read by the output too
    assert [n.op_type for n in folded.graph.node] == ["Conv", "Relu", "Conv", "Conv", "Conv"]
    x = np.random.default_rng(1).normal(size=(1, 8, 15, 16)).astype(np.float32)
    for want, got in zip(_run(model, x), _run(folded, x), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert {i.name for i in folded.graph.initializer} >= {"shared", "pw4"}
    assert not {"dw", "pw1", "pw2", "grouped", "pw3"} & {i.name for i in folded.graph.initializer}

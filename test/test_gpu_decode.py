"""The CUDA decoder gives the CPU decoder's people on the same maps (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest
from support.decode_helpers import BODY, HAND, assert_recovered
from support.poses import assert_same_people
from support.synthetic import random_people, render_maps
from support.trt_pose_maps import SCENES, draw_trt_pose_maps

from ros2_posenet.cuda.context import gpu_status
from ros2_posenet.decode.cpu import decode_cpu
from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.pose import PixelMapping
from ros2_posenet.topology import Topology, trt_pose_channels

GPU = gpu_status()
pytestmark = pytest.mark.skipif(not GPU[0], reason=f"no usable GPU: {GPU[1]}")


def gpu_arrays(*arrays: np.ndarray) -> list:
    from pycuda import gpuarray

    from ros2_posenet.cuda.context import GpuContext

    with GpuContext.get():
        return [gpuarray.to_gpu(array) for array in arrays]


@pytest.fixture(scope="module")
def decoders() -> dict:
    from ros2_posenet.decode.cuda import CudaDecoder

    return {topology.name: CudaDecoder(topology) for topology in (BODY, HAND)}


@pytest.mark.parametrize("topology", [BODY, HAND], ids=["body", "hand"])
@pytest.mark.parametrize(
    ("count", "height", "width"), [(1, 56, 56), (5, 56, 56), (20, 56, 56), (20, 60, 80), (50, 90, 160), (50, 200, 200)]
)
def test_synthetic_people_same_as_numpy(decoders, topology: Topology, count: int, height: int, width: int) -> None:
    truth = random_people(count, topology, height, width, seed=count)
    cmap, paf = render_maps(truth, topology, height, width)
    expected = decode_cpu(cmap, paf, topology)
    decoder = decoders[topology.name]
    from_host = decoder.decode(cmap, paf)
    from_device = decoder.decode(*gpu_arrays(cmap, paf))
    assert_same_people(from_host, expected)
    assert_same_people(from_device, expected)
    assert not decoder.fell_back  # assembled by the kernel, not by the Python fallback
    if count <= 5 or height >= 200:  # cases the CPU decoder recovers exactly (test_decode_cpu)
        assert_recovered(from_device, truth, topology)
    else:
        assert len(from_device) >= count


@pytest.mark.parametrize("refinement", [{}, {"refine_window": 7, "refine_sigma": 1.5}], ids=["centroid", "smoothed"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_noise_maps_many_candidates_same_as_numpy(seed: int, refinement: dict) -> None:
    """Random maps: hundreds of peaks per keypoint, the max_parts cut and dense score tables. Each seed
    also has links where one person holds candidates of two connections (4 per seed, counted once on
    the host), the assembly kernel's one-merge-at-a-time path; the smoothed refinement's half warps
    take several trips (up to 100 peaks a keypoint, 64 a trip)."""
    from ros2_posenet.decode.cuda import CudaDecoder

    rng = np.random.default_rng(seed)
    cmap = rng.random((BODY.num_keypoints, 56, 56), dtype=np.float32)
    paf = rng.uniform(-1, 1, (2 * BODY.num_links, 56, 56)).astype(np.float32)
    params = DecodeParams(
        keypoint_threshold=0.5, link_threshold=0.05, max_parts=40 + 30 * seed, max_people=1000, **refinement
    )
    expected = decode_cpu(cmap, paf, BODY, params)
    assert len(expected) > 40
    for gpu_steps in (6, 5, 4):
        assert_same_people(CudaDecoder(BODY, gpu_steps=gpu_steps).decode(cmap, paf, params), expected)


def test_repeated_maps_replay_graphs_that_follow_new_frames_and_parameters() -> None:
    from ros2_posenet.cuda.context import GpuContext
    from ros2_posenet.decode.cuda import CudaDecoder

    decoder, direct = CudaDecoder(BODY), CudaDecoder(BODY, graphs=False)
    if not decoder.graphs[0].enabled:
        pytest.skip("cuda-bindings is not installed: no CUDA graphs")
    scenes = [render_maps(random_people(count, BODY, 56, 56, seed=count), BODY, 56, 56) for count in (3, 7)]
    cmap, paf = gpu_arrays(*scenes[0])

    def counts(decoder: CudaDecoder) -> set[tuple[int, int]]:  # (captures, replays) of both graphs
        return {(graph.captures, graph.replays) for graph in decoder.graphs}

    for _ in range(3):  # launched, captured, replayed
        assert_same_people(decoder.decode(cmap, paf), decode_cpu(*scenes[0], BODY))
    assert counts(decoder) == {(1, 1)}
    with GpuContext.get():  # a new frame in the same buffers
        cmap.set(scenes[1][0])
        paf.set(scenes[1][1])
    assert_same_people(decoder.decode(cmap, paf), decode_cpu(*scenes[1], BODY))
    assert counts(decoder) == {(1, 2)}
    params = DecodeParams(max_people=2, link_threshold=0.3)
    expected = decode_cpu(*scenes[1], BODY, params)
    for _ in range(3):
        assert_same_people(decoder.decode(cmap, paf, params), expected)
        assert_same_people(direct.decode(cmap, paf, params), expected)
    assert counts(decoder) == {(2, 3)}
    assert counts(direct) == {(0, 0)}
    for _ in range(3):  # host maps go through one upload buffer: replayed too
        assert_same_people(decoder.decode(*scenes[0], params), decode_cpu(*scenes[0], BODY, params))
    assert counts(decoder) == {(3, 4)}


@pytest.mark.parametrize("gpu_steps", [6, 5])
def test_people_come_back_in_image_pixels_when_asked(gpu_steps: int) -> None:
    """The assembly kernel moves rows and boxes (6); the Python assembly's poses are moved on the host (5)."""
    from ros2_posenet.decode.cuda import CudaDecoder

    cmap, paf = render_maps(random_people(5, BODY, 56, 56, seed=5), BODY, 56, 56)
    to_image = PixelMapping(8.5, -3.25, 4.0, 12.0)
    expected = [pose.map_points(to_image) for pose in decode_cpu(cmap, paf, BODY)]
    assert_same_people(CudaDecoder(BODY, gpu_steps=gpu_steps).decode(cmap, paf, to_image=to_image), expected)


def test_assembly_too_big_for_the_kernel_falls_back_to_python() -> None:
    from ros2_posenet.decode.cuda import CudaDecoder

    rng = np.random.default_rng(7)
    cmap = rng.random((BODY.num_keypoints, 80, 80), dtype=np.float32)
    paf = rng.uniform(-1, 1, (2 * BODY.num_links, 80, 80)).astype(np.float32)
    params = DecodeParams(keypoint_threshold=0.3, link_threshold=0.0, max_parts=300, max_people=1000)
    decoder = CudaDecoder(BODY)
    poses = decoder.decode(cmap, paf, params)
    assert decoder.fell_back  # 18 x 300 candidate slots exceed the kernel's shared memory
    assert_same_people(poses, decode_cpu(cmap, paf, BODY, params))


def test_parameters_change_between_frames(decoders) -> None:
    truth = random_people(5, BODY, 56, 56, seed=3)
    cmap, paf = render_maps(truth, BODY, 56, 56)
    decoder = decoders[BODY.name]
    for params in (
        DecodeParams(max_parts=3),
        DecodeParams(keypoint_threshold=0.6, link_threshold=0.5, refine_window=3, link_samples=10),
        DecodeParams(min_keypoints=5, max_people=2),
        DecodeParams(min_pose_score=1.7),
        DecodeParams(refine_window=7, refine_sigma=1.5),
        DecodeParams(),
    ):
        assert_same_people(decoder.decode(cmap, paf, params), decode_cpu(cmap, paf, BODY, params))


def test_empty_maps_and_lone_keypoints(decoders) -> None:
    decoder = decoders[BODY.name]
    cmap = np.zeros((BODY.num_keypoints, 56, 56), np.float32)
    paf = np.zeros((2 * BODY.num_links, 56, 56), np.float32)
    assert decoder.decode(cmap, paf) == []
    cmap[BODY.keypoint_id("nose"), 10, 20] = 0.9
    cmap[BODY.keypoint_id("neck"), 30, 40] = 0.8
    poses = decoder.decode(cmap, paf)
    assert_same_people(poses, decode_cpu(cmap, paf, BODY))
    assert [(p.keypoints[0].name, p.keypoints[0].x, p.keypoints[0].y) for p in poses] == [
        ("nose", 20.0, 10.0),
        ("neck", 40.0, 30.0),
    ]


def test_bad_maps_are_one_line_errors(decoders) -> None:
    decoder = decoders[BODY.name]
    cmap = np.zeros((BODY.num_keypoints, 56, 56), np.float32)
    with pytest.raises(ValueError, match=r"paf must be float32 \[42, h, w\]"):
        decoder.decode(cmap, np.zeros((40, 56, 56), np.float32))
    with pytest.raises(ValueError, match=r"cmap maps are \(56, 56\) but paf maps are \(28, 28\)"):
        decoder.decode(cmap, np.zeros((42, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"cmap must be float32 \[18, h, w\], got float64"):
        decoder.decode(*gpu_arrays(cmap.astype(np.float64), np.zeros((42, 56, 56), np.float32)))


@pytest.mark.parametrize("network", list(SCENES))
def test_trt_pose_convention_maps_same_as_numpy_and_right(network: str) -> None:
    """Maps in trt_pose's PAF order (y in channel 2k) read through the topology's paf_channels on the GPU."""
    from ros2_posenet.decode.cuda import CudaDecoder

    names, skeleton, people = SCENES[network]
    topology = Topology(
        network,
        tuple(names),
        tuple((a - 1, b - 1) for a, b in skeleton),
        paf_channels=trt_pose_channels(len(skeleton)),
    )
    cmap, paf = draw_trt_pose_maps(people, names, skeleton, 56, 56)
    expected = decode_cpu(cmap, paf, topology)
    found = CudaDecoder(topology).decode(*gpu_arrays(cmap, paf))
    assert_same_people(found, expected)
    assert_recovered(found, np.array([[person[name] for name in names] for person in people]), topology)


@pytest.mark.parametrize("size", [(432, 368), (656, 368)])
def test_real_photos_same_people_with_the_link_criteria_and_person_filter(size) -> None:
    """mobilenet-thin's maps of every guard image (any engine's host output), decoded with the network's
    own settings: OpenPose's link criteria and the complete-person rule give the same people on the GPU."""
    from support.photos import guard_images

    from ros2_posenet.decode.cuda import CudaDecoder
    from ros2_posenet.posenet import PoseNet
    from ros2_posenet.preprocess import Preprocessor

    net = PoseNet("mobilenet-thin-body", input_size=size)
    try:
        preprocess = Preprocessor(size, net.network.spec.normalization)
        decoder, params, found = CudaDecoder(net.topology), net.decode_params, 0
        assert params.complete_min_keypoints and params.distance_prior and params.link_samples == 10
        for name, image in guard_images():
            tensor, _ = preprocess(image, "bgr")
            cmap, paf = (np.ascontiguousarray(m) for m in net.engine.infer(tensor))
            expected = decode_cpu(cmap, paf, net.topology, params)
            try:
                assert_same_people(decoder.decode(cmap, paf, params), expected)
            except AssertionError as error:
                raise AssertionError(f"{name} at {size}: {error}") from None
            found += len(expected)
        assert found >= 20
    finally:
        net.close()

"""GPU preprocessing equals the CPU Preprocessor (OpenCV resize) within one grey level (skipped without a GPU)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from support.photos import load_photo

from ros2_posenet.cuda.context import gpu_status
from ros2_posenet.models.registry import IMAGENET_RGB, RAW_BGR, Normalization
from ros2_posenet.preprocess import Preprocessor

GPU = gpu_status()
pytestmark = pytest.mark.skipif(not GPU[0], reason=f"no usable GPU: {GPU[1]}")


def sample_image(width: int, height: int) -> np.ndarray:
    """A real photo resized to the size."""
    return cv2.resize(load_photo("basketball1.png"), (width, height), interpolation=cv2.INTER_AREA)


def grey_levels(gpu: np.ndarray, cpu: np.ndarray, normalization: Normalization) -> np.ndarray:
    """Absolute differences in pixel units (undoing the division by std)."""
    return np.abs(gpu - cpu) * np.asarray(normalization.std, np.float32)[None, :, None, None]


@pytest.mark.parametrize("normalization", [IMAGENET_RGB, RAW_BGR], ids=["imagenet-rgb", "raw-bgr"])
@pytest.mark.parametrize("letterbox", [False, True], ids=["resize", "letterbox"])
@pytest.mark.parametrize("image_size", [(640, 480), (1280, 720), (97, 53), (224, 224)])
@pytest.mark.parametrize("input_size", [(224, 224), (432, 368)])
@pytest.mark.parametrize("channel_order", ["bgr", "rgb"])
def test_equals_cpu_preprocessing(normalization, letterbox, image_size, input_size, channel_order) -> None:
    from ros2_posenet.cuda.preprocess import GpuPreprocessor

    image = sample_image(*image_size)
    expected, expected_transform = Preprocessor(input_size, normalization, letterbox)(image, channel_order)
    gpu = GpuPreprocessor(input_size, normalization, letterbox)
    _, transform = gpu(image, channel_order)
    result = gpu.download()
    assert transform == expected_transform
    assert result.shape == expected.shape == (1, 3, input_size[1], input_size[0])
    levels = grey_levels(result, expected, normalization)
    assert levels.max() <= 1.0 + 1e-3, f"max difference {levels.max():.3f} grey levels"
    assert (levels > 0.5).mean() <= 0.01, f"{(levels > 0.5).mean():.2%} of values differ"


@pytest.mark.parametrize("shape", [(480, 640), (480, 640, 1), (480, 640, 4)], ids=["grey", "grey1", "bgra"])
def test_grey_and_alpha_images(shape) -> None:
    from ros2_posenet.cuda.preprocess import GpuPreprocessor

    image = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    expected, _ = Preprocessor((224, 224), IMAGENET_RGB)(image, "bgr")
    gpu = GpuPreprocessor((224, 224), IMAGENET_RGB)
    gpu(image, "bgr")
    assert grey_levels(gpu.download(), expected, IMAGENET_RGB).max() <= 1.0 + 1e-3


def test_writes_into_a_torch_tensor_in_place() -> None:
    torch = pytest.importorskip("torch")
    from ros2_posenet.cuda.preprocess import GpuPreprocessor

    image = sample_image(640, 480)
    target = torch.full((1, 3, 224, 224), float("nan"), device="cuda")
    gpu = GpuPreprocessor((224, 224), IMAGENET_RGB)
    returned, _ = gpu(image, "bgr", output=target)
    gpu.stream.synchronize()
    expected, _ = Preprocessor((224, 224), IMAGENET_RGB)(image, "bgr")
    assert returned is target and not torch.isnan(target).any()
    assert grey_levels(target.cpu().numpy(), expected, IMAGENET_RGB).max() <= 1.0 + 1e-3
    with pytest.raises(ValueError, match=r"output must be a float32 \[1, 3, 224, 224\] GPU array"):
        gpu(image, "bgr", output=torch.zeros((1, 3, 200, 224), device="cuda"))


def test_one_preprocessor_follows_changes_of_image_size_order_and_output() -> None:
    """The kernel's arguments are remembered while size, colour order and output stay the same; a
    camera that changes resolution, a caller that swaps the order or the output gets fresh ones."""
    from pycuda.gpuarray import GPUArray

    from ros2_posenet.cuda.preprocess import GpuPreprocessor

    gpu = GpuPreprocessor((224, 224), IMAGENET_RGB)
    with gpu.gpu:
        other = GPUArray((1, 3, 224, 224), np.float32)
    frames = [
        ((640, 480), "bgr", None),
        ((320, 240), "bgr", None),
        ((640, 480), "rgb", None),
        ((640, 480), "rgb", other),
        ((640, 480), "bgr", None),
    ]
    for size, order, output in frames:
        image = sample_image(*size)
        expected, expected_transform = Preprocessor((224, 224), IMAGENET_RGB)(image, order)
        _, transform = gpu(image, order, output=output)
        assert transform == expected_transform
        levels = grey_levels(gpu.download(output), expected, IMAGENET_RGB)
        assert levels.max() <= 1.0 + 1e-3, (size, order, output is None)

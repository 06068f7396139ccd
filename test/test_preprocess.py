"""Preprocessing: colour order, normalisation, layout, and the exact way back to image pixels."""

from __future__ import annotations

import numpy as np
import pytest

from ros2_posenet.errors import InputError
from ros2_posenet.models.registry import IMAGENET_RGB, RAW_BGR
from ros2_posenet.posenet import parse_input_size
from ros2_posenet.preprocess import InputTransform, Preprocessor


def gaussian_blob(height, width, x, y, sigma=8.0):
    ys, xs = np.mgrid[:height, :width]
    plane = 255 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return np.repeat(plane.round().astype(np.uint8)[..., None], 3, axis=2)


def test_raw_bgr_keeps_pixel_values_and_order():
    image = np.zeros((8, 8, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 20, 30  # B, G, R
    tensor, _ = Preprocessor((8, 8), RAW_BGR)(image, "bgr")
    assert tensor.shape == (1, 3, 8, 8) and tensor.dtype == np.float32
    assert tensor[0, :, 3, 3].tolist() == [10.0, 20.0, 30.0]
    tensor_from_rgb, _ = Preprocessor((8, 8), RAW_BGR)(image[..., ::-1].copy(), "rgb")
    assert np.array_equal(tensor, tensor_from_rgb)


def test_imagenet_normalisation_in_rgb_order():
    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 2] = 255  # red in BGR
    tensor, _ = Preprocessor((4, 4), IMAGENET_RGB)(image, "bgr")
    assert tensor[0, 0, 0, 0] == pytest.approx((1.0 - 0.485) / 0.229, rel=1e-5)
    assert tensor[0, 1, 0, 0] == pytest.approx((0.0 - 0.456) / 0.224, rel=1e-5)


@pytest.mark.parametrize("channels", [None, 1, 4])
def test_grey_and_alpha_images_are_accepted(channels):
    shape = (6, 6) if channels is None else (6, 6, channels)
    tensor, _ = Preprocessor((6, 6), RAW_BGR)(np.full(shape, 7, np.uint8))
    assert np.all(tensor == 7.0)


@pytest.mark.parametrize(("size", "dot"), [((640, 480), (100, 300)), ((1280, 720), (1000, 50)), ((97, 203), (60, 150))])
@pytest.mark.parametrize("letterbox", [False, True])
def test_mapping_back_to_image_pixels_is_exact(size, dot, letterbox):
    width, height = size
    prep = Preprocessor((224, 224), RAW_BGR, letterbox=letterbox)
    tensor, transform = prep(gaussian_blob(height, width, *dot))
    plane = tensor[0, 0]
    ys, xs = np.mgrid[: plane.shape[0], : plane.shape[1]]
    cx, cy = (plane * xs).sum() / plane.sum(), (plane * ys).sum() / plane.sum()  # blob centre in the input
    back_x, back_y = transform.input_to_image(cx, cy)
    assert (back_x, back_y) == pytest.approx(dot, abs=0.35)


def test_letterbox_keeps_aspect_and_centres():
    transform = Preprocessor((224, 224), RAW_BGR, letterbox=True).transform_for(640, 480)
    assert transform.scale_x == transform.scale_y == pytest.approx(0.35)
    assert (transform.pad_x, transform.pad_y) == (0.0, 28.0)


def test_map_to_image_uses_pixel_centres():
    transform = InputTransform(scale_x=0.5, scale_y=0.25)
    # map pixel 0 with stride 8 covers input pixels 0..7, centre 3.5 -> image 7.5 along x (scale 0.5)
    to_image = transform.map_to_image(8)
    assert to_image(0, 0) == pytest.approx((7.5, 15.5))
    # the same as going through the input pixel, for any map pixel
    assert to_image(3.25, 6) == pytest.approx(transform.input_to_image((3.25 + 0.5) * 8 - 0.5, 6.5 * 8 - 0.5))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((0, 10, 3), np.uint8), "empty"),
        (np.zeros((10, 10, 3), np.float32), "uint8"),
        (np.zeros((10, 10, 2), np.uint8), "shape"),
        (np.zeros((10,), np.uint8), "shape"),
        ([[1, 2]], "NumPy array"),
    ],
)
def test_bad_images_are_one_line_input_errors(image, message):
    with pytest.raises(InputError, match=message):
        Preprocessor((32, 32), RAW_BGR)(image)


def test_huge_image_is_refused_before_allocating():
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=(10000, 10000, 3), strides=(0, 0, 0))
    with pytest.raises(InputError, match="pixel limit"):
        Preprocessor((32, 32), RAW_BGR)(huge)


def test_parse_input_size():
    assert parse_input_size("432x368") == (432, 368)
    for bad in ("432", "axb", "10x10", "5000x100"):
        with pytest.raises(ValueError):
            parse_input_size(bad)

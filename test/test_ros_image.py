"""sensor_msgs/Image fields <-> BGR without ROS: exact encodings, YUV byte order, malformed frames."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from support.frames import RecordingFrameBuffer
from support.photos import load_photo

from ros2_posenet.frame_buffer import FrameBuffer
from ros2_posenet.ros.image import (
    SUPPORTED_ENCODINGS,
    ImageFormatError,
    UnsupportedEncodingError,
    bgr_to_compressed,
    bgr_to_fields,
    compressed_to_bgr,
    image_to_bgr,
)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_photo("messi5.jpg")


def decode(fields) -> np.ndarray:
    return image_to_bgr(*fields)


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "bgra8", "rgba8"])
def test_colour_encodings_round_trip_exactly(photo, encoding):
    fields = bgr_to_fields(photo, encoding)
    channels = {"bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4}[encoding]
    assert (fields.height, fields.width, fields.step) == (*photo.shape[:2], photo.shape[1] * channels)
    assert np.array_equal(decode(fields), photo)


def test_channel_order_is_the_encodings():
    blue_left_red_right = np.zeros((2, 2, 3), np.uint8)
    blue_left_red_right[:, 0] = (255, 0, 0)  # BGR blue
    blue_left_red_right[:, 1] = (0, 0, 255)  # BGR red
    assert bgr_to_fields(blue_left_red_right, "rgb8").data[:6] == bytes([0, 0, 255, 255, 0, 0])
    rgba = bytes([0, 0, 255, 7, 255, 0, 0, 7]) * 2
    assert np.array_equal(image_to_bgr("rgba8", 2, 2, 8, False, rgba), blue_left_red_right)


@pytest.mark.parametrize(("encoding", "big_endian"), [("mono8", False), ("mono16", False), ("mono16", True)])
def test_grey_encodings_are_exact_on_a_grey_image(photo, encoding, big_endian):
    grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert np.array_equal(decode(bgr_to_fields(grey, encoding, big_endian)), grey)


def test_mono16_byte_order_and_scaling():
    values = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)  # 32896 = 128 * 257
    expected = np.array([0, 1, 255, 128], np.uint8)
    for big_endian, dtype in ((False, "<u2"), (True, ">u2")):
        data = values.astype(dtype).tobytes()
        assert np.array_equal(image_to_bgr("mono16", 1, 4, 8, big_endian, data)[0, :, 1], expected)


@pytest.mark.parametrize("encoding", ["yuv422", "uyvy", "yuv422_yuy2", "yuyv"])
def test_yuv422_is_close_to_the_photo(photo, encoding):
    image = photo[:, : photo.shape[1] // 2 * 2]
    fields = bgr_to_fields(image, encoding)
    assert fields.step == image.shape[1] * 2
    error = np.abs(decode(fields).astype(int) - image.astype(int))
    assert error.mean() < 4.0  # chroma is shared by pixel pairs: small, not zero


@pytest.mark.parametrize(("encoding", "pair"), [("yuv422", [128, 16, 128, 235]), ("yuyv", [16, 128, 235, 128])])
def test_yuv422_byte_order(encoding, pair):
    """UYVY (ROS 'yuv422') is U Y0 V Y1, YUYV is Y0 U Y1 V: a dark then a bright grey pixel."""
    bgr = image_to_bgr(encoding, 1, 2, 4, False, bytes(pair))
    dark, bright = bgr[0, 0], bgr[0, 1]
    assert dark.max() < 10 and bright.min() > 245
    assert int(dark.max()) - int(dark.min()) <= 2 and int(bright.max()) - int(bright.min()) <= 2  # grey


def test_padded_rows_are_cropped(photo):
    height, width = photo.shape[:2]
    padded = np.zeros((height, width * 3 + 13), np.uint8)
    padded[:, : width * 3] = photo.reshape(height, -1)
    assert np.array_equal(image_to_bgr("bgr8", height, width, width * 3 + 13, False, padded.tobytes()), photo)


@pytest.mark.parametrize(
    ("encoding", "big_endian"), [("bgr8", False), ("rgb8", False), ("bgra8", False), ("mono16", True)]
)
def test_a_frame_buffer_receives_the_frame(photo, encoding, big_endian):
    """The node converts each frame into the network's frame buffer (page-locked on a GPU): the same
    pixels as a new array, in that buffer, asked for at the frame's size."""
    fields = bgr_to_fields(photo, encoding, big_endian)
    frames = RecordingFrameBuffer()
    image = image_to_bgr(*fields, buffer_for=frames)
    assert image is frames.get(*photo.shape[:2]) and frames.asked == [photo.shape[:2]]
    assert np.array_equal(image, decode(fields))


def test_a_bad_frame_never_asks_for_a_frame_buffer():
    frames = RecordingFrameBuffer()
    with pytest.raises(ImageFormatError):
        image_to_bgr("bgr8", 4, 4, 12, False, bytes(10), buffer_for=frames)
    assert frames.asked == []


def test_frame_buffer_is_kept_while_the_size_stays() -> None:
    buffer = FrameBuffer(lambda shape: np.zeros(shape, np.uint8))
    first = buffer.get(48, 64)
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8 and buffer.get(48, 64) is first
    assert buffer.get(64, 48).shape == (64, 48, 3) and buffer.get(64, 48) is not first
    with pytest.raises(ValueError, match="positive size"):
        buffer.get(0, 64)


def test_decoded_image_owns_its_pixels():
    data = bytearray(12)
    image = image_to_bgr("bgr8", 2, 2, 6, False, data)
    data[:] = b"\xff" * 12
    assert image.max() == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (("bgr8", 0, 0, 0, False, b""), "empty image (0x0)"),
        (("bgr8", 2, 0, 0, False, b""), "empty image (0x2)"),
        (("bgr8", 2, 2, 5, False, bytes(10)), "step 5 is shorter than one row of 2 bgr8 pixels (6 bytes)"),
        (("mono16", 2, 2, 3, False, bytes(6)), "step 3 is shorter than one row of 2 mono16 pixels (4 bytes)"),
        (("bgr8", 2, 2, 6, False, bytes(11)), "truncated data: 11 bytes for 2 rows of step 6 (12 bytes)"),
        (("bgr8", 2, 2, 6, False, bytes(13)), "data size mismatch: 13 bytes"),
        (("mono8", 100000, 100000, 100000, False, bytes(10)), "image too large: 100000x100000"),
        (("yuyv", 2, 3, 6, False, bytes(12)), "yuyv needs an even width, got 3"),
    ],
)
def test_malformed_frames_are_refused_with_the_reason(fields, reason):
    with pytest.raises(ImageFormatError) as caught:
        image_to_bgr(*fields)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unsupported_encoding_names_the_supported_ones():
    with pytest.raises(UnsupportedEncodingError, match="unsupported encoding '32FC1': supported are bgr8, rgb8"):
        image_to_bgr("32FC1", 2, 2, 32, False, bytes(64))
    with pytest.raises(UnsupportedEncodingError):
        bgr_to_fields(np.zeros((2, 2, 3), np.uint8), "bayer_rggb8")
    assert set(SUPPORTED_ENCODINGS) >= {"rgb8", "bgr8", "rgba8", "bgra8", "mono8", "mono16", "yuv422"}


def test_only_bgr_images_become_frames():
    with pytest.raises(ImageFormatError, match="HxWx3 uint8"):
        bgr_to_fields(np.zeros((2, 2), np.uint8))
    with pytest.raises(ImageFormatError, match="HxWx3 uint8"):
        bgr_to_fields(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ImageFormatError, match="even width"):
        bgr_to_fields(np.zeros((2, 3, 3), np.uint8), "uyvy")


@pytest.mark.parametrize(
    "data",
    [None, np.zeros((4, 8), np.uint8)[:, ::2], [300] * 16, object()],
    ids=["none", "non-contiguous", "values-over-255", "object"],
)
def test_data_that_is_no_byte_buffer_is_an_image_format_error(data) -> None:
    with pytest.raises(ImageFormatError, match="not a contiguous byte buffer"):
        image_to_bgr("mono8", 4, 4, 4, False, data)


@pytest.mark.parametrize("image", [np.zeros((0, 4, 3), np.uint8), np.zeros((4, 0, 3), np.uint8), None, [[1]]])
def test_empty_or_non_array_image_to_fields_is_an_image_format_error(image) -> None:
    with pytest.raises(ImageFormatError):
        bgr_to_fields(image)


def _encode(image: np.ndarray, extension: str) -> bytes:
    ok, data = cv2.imencode(extension, image)
    assert ok
    return data.tobytes()


# The format strings image_transport's compressed plugin writes (compressed_image_transport): the bare
# codec, or "<encoding>; <codec> compressed <pixel format>".
@pytest.mark.parametrize(
    "fmt", ["png", "bgr8; png compressed bgr8", "rgb8; png compressed bgr8", "mono8; png compressed "]
)
def test_compressed_png_decodes_to_the_exact_pixels(photo, fmt):
    assert np.array_equal(compressed_to_bgr(fmt, _encode(photo, ".png")), photo)


def test_compressed_jpeg_decodes_as_opencv_does(photo):
    data = _encode(photo, ".jpg")
    assert np.array_equal(
        compressed_to_bgr("rgb8; jpeg compressed bgr8", data), cv2.imdecode(np.frombuffer(data, np.uint8), 1)
    )
    assert np.array_equal(compressed_to_bgr("jpeg", bytearray(data)), compressed_to_bgr("jpeg", list(data)))


def test_compressed_round_trip_of_our_own_publisher(photo):
    fmt, data = bgr_to_compressed(photo, "png")
    assert fmt == "bgr8; png compressed bgr8" and np.array_equal(compressed_to_bgr(fmt, data), photo)


@pytest.mark.parametrize(
    ("fmt", "data", "error", "reason"),
    [
        ("png", b"", ImageFormatError, "compressed data (0 bytes) is not a png image"),
        ("jpeg", b"\xff\xd8\xff\xe0 garbage", ImageFormatError, "is not a jpeg image"),
        ("png", None, ImageFormatError, "compressed data is not a contiguous byte buffer"),
        ("16UC1; compressedDepth png", b"x", UnsupportedEncodingError, "unsupported compressed format"),
        ("bgr8; webp compressed bgr8", b"x", UnsupportedEncodingError, "supported are jpeg and png"),
    ],
)
def test_bad_compressed_data_is_one_line(fmt, data, error, reason):
    with pytest.raises(error) as raised:
        compressed_to_bgr(fmt, data)
    assert reason in str(raised.value) and "\n" not in str(raised.value)


def test_a_small_file_of_a_huge_image_is_refused_before_decoding():
    """A 20000x20000 png is a few hundred kB; decoding it would take 1.2 GB: the header says so first."""
    for side, reason in ((5000, "image too large: 5000x5000 is over the limit"), (20000, "image too large")):
        bomb = _encode(np.zeros((side, side), np.uint8), ".png")
        assert len(bomb) < 2_000_000
        with pytest.raises(ImageFormatError, match=reason) as raised:
            compressed_to_bgr("png", bomb, max_pixels=4096 * 3072)
        assert str(side * side) in str(raised.value) or f"{side}x{side}" in str(raised.value)

"""sensor_msgs/Image and CompressedImage <-> NumPy BGR, exactly, with NumPy and OpenCV.

The core functions work on the message's fields (encoding, height, width, step, is_bigendian,
data), so they run and test without ROS. Every malformed frame raises ``ImageFormatError`` with
a one-line reason: a camera driver's bug must cost one frame, never the node.
"""

from __future__ import annotations

import io
import warnings
from typing import Any, NamedTuple

import cv2
import numpy as np
import PIL.Image

from ros2_posenet.frame_buffer import BufferFor

# Frames larger than this are refused before any copy: 8K UHD is 33 Mpx.
DEFAULT_MAX_PIXELS = 40_000_000


class ImageFormatError(ValueError):
    """A frame that cannot become an image; the message says why in one line."""


class UnsupportedEncodingError(ImageFormatError):
    """A well-formed frame in an encoding this package does not convert."""


class _Layout(NamedTuple):
    channels: int  # values per pixel in memory
    dtype: str  # NumPy dtype of one value, little-endian form
    to_bgr: int | None  # cv2 conversion code to BGR; None: already BGR
    from_bgr: int | None  # cv2 conversion code from BGR; None: already BGR


# ROS names from sensor_msgs/image_encodings: "yuv422" is UYVY, "yuv422_yuy2" is YUYV; newer
# distributions also spell them "uyvy" and "yuyv".
_LAYOUTS: dict[str, _Layout] = {
    "bgr8": _Layout(3, "u1", None, None),
    "rgb8": _Layout(3, "u1", cv2.COLOR_RGB2BGR, cv2.COLOR_BGR2RGB),
    "bgra8": _Layout(4, "u1", cv2.COLOR_BGRA2BGR, cv2.COLOR_BGR2BGRA),
    "rgba8": _Layout(4, "u1", cv2.COLOR_RGBA2BGR, cv2.COLOR_BGR2RGBA),
    "mono8": _Layout(1, "u1", cv2.COLOR_GRAY2BGR, cv2.COLOR_BGR2GRAY),
    "mono16": _Layout(1, "u2", cv2.COLOR_GRAY2BGR, cv2.COLOR_BGR2GRAY),
    "yuv422": _Layout(2, "u1", cv2.COLOR_YUV2BGR_UYVY, cv2.COLOR_BGR2YUV_UYVY),
    "uyvy": _Layout(2, "u1", cv2.COLOR_YUV2BGR_UYVY, cv2.COLOR_BGR2YUV_UYVY),
    "yuv422_yuy2": _Layout(2, "u1", cv2.COLOR_YUV2BGR_YUY2, cv2.COLOR_BGR2YUV_YUY2),
    "yuyv": _Layout(2, "u1", cv2.COLOR_YUV2BGR_YUY2, cv2.COLOR_BGR2YUV_YUY2),
}
SUPPORTED_ENCODINGS = tuple(_LAYOUTS)


def _layout(encoding: str) -> _Layout:
    layout = _LAYOUTS.get(encoding)
    if layout is None:
        raise UnsupportedEncodingError(
            f"unsupported encoding {encoding!r}: supported are {', '.join(SUPPORTED_ENCODINGS)}"
        )
    return layout


def check_frame(
    encoding: str, height: int, width: int, step: int, size: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> _Layout:
    """The memory layout of a frame whose fields are consistent; ImageFormatError otherwise."""
    layout = _layout(encoding)
    if height <= 0 or width <= 0:
        raise ImageFormatError(f"empty image ({width}x{height})")
    if width * height > max_pixels:
        raise ImageFormatError(f"image too large: {width}x{height} is over the limit of {max_pixels} pixels")
    if layout.channels == 2 and width % 2:
        raise ImageFormatError(f"{encoding} needs an even width, got {width}")
    check_rows(height, width, step, size, width * layout.channels * np.dtype(layout.dtype).itemsize, encoding)
    return layout


def check_rows(height: int, width: int, step: int, size: int, row_bytes: int, encoding: str) -> None:
    """ImageFormatError unless ``size`` bytes hold ``height`` rows of ``step`` bytes, each at least ``row_bytes``."""
    if height <= 0 or width <= 0:
        raise ImageFormatError(f"empty image ({width}x{height})")
    if step < row_bytes:
        raise ImageFormatError(f"step {step} is shorter than one row of {width} {encoding} pixels ({row_bytes} bytes)")
    if size != step * height:
        problem = "truncated data" if size < step * height else "data size mismatch"
        raise ImageFormatError(f"{problem}: {size} bytes for {height} rows of step {step} ({step * height} bytes)")


def bytes_of(data: Any, what: str) -> memoryview:
    """A byte view of a message's ``data`` (bytes, array('B') from rclpy, a list of ints); ImageFormatError
    for anything else: None, a non-contiguous buffer, values over 255."""
    try:
        return memoryview(data if not isinstance(data, list) else bytes(data)).cast("B")
    except (TypeError, ValueError) as error:
        raise ImageFormatError(f"{what} is not a contiguous byte buffer ({type(data).__name__}: {error})") from None


def image_to_bgr(
    encoding: str,
    height: int,
    width: int,
    step: int,
    is_bigendian: bool,
    data: Any,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    buffer_for: BufferFor | None = None,
) -> np.ndarray:
    """An HxWx3 uint8 BGR image from an Image message's fields (``data``: bytes or any buffer).

    16-bit grey is scaled to 8 bits as cv_bridge does (value * 255 / 65535, rounded). Anything that is
    not a buffer of bytes (None, a list of ints is fine too: rclpy gives array('B')) is an
    ImageFormatError, like every other bad frame. ``buffer_for`` (``PoseNet.frame_buffer``): where
    the checked frame's one copy goes, instead of a new array.
    """
    buffer = bytes_of(data, "image data")
    layout = check_frame(encoding, height, width, step, buffer.nbytes, max_pixels)
    dtype = np.dtype(layout.dtype).newbyteorder(">" if is_bigendian else "<")
    rows = np.frombuffer(buffer, dtype=np.uint8).reshape(height, step)
    pixels = rows[:, : width * layout.channels * dtype.itemsize].view(dtype).reshape(height, width, layout.channels)
    if dtype.itemsize == 2:
        pixels = np.rint(pixels.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)
    out = buffer_for(height, width) if buffer_for is not None else None
    if layout.to_bgr is None:  # never a view of the message buffer
        if out is None:
            return pixels.copy()
        np.copyto(out, pixels)
        return out
    return cv2.cvtColor(np.ascontiguousarray(pixels), layout.to_bgr, dst=out)


class ImageFields(NamedTuple):
    """The fields of a sensor_msgs/Image, ready to assign."""

    encoding: str
    height: int
    width: int
    step: int
    is_bigendian: bool
    data: bytes


def _check_bgr(image: Any) -> None:
    """ImageFormatError unless ``image`` is a non-empty HxWx3 uint8 array."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ImageFormatError(f"expected an HxWx3 uint8 BGR image, got {shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageFormatError(f"empty image ({image.shape[1]}x{image.shape[0]})")


def bgr_to_fields(image: np.ndarray, encoding: str = "bgr8", is_bigendian: bool = False) -> ImageFields:
    """An Image message's fields for an HxWx3 uint8 BGR image in any supported encoding.

    16-bit grey is the 8-bit grey times 257, the exact inverse of ``image_to_bgr``'s scaling.
    """
    _check_bgr(image)
    height, width = image.shape[:2]
    layout = _layout(encoding)
    if layout.channels == 2 and width % 2:
        raise ImageFormatError(f"{encoding} needs an even width, got {width}")
    pixels = image if layout.from_bgr is None else cv2.cvtColor(image, layout.from_bgr)
    if layout.dtype == "u2":
        pixels = pixels.astype(np.dtype(">u2" if is_bigendian else "<u2")) * 257
    data = np.ascontiguousarray(pixels).tobytes()
    return ImageFields(encoding, height, width, len(data) // height, is_bigendian, data)


def msg_to_bgr(msg: Any, max_pixels: int = DEFAULT_MAX_PIXELS, buffer_for: BufferFor | None = None) -> np.ndarray:
    """A sensor_msgs/Image as BGR, by ``image_to_bgr`` (``buffer_for``: where its one copy goes). Not by
    cv_bridge, which the node used where installed: ours is exact and tested for every encoding it
    accepts, and writes where the network reads fastest, where cv_bridge's array of its own would
    be staged once more by the GPU path's upload."""
    fields = (msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian, msg.data)
    return image_to_bgr(*fields, max_pixels, buffer_for)


def bgr_to_msg(image: np.ndarray, header: Any = None) -> Any:
    """A bgr8 sensor_msgs/Image carrying ``header`` (shared, not copied: it is never modified)."""
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    fields = bgr_to_fields(image)
    return Image(header=header if header is not None else Header(), **fields._asdict())


def transport_topic(node: Any, transport: str, base: str = "image") -> tuple[Any, str]:
    """(message type, topic) of ``base`` in ``transport`` as image_transport names them: sensor_msgs/Image
    on ``base``, or CompressedImage on the resolved base name (remappings applied) plus ``/compressed``."""
    from sensor_msgs.msg import CompressedImage, Image

    if transport == "compressed":
        return CompressedImage, node.resolve_topic_name(base) + "/compressed"
    return Image, base


# sensor_msgs/CompressedImage.format as image_transport's compressed plugin writes it: "jpeg", "png", or
# "<encoding>; <jpeg|png> compressed <pixel format>" (e.g. "rgb8; jpeg compressed bgr8").
COMPRESSED_FORMATS = ("jpeg", "png")


def compressed_to_bgr(fmt: str, data: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """An HxWx3 uint8 BGR image from a CompressedImage's ``format`` and ``data`` (jpeg or png).

    The size is read from the file's header (Pillow, which decodes nothing yet) and checked before
    OpenCV decodes, so a small file that expands to a huge image costs nothing.
    """
    codec = fmt.split(";")[-1].strip().split(" ")[0].lower()
    if "compresseddepth" in fmt.lower().replace(" ", "") or codec not in COMPRESSED_FORMATS:
        raise UnsupportedEncodingError(f"unsupported compressed format {fmt!r}: supported are jpeg and png")
    encoded = np.frombuffer(bytes_of(data, "compressed data"), np.uint8)
    try:
        with warnings.catch_warnings():  # Pillow warns of large images; the limit below is ours
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(io.BytesIO(encoded.tobytes()), formats=("JPEG", "PNG")) as header:
                width, height = header.size
    except PIL.Image.DecompressionBombError as error:  # over twice Pillow's own limit: far over ours too
        raise ImageFormatError(f"image too large: {error}".split(", could be")[0]) from None
    except (PIL.UnidentifiedImageError, OSError, ValueError):
        raise ImageFormatError(f"compressed data ({encoded.nbytes} bytes) is not a {codec} image") from None
    if width * height > max_pixels:
        raise ImageFormatError(f"image too large: {width}x{height} is over the limit of {max_pixels} pixels")
    image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageFormatError(f"compressed {codec} image ({width}x{height}, {encoded.nbytes} bytes) cannot be decoded")
    return image


def bgr_to_compressed(image: np.ndarray, codec: str = "jpeg") -> tuple[str, bytes]:
    """(format, data) of a CompressedImage holding ``image`` as image_transport's compressed plugin writes it."""
    if codec not in COMPRESSED_FORMATS:
        raise ValueError(f"compressed format {codec!r} is not one of {', '.join(COMPRESSED_FORMATS)}")
    _check_bgr(image)
    ok, encoded = cv2.imencode(".jpg" if codec == "jpeg" else ".png", image)
    if not ok:
        raise ImageFormatError(f"OpenCV cannot encode a {image.shape} image as {codec}")
    return f"bgr8; {codec} compressed bgr8", encoded.tobytes()

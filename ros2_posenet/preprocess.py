"""Image -> network input tensor, keeping the exact mapping back to image pixels.

Pixel centres are used throughout (OpenCV's convention): pixel ``i`` covers ``[i - 0.5, i + 0.5]``.
A resize by ``scale`` maps image coordinate ``x`` to input coordinate ``(x + 0.5) * scale - 0.5``,
so keypoints found on the maps can be carried back to the original image without drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ros2_posenet.errors import InputError
from ros2_posenet.pose import PixelMapping

MAX_IMAGE_PIXELS = 8192 * 8192


@dataclass(frozen=True)
class Normalization:
    """Per-channel ``(pixel - mean) / std`` in 0..255 pixel units, in the network's channel order."""

    channel_order: str  # "rgb" or "bgr": the order the network expects
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


IMAGENET_RGB = Normalization("rgb", (123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
RAW_BGR = Normalization("bgr", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


@dataclass(frozen=True)
class InputTransform:
    """How an image was placed in the network input: per-axis scale, then a padding offset."""

    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0

    def input_to_image(self, x: float, y: float) -> tuple[float, float]:
        """Network-input pixel coordinates -> original image pixel coordinates."""
        return (x + 0.5 - self.pad_x) / self.scale_x - 0.5, (y + 0.5 - self.pad_y) / self.scale_y - 0.5

    def map_to_image(self, stride: int) -> PixelMapping:
        """Output-map pixel coordinates -> image pixels, for a network with ``stride`` input pixels
        per map pixel (its declared stride: exact also for inputs that are not a multiple of it).

        Map pixel ``x`` is input pixel ``(x + 0.5) * stride - 0.5``; ``input_to_image`` of that,
        expanded, is ``x * stride / scale + (stride / 2 - pad) / scale - 0.5``.
        """
        return PixelMapping(
            stride / self.scale_x,
            (0.5 * stride - self.pad_x) / self.scale_x - 0.5,
            stride / self.scale_y,
            (0.5 * stride - self.pad_y) / self.scale_y - 0.5,
        )


def validate_image(image: np.ndarray) -> None:
    """Raise a one-line InputError for anything that is not a plain 8-bit image of sane size."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"image must be a NumPy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InputError(f"image must be uint8, got {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise InputError(f"image must be HxW, HxWx1, HxWx3 or HxWx4, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"image is empty (shape {image.shape})")
    if image.shape[0] * image.shape[1] > MAX_IMAGE_PIXELS:
        raise InputError(f"image of {image.shape[1]}x{image.shape[0]} exceeds the {MAX_IMAGE_PIXELS} pixel limit")


def to_three_channels(image: np.ndarray, channel_order: str, target_order: str) -> np.ndarray:
    """Grey/BGR/RGB/BGRA/RGBA -> 3 channels in ``target_order`` ("rgb" or "bgr")."""
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    if image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)  # drops alpha, keeps order
    if channel_order != target_order:
        image = image[:, :, ::-1]
    return image


class Preprocessor:
    """Resize (or letterbox) to the network input, reorder colours, normalise, HWC -> NCHW."""

    def __init__(self, input_size: tuple[int, int], normalization: Normalization, letterbox: bool = False) -> None:
        self.input_width, self.input_height = input_size
        self.normalization = normalization
        self.letterbox = letterbox
        self._mean = np.asarray(normalization.mean, dtype=np.float32)
        self._inv_std = 1.0 / np.asarray(normalization.std, dtype=np.float32)

    def transform_for(self, width: int, height: int) -> InputTransform:
        """The placement of a ``width`` x ``height`` image in the network input."""
        scale_x, scale_y = self.input_width / width, self.input_height / height
        if not self.letterbox:
            return InputTransform(scale_x, scale_y)
        scale = min(scale_x, scale_y)
        pad_x = (self.input_width - round(width * scale)) // 2
        pad_y = (self.input_height - round(height * scale)) // 2
        return InputTransform(scale, scale, float(pad_x), float(pad_y))

    def __call__(self, image: np.ndarray, channel_order: str = "bgr") -> tuple[np.ndarray, InputTransform]:
        """``image`` (uint8, any of the shapes ``validate_image`` accepts) -> (``[1,3,H,W]`` float32, transform)."""
        validate_image(image)
        image = to_three_channels(image, channel_order, self.normalization.channel_order)
        height, width = image.shape[:2]
        transform = self.transform_for(width, height)
        placed: np.ndarray
        if self.letterbox:
            resized_w, resized_h = round(width * transform.scale_x), round(height * transform.scale_y)
            canvas = np.zeros((self.input_height, self.input_width, 3), np.uint8)
            canvas[:] = np.clip(self.normalization.mean, 0, 255).astype(np.uint8)  # pads normalise to ~0
            x0, y0 = int(transform.pad_x), int(transform.pad_y)
            canvas[y0 : y0 + resized_h, x0 : x0 + resized_w] = cv2.resize(
                image, (resized_w, resized_h), interpolation=cv2.INTER_LINEAR
            )
            placed = canvas
        else:
            placed = cv2.resize(image, (self.input_width, self.input_height), interpolation=cv2.INTER_LINEAR)
        tensor = (placed.astype(np.float32) - self._mean) * self._inv_std
        return np.ascontiguousarray(tensor.transpose(2, 0, 1))[np.newaxis], transform

"""3D keypoints from a depth image aligned to the colour image, and a pinhole camera model.

Depth follows REP-118: ``16UC1`` in millimetres with 0 = no reading, ``32FC1`` in metres with
NaN (or 0, inf) = no reading. A keypoint's depth is robust to holes and to the background seen past
a thin limb: the valid readings of a window around it (its radius a fraction of the person's height
in the image) are cut to those within ``FOREGROUND_M`` of the nearest quarter, and their median is
taken. The keypoint is back-projected into the camera's optical frame (REP-103: x right, y down,
z forward; metres) with the projection matrix P of a rectified image, or K when P is absent
(``CameraModel``). A keypoint without a valid reading has no 3D position: NaN, never a zero point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ros2_posenet.errors import PoseNetError
from ros2_posenet.pose import Pose

# REP-118 encodings and their pixel type (mono16: drivers that publish 16UC1 under that name)
DEPTH_DTYPES: dict[str, np.dtype] = {
    "16UC1": np.dtype(np.uint16),
    "mono16": np.dtype(np.uint16),
    "32FC1": np.dtype(np.float32),
}
WINDOW_FRACTION = 0.02  # window radius, as a fraction of the person's box height (at least 1 pixel)
FOREGROUND_M = 0.25  # readings this far behind the near quarter are background seen past the limb


class DepthError(PoseNetError, ValueError):
    """A depth image or camera model that cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class CameraModel:
    """Pinhole intrinsics of the colour image: focal lengths and principal point, in its pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_matrices(cls, k: Any, p: Any, width: int, height: int) -> CameraModel:
        """From CameraInfo's 3x3 K and 3x4 P (row-major sequences): P where set (rectified), else K."""
        p = np.asarray(p, dtype=np.float64).reshape(-1)
        k = np.asarray(k, dtype=np.float64).reshape(-1)
        if p.size == 12 and p[0] > 0 and p[5] > 0:
            fx, fy, cx, cy = p[0], p[5], p[2], p[6]
        elif k.size == 9 and k[0] > 0 and k[4] > 0:
            fx, fy, cx, cy = k[0], k[4], k[2], k[5]
        else:
            raise DepthError("camera info has neither a projection matrix P nor a camera matrix K with focal lengths")
        if width <= 0 or height <= 0:
            raise DepthError(f"camera info has no image size ({width}x{height})")
        return cls(float(fx), float(fy), float(cx), float(cy), int(width), int(height))

    @classmethod
    def from_yaml(cls, path: str | Path) -> CameraModel:
        """From a ROS camera calibration YAML (camera_calibration's output: camera_matrix, projection_matrix)."""
        import yaml

        try:
            data = yaml.safe_load(Path(path).read_text())
            k = data.get("camera_matrix", {}).get("data", [])
            p = data.get("projection_matrix", {}).get("data", [])
            return cls.from_matrices(k, p, int(data["image_width"]), int(data["image_height"]))
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, DepthError):
                raise
            raise DepthError(f"cannot read camera info {path}: {type(error).__name__}: {error}") from None


def depth_dtype(encoding: str) -> np.dtype:
    """The pixel type of a REP-118 depth encoding; DepthError for any other encoding."""
    if encoding not in DEPTH_DTYPES:
        raise DepthError(f"unsupported depth encoding {encoding!r}: use one of {', '.join(DEPTH_DTYPES)} (REP-118)")
    return DEPTH_DTYPES[encoding]


def depth_in_metres(depth: np.ndarray, encoding: str) -> np.ndarray:
    """A float32 HxW depth image in metres with NaN where there is no reading (REP-118 units)."""
    dtype = depth_dtype(encoding)
    if dtype == np.uint16:
        if depth.dtype != np.uint16:
            raise DepthError(f"{encoding} depth must be uint16 millimetres, got {depth.dtype}")
        metres = depth.astype(np.float32) / 1000.0
        metres[depth == 0] = np.nan
        return metres
    metres = depth.astype(np.float32, copy=True)
    metres[~np.isfinite(metres) | (metres <= 0)] = np.nan
    return metres


def keypoint_depth(depth: np.ndarray, x: float, y: float, radius: int) -> float:
    """Robust depth (metres) at (x, y) of a depth image in metres: NaN without a valid reading."""
    column, row = int(round(x)), int(round(y))
    window = depth[max(row - radius, 0) : row + radius + 1, max(column - radius, 0) : column + radius + 1]
    readings = window[np.isfinite(window)]
    if readings.size == 0:
        return float("nan")
    near = np.percentile(readings, 25)
    return float(np.median(readings[readings <= near + FOREGROUND_M]))


def pose_points_3d(pose: Pose, depth: np.ndarray, camera: CameraModel) -> tuple[tuple[float, float, float], ...]:
    """Per keypoint of ``pose`` (in the colour image's pixels), its 3D point in the camera's optical
    frame in metres, or (nan, nan, nan). ``depth`` (metres) may have another resolution than the
    colour image: keypoints are scaled to it."""
    scale_x, scale_y = depth.shape[1] / camera.width, depth.shape[0] / camera.height
    radius = max(1, int(round(WINDOW_FRACTION * (pose.bottom - pose.top) * scale_y)))
    points = []
    for keypoint in pose.keypoints:
        # pixel centres: colour pixel x covers depth pixels (x + 0.5) * scale - 0.5
        z = keypoint_depth(depth, (keypoint.x + 0.5) * scale_x - 0.5, (keypoint.y + 0.5) * scale_y - 0.5, radius)
        points.append(((keypoint.x - camera.cx) * z / camera.fx, (keypoint.y - camera.cy) * z / camera.fy, z))
    return tuple(points)


DEPTH_FILE_SUFFIXES = (".png", ".tif", ".tiff", ".npy")


def read_depth_file(path: str | Path) -> np.ndarray:
    """A depth image file in metres (NaN: no reading): a 16-bit PNG or TIFF (or a uint16 .npy) holds
    millimetres (16UC1), a float32 TIFF or .npy metres (32FC1)."""
    import cv2

    path = Path(path)
    depth = np.load(path) if path.suffix == ".npy" else cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if depth is None or depth.ndim != 2:
        raise DepthError(f"{path} is not a one-channel depth image (16-bit millimetres or float metres)")
    return depth_in_metres(depth, "16UC1" if depth.dtype == np.uint16 else "32FC1")


def depth_file_for(spec: str | Path, image_source: str) -> Path:
    """The depth file of a colour frame: ``spec`` itself, or the file of the same stem in folder ``spec``."""
    spec = Path(spec)
    if not spec.is_dir():
        return spec
    stem = Path(image_source.split("#")[0]).stem
    for suffix in DEPTH_FILE_SUFFIXES:
        if (spec / f"{stem}{suffix}").is_file():
            return spec / f"{stem}{suffix}"
    raise DepthError(f"no depth image for {image_source} in {spec} ({stem} with {', '.join(DEPTH_FILE_SUFFIXES)})")

"""The depth frames and camera info the node pairs with each colour frame, and the rviz markers of 3D people.

Depth frames (REP-118: 16UC1 millimetres or 32FC1 metres, aligned to the colour image, any
resolution) are kept in a short queue; a colour frame takes the one nearest to its stamp within
``slop`` seconds, or none (the frame is published 2D only, and the reason is returned to count).
The camera model comes from the colour camera's latest sensor_msgs/CameraInfo (P where set, else
K: depth.CameraModel).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from ros2_posenet.depth import CameraModel, DepthError, depth_dtype, depth_in_metres
from ros2_posenet.overlay import track_color
from ros2_posenet.pose import Pose
from ros2_posenet.ros.image import ImageFormatError, bytes_of, check_rows

QUEUE = 5  # depth frames kept: a camera's depth stream runs at about the colour rate
MARKER_LIFETIME_S = 0.5  # markers of a person no longer seen vanish by themselves


def _seconds(stamp: Any) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def depth_msg_to_metres(msg: Any) -> np.ndarray:
    """A sensor_msgs/Image of depth as float32 metres with NaN for no reading; DepthError in one line."""
    dtype = depth_dtype(msg.encoding).newbyteorder(">" if msg.is_bigendian else "<")
    try:
        data = bytes_of(msg.data, "depth data")
        check_rows(msg.height, msg.width, msg.step, data.nbytes, msg.width * dtype.itemsize, msg.encoding)
    except ImageFormatError as error:
        raise DepthError(f"depth frame: {error}") from None
    rows = np.frombuffer(data, np.uint8).reshape(msg.height, msg.step)[:, : msg.width * dtype.itemsize]
    return depth_in_metres(rows.copy().view(dtype).astype(dtype.newbyteorder("=")), msg.encoding)


class DepthPairing:
    """Recent depth frames and the latest camera info; ``pair(header)`` for one colour frame."""

    def __init__(self, slop: float) -> None:
        self.slop = slop
        self._depth: deque[Any] = deque(maxlen=QUEUE)
        self._camera: CameraModel | None = None
        self._lock = threading.Lock()

    def add_depth(self, msg: Any) -> None:
        with self._lock:
            self._depth.append(msg)

    def set_camera_info(self, msg: Any) -> None:
        """Raises DepthError for a camera info without usable intrinsics (the caller logs it)."""
        camera = CameraModel.from_matrices(msg.k, msg.p, msg.width, msg.height)
        with self._lock:
            self._camera = camera

    def pair(self, header: Any) -> tuple[np.ndarray, CameraModel] | str:
        """(depth in metres, camera) for the colour frame of ``header``, or why there is none."""
        with self._lock:
            camera, frames = self._camera, list(self._depth)
        if camera is None:
            return "no camera_info"
        if not frames:
            return "no depth frame"
        wanted = _seconds(header.stamp)
        nearest = min(frames, key=lambda msg: abs(_seconds(msg.header.stamp) - wanted))
        if abs(_seconds(nearest.header.stamp) - wanted) > self.slop:
            return "no depth frame within depth_slop"
        return depth_msg_to_metres(nearest), camera


def marker_array(poses: list[Pose], header: Any) -> MarkerArray:
    """Each person with 3D keypoints as a SPHERE_LIST of joints and a LINE_LIST of limbs, coloured by
    track, in the colour image's optical frame; a single DELETEALL when nobody has 3D."""
    markers = []
    for index, pose in enumerate(poses):
        if not pose.points_3d:  # a frame published 2D only (no depth paired)
            continue
        points = {k.id: p for k, p in zip(pose.keypoints, pose.points_3d, strict=True) if not np.isnan(p).any()}
        if not points:
            continue
        red, green, blue = (value / 255 for value in track_color(pose.track_id or index))  # the overlay's colour
        colour = ColorRGBA(r=red, g=green, b=blue, a=1.0)
        identity = pose.track_id if pose.track_id else 100000 + index  # untracked people: their place this frame
        joints = _marker(header, identity * 2, Marker.SPHERE_LIST, 0.06, colour)
        joints.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in points.values()]
        limbs = _marker(header, identity * 2 + 1, Marker.LINE_LIST, 0.02, colour)
        for a, b in pose.links:
            if a in points and b in points:
                limbs.points += [Point(x=float(v[0]), y=float(v[1]), z=float(v[2])) for v in (points[a], points[b])]
        markers += [joints, limbs] if limbs.points else [joints]
    if not markers:
        return MarkerArray(markers=[Marker(header=header, ns="posenet", action=Marker.DELETEALL)])
    return MarkerArray(markers=markers)


def _marker(header: Any, identity: int, kind: int, size: float, colour: ColorRGBA) -> Marker:
    marker = Marker(header=header, ns="posenet", id=identity, type=kind, action=Marker.ADD, color=colour)
    marker.scale.x = marker.scale.y = marker.scale.z = size
    marker.pose.orientation.w = 1.0
    marker.lifetime.sec, marker.lifetime.nanosec = 0, int(MARKER_LIFETIME_S * 1e9)
    return marker

"""Drawing detected people on an image: boxes, links and keypoints (OpenCV only, no ROS)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from ros2_posenet.pose import PixelMapping, Pose
from ros2_posenet.topology import Color, Topology, default_colors

OVERLAY_FLAGS = ("box", "links", "keypoints", "track")  # track: colour people by track id, print the id
DEFAULT_OVERLAY = "links,keypoints"
# jetson-inference poseNet's own spellings (its --overlay help: box, links, keypoints, none; its code
# also takes boxes, link and keypoint), accepted so that its users' flags work unchanged.
SPELLINGS = {"boxes": "box", "link": "links", "keypoint": "keypoints"}

# Boxes are coloured per person (keypoints and links are coloured per body part), so that
# neighbouring people stay apart; a dozen hues cycle through any number of people.
_BOX_COLORS = default_colors(12)


def track_color(number: int) -> Color:
    """The RGB colour of box or track ``number``: one palette for the overlay and the rviz markers."""
    return _BOX_COLORS[number % len(_BOX_COLORS)]


def parse_overlay_flags(text: str) -> frozenset[str]:
    """``"box,links"`` -> ``{"box", "links"}``; ``"none"`` -> empty set. ValueError says what is allowed."""
    names = [SPELLINGS.get(name, name) for name in (part.strip().lower() for part in text.split(","))]
    allowed = ", ".join(OVERLAY_FLAGS)
    for name in names:
        if name not in OVERLAY_FLAGS and name != "none":
            shown = repr(name) if name else "an empty name"
            raise ValueError(f"overlay flags {text!r}: {shown} is not one of {allowed} or none")
    if "none" in names and len(set(names)) > 1:
        raise ValueError(f"overlay flags {text!r}: 'none' cannot be combined with other flags")
    return frozenset(names) - {"none"}


def draw_overlay(
    image_bgr: np.ndarray,
    poses: Iterable[Pose],
    topology: Topology,
    flags: str | Iterable[str] = DEFAULT_OVERLAY,
    max_pixels: int | None = None,
) -> np.ndarray:
    """A copy of ``image_bgr`` with the poses drawn on it; the input image is left untouched.

    ``flags`` is a flag string as the command takes it (``"links,keypoints"``) or parsed flags.
    ``max_pixels``: a larger image is drawn on a copy scaled down to about that many pixels (the
    poses scaled with it), so that an overlay of a huge frame costs no more than a bounded one.

    Topology colours are RGB (poseNet's ``colors.txt``); they are flipped to BGR here. A link
    takes the colour of its first keypoint. Line width and circle radius follow the image size
    so that overlays look alike on a 320x240 thumbnail and a 4K frame.
    """
    height, width = image_bgr.shape[:2]
    if max_pixels is not None and height * width > max_pixels:
        scale = (max_pixels / (height * width)) ** 0.5
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        image_bgr = cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)
        sx, sy = size[0] / width, size[1] / height  # pixel centres: x -> (x + 0.5) * s - 0.5
        to_small = PixelMapping(sx, 0.5 * sx - 0.5, sy, 0.5 * sy - 0.5)
        poses = [pose.map_points(to_small) for pose in poses]
    canvas = image_bgr.copy() if image_bgr.ndim == 3 else cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR)
    flags = parse_overlay_flags(flags) if isinstance(flags, str) else frozenset(flags)
    thickness, radius = _stroke_sizes(canvas.shape[0], canvas.shape[1])
    colors = [_bgr(color) for color in topology.colors]
    for pose in poses:
        by_track = "track" in flags and pose.track_id > 0
        track_bgr = _bgr(track_color(pose.track_id))
        left, top, right, bottom = (int(round(v)) for v in pose.box)
        if "box" in flags and pose.keypoints:
            box_color = track_bgr if by_track else _bgr(track_color(pose.id))
            cv2.rectangle(canvas, (left, top), (right, bottom), box_color, thickness, cv2.LINE_AA)
        points = {k.id: (int(round(k.x)), int(round(k.y))) for k in pose.keypoints}
        if "links" in flags:
            for a, b in pose.links:
                if a in points and b in points:
                    cv2.line(canvas, points[a], points[b], track_bgr if by_track else colors[a], thickness, cv2.LINE_AA)
        if "keypoints" in flags:
            for keypoint_id, point in points.items():
                cv2.circle(canvas, point, radius, track_bgr if by_track else colors[keypoint_id], -1, cv2.LINE_AA)
        if by_track and pose.keypoints:
            corner = (left, max(top - 2 * radius, radius * 3))
            cv2.putText(canvas, f"#{pose.track_id}", corner, cv2.FONT_HERSHEY_SIMPLEX, radius / 8, track_bgr, thickness)
    return canvas


def _stroke_sizes(height: int, width: int) -> tuple[int, int]:
    """(line thickness, keypoint radius): 2 px and 4 px at 640x480, proportional elsewhere."""
    scale = max(height, width) / 640.0
    return max(1, int(round(2 * scale))), max(2, int(round(4 * scale)))


def _bgr(color: Sequence[int] | Color) -> tuple[int, int, int]:
    red, green, blue = color
    return int(blue), int(green), int(red)

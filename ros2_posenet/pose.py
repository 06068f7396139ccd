"""The one result type for a detected person, shared by decoders, overlay, CLI and node."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

_set = object.__setattr__


class Keypoint(NamedTuple):
    """One body part of one person: topology id and name, position in pixels, confidence.

    A named tuple because decoders build hundreds per frame and a tuple is built several times
    faster than a frozen dataclass. Equality stays by type, like a dataclass's: a Keypoint never
    equals a plain tuple.
    """

    id: int
    name: str
    x: float
    y: float
    score: float

    def __eq__(self, other: object) -> bool:
        return type(other) is Keypoint and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return tuple.__hash__(self)


class PixelMapping(NamedTuple):
    """A per-axis scale and offset, ``(x, y) -> (x * scale_x + offset_x, y * scale_y + offset_y)``:
    how map pixels become image pixels (``InputTransform.map_to_image``). Positive scales keep
    boxes boxes, so the GPU decoder applies it to rows and boxes alike."""

    scale_x: float
    offset_x: float
    scale_y: float
    offset_y: float

    def __call__(self, x: float, y: float) -> tuple[float, float]:
        return x * self.scale_x + self.offset_x, y * self.scale_y + self.offset_y


@dataclass(frozen=True, init=False)
class Pose:
    """One person: the keypoints found and the links (pairs of keypoint ids) joining them.

    Coordinates are in the pixels of whatever the pose was decoded against: map pixels
    straight out of a decoder, input-image pixels once ``PoseNet`` has mapped them back.
    ``track_id`` is the person's id across frames (tracking.py): 1, 2, ... for a confirmed track,
    0 for a pose not tracked (tracking off, or a person seen too few times yet to get an id).
    ``points_3d``: with a depth image (depth.py), one (x, y, z) per keypoint in the same order, metres
    in the camera's optical frame, NaN where the depth had no reading; empty without depth.
    """

    id: int
    keypoints: tuple[Keypoint, ...]
    links: tuple[tuple[int, int], ...]
    score: float = 0.0
    box: tuple[float, float, float, float] = field(init=False)
    track_id: int = 0
    points_3d: tuple[tuple[float, float, float], ...] = ()

    def __init__(
        self,
        id: int,
        keypoints: tuple[Keypoint, ...],
        links: tuple[tuple[int, int], ...],
        score: float = 0.0,
        track_id: int = 0,
    ) -> None:
        # One dict for all fields: decoders build a Pose per person per frame, and a frozen
        # dataclass's generated __init__ sets each field through object.__setattr__ (slow).
        xs = [k.x for k in keypoints] or [0.0]
        ys = [k.y for k in keypoints] or [0.0]
        box = (min(xs), min(ys), max(xs), max(ys))
        fields = {"id": id, "keypoints": keypoints, "links": links, "score": score, "box": box, "track_id": track_id}
        _set(self, "__dict__", {**fields, "points_3d": ()})

    @classmethod
    def _with_box(
        cls,
        id: int,
        keypoints: tuple[Keypoint, ...],
        links: tuple[tuple[int, int], ...],
        score: float,
        box: tuple[float, float, float, float],
    ) -> Pose:
        """A Pose whose box the decoder computed along with its keypoints: no second scan of them."""
        pose = object.__new__(cls)
        fields = {"id": id, "keypoints": keypoints, "links": links, "score": score, "box": box, "track_id": 0}
        _set(pose, "__dict__", {**fields, "points_3d": ()})
        return pose

    def tracked(self, track_id: int) -> Pose:
        """This pose with ``track_id`` set (the box is kept, not recomputed)."""
        return self._with(track_id=track_id)

    def with_points_3d(self, points: tuple[tuple[float, float, float], ...]) -> Pose:
        """This pose with one 3D point per keypoint (depth.py)."""
        if len(points) != len(self.keypoints):
            raise ValueError(f"{len(points)} 3D points for {len(self.keypoints)} keypoints")
        return self._with(points_3d=tuple(points))

    def _with(self, **changes: object) -> Pose:
        pose = object.__new__(type(self))
        _set(pose, "__dict__", {**self.__dict__, **changes})
        return pose

    @property
    def left(self) -> float:
        return self.box[0]

    @property
    def top(self) -> float:
        return self.box[1]

    @property
    def right(self) -> float:
        return self.box[2]

    @property
    def bottom(self) -> float:
        return self.box[3]

    def find_keypoint(self, key: int | str) -> Keypoint | None:
        """The keypoint with this topology id (int) or name (str), or None if not found."""
        attribute = "id" if isinstance(key, int) else "name"
        return next((k for k in self.keypoints if getattr(k, attribute) == key), None)

    def map_points(self, transform: PixelMapping) -> Pose:
        """A copy with every keypoint moved by ``transform(x, y) -> (x, y)``; box follows."""
        moved = []
        for keypoint in self.keypoints:
            x, y = transform(keypoint.x, keypoint.y)
            moved.append(keypoint._replace(x=float(x), y=float(y)))
        return Pose(
            id=self.id, keypoints=tuple(moved), links=self.links, score=self.score, track_id=self.track_id
        )._with(points_3d=self.points_3d)

    def to_dict(self) -> dict:
        """Plain JSON-ready form, the one the CLI writes and tests compare."""
        return {
            "id": self.id,
            "track_id": self.track_id,
            "score": round(self.score, 4),
            "box": [round(v, 2) for v in self.box],
            "keypoints": [
                {"id": k.id, "name": k.name, "x": round(k.x, 2), "y": round(k.y, 2), "score": round(k.score, 4)}
                | ({"xyz": _metres(self.points_3d[index])} if self.points_3d else {})
                for index, k in enumerate(self.keypoints)
            ],
            "links": [list(link) for link in self.links],
        }


def _metres(point: tuple[float, float, float]) -> list[float] | None:
    """A 3D point for JSON, to the millimetre; None (null) where there was no depth."""
    return None if any(math.isnan(v) for v in point) else [round(v, 3) for v in point]

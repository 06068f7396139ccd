"""The one result type for a detected person, shared by decoders, overlay, CLI and node."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Keypoint:
    """One body part of one person: topology id and name, position in pixels, confidence."""

    id: int
    name: str
    x: float
    y: float
    score: float


@dataclass(frozen=True)
class Pose:
    """One person: the keypoints found and the links (pairs of keypoint ids) joining them.

    Coordinates are in the pixels of whatever the pose was decoded against: map pixels
    straight out of a decoder, input-image pixels once ``PoseNet`` has mapped them back.
    """

    id: int
    keypoints: tuple[Keypoint, ...]
    links: tuple[tuple[int, int], ...]
    score: float = 0.0
    box: tuple[float, float, float, float] = field(init=False)

    def __post_init__(self) -> None:
        xs = [k.x for k in self.keypoints] or [0.0]
        ys = [k.y for k in self.keypoints] or [0.0]
        object.__setattr__(self, "box", (min(xs), min(ys), max(xs), max(ys)))

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

    def map_points(self, transform: Callable[[float, float], tuple[float, float]]) -> Pose:
        """A copy with every keypoint moved by ``transform(x, y) -> (x, y)``; box follows."""
        moved = []
        for keypoint in self.keypoints:
            x, y = transform(keypoint.x, keypoint.y)
            moved.append(replace(keypoint, x=float(x), y=float(y)))
        return Pose(id=self.id, keypoints=tuple(moved), links=self.links, score=self.score)

    def to_dict(self) -> dict:
        """Plain JSON-ready form, the one the CLI writes and tests compare."""
        return {
            "id": self.id,
            "score": round(self.score, 4),
            "box": [round(v, 2) for v in self.box],
            "keypoints": [
                {"id": k.id, "name": k.name, "x": round(k.x, 2), "y": round(k.y, 2), "score": round(k.score, 4)}
                for k in self.keypoints
            ],
            "links": [list(link) for link in self.links],
        }

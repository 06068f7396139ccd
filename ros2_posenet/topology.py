"""Keypoint names, links and colours of a pose network's skeleton.

Which PAF channels hold each link's x and y components is a fact of the network, kept here as
``paf_channels``: trt_pose's models (jetson-inference's poseNet networks, any topology read from
trt_pose JSON) put link ``k``'s y (row) component in channel ``2k`` and x (column) in ``2k + 1``
(trt_pose/coco.py ``coco_category_to_topology``: row k = [paf_i = 2k, paf_j = 2k + 1, a, b];
parse/paf_score_graph dots paf_i with the row direction). Our tf-pose converter writes x first.
Both decoders read the channels named here, so neither assumes an order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ros2_posenet.errors import ModelError


class TopologyError(ModelError, ValueError):
    """A topology file that cannot be read or does not describe a skeleton."""


Color = tuple[int, int, int]


@dataclass(frozen=True)
class Topology:
    """A skeleton: keypoint names in channel order, links as 0-based keypoint id pairs, and per link
    the ``(x channel, y channel)`` of its PAF (default: x in ``2k``, y in ``2k + 1``)."""

    name: str
    keypoints: tuple[str, ...]
    links: tuple[tuple[int, int], ...]
    colors: tuple[Color, ...] = ()
    paf_channels: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        count = len(self.keypoints)
        if count == 0:
            raise TopologyError(f"topology {self.name!r} has no keypoints")
        for a, b in self.links:
            if not (0 <= a < count and 0 <= b < count) or a == b:
                raise TopologyError(f"topology {self.name!r}: link ({a}, {b}) is not a pair of its {count} keypoints")
        if self.colors and len(self.colors) != count:
            raise TopologyError(f"topology {self.name!r}: {len(self.colors)} colours for {count} keypoints")
        if not self.colors:
            object.__setattr__(self, "colors", default_colors(count))
        if not self.paf_channels:
            object.__setattr__(self, "paf_channels", x_first_channels(len(self.links)))
        used = sorted(channel for pair in self.paf_channels for channel in pair)
        if len(self.paf_channels) != len(self.links) or used != list(range(2 * len(self.links))):
            raise TopologyError(
                f"topology {self.name!r}: PAF channels {self.paf_channels} are not one (x, y) pair per link "
                f"covering channels 0..{2 * len(self.links) - 1}"
            )

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    @cached_property
    def torso_masks(self) -> tuple[int, int]:
        """(neck bit, hip bits) over keypoint ids: a torso is the neck and a hip. (0, 0) for a skeleton
        without them (a hand), where the decoders' complete-person rule needs no torso. Computed once:
        the decoders read it every frame."""
        bit = {name: 1 << index for index, name in enumerate(self.keypoints)}
        hips = bit.get("left_hip", 0) | bit.get("right_hip", 0)
        neck = bit.get("neck", 0)
        return (neck, hips) if neck and hips else (0, 0)

    @property
    def num_links(self) -> int:
        return len(self.links)

    def keypoint_id(self, name: str) -> int:
        """The id of a keypoint by name; ValueError names the known ones if absent."""
        try:
            return self.keypoints.index(name)
        except ValueError:
            raise ValueError(f"no keypoint {name!r} in topology {self.name!r}: {', '.join(self.keypoints)}") from None

    @classmethod
    def from_trt_pose_json(cls, path: str | Path, colors_path: str | Path | None = None) -> Topology:
        """Load trt_pose's ``human_pose.json`` format: names plus 1-based ``skeleton`` pairs; the PAF
        channels are trt_pose's (link k: y in ``2k``, x in ``2k + 1``)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            names = tuple(str(n) for n in data["keypoints"])
            links = tuple((int(a) - 1, int(b) - 1) for a, b in data["skeleton"])
        except FileNotFoundError:
            raise TopologyError(f"topology file not found: {path}") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise TopologyError(f"topology file {path} is not trt_pose JSON ({error})") from None
        except RecursionError:  # JSON nested thousands deep: Python's parser gives up
            raise TopologyError(f"topology file {path} is not trt_pose JSON (nested too deep)") from None
        colors = read_colors_txt(colors_path, len(names)) if colors_path else ()
        return cls(
            name=str(data.get("supercategory", path.stem)),
            keypoints=names,
            links=links,
            colors=colors,
            paf_channels=trt_pose_channels(len(links)),
        )


def x_first_channels(links: int) -> tuple[tuple[int, int], ...]:
    """Link k's x in channel 2k, y in 2k + 1: the layout our tf-pose converter writes."""
    return tuple((2 * k, 2 * k + 1) for k in range(links))


def trt_pose_channels(links: int) -> tuple[tuple[int, int], ...]:
    """trt_pose's layout: link k's y (row) component in channel 2k, x (column) in 2k + 1."""
    return tuple((2 * k + 1, 2 * k) for k in range(links))


def read_colors_txt(path: str | Path, count: int) -> tuple[Color, ...]:
    """poseNet's ``colors.txt``: one ``R G B`` line per keypoint (extra columns ignored)."""
    try:
        rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
        colors = tuple((int(r[0]), int(r[1]), int(r[2])) for r in rows)
    except (OSError, ValueError, IndexError) as error:
        raise TopologyError(f"colour file {path} is unreadable ({error})") from None
    return colors[:count] if len(colors) >= count else colors + default_colors(count)[len(colors) :]


def default_colors(count: int) -> tuple[Color, ...]:
    """Evenly spread, saturated hues: distinguishable colours for any number of keypoints."""
    import colorsys

    return tuple(
        tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(i / max(count, 1), 0.85, 1.0))  # type: ignore[misc]
        for i in range(count)
    )

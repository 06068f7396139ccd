"""Where models, converted networks and sample photos are cached: outside the source tree."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$ROS2_POSENET_CACHE, else $XDG_CACHE_HOME/ros2_posenet, else ~/.cache/ros2_posenet."""
    explicit = os.environ.get("ROS2_POSENET_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "ros2_posenet"


def photos_dir() -> Path:
    """Real photos fetched from Debian/PyPI packages by set-up, for tests and the demo."""
    return cache_dir() / "photos"

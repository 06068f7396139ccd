"""The one way tests load the real photos that set-up fetched (scripts/fetch_photos.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ros2_posenet.models.cache import photos_dir


def photo_path(name: str) -> Path:
    """The cached photo ``name``; skips the test, saying how to get it, when set-up has not fetched it."""
    path = photos_dir() / name
    if not path.is_file():
        pytest.skip(f"photo {path} is missing: run scripts/setup.sh (or scripts/fetch_photos.py)")
    return path


def load_photo(name: str) -> np.ndarray:
    """A real photo as OpenCV reads it (BGR uint8); skips when absent."""
    image = cv2.imread(str(photo_path(name)))
    assert image is not None, f"{name}: OpenCV cannot read the cached photo"
    return image

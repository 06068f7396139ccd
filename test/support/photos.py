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


GUARD_PHOTOS = ("basketball1.png", "basketball2.png", "messi5.jpg", "grace_hopper.jpg", "astronaut.png")
GUARD_VIDEO_FRAMES = (0, 250, 500, 750)  # of vtest.avi: a street with up to six walkers


def guard_images() -> list[tuple[str, np.ndarray]]:
    """Every real image an accuracy guard runs on: the photos and four frames of the street video."""
    images = [(name, load_photo(name)) for name in GUARD_PHOTOS]
    capture = cv2.VideoCapture(str(photo_path("vtest.avi")))
    try:
        for index in range(max(GUARD_VIDEO_FRAMES) + 1):
            ok, frame = capture.read()
            assert ok, f"vtest.avi ends before frame {index}"
            if index in GUARD_VIDEO_FRAMES:
                images.append((f"vtest.avi#{index}", frame))
    finally:
        capture.release()
    return images

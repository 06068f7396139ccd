"""Frame inputs and outputs of the ``posenet`` command: images, globs, folders, videos, cameras.

Inputs (``open_input``):
- an image file; a quoted glob (``"photos/*.jpg"``); a folder (its images, natural sort order);
- a video file (anything OpenCV can decode: .mp4, .avi, .mkv, ...);
- a camera: ``/dev/videoN`` or a bare index ``N``.
Each yields ``Frame(index, source, image)`` with a BGR uint8 image. In a glob or folder an
unreadable image is skipped with one warning line (one bad file should not stop a batch) and
its index is left out; a single image or video that cannot be read is an ``InputError``.

Outputs (``open_output``): an image path (one-frame inputs only), a printf pattern with
``%i`` (``out_%i.jpg``, ``out_%03i.jpg``), a folder (keeps the input file names), or a video
file chosen by extension (.mp4, .avi, .mkv). Parent folders are created. An output never
overwrites its own input file.
"""

from __future__ import annotations

import glob
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from ros2_posenet.errors import InputError, PoseNetError, first_line
from ros2_posenet.frame_buffer import BufferFor

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pnm"})
VIDEO_FOURCC = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
DEFAULT_FPS = 30.0
_CAMERA = re.compile(r"^(/dev/video\d+|\d+)$")
_PATTERN = re.compile(r"%0?\d*i")
_GLOB_CHARS = frozenset("*?[")


class OutputError(PoseNetError):
    """An output path that cannot be used or written."""


class Frame(NamedTuple):
    """One input frame: its index in the input, where it came from, and the BGR image."""

    index: int  # type: ignore[assignment]  # shadows tuple.index(); the name is the JSON's "frame" index
    source: str
    image: np.ndarray


def _warn_stderr(message: str) -> None:
    print(message, file=sys.stderr)


class FrameSource:
    """An iterable of frames; ``count`` is None where unknown (cameras), ``fps`` for video outputs."""

    count: int | None = None
    fps: float = DEFAULT_FPS

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def output_name(self, frame: Frame) -> str:
        """The file name this frame gets in an output folder."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file; safe to call twice."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ImageListSource(FrameSource):
    """Still images read one by one, so a folder of thousands never sits in memory at once."""

    def __init__(self, paths: list[Path], warn: Callable[[str], object] = _warn_stderr):
        self.paths = paths
        self.count = len(paths)
        self.warn = warn
        self.skipped: list[Path] = []

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.paths):
            try:
                image = read_image(path)
            except InputError as error:
                self.skipped.append(path)
                self.warn(f"posenet: warning: skipping: {error}")
                continue
            yield Frame(index, str(path), image)

    def output_name(self, frame: Frame) -> str:
        return Path(frame.source).name


class CaptureSource(FrameSource):
    """Frames of a video file or camera through ``cv2.VideoCapture``, until it has no more."""

    def __init__(self, name: str, capture: cv2.VideoCapture, is_camera: bool):
        self.name = name
        self.capture = capture
        self.is_camera = is_camera
        self.buffer_for: BufferFor | None = None  # where frames after the first are read into
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.count = None if is_camera or frames <= 0 else frames
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 0 < fps < 1000 else DEFAULT_FPS

    def __iter__(self) -> Iterator[Frame]:
        """Each frame, read into ``buffer_for``'s array of the last frame's size when there is one (a
        frame of another size gets OpenCV's own): a frame is only good until the next is read."""
        index, buffer = 0, None
        while True:
            ok, image = self.capture.read(buffer) if buffer is not None else self.capture.read()
            if not ok or image is None:
                return
            yield Frame(index, self.name, image)
            index += 1
            if self.buffer_for is not None and image.ndim == 3 and image.shape[2] == 3:
                buffer = self.buffer_for(*image.shape[:2])

    def output_name(self, frame: Frame) -> str:
        stem = "camera" + re.sub(r"\D", "", self.name) if self.is_camera else Path(self.name).stem
        return f"{stem}_{frame.index:06d}.jpg"

    def close(self) -> None:
        self.capture.release()


@contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 to /dev/null while C code runs (Python's own sys.stderr is flushed first)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def read_image(path: str | Path) -> np.ndarray:
    """A BGR uint8 image (grey and alpha images converted); InputError says why a file cannot be read."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as error:
        raise InputError(f"cannot read image {path}: {error.strerror or error}") from None
    try:
        with _c_stderr_silenced():  # libpng prints "libpng error: ..." itself; the InputError says it once
            image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except cv2.error as error:  # e.g. a header claiming more pixels than OpenCV allows
        raise InputError(f"cannot read image {path}: OpenCV refuses it ({first_line(error)})") from None
    if image is None:
        raise InputError(f"cannot read image {path}: not an image file OpenCV can decode")
    return image


def open_input(spec: str, warn: Callable[[str], object] = _warn_stderr) -> FrameSource:
    """The frame source an INPUT argument names; InputError (one line) if it is missing or unreadable."""
    path = Path(spec).expanduser()
    if _CAMERA.match(spec) and not path.is_file():
        return open_camera(spec)
    if any(char in spec for char in _GLOB_CHARS) and not path.exists():
        matches = [Path(p) for p in glob.glob(str(path), recursive=True)]
        images = natural_sorted(p for p in matches if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not images:
            raise InputError(f"no images match {spec!r}")
        return ImageListSource(images, warn=warn)
    if path.is_dir():
        images = natural_sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not images:
            raise InputError(f"no images in folder {spec} ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        return ImageListSource(images, warn=warn)
    if not path.exists():
        raise InputError(f"input not found: {spec}")
    if not path.is_file():
        raise InputError(f"input is not a file, folder or camera: {spec}")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        read_image(path)  # fail now, with the reason, rather than after the network has loaded
        return ImageListSource([path], warn=warn)
    probe = cv2.VideoCapture(str(path))
    ok, _ = probe.read() if probe.isOpened() else (False, None)
    probe.release()  # reopened rather than rewound: seeking is inexact with some codecs
    if not ok:
        raise InputError(f"cannot read {spec}: not an image or video OpenCV can decode")
    return CaptureSource(str(path), cv2.VideoCapture(str(path)), is_camera=False)


def open_camera(spec: str, capture: cv2.VideoCapture | None = None) -> CaptureSource:
    """A camera by ``/dev/videoN`` or index; ``capture`` lets tests hand in a stand-in capture."""
    device: int | str = int(spec) if spec.isdigit() else spec
    if capture is None:
        if isinstance(device, str) and not Path(device).exists():
            raise InputError(f"camera not found: {spec}")
        capture = cv2.VideoCapture(device)
    if not capture.isOpened():
        capture.release()
        raise InputError(f"cannot open camera {spec}")
    return CaptureSource(spec, capture, is_camera=True)


def natural_sorted(paths: Iterable[Path]) -> list[Path]:
    """Sorted so that ``frame2.jpg`` comes before ``frame10.jpg``."""

    def key(path: Path) -> list[tuple[int, int | str]]:
        return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", str(path))]

    return sorted(paths, key=key)


class FrameSink:
    """Where overlay frames go; ``close`` must always run (it finishes video files)."""

    def write(self, image: np.ndarray, frame: Frame, name: str) -> Path:
        """Write one overlay image for ``frame`` (``name``: its file name in a folder); returns the path."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output; safe to call twice."""

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ImageSink(FrameSink):
    """Image files: a fixed path, a ``%i`` pattern filled with the frame index, or a folder."""

    def __init__(self, kind: str, target: Path):
        self.kind = kind
        self.target = target

    def write(self, image: np.ndarray, frame: Frame, name: str) -> Path:
        if self.kind == "pattern":
            path = Path(str(self.target) % frame.index)
        elif self.kind == "folder":
            path = self.target / name
        else:
            path = self.target
        write_image(path, image, frame.source)
        return path


class VideoSink(FrameSink):
    """A video file; its frame size is the first frame's, later frames of another size are resized."""

    def __init__(self, path: Path, fps: float):
        self.path = path
        self.fps = fps
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None

    def write(self, image: np.ndarray, frame: Frame, name: str) -> Path:
        if self.writer is None:
            self.size = (image.shape[1], image.shape[0])
            fourcc = cv2.VideoWriter.fourcc(*VIDEO_FOURCC[self.path.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self.size)
            if not self.writer.isOpened():
                raise OutputError(f"cannot write video {self.path}")
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(image)
        return self.path

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None


def open_output(spec: str, frame_count: int | None, fps: float = DEFAULT_FPS) -> FrameSink:
    """The sink an OUTPUT argument names. ``frame_count`` (None: unknown) rules out a single image for many frames."""
    path = Path(spec).expanduser()
    suffix = path.suffix.lower()
    if "%" in spec:
        placeholders = spec.replace("%%", "")
        if len(_PATTERN.findall(placeholders)) != 1 or placeholders.count("%") != 1:
            raise OutputError(f"output pattern {spec!r} must hold exactly one %i (e.g. out_%i.jpg or out_%03i.jpg)")
        _check_image_suffix(spec, suffix)
        _make_parent(path)
        return ImageSink("pattern", path)
    if suffix in VIDEO_FOURCC:
        _make_parent(path)
        return VideoSink(path, fps)
    if path.is_dir() or spec.endswith(("/", "\\")) or not suffix:
        _make_folder(path)
        return ImageSink("folder", path)
    _check_image_suffix(spec, suffix)
    if frame_count != 1:
        raise OutputError(
            f"output {spec} is one image but the input has {frame_count or 'an unknown number of'} frames: "
            "use a pattern (out_%i.jpg), a folder or a video (.mp4/.avi/.mkv)"
        )
    _make_parent(path)
    return ImageSink("file", path)


def write_image(path: Path, image: np.ndarray, source: str) -> None:
    """Encode by extension and write; refuses to overwrite the input it was made from."""
    if Path(source).exists() and path.exists() and path.resolve() == Path(source).resolve():
        raise OutputError(f"refusing to overwrite the input image {source}: choose another output")
    ok, data = cv2.imencode(path.suffix, image)
    if not ok:
        raise OutputError(f"cannot encode an image as {path.suffix}: {path}")
    try:
        data.tofile(str(path))
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None


def _check_image_suffix(spec: str, suffix: str) -> None:
    if suffix not in IMAGE_EXTENSIONS:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS | set(VIDEO_FOURCC)))
        raise OutputError(f"output {spec}: unknown file type {suffix or '(none)'!r}; use one of {kinds} or a folder")


def _make_parent(path: Path) -> None:
    _make_folder(path.parent)


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create folder {path}: {error.strerror or error}") from None

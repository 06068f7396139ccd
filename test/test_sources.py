"""Frame inputs and outputs on real files written with OpenCV into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from support.frames import RecordingFrameBuffer

from ros2_posenet.errors import InputError
from ros2_posenet.sources import Frame, OutputError, open_camera, open_input, open_output


def picture(value: int, height: int = 48, width: int = 64) -> np.ndarray:
    """A small BGR image whose blue channel identifies it."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :, 0] = value
    image[:, :, 2] = 255 - value
    return image


def write_video(path: Path, frames: int, fps: float = 12.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for index in range(frames):
        writer.write(picture(index * 40))
    writer.release()
    return path


class FakeCamera:
    """Test stand-in for a camera (no /dev/video device exists here): a cv2.VideoCapture over a video file."""

    def __init__(self, video: Path):
        self._capture = cv2.VideoCapture(str(video))

    def __getattr__(self, name: str):
        return getattr(self._capture, name)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """img1, img2, img10 (natural order differs from plain sorting) plus a text file to ignore."""
    images = tmp_path / "images"
    images.mkdir()
    for value, name in ((10, "img10.png"), (1, "img1.png"), (2, "img2.jpg")):
        cv2.imwrite(str(images / name), picture(value * 10))
    (images / "notes.txt").write_text("not an image")
    return images


def test_single_image(folder: Path) -> None:
    source = open_input(str(folder / "img1.png"))
    frames = list(source)
    assert source.count == 1 and len(frames) == 1
    assert frames[0].index == 0 and frames[0].source == str(folder / "img1.png")
    assert np.array_equal(frames[0].image, picture(10))
    assert source.output_name(frames[0]) == "img1.png"


def test_grey_image_becomes_bgr(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((30, 40), 77, np.uint8))
    (frame,) = open_input(str(tmp_path / "grey.png"))
    assert frame.image.shape == (30, 40, 3) and frame.image.dtype == np.uint8


def test_folder_in_natural_order_images_only(folder: Path) -> None:
    source = open_input(str(folder))
    names = [Path(frame.source).name for frame in source]
    assert source.count == 3
    assert names == ["img1.png", "img2.jpg", "img10.png"]


def test_glob(folder: Path) -> None:
    source = open_input(str(folder / "img1*.png"))
    assert [Path(f.source).name for f in source] == ["img1.png", "img10.png"]


def test_corrupt_image_in_folder_is_skipped_with_a_warning(folder: Path) -> None:
    (folder / "img3.png").write_bytes(b"\x89PNG truncated")
    warnings: list[str] = []
    source = open_input(str(folder), warn=warnings.append)
    frames = list(source)
    assert [Path(f.source).name for f in frames] == ["img1.png", "img2.jpg", "img10.png"]
    assert [f.index for f in frames] == [0, 1, 3]  # indices stay those of the input list
    assert len(warnings) == 1 and "img3.png" in warnings[0] and "\n" not in warnings[0]
    assert source.skipped == [folder / "img3.png"]


@pytest.mark.parametrize(
    ("make", "spec", "reason"),
    [
        (None, "missing.jpg", "input not found"),
        (None, "nothing_*.jpg", "no images match"),
        ("empty_dir", "empty", "no images in folder"),
        ("corrupt", "bad.jpg", "cannot read image"),
        ("corrupt", "bad.mp4", "cannot read"),
    ],
)
def test_bad_inputs_are_one_line_input_errors(tmp_path: Path, make: str | None, spec: str, reason: str) -> None:
    if make == "empty_dir":
        (tmp_path / spec).mkdir()
    elif make == "corrupt":
        (tmp_path / spec).write_bytes(b"this is not a picture or a movie")
    with pytest.raises(InputError) as error:
        open_input(str(tmp_path / spec))
    assert reason in str(error.value) and "\n" not in str(error.value)


def test_video_file(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=5)
    source = open_input(str(video))
    frames = list(source)
    source.close()
    assert source.count == 5 and len(frames) == 5
    assert source.fps == pytest.approx(12.0)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert all(f.image.shape == (48, 64, 3) and f.source == str(video) for f in frames)
    assert frames[4].image[:, :, 0].mean() > frames[0].image[:, :, 0].mean() + 100  # frames in order
    assert source.output_name(frames[3]) == "clip_000003.jpg"


def test_video_frames_after_the_first_are_read_into_the_frame_buffer(tmp_path: Path) -> None:
    """The command reads video and camera frames into the network's frame buffer (page-locked on a GPU)."""
    video = write_video(tmp_path / "clip.avi", frames=4)
    plain = open_input(str(video))
    expected = [frame.image.copy() for frame in plain]
    plain.close()
    frames = RecordingFrameBuffer()
    source = open_input(str(video))
    source.buffer_for = frames
    seen = []
    for frame in source:  # a frame is good until the next is read: compare each as it comes
        seen.append((frame.image is frames.get(48, 64), np.array_equal(frame.image, expected[frame.index])))
    source.close()
    assert seen == [(False, True), (True, True), (True, True), (True, True)]
    assert frames.asked == [(48, 64)] * 4


def test_missing_camera_is_an_input_error() -> None:
    if Path("/dev/video57").exists():
        pytest.skip("/dev/video57 exists on this machine")
    with pytest.raises(InputError, match="camera not found: /dev/video57"):
        open_input("/dev/video57")


def test_camera_frames_until_the_device_stops(tmp_path: Path) -> None:
    video = write_video(tmp_path / "camera.avi", frames=3)
    source = open_camera("/dev/video0", capture=FakeCamera(video))
    frames = list(source)
    source.close()
    assert source.count is None  # a camera has no known length
    assert len(frames) == 3 and all(f.source == "/dev/video0" for f in frames)
    assert source.output_name(frames[1]) == "camera0_000001.jpg"


def frame(index: int = 0, source: str = "in/photo.png") -> Frame:
    return Frame(index, source, picture(100))


def test_single_image_output(tmp_path: Path) -> None:
    sink = open_output(str(tmp_path / "deep" / "out.jpg"), frame_count=1)
    written = sink.write(picture(200), frame(), "photo.png")
    sink.close()
    assert written == tmp_path / "deep" / "out.jpg"
    assert cv2.imread(str(written)).shape == (48, 64, 3)


@pytest.mark.parametrize("count", [3, None])
def test_single_image_output_refuses_many_frames(tmp_path: Path, count: int | None) -> None:
    with pytest.raises(OutputError, match="use a pattern"):
        open_output(str(tmp_path / "out.jpg"), frame_count=count)


@pytest.mark.parametrize(("pattern", "expected"), [("out_%i.png", "out_7.png"), ("out_%03i.jpg", "out_007.jpg")])
def test_pattern_output(tmp_path: Path, pattern: str, expected: str) -> None:
    sink = open_output(str(tmp_path / "frames" / pattern), frame_count=None)
    written = sink.write(picture(50), frame(index=7), "photo.png")
    assert written == tmp_path / "frames" / expected and written.stat().st_size > 0


@pytest.mark.parametrize("pattern", ["out_%s.jpg", "out_%i_%i.jpg", "out_%i.txt"])
def test_bad_patterns(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(OutputError):
        open_output(str(tmp_path / pattern), frame_count=2)


def test_folder_output_keeps_input_names(tmp_path: Path) -> None:
    sink = open_output(str(tmp_path / "a" / "b"), frame_count=2)
    first = sink.write(picture(1), frame(0, "x/one.png"), "one.png")
    second = sink.write(picture(2), frame(1, "x/two.jpg"), "two.jpg")
    assert (first, second) == (tmp_path / "a" / "b" / "one.png", tmp_path / "a" / "b" / "two.jpg")
    assert cv2.imread(str(first)) is not None and cv2.imread(str(second)) is not None


@pytest.mark.parametrize("extension", [".mp4", ".avi", ".mkv"])
def test_video_output(tmp_path: Path, extension: str) -> None:
    path = tmp_path / "videos" / f"out{extension}"
    sink = open_output(str(path), frame_count=None, fps=15.0)
    for index in range(4):
        sink.write(picture(index * 50), frame(index), "unused.jpg")
    sink.write(picture(250, height=96, width=128), frame(4), "unused.jpg")  # another size: resized
    sink.close()
    sink.close()
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 5
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (64, 48)
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(15.0)
    capture.release()


def test_unknown_output_type(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="unknown file type"):
        open_output(str(tmp_path / "out.xyz"), frame_count=1)


def test_output_never_overwrites_its_input(folder: Path) -> None:
    source = open_input(str(folder))
    sink = open_output(str(folder), frame_count=source.count)
    first = next(iter(source))
    before = (folder / "img1.png").read_bytes()
    with pytest.raises(OutputError, match="refusing to overwrite"):
        sink.write(picture(0), first, source.output_name(first))
    assert (folder / "img1.png").read_bytes() == before

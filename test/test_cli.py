"""The ``posenet`` command end to end on real photos with the real default network.

Runs in-process through ``cli.main`` (fast, one model load per call) and through the installed
``posenet`` console script (what users type). Tests needing the model or the photos skip with
the reason when set-up (``bash scripts/setup.sh``) has not fetched them.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.photos import photo_path

from ros2_posenet import cli
from ros2_posenet.errors import PoseNetError
from ros2_posenet.models.registry import DEFAULT_NETWORK, NETWORKS
from ros2_posenet.posenet import PoseNet

POSENET = Path(sys.executable).parent / "posenet"
SETUP_HINT = "run `bash scripts/setup.sh --no-demo` first"


@pytest.fixture(scope="module")
def photos() -> Path:
    folder = photo_path("basketball1.png").parent
    photo_path("basketball2.png")
    try:  # set-up has fetched and converted it; loading then only reads the cache
        PoseNet(DEFAULT_NETWORK).close()
    except PoseNetError as error:
        pytest.skip(f"network {DEFAULT_NETWORK} unavailable ({error}); {SETUP_HINT}")
    return folder


@pytest.fixture(scope="module")
def library(photos: Path) -> dict[str, list[dict]]:
    """The poses the library itself finds in each photo: what the command must report, to the digit."""
    net = PoseNet(DEFAULT_NETWORK)
    found = {}
    for name in ("basketball1.png", "basketball2.png"):
        poses = net.process(cv2.imread(str(photos / name)))
        found[name] = json.loads(json.dumps([pose.to_dict() for pose in poses]))
    net.close()
    return found


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_script(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    if not POSENET.is_file():
        pytest.skip(f"console script {POSENET} not installed; run `.venv/bin/pip install -e .`")
    return subprocess.run([str(POSENET), *args], capture_output=True, text=True, timeout=timeout)


def assert_keypoints_inside(frame: dict) -> None:
    for pose in frame["poses"]:
        for keypoint in pose["keypoints"]:
            assert 0 <= keypoint["x"] < frame["width"] and 0 <= keypoint["y"] < frame["height"], keypoint
            assert 0 < keypoint["score"] <= 1.5


def make_video(path: Path, photos: Path, frames: int, size: tuple[int, int] = (640, 480)) -> Path:
    """A short MJPG video alternating the two basketball photos."""
    images = [cv2.resize(cv2.imread(str(photos / f"basketball{i}.png")), size) for i in (1, 2)]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
    for index in range(frames):
        writer.write(images[index % 2])
    writer.release()
    return path


def test_image_with_overlay_and_json(
    photos: Path, library: dict[str, list[dict]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, report = tmp_path / "out" / "b1.jpg", tmp_path / "b1.json"
    code, out, err = run_main([str(photos / "basketball1.png"), str(output), "--json", str(report)], capsys)
    assert code == 0, err
    assert cv2.imread(str(output)).shape == (480, 640, 3)
    data = json.loads(report.read_text())
    assert data["network"] == DEFAULT_NETWORK and data["interrupted"] is False
    assert len(data["topology"]["keypoints"]) == 18
    (frame,) = data["frames"]
    assert frame["index"] == 0 and frame["source"] == str(photos / "basketball1.png")
    assert (frame["width"], frame["height"]) == (640, 480)
    assert frame["people"] == len(frame["poses"]) == 2
    assert frame["poses"] == library["basketball1.png"]
    assert_keypoints_inside(frame)
    assert "frame 0" in out and "2 people" in out and " neck " in out and "links: " in out
    assert "inference" in out and "FPS" in out


def test_overlay_none_writes_the_input_unchanged(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain, drawn = tmp_path / "plain.png", tmp_path / "drawn.png"
    source = str(photos / "basketball2.png")
    assert run_main([source, str(plain), "--overlay", "none", "--quiet"], capsys)[0] == 0
    assert run_main([source, str(drawn), "--overlay", "box,links,keypoints", "--quiet"], capsys)[0] == 0
    original = cv2.imread(source)
    assert (cv2.imread(str(plain)) == original).all()
    assert (cv2.imread(str(drawn)) != original).any(axis=2).sum() > 1000


def test_glob_to_pattern(
    photos: Path, library: dict[str, list[dict]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "glob.json"
    pattern = str(tmp_path / "frames" / "out_%03i.jpg")
    code, out, err = run_main([str(photos / "basketball*.png"), pattern, "--json", str(report), "--quiet"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["out_000.jpg", "out_001.jpg"]
    frames = json.loads(report.read_text())["frames"]
    assert [Path(f["source"]).name for f in frames] == ["basketball1.png", "basketball2.png"]
    assert [f["poses"] for f in frames] == [library["basketball1.png"], library["basketball2.png"]]
    assert "frame 0" not in out and "frames 2," in out  # --quiet: summary only


def test_folder_to_folder_skips_a_corrupt_image(
    photos: Path, library: dict[str, list[dict]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("basketball1.png", "basketball2.png"):
        shutil.copy(photos / name, inputs / name)
    (inputs / "broken.png").write_bytes(b"\x89PNG but nothing else")
    report = tmp_path / "folder.json"
    code, out, err = run_main([str(inputs), str(tmp_path / "out"), "--json", str(report)], capsys)
    assert code == cli.EXIT_ERROR, err  # the good frames are done, but the run says something was skipped
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["basketball1.png", "basketball2.png"]
    assert "skipping" in err and "broken.png" in err and "1 frame(s) skipped" in err
    frames = json.loads(report.read_text())["frames"]
    assert [(f["index"], Path(f["source"]).name) for f in frames] == [(0, "basketball1.png"), (1, "basketball2.png")]
    assert [f["poses"] for f in frames] == [library["basketball1.png"], library["basketball2.png"]]


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header (IHDR, CRC fixed) claims ``width`` x ``height``."""
    import struct
    import zlib

    data = bytearray(cv2.imencode(".png", np.zeros((1, 1, 3), np.uint8))[1].tobytes())
    ihdr = 8 + 4  # signature, chunk length: the chunk type and its data follow
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    return bytes(data)


def test_a_batch_skips_each_bad_frame_in_one_line_and_keeps_every_good_result(
    photos: Path, library: dict[str, list[dict]], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    """A header claiming 100000x100000 (OpenCV raises), an image over the pixel limit, an output that
    cannot be written: each is one line, the run goes on, the JSON holds every good frame, exit 1."""
    monkeypatch.setattr("ros2_posenet.preprocess.MAX_IMAGE_PIXELS", 640 * 480)  # the photos just fit
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    shutil.copy(photos / "basketball1.png", inputs / "a_basketball1.png")
    (inputs / "b_huge_header.png").write_bytes(png_claiming(100000, 100000))
    cv2.imwrite(str(inputs / "c_over_the_limit.png"), np.zeros((481, 640, 3), np.uint8))
    shutil.copy(photos / "basketball2.png", inputs / "d_basketball2.png")
    (outputs / "d_basketball2.png").mkdir(parents=True)  # its overlay cannot be written there
    report = tmp_path / "batch.json"
    code, out, err = run_main([str(inputs), str(outputs), "--json", str(report)], capsys)
    assert code == cli.EXIT_ERROR and "Traceback" not in err, err
    warnings = [line for line in err.splitlines() if line.startswith("posenet: warning: ")]
    assert len(warnings) == 3, err
    assert "b_huge_header.png" in warnings[0] and "c_over_the_limit.png" in warnings[1] and "pixel limit" in warnings[1]
    assert "no output for frame" in warnings[2] and "d_basketball2.png" in warnings[2]
    frames = json.loads(report.read_text())["frames"]
    assert [Path(f["source"]).name for f in frames] == ["a_basketball1.png", "d_basketball2.png"]
    assert [f["poses"] for f in frames] == [library["basketball1.png"], library["basketball2.png"]]
    assert frames[0]["output"] is not None and frames[1]["output"] is None
    assert err.strip().splitlines()[-1] == "posenet: error: 3 frame(s) skipped (see the warnings above)"


def test_decode_flags_reach_the_decoder(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "flags.json"
    flags = ["--threshold", "0.3", "--link-threshold", "0.2", "--max-people", "1"]
    code, out, err = run_main([str(photos / "basketball1.png"), "--json", str(report), "--quiet", *flags], capsys)
    assert code == 0, err
    data = json.loads(report.read_text())
    params = data["decode_params"]
    assert (params["keypoint_threshold"], params["link_threshold"], params["max_people"]) == (0.3, 0.2, 1)
    net = PoseNet(DEFAULT_NETWORK)
    net.set_thresholds(keypoint=0.3, link=0.2)
    net.decode_params = replace(net.decode_params, max_people=1)
    expected = [pose.to_dict() for pose in net.process(cv2.imread(str(photos / "basketball1.png")))]
    assert data["frames"][0]["poses"] == json.loads(json.dumps(expected))
    assert data["frames"][0]["people"] == 1
    assert all(k["score"] > 0.3 for k in data["frames"][0]["poses"][0]["keypoints"])


def test_video_to_video(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    video = make_video(tmp_path / "clip.avi", photos, frames=3)
    output, report = tmp_path / "out.mp4", tmp_path / "video.json"
    code, out, err = run_main([str(video), str(output), "--json", str(report), "--max-people", "1"], capsys)
    assert code == 0, err
    capture = cv2.VideoCapture(str(output))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 3
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (640, 480)
    capture.release()
    frames = json.loads(report.read_text())["frames"]
    assert [f["index"] for f in frames] == [0, 1, 2]
    assert all(f["people"] == 1 for f in frames)  # --max-people 1 keeps the best of the two
    for frame in frames:
        assert_keypoints_inside(frame)


def test_videos_are_tracked_and_images_are_not(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The two players of a (still) clip keep two ids once confirmed on the 3rd frame; --no-track and
    image inputs give 0: not tracked."""
    video = make_video(tmp_path / "clip.avi", photos, frames=6)
    for extra, tracked in (([], True), (["--no-track"], False)):
        report = tmp_path / f"track{len(extra)}.json"
        code, _, err = run_main([str(video), "--json", str(report), "--input-size", "224x192", *extra], capsys)
        assert code == 0, err
        ids = [sorted(p["track_id"] for p in f["poses"]) for f in json.loads(report.read_text())["frames"]]
        if tracked:
            assert ids[0] == ids[1] == [0, 0] and ids[2] == ids[5] and len(set(ids[2])) == 2 and 0 not in ids[2], ids
        else:
            assert {i for frame in ids for i in frame} == {0}, ids
    report = tmp_path / "images.json"
    code, _, err = run_main([str(photos), "--json", str(report), "--input-size", "224x192"], capsys)
    assert code == 0 and {p["track_id"] for f in json.loads(report.read_text())["frames"] for p in f["poses"]} == {0}


def test_console_script_on_an_image(photos: Path, tmp_path: Path) -> None:
    report = tmp_path / "script.json"
    result = run_script([str(photos / "basketball1.png"), "--json", str(report), "--network", DEFAULT_NETWORK])
    assert result.returncode == 0, result.stderr
    assert "2 people" in result.stdout and "Traceback" not in result.stderr
    assert json.loads(report.read_text())["frames"][0]["people"] == 2


def test_backend_choice_and_reasons_are_on_stderr_unless_quiet(photos: Path) -> None:
    """What a user on a CPU machine sees: which backend ``auto`` took, and why not each faster one."""
    result = run_script([str(photos / "basketball1.png"), "--input-size", "224x224"])
    assert result.returncode == 0, result.stderr
    log = [line for line in result.stderr.splitlines() if line.startswith("posenet: backend auto:")]
    assert log[0].startswith("posenet: backend auto: not tensorrt: ") and "install" in log[0]
    assert any(line.startswith("posenet: backend auto: not torch-cuda: ") for line in log)
    chosen = log[-1].removeprefix("posenet: backend auto: ")
    assert chosen == "onnxruntime-cpu" or chosen.startswith("openvino (OpenVINO "), log
    quiet = run_script([str(photos / "basketball1.png"), "--input-size", "224x224", "-q"])
    assert quiet.returncode == 0 and "backend auto" not in quiet.stderr


def test_ctrl_c_still_writes_json_and_closes_the_video(photos: Path, tmp_path: Path) -> None:
    video = make_video(tmp_path / "long.avi", photos, frames=200, size=(320, 240))
    output, report = tmp_path / "partial.avi", tmp_path / "partial.json"
    if not POSENET.is_file():
        pytest.skip(f"console script {POSENET} not installed; run `.venv/bin/pip install -e .`")
    process = subprocess.Popen(
        [str(POSENET), str(video), str(output), "--json", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # even if this runs as a background job
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    for line in process.stdout:  # wait until a few frames are done
        if line.startswith("frame 2 ") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted after" in err and "Traceback" not in err
    data = json.loads(report.read_text())
    assert data["interrupted"] is True and 3 <= len(data["frames"]) < 200
    capture = cv2.VideoCapture(str(output))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == len(data["frames"])  # a finished, readable file
    capture.release()


def test_list_networks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(["--list-networks"], capsys)
    assert code == 0
    for name in NETWORKS:
        assert name in out
    assert f"* {DEFAULT_NETWORK}" in out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["{tmp}/missing.jpg"], "input not found"),
        (["{tmp}/nothing_*.png"], "no images match"),
        (["{tmp}/not_an_image.jpg"], "cannot read image"),
        (["{tmp}/small.png", "--network", "no-such-net"], "unknown network 'no-such-net'"),
        (["{tmp}/small.png", "--model", "{tmp}/none.onnx", "--topology", "{tmp}/t.json"], "model file not found"),
        (["{tmp}/small.png", "{tmp}/out.xyz"], "unknown file type"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    cv2.imwrite(str(tmp_path / "small.png"), np.zeros((32, 32, 3), np.uint8))
    (tmp_path / "not_an_image.jpg").write_text("plain text, not a JPEG")
    code, out, err = run_main([arg.format(tmp=tmp_path) for arg in args], capsys)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("posenet: error: ") and reason in err, err


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["x.jpg", "--overlay", "boxs"], "'boxs' is not one of box, links, keypoints"),
        (["x.jpg", "--threshold", "1.5"], "1.5 is not in [0, 1]"),
        (["x.jpg", "--input-size", "big"], "input size must look like"),
        (["x.jpg", "--backend", "magic"], "invalid choice: 'magic'"),
        (["x.jpg", "--model", "m.onnx"], "--model and --topology go together"),
        ([], "required: INPUT"),
    ],
)
def test_bad_flag_values_are_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str], reason: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and err.startswith("posenet: error: ") and reason in err, err
    assert err.rstrip().endswith("(see posenet --help)")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.png", None, "input not found: {path}"),
        ("broken.mp4", b"not a movie", "cannot read {path}: not an image or video OpenCV can decode"),
        ("truncated.png", "basketball1.png:20000", "cannot read image {path}: not an image file OpenCV can decode"),
    ],
)
def test_console_script_error_is_exactly_one_line(
    tmp_path: Path, name: str, content: bytes | str | None, message: str
) -> None:
    """Through the real script, so that C-level OpenCV/FFmpeg warnings on stderr would show too."""
    path = tmp_path / name
    if isinstance(content, str):  # "photo:N": the first N bytes of a real photo (libpng complains on its own)
        photo, size = content.split(":")
        path.write_bytes(photo_path(photo).read_bytes()[: int(size)])
    elif content is not None:
        path.write_bytes(content)
    result = run_script([str(path), "-q"], timeout=60)
    assert result.returncode == 1
    assert result.stderr == f"posenet: error: {message.format(path=path)}\n"

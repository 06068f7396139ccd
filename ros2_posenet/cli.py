"""The ``posenet`` command: find people in images, folders, videos and cameras; print, draw, save JSON.

Every user error (missing input, unknown network, unreadable file, bad flag value, missing model
files) ends the command with one line on stderr and a non-zero exit code, never a traceback.
Ctrl-C stops after the current frame and still finishes the video file and the JSON (exit code 130).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import cv2
from tqdm import tqdm

from ros2_posenet.depth import CameraModel, DepthError, depth_file_for, pose_points_3d, read_depth_file
from ros2_posenet.engines import BACKENDS
from ros2_posenet.engines.base import PRECISIONS, EngineOptions
from ros2_posenet.errors import PoseNetError
from ros2_posenet.models.fetch import search_dirs
from ros2_posenet.models.registry import DEFAULT_NETWORK, NETWORKS
from ros2_posenet.overlay import DEFAULT_OVERLAY, OVERLAY_FLAGS, draw_overlay, parse_overlay_flags
from ros2_posenet.pose import Pose
from ros2_posenet.posenet import PoseNet, parse_input_size
from ros2_posenet.sources import CaptureSource, Frame, FrameSink, FrameSource, OutputError, open_input, open_output
from ros2_posenet.timing import StageTimer
from ros2_posenet.tracking import PoseTracker

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
_STAGES = ("preprocess", "inference", "decode", "total", "output")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points to --help (argparse prints usage, then it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="posenet",
        description="Multi-person 2D pose estimation on images, folders, globs, videos and cameras.",
        epilog=(
            "INPUT: an image, a quoted glob ('photos/*.jpg'), a folder, a video file, or a camera "
            "(/dev/video0 or 0). OUTPUT: an image (one-frame inputs), a pattern with %i (out_%03i.jpg), "
            "a folder (keeps input file names) or a video (.mp4/.avi/.mkv)."
        ),
    )
    parser.add_argument("input", nargs="?", metavar="INPUT", help="image, glob, folder, video or camera")
    parser.add_argument("output", nargs="?", metavar="OUTPUT", help="where overlay images/video go (optional)")
    parser.add_argument(
        "--network", metavar="NAME", default=DEFAULT_NETWORK, help=f"registered network (default {DEFAULT_NETWORK})"
    )
    parser.add_argument(
        "--model",
        metavar="PATH",
        help="custom ONNX with the poseNet I/O contract (needs --topology; size and normalisation from --network)",
    )
    parser.add_argument("--topology", metavar="PATH", help="trt_pose-format topology JSON for --model")
    parser.add_argument(
        "--overlay",
        metavar="FLAGS",
        type=_argument(parse_overlay_flags),
        default=parse_overlay_flags(DEFAULT_OVERLAY),
        help=f"comma-separated mix of {', '.join(OVERLAY_FLAGS)}, or none (default {DEFAULT_OVERLAY})",
    )
    parser.add_argument(
        "--threshold", metavar="X", type=_argument(_fraction), help="keypoint (CMAP) threshold in [0, 1]"
    )
    parser.add_argument(
        "--link-threshold", metavar="X", type=_argument(_fraction), help="link (PAF) threshold in [0, 1]"
    )
    parser.add_argument(
        "--input-size", metavar="WxH", type=_argument(parse_input_size), help="network input WxH, e.g. 432x368"
    )
    parser.add_argument(
        "--backend",
        default="auto",
        choices=BACKENDS,
        help=f"inference backend: {', '.join(BACKENDS)} (default auto)",
        metavar="B",
    )
    parser.add_argument(
        "--precision",
        default="auto",
        choices=PRECISIONS,
        help="what the engine computes in: auto (fp16 on NVIDIA GPUs, fp32 on CPUs), fp32, fp16, bf16 (OpenVINO "
        "on CPUs that have it: faster, other people found, see the README)",
    )
    parser.add_argument(
        "--threads", metavar="N", type=_argument(_threads), default=0, help="CPU threads for inference (0: all cores)"
    )
    parser.add_argument("--max-people", metavar="N", type=_argument(_max_people), help="at most N people per frame")
    parser.add_argument(
        "--min-keypoints", metavar="N", type=_argument(_max_people), help="people need N keypoints (network's own)"
    )
    parser.add_argument(
        "--min-pose-score",
        metavar="X",
        type=_argument(_pose_score),
        help="people need this score, mean keypoint + mean link score, in [0, 2] (network's own)",
    )
    parser.add_argument(
        "--track",
        action=argparse.BooleanOptionalAction,
        help="give people ids that persist across frames (default: on for videos and cameras, off for images)",
    )
    parser.add_argument(
        "--depth",
        metavar="PATH",
        help="depth aligned to the image(s) for 3D keypoints: a 16-bit PNG/TIFF in mm, a float TIFF/.npy in m, "
        "or a folder of them named like the images; needs --camera-info",
    )
    parser.add_argument("--camera-info", metavar="YAML", help="the colour camera's calibration (ROS camera_info YAML)")
    parser.add_argument("--json", metavar="PATH", help="write all poses of all frames to this JSON file")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no per-frame lines, no progress bar, only warnings in the log"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug lines in the log")
    parser.add_argument("--list-networks", action="store_true", help="list the registered networks and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``posenet`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_opencv()
    _log_to_stderr(logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO)
    if args.list_networks:
        print(format_networks())
        return 0
    if args.input is None:
        parser.error("the following arguments are required: INPUT")
    if (args.model is None) != (args.topology is None):
        parser.error("--model and --topology go together")
    if (args.depth is None) != (args.camera_info is None):
        parser.error("--depth and --camera-info go together")
    try:
        return run(args)
    except (PoseNetError, ValueError, OSError) as error:
        print(f"posenet: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("posenet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run(args: argparse.Namespace) -> int:
    """Open the input and output (fast one-line errors before any model loads), load the network, run."""
    source = open_input(args.input, warn=_write_stderr)
    camera = CameraModel.from_yaml(args.camera_info) if args.camera_info else None
    sink = None
    try:
        sink = open_output(args.output, source.count, source.fps) if args.output else None
        build_bar = BuildProgressBar(disabled=args.quiet)
        net = PoseNet(
            args.network,
            model=args.model,
            topology=args.topology,
            backend=args.backend,
            precision=args.precision,
            threads=args.threads,
            build_progress=build_bar,
            input_size=args.input_size,
        )
        build_bar.close()
        net.set_decoding(
            keypoint_threshold=args.threshold,
            link_threshold=args.link_threshold,
            max_people=args.max_people,
            min_keypoints=args.min_keypoints,
            min_pose_score=args.min_pose_score,
        )
        output_timer = StageTimer()
        batch = Batch()
        try:
            track = args.track if args.track is not None else isinstance(source, CaptureSource)
            tracker = PoseTracker(net.topology.num_keypoints) if track else None
            annotate = FrameAnnotator(tracker, args.depth, camera)
            process_frames(net, source, sink, args.overlay, args.quiet, output_timer, batch, annotate)
        finally:  # whatever ends the run, the frames already done are written
            summary = {**net.timings.summary(), **output_timer.summary()}
            if args.json:
                write_json(Path(args.json), build_report(net, args.input, batch.records, summary, batch.interrupted))
                print(f"wrote {args.json}")
    finally:
        if sink is not None:
            sink.close()
        source.close()
    print(format_summary(summary, len(batch.records), batch.wall))
    skipped = len(batch.skipped) + len(getattr(source, "skipped", ()))
    if batch.interrupted:
        print(f"posenet: interrupted after {len(batch.records)} frames", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not batch.records:
        print(f"posenet: error: no frame could be read from {args.input}", file=sys.stderr)
        return EXIT_ERROR
    if skipped:
        print(f"posenet: error: {skipped} frame(s) skipped (see the warnings above)", file=sys.stderr)
        return EXIT_ERROR
    return 0


@dataclass
class Batch:
    """What a run has done so far: each frame's record, the frames skipped (with why), Ctrl-C, wall time."""

    records: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False
    wall: float = 0.0


class FrameAnnotator:
    """What a frame's poses get after decoding: track ids (``tracker``), 3D points (``depth`` + ``camera``)."""

    def __init__(self, tracker: PoseTracker | None, depth: str | None, camera: CameraModel | None) -> None:
        self.tracker, self.depth, self.camera = tracker, depth, camera

    def __call__(self, frame: Frame, poses: list[Pose]) -> list[Pose]:
        if self.tracker is not None:
            poses = self.tracker.update(poses)
        if self.depth is not None and self.camera is not None:
            height, width = frame.image.shape[:2]
            if (width, height) != (self.camera.width, self.camera.height):
                raise DepthError(
                    f"the camera info is for {self.camera.width}x{self.camera.height}, the image {width}x{height}"
                )
            depth = read_depth_file(depth_file_for(self.depth, frame.source))
            poses = [pose.with_points_3d(pose_points_3d(pose, depth, self.camera)) for pose in poses]
        return poses


def process_frames(
    net: PoseNet,
    source: FrameSource,
    sink: FrameSink | None,
    flags: frozenset[str],
    quiet: bool,
    timer: StageTimer,
    batch: Batch,
    annotate: FrameAnnotator | None = None,
) -> None:
    """Run every frame into ``batch`` (overlay+write timed in ``timer``), ``annotate`` adding track ids and
    3D. A frame that cannot be processed or written is skipped with one line; the poses of a frame whose
    overlay could not be written are kept."""
    start = time.perf_counter()
    # The bar goes to stderr and only where stderr is a terminal (disable=None), so logs stay clean.
    bar = tqdm(total=source.count, unit="frame", file=sys.stderr, disable=True if quiet or source.count == 1 else None)
    if isinstance(source, CaptureSource):
        source.buffer_for = net.frame_buffer  # page-locked frames on the GPU path: one DMA each
    with StopRequest() as stop:
        try:
            for frame in source:
                try:
                    poses = net.process(frame.image, channel_order="bgr")
                    if annotate is not None:
                        poses = annotate(frame, poses)
                except (PoseNetError, ValueError) as error:
                    _skip(batch, frame, f"skipping frame {frame.index} ({frame.source}): {_one_line(error)}")
                    bar.update(1)
                    continue
                written = None
                if sink is not None:
                    try:
                        with timer.stage("output"):
                            overlay = draw_overlay(frame.image, poses, net.topology, flags)
                            written = sink.write(overlay, frame, source.output_name(frame))
                    except (PoseNetError, OSError) as error:
                        _skip(batch, frame, f"no output for frame {frame.index} ({frame.source}): {_one_line(error)}")
                batch.records.append(frame_record(frame, poses, written))
                if not quiet:
                    tqdm.write(format_frame(frame, poses, net.topology.keypoints, written), file=sys.stdout)
                bar.update(1)
                if stop.requested:
                    break
        except KeyboardInterrupt:  # a second Ctrl-C, or one where no handler could be installed
            stop.requested = True
        finally:
            bar.close()
            batch.interrupted = stop.requested
            batch.wall = time.perf_counter() - start


def _skip(batch: Batch, frame: Frame, message: str) -> None:
    batch.skipped.append(frame.source)
    _write_stderr(f"posenet: warning: {message}")


class BuildProgressBar:
    """A progress bar on stderr for an engine build (minutes on a Jetson), one phase at a time."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled
        self._bar: tqdm | None = None
        self._phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.disabled:
            return
        if self._bar is None or phase != self._phase:
            self.close()
            self._bar = tqdm(total=total, desc=f"TensorRT build: {phase}", unit="step", file=sys.stderr, leave=False)
            self._phase = phase
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class StopRequest:
    """Ctrl-C asks the frame loop to stop after the frame in hand, so outputs and JSON agree frame for frame.

    A second Ctrl-C raises KeyboardInterrupt at once. Installed only in the main thread and only
    where SIGINT is not ignored (a background job keeps ignoring it).
    """

    def __init__(self) -> None:
        self.requested = False
        self._installed = False
        self._previous: Callable | int | None = None

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is not signal.SIG_IGN:
                self._previous = signal.signal(signal.SIGINT, self._handle)
                self._installed = True
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        if self._installed:  # None: a handler not set from Python; the default is the closest
            signal.signal(signal.SIGINT, signal.SIG_DFL if self._previous is None else self._previous)


def frame_record(frame: Frame, poses: list[Pose], written: Path | None) -> dict:
    height, width = frame.image.shape[:2]
    return {
        "index": frame.index,
        "source": frame.source,
        "width": width,
        "height": height,
        "people": len(poses),
        "poses": [pose.to_dict() for pose in poses],
        "output": str(written) if written is not None else None,
    }


def format_frame(frame: Frame, poses: list[Pose], names: tuple[str, ...], written: Path | None) -> str:
    """The per-frame text: people count, then each pose's keypoints (id, name, x, y, score) and links."""
    people = f"{len(poses)} {'person' if len(poses) == 1 else 'people'}"
    lines = [f"frame {frame.index} {frame.source}: {people}" + (f" -> {written}" if written else "")]
    for pose in poses:
        left, top, right, bottom = pose.box
        lines.append(
            f"  pose {pose.id}: score {pose.score:.3f}, box ({left:.1f}, {top:.1f}, {right:.1f}, {bottom:.1f}), "
            f"{len(pose.keypoints)} keypoints, {len(pose.links)} links"
        )
        lines += [f"    {k.id:>2} {k.name:<16} x {k.x:8.2f}  y {k.y:8.2f}  score {k.score:.3f}" for k in pose.keypoints]
        lines.append("    links: " + (" ".join(f"{a}-{b}" for a, b in pose.links) or "none"))
    return "\n".join(lines)


def format_summary(summary: dict[str, dict[str, float]], frames: int, wall: float) -> str:
    """Median and mean milliseconds per stage, then frames and frames per second."""
    lines = [f"{'timings (ms)':<14}{'median':>10}{'mean':>10}"]
    for stage in _STAGES:
        if stage in summary:
            label = "overlay+write" if stage == "output" else stage
            lines.append(f"{label:<14}{summary[stage]['median_ms']:>10.1f}{summary[stage]['mean_ms']:>10.1f}")
    fps = frames / wall if wall > 0 else 0.0
    lines.append(f"frames {frames}, {wall:.2f} s, {fps:.1f} FPS (reading, drawing and writing included)")
    return "\n".join(lines)


def build_report(net: PoseNet, input_spec: str, frames: list[dict], summary: dict, interrupted: bool) -> dict:
    """Everything the JSON file holds: the network and its settings, then every frame's poses."""
    topology = net.topology
    return {
        "network": net.network_name,
        "backend": net.backend_name,
        "input": input_spec,
        "input_size": list(net.input_size),
        "decode_params": asdict(net.decode_params),
        "topology": {
            "name": topology.name,
            "keypoints": list(topology.keypoints),
            "links": [list(link) for link in topology.links],
        },
        "interrupted": interrupted,
        "frames": frames,
        "timings_ms": {stage: {k: round(v, 3) for k, v in values.items()} for stage, values in summary.items()},
    }


def write_json(path: Path, report: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1) + "\n")
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None


def format_networks() -> str:
    """The registry as a table: default marked with *, whether the model file is already on disk."""
    lines = []
    for name, spec in NETWORKS.items():
        found = any((folder / spec.model_file).is_file() for folder in search_dirs(spec))
        status = "ready" if found else ("built on first use" if spec.build else "files missing")
        size = f"{spec.input_size[0]}x{spec.input_size[1]}" + ("+" if spec.dynamic_input else "")
        marker = "*" if name == DEFAULT_NETWORK else " "
        lines.append(f"{marker} {name:<20} {size:<9} {status:<19} {spec.description}")
    lines.append("(* default; + accepts other sizes via --input-size)")
    return "\n".join(lines)


def _argument(parse: Callable[[str], object]) -> Callable[[str], object]:
    """Wrap a parser so argparse shows its ValueError reason instead of a generic 'invalid value'."""

    def wrapped(text: str) -> object:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    wrapped.__name__ = parse.__name__
    return wrapped


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{text} is not in [0, 1]")
    return value


def _max_people(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 1000:
        raise ValueError(f"{text} is not in [1, 1000]")
    return value


def _pose_score(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 2.0:
        raise ValueError(f"{text} is not in [0, 2]")
    return value


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (it may be replaced after set-up)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """StreamHandler sets it; the property always answers sys.stderr."""


def _log_to_stderr(level: int) -> None:
    """The library's log (backend choice and why, engine builds) on stderr: users see what happens."""
    logger = logging.getLogger("ros2_posenet")
    logger.setLevel(level)
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):  # main() may run twice
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("posenet: %(message)s"))
        logger.addHandler(handler)


def _threads(text: str) -> int:
    return EngineOptions(threads=int(text)).threads  # EngineOptions says what is allowed


def _quiet_opencv() -> None:
    """OpenCV and FFmpeg print their own warnings on failed opens; our one-line errors say it better."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _write_stderr(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

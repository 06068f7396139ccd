"""The ROS 2 node ``posenet_node``: sensor_msgs/Image (or CompressedImage) in, PoseArray and an overlay image out.

A lifecycle node (rclpy's LifecycleNode): configure checks the parameters and loads the network
(a TensorRT engine build included), activate opens the image topic and the statistics, deactivate
closes them and drops frames, cleanup releases the network and its GPU memory. With ``autostart``
(the default) the node configures and activates itself, so ``ros2 run`` works as a plain node.

The subscription callback only keeps the newest frame; one worker thread converts, runs the
network and publishes. A network slower than the camera therefore drops frames instead of
queueing them, and the counts (processed, dropped, rejected) with FPS and latency are logged
and published as diagnostic_msgs/DiagnosticArray on ``/diagnostics`` every ``stats_period``.
Bad frames, failing frames and failing callbacks are counted by kind (reason_log.py) and never end the node.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult
from rclpy._rclpy_pybind11 import RCLError
from rclpy.exceptions import InvalidParameterTypeException, ParameterException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.depth import DepthError, pose_points_3d
from ros2_posenet.errors import PoseNetError, first_line
from ros2_posenet.overlay import draw_overlay, parse_overlay_flags
from ros2_posenet.posenet import PoseNet, parse_input_size
from ros2_posenet.ros.depth_input import DepthPairing, marker_array
from ros2_posenet.ros.image import (
    ImageFormatError,
    UnsupportedEncodingError,
    bgr_to_msg,
    compressed_to_bgr,
    msg_to_bgr,
    transport_topic,
)
from ros2_posenet.ros.log_bridge import bridge_library_log
from ros2_posenet.ros.memory import LARGE_FRAME_PIXELS, release_freed_memory
from ros2_posenet.ros.messages import PoseArray, pose_array_msg
from ros2_posenet.ros.params import (
    KIND_NAMES,
    NETWORK_DEFAULT,
    NETWORK_OWN,
    PARAMETERS,
    check_value,
    effective_threshold,
)
from ros2_posenet.ros.reason_log import ReasonLog, reason_kind
from ros2_posenet.ros.spin import init_rclpy, run_until_shutdown, shut_down
from ros2_posenet.tracking import PoseTracker, TrackerParams

NODE_NAME = "posenet"
EXIT_STARTUP_ERROR = 1
NAME_CHECK_DELAY = 3.0  # seconds after start before looking for another node of the same name
OVERLAY_MAX_PIXELS = 1920 * 1080  # larger frames get an overlay scaled down to about this size
COUNTERS = ("received", "processed", "dropped", "rejected", "failed", "callback_errors", "without_depth")
WORKER_STOP_TIMEOUT = 10.0  # seconds a frame in flight gets to finish at shutdown
_REASON_LOG_PERIOD = 10.0  # seconds between repeats of one rejection reason in the log
TRACKING_PARAMETERS = ("tracking", "track_max_age", "track_min_hits")
DECODE_PARAMETERS = (*NETWORK_OWN, "max_people")  # node parameters that are DecodeParams fields of the same name
# What the node reports of the decoder's settings (log and /diagnostics); the last two come from the network.
DECODE_REPORTED = (*DECODE_PARAMETERS, "complete_min_keypoints", "complete_min_score")


def _descriptor(name: str) -> ParameterDescriptor:
    spec = PARAMETERS[name]
    descriptor = ParameterDescriptor(description=spec.description, read_only=not spec.dynamic)
    if spec.bounds is not None and isinstance(spec.default, float):
        low, high = spec.bounds
        descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high, step=0.0)]
    elif spec.bounds is not None:
        low, high = spec.bounds
        descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=1)]
    return descriptor


@dataclass
class FrameStats:
    """Counters since start plus the processed frames and latencies of the current period."""

    received: int = 0
    processed: int = 0
    dropped: int = 0
    rejected: int = 0
    failed: int = 0
    callback_errors: int = 0
    without_depth: int = 0  # frames published 2D only although depth_topic is set (no pair, no camera_info)
    period_frames: int = 0
    period_received: int = 0
    period_latency: float = 0.0
    period_inference: float = 0.0
    period_inference_frames: int = 0  # frames whose pipeline timed inference alone (not the GPU path)
    period_start: float = 0.0

    def take_period(self, now: float) -> tuple[float, float, float | None]:
        """(FPS, mean latency ms, mean inference ms or None where not timed) over the period just ended;
        starts the next one."""
        elapsed = max(now - self.period_start, 1e-9)
        result = (
            self.period_frames / elapsed,
            1e3 * self.period_latency / max(self.period_frames, 1),
            1e3 * self.period_inference / self.period_inference_frames if self.period_inference_frames else None,
        )
        self.period_frames, self.period_received, self.period_latency = 0, 0, 0.0
        self.period_inference, self.period_inference_frames = 0.0, 0
        self.period_start = now
        return result


class PoseNetNode(LifecycleNode):
    """Pose estimation on the ``image`` topic; the lifecycle transitions load and release the network.

    ``configure_error`` holds the reason of the last failed configure, one line.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        bridge_library_log(self.get_logger())  # backend choice, engine build progress: in the node's log
        for name, spec in PARAMETERS.items():
            try:
                self.declare_parameter(name, spec.default, _descriptor(name))
            except InvalidParameterTypeException:  # e.g. -p input_size:=0x0, which YAML reads as the hex 0
                given = self._parameter_overrides[name]
                raise ValueError(
                    f"parameter {name} must be {KIND_NAMES[type(spec.default)]}, but ROS read the value given as "
                    f"{given.type_.name} {given.value!r}; quote it: -p {name}:=\"'<value>'\""
                ) from None
        unknown = sorted(set(self._parameter_overrides) - set(PARAMETERS) - {"use_sim_time"})
        if unknown:  # rclpy ignores overrides nobody declares: a typo would go unnoticed
            self.get_logger().warning(
                f"unknown parameters ignored: {', '.join(unknown)} (known: {', '.join(PARAMETERS)})"
            )
        self._net: PoseNet | None = None
        self.stats = FrameStats(period_start=time.monotonic())
        self._condition = threading.Condition()
        self._latest: tuple[Image | CompressedImage, float] | None = None
        self._stopping = False
        self._active = False
        self.problems = ReasonLog(self.get_logger().warning, period=_REASON_LOG_PERIOD)
        self._worker: threading.Thread | None = None
        self._topic_subscriptions: list[Any] = []  # the images first; depth and camera_info with depth_topic
        self._active_timers: list[Any] = []
        self._name_checked = False
        self._name_check: Any = None
        self.configure_error: str | None = None
        self.log_transition_errors = True  # main() prints a failed autostart itself, as one line
        self.add_on_set_parameters_callback(self._on_set_parameters)

    @property
    def net(self) -> PoseNet:
        """The loaded network: configure loads it before any frame can arrive."""
        if self._net is None:
            raise RuntimeError("posenet_node: the network is not loaded (the node is not configured)")
        return self._net

    def param(self, name: str) -> Any:
        """The current value of one of this node's parameters."""
        return self.get_parameter(name).value

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Check the parameters, load the network, create the publishers and start the worker."""
        try:
            self._load()
        except (PoseNetError, ValueError, OSError) as error:
            self.configure_error = str(error)
            if self.log_transition_errors:
                self.get_logger().error(f"configure failed: {error}")
            return TransitionCallbackReturn.FAILURE
        self.configure_error = None
        return TransitionCallbackReturn.SUCCESS

    def _load(self) -> None:
        for name in (*NETWORK_OWN, "image_transport"):  # before the network loads: a bad value should not wait
            check_value(name, self.param(name))
        input_size = parse_input_size(self.param("input_size")) if self.param("input_size") else None
        self.overlay_flags = parse_overlay_flags(self.param("overlay"))
        self.publish_overlay = bool(self.param("publish_overlay"))
        self.max_image_pixels = int(self.param("max_image_pixels"))
        net = PoseNet(
            self.param("network"),
            model=self.param("model") or None,
            topology=self.param("topology") or None,
            backend=self.param("backend"),
            precision=self.param("precision"),
            threads=self.param("threads"),
            input_size=input_size,
        )
        self.network_params = net.decode_params  # the network's own thresholds and person filter
        net.decode_params = self._decode_params(net.decode_params, {n: self.param(n) for n in DECODE_PARAMETERS})
        self._net = net
        self.tracker = PoseTracker(net.topology.num_keypoints)
        self._tracking = self._tracker_params({})
        self._last_header: Any = None
        self.pairing = DepthPairing(float(self.param("depth_slop"))) if self.param("depth_topic") else None
        self.markers_pub = self.create_publisher(MarkerArray, "markers", 10) if self.pairing else None
        self.poses_pub = self.create_publisher(PoseArray, "poses", 10)
        self.overlay_pub = self.create_publisher(Image, "overlay", 2)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._stopping = False
        self._worker = threading.Thread(target=self._work, name="posenet-worker", daemon=True)
        self._worker.start()
        width, height = net.input_size
        self.get_logger().info(f"decoding with {self._describe(DECODE_REPORTED, {})}")
        self.get_logger().info(f"{net.network_name} on {net.backend_name} at {width}x{height}")

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Subscribe to the images (raw or compressed) and start the statistics."""
        kind, topic = transport_topic(self, self.param("image_transport"))
        self._topic_subscriptions = [self.create_subscription(kind, topic, self._on_image, qos_profile_sensor_data)]
        if self.pairing is not None:
            pairing = self.pairing
            self._topic_subscriptions += [
                self.create_subscription(Image, self.param("depth_topic"), pairing.add_depth, qos_profile_sensor_data),
                self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos_profile_sensor_data),
            ]
        self._active_timers = [self.create_timer(float(self.param("stats_period")), self._report)]
        if not self._name_checked:
            self._name_check = self.create_timer(NAME_CHECK_DELAY, self._warn_if_name_taken)
            self._active_timers.append(self._name_check)
        with self._condition:
            self.stats.period_start = time.monotonic()
            self._active = True
        self.get_logger().info(
            f"listening on {self._topic_subscriptions[0].topic_name}, publishing {self.resolve_topic_name('poses')}"
        )
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop listening and publishing; a frame waiting or in flight is dropped."""
        self._close_topics()
        self.get_logger().info("deactivated: not listening, frames are dropped")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the network (GPU memory included) and the publishers."""
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.stop()
        return TransitionCallbackReturn.SUCCESS

    def stop(self) -> None:
        """Whatever the state: stop listening, let the worker finish its frame, release the network."""
        self._close_topics()
        self._release()

    def _close_topics(self) -> None:
        with self._condition:
            self._active = False
            self._latest = None
        for subscription in self._topic_subscriptions:
            self.destroy_subscription(subscription)
        self._topic_subscriptions = []
        for timer in self._active_timers:
            self.destroy_timer(timer)
        self._active_timers = []

    def _release(self) -> None:
        """Let the worker finish and end, then close the network.

        A worker still inside a frame after the timeout keeps the network: closing it under the
        worker would crash in the engine; the process exit frees it instead.
        """
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._worker is not None and self._worker.is_alive():
            self._worker.join(timeout=WORKER_STOP_TIMEOUT)
            if self._worker.is_alive():
                self.get_logger().warning(
                    f"the worker is still in a frame after {WORKER_STOP_TIMEOUT:.0f} s; "
                    "not closing the network under it"
                )
                return
        self._worker = None
        if self._net is not None:
            self._net.close()
            self._net = None
            for publisher in (self.poses_pub, self.overlay_pub, self.diagnostics_pub, self.markers_pub):
                if publisher is not None:
                    self.destroy_publisher(publisher)
            self.get_logger().info("network released")

    def _tracker_params(self, changes: dict[str, Any]) -> TrackerParams | None:
        """The tracking parameters with ``changes`` applied; None when tracking is off."""
        value = {name: changes.get(name, self.param(name)) for name in TRACKING_PARAMETERS}
        if not value["tracking"]:
            return None
        return TrackerParams(max_age=int(value["track_max_age"]), min_hits=int(value["track_min_hits"]))

    def _track(self, poses: list, header: Header) -> list:
        """Track ids for one frame (the parameters as they are at its start); tracks reset where the
        camera changed (frame_id) or time went back (a replayed recording, a restarted bag)."""
        params = self._tracking
        if params is None:
            self.tracker.reset()
            return poses
        last, self._last_header = self._last_header, header
        if last is not None:
            went_back = (header.stamp.sec, header.stamp.nanosec) < (last.stamp.sec, last.stamp.nanosec)
            if header.frame_id != last.frame_id or went_back:
                why = f"frame_id {last.frame_id!r} -> {header.frame_id!r}" if not went_back else "time went back"
                self.get_logger().info(f"tracks reset: {why}")
                self.tracker.reset()
        self.tracker.params = params
        return self.tracker.update(poses)

    def _decode_params(self, current: DecodeParams, values: dict[str, Any]) -> DecodeParams:
        """``current`` with node parameter ``values`` applied, -1 (NETWORK_OWN) as the network's own.

        A replace, never a fresh DecodeParams: the network's other settings (complete_min_*) stay.
        """
        changes: dict[str, Any] = {
            name: effective_threshold(name, value, getattr(self.network_params, name)) if name in NETWORK_OWN else value
            for name, value in values.items()
        }
        return replace(current, **changes)

    def _describe(self, names: tuple[str, ...], changes: dict[str, Any]) -> str:
        """``name value`` for each decoder setting in use, marking thresholds that are the network's.

        ``changes``: parameter values being set (the callback runs before they are stored).
        """
        own = {n for n in NETWORK_OWN if changes.get(n, self.param(n)) == NETWORK_DEFAULT}
        return ", ".join(
            f"{n} {getattr(self.net.decode_params, n)}" + (" (network default)" if n in own else "") for n in names
        )

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Apply threshold/overlay changes atomically, or refuse them all with the reason."""
        changes = {p.name: p.value for p in parameters}
        decode_changes = {k: v for k, v in changes.items() if k in DECODE_PARAMETERS}
        try:
            for name, value in changes.items():
                if name in PARAMETERS:
                    check_value(name, value)
            flags = parse_overlay_flags(changes.get("overlay", self.param("overlay")))
            if self._net is None:  # unconfigured: stored now, used by the next configure
                return SetParametersResult(successful=True)
            decode = self._decode_params(self.net.decode_params, decode_changes)
            tracking = self._tracker_params(changes)
        except (ValueError, TypeError) as error:
            return SetParametersResult(successful=False, reason=str(error))
        self.net.decode_params = decode
        self._tracking = tracking  # the worker takes it at its next frame
        self.overlay_flags = flags
        self.publish_overlay = bool(changes.get("publish_overlay", self.publish_overlay))
        if decode_changes:
            self.get_logger().info(f"decoding with {self._describe(tuple(decode_changes), decode_changes)}")
        return SetParametersResult(successful=True)

    def _on_image(self, msg: Image | CompressedImage) -> None:
        """Keep only the newest frame: one the worker has not taken yet counts as dropped."""
        with self._condition:
            if not self._active:
                return
            self.stats.received += 1
            self.stats.period_received += 1
            if self._latest is not None:
                self.stats.dropped += 1
            self._latest = (msg, time.monotonic())
            self._condition.notify()

    def _work(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._latest is not None or self._stopping)
                if self._stopping:
                    return
                latest, self._latest = self._latest, None
            assert latest is not None  # wait_for returned and the node is not stopping
            msg, received_at = latest
            large = isinstance(msg, CompressedImage) or msg.width * msg.height > LARGE_FRAME_PIXELS
            self._process(msg, received_at)
            del msg, latest  # the frame's buffers go now, before a trim can return them
            if large:
                release_freed_memory()

    def _process(self, msg: Image | CompressedImage, received_at: float) -> None:
        """One frame, end to end; a bad frame or a failing network costs that frame only."""
        try:
            if isinstance(msg, CompressedImage):
                image = compressed_to_bgr(msg.format, msg.data, max_pixels=self.max_image_pixels)
            else:
                # the frame's one copy lands where the network reads it fastest (page-locked on a GPU)
                image = msg_to_bgr(msg, max_pixels=self.max_image_pixels, buffer_for=self.net.frame_buffer)
        except ImageFormatError as error:
            kind = "unsupported encoding" if isinstance(error, UnsupportedEncodingError) else reason_kind(str(error))
            self._count_problem("rejected", f"rejected: {kind}", f"frame rejected: {error}")
            return
        try:
            poses = self._track(self.net.process(image), msg.header)
            height, width = image.shape[:2]
            if self.pairing is not None:
                poses = self._add_3d(self.pairing, poses, msg.header, width, height)
            with self._condition:
                if not self._active:  # deactivated while this frame was in flight: dropped
                    return
            self.poses_pub.publish(
                pose_array_msg(poses, self.net.topology, self.net.network_name, msg.header, width, height)
            )
            if self.markers_pub is not None:
                self.markers_pub.publish(marker_array(poses, msg.header))
            if self.publish_overlay:
                self.overlay_pub.publish(
                    bgr_to_msg(
                        draw_overlay(image, poses, self.net.topology, self.overlay_flags, OVERLAY_MAX_PIXELS),
                        msg.header,
                    )
                )
        except Exception as error:  # a node must outlive any one frame
            if not self.context.ok():
                return  # Ctrl-C while this frame was in flight: the publishers are gone
            reason = "; ".join(str(error).splitlines())
            self._count_problem(
                "failed", f"failed: {type(error).__name__}", f"frame failed: {type(error).__name__}: {reason}"
            )
            return
        with self._condition:
            self.stats.processed += 1
            self.stats.period_frames += 1
            self.stats.period_latency += time.monotonic() - received_at
            inference = self.net.last_timings.get("inference")  # the GPU path overlaps its stages: total only
            if inference is not None:
                self.stats.period_inference += inference
                self.stats.period_inference_frames += 1

    def _add_3d(self, pairing: DepthPairing, poses: list, header: Header, width: int, height: int) -> list:
        """The poses with 3D points from the paired depth frame; without one, 2D only and counted."""
        try:
            paired = pairing.pair(header)
        except DepthError as error:  # a malformed depth frame costs its 3D only
            paired = str(error)
        if not isinstance(paired, str):
            depth, camera = paired
            if (camera.width, camera.height) == (width, height):
                return [pose.with_points_3d(pose_points_3d(pose, depth, camera)) for pose in poses]
            paired = f"camera_info is for {camera.width}x{camera.height} images, not {width}x{height}"
        self._count_problem("without_depth", f"2D only: {paired}", f"frame published 2D only: {paired}")
        return poses

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            if self.pairing is not None:
                self.pairing.set_camera_info(msg)
        except DepthError as error:
            self._count_problem("rejected", "rejected: camera_info", f"camera_info not used: {error}")

    def _count_problem(self, counter: str, kind: str, message: str) -> None:
        """Count it in ``stats.<counter>`` and by kind; log each kind at most every few seconds."""
        with self._condition:
            setattr(self.stats, counter, getattr(self.stats, counter) + 1)
            self.problems.report(kind, message)

    def callback_failed(self, error: BaseException) -> None:
        """A callback raised (a malformed request rclpy itself chokes on, a bug): counted, logged, survived."""
        self._count_problem(
            "callback_errors",
            f"callback error: {type(error).__name__}",
            f"callback failed: {type(error).__name__}: {error}",
        )

    def _warn_if_name_taken(self) -> None:
        """Once, after discovery had time: another node of this name would answer every frame too."""
        self._name_check.cancel()
        self._name_checked = True
        mine = (self.get_name(), self.get_namespace())
        if self.get_node_names_and_namespaces().count(mine) > 1:
            self.get_logger().warning(
                f"another node is also named {self.get_fully_qualified_name()}: both answer every frame and share "
                "its topics and parameters; give one a namespace or a name (-r __ns:=... or -r __node:=...)"
            )

    def _report(self) -> None:
        with self._condition:
            active = self.stats.period_received > 0
            fps, latency_ms, inference_ms = self.stats.take_period(time.monotonic())
            counts = {k: getattr(self.stats, k) for k in COUNTERS}
            by_kind = dict(self.problems.counts)
        inference = "" if inference_ms is None else f" (inference {inference_ms:.0f} ms)"
        if active:  # an idle node stays quiet in the log; /diagnostics still says it is alive
            self.get_logger().info(
                f"{fps:.1f} FPS, latency {latency_ms:.0f} ms{inference}, "
                + ", ".join(f"{k} {v}" for k, v in counts.items())
            )
        values = {"fps": f"{fps:.2f}", "latency_ms": f"{latency_ms:.1f}"}
        if inference_ms is not None:  # the GPU pipeline's stages overlap: there only the latency means anything
            values["inference_ms"] = f"{inference_ms:.1f}"
        values |= {k: str(v) for k, v in counts.items()}
        values |= {kind: str(count) for kind, count in by_kind.items()}  # "rejected: empty image (NxN)": 3
        values |= {"network": self.net.network_name, "backend": self.net.backend_name}
        values |= {n: str(getattr(self.net.decode_params, n)) for n in DECODE_REPORTED}
        status = DiagnosticStatus(
            level=DiagnosticStatus.WARN if by_kind else DiagnosticStatus.OK,
            name=f"{self.get_fully_qualified_name()}: pose estimation",
            message=f"{fps:.1f} FPS",
            hardware_id=self.net.backend_name,
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )
        self.diagnostics_pub.publish(
            DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()), status=[status])
        )


def main(args: list[str] | None = None) -> int:
    """Entry point of ``posenet_node``: spin until Ctrl-C; exit code 1 with one line if it cannot start."""
    try:
        init_rclpy(args)
    except RCLError as error:  # malformed --ros-args, e.g. a trailing -p
        print(f"posenet_node: error: {first_line(error)}", file=sys.stderr)
        return EXIT_STARTUP_ERROR
    node = None
    try:
        node = PoseNetNode()
        if node.param("autostart"):
            node.log_transition_errors = False
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                return _startup_failed(node, node.configure_error or "configure failed")
            node.log_transition_errors = True
            node.trigger_activate()
    except (ParameterException, ValueError) as error:
        return _startup_failed(node, str(error))
    except KeyboardInterrupt:  # Ctrl-C while the network loads (an engine build takes minutes)
        shut_down(node, node.stop if node is not None else lambda: None)
        return 0
    run_until_shutdown(node, node.callback_failed, release=node.stop)
    return 0


def _startup_failed(node: PoseNetNode | None, reason: str) -> int:
    print(f"posenet_node: error: {reason}", file=sys.stderr)
    if node is not None:
        node.destroy_node()
    rclpy.try_shutdown()
    return EXIT_STARTUP_ERROR


if __name__ == "__main__":
    sys.exit(main())

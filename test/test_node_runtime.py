"""The pose node at run time over real DDS: bad frames, bursts, parameter changes, statistics."""

from __future__ import annotations

import time

import numpy as np
import pytest
from support.photos import load_photo
from support.ros_harness import SMALL_INPUT, NodeProcess, Probe, require_ros, unique_namespace

require_ros()

from ros2_posenet.models.registry import DEFAULT_NETWORK, NETWORKS  # noqa: E402
from ros2_posenet.ros.image import image_to_bgr  # noqa: E402
from ros2_posenet.ros.params import NETWORK_DEFAULT, NETWORK_DEFAULT_NOTE  # noqa: E402


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    """The node at a small input size (which people are found does not matter here)."""
    namespace = unique_namespace("runtime")
    parameters = {"input_size": SMALL_INPUT, "stats_period": 1.0, "max_image_pixels": 640 * 480}
    node = NodeProcess("ros2_posenet.ros.node", namespace, parameters, tmp_path_factory.mktemp("node") / "node.log")
    probe = Probe(namespace)
    try:
        node.wait_log("listening on")
        probe.request(probe.image_msg(load_photo("basketball1.png")))  # both directions matched
        yield node, probe
    finally:
        probe.close()
        assert node.stop() == 0, node.log()


def overlay_image(msg) -> np.ndarray:
    return image_to_bgr(msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian, msg.data)


def bad_frames(probe: Probe, image: np.ndarray) -> dict[str, object]:
    """One malformed frame per case, each with the reason the node must log."""
    good = probe.image_msg(image, "rgb8")
    size = len(good.data)
    return {
        "empty image (0x0)": probe.image_msg(image, overrides={"height": 0, "width": 0, "step": 0, "data": b""}),
        "step 100 is shorter than one row": probe.image_msg(image, overrides={"step": 100}),
        "truncated data": probe.image_msg(image, overrides={"data": bytes(good.data)[: size // 2]}),
        "data size mismatch": probe.image_msg(image, overrides={"data": bytes(good.data) + bytes(good.step)}),
        "image too large: 100000x100000": probe.image_msg(
            image, "mono8", overrides={"width": 100000, "height": 100000, "step": 100000, "data": bytes(1000)}
        ),
        "yuv422 needs an even width": probe.image_msg(image[:, :639], overrides={"encoding": "yuv422", "step": 1278}),
        "unsupported encoding '32FC1'": probe.image_msg(image, overrides={"encoding": "32FC1"}),
    }


def test_frames_over_max_image_pixels_are_rejected(graph):
    """The node at max_image_pixels 640x480: a 641x480 frame is refused, counted by kind, and not answered."""
    _, probe = graph
    msg = probe.image_msg(np.zeros((480, 641, 3), np.uint8))
    for _ in range(5):
        probe.publisher.publish(msg)
        time.sleep(0.2)
    stats = probe.latest_diagnostics(after=probe.now())
    assert int(stats["rejected: image too large: NxN is over the limit of N pixels"]) >= 1, stats
    assert probe.find(probe.poses, msg.header.stamp) is None


def test_bad_frames_are_rejected_with_a_reason_and_the_node_goes_on(graph):
    node, probe = graph
    image = load_photo("basketball2.png")
    for reason, msg in bad_frames(probe, image).items():
        for _ in range(10):  # best-effort delivery: resend until the node has seen it
            probe.publisher.publish(msg)
            if probe.wait_for(lambda reason=reason: reason in node.log(), 2.0):
                break
        node.wait_log(reason, timeout=1)
        good = probe.image_msg(image, "rgb8")
        poses, _ = probe.request(good, timeout=30)
        assert poses.header == good.header, f"the good frame after '{reason}' was processed"
        assert node.alive()
    log = node.log()
    assert "Traceback" not in log
    stats = probe.latest_diagnostics(after=probe.now())
    assert int(stats["rejected"]) >= 7 and int(stats["failed"]) == 0

    # an unsupported encoding is logged once, however many frames come in it
    for _ in range(3):
        probe.publisher.publish(probe.image_msg(image, overrides={"encoding": "32FC1"}))
        time.sleep(0.2)
    probe.request(probe.image_msg(image, "rgb8"))
    assert node.log().count("unsupported encoding '32FC1'") == 1


def test_a_burst_keeps_memory_flat_drops_frames_and_processes_the_newest(graph):
    node, probe = graph
    image = load_photo("basketball1.png")
    before = probe.latest_diagnostics(after=probe.now())
    rss_before = node.rss_mib()
    frames = [probe.image_msg(image, "rgb8") for _ in range(200)]
    start = time.monotonic()
    for msg in frames:
        probe.publisher.publish(msg)
        time.sleep(0.002)  # ~400 frames/s: far faster than the network runs on a CPU
    burst_seconds = time.monotonic() - start
    last = frames[-1]
    assert probe.wait_for(lambda: probe.find(probe.poses, last.header.stamp), 30), "the newest frame is processed"
    rss_after = node.rss_mib()
    after = probe.latest_diagnostics(after=probe.now())

    received = int(after["received"]) - int(before["received"])
    processed = int(after["processed"]) - int(before["processed"])
    dropped = int(after["dropped"]) - int(before["dropped"])
    answered = sum(1 for m in frames if probe.find(probe.poses, m.header.stamp))
    assert dropped > 0 and processed < received, (received, processed, dropped, burst_seconds)
    assert processed + dropped == received  # every frame the node saw was processed or dropped
    assert answered == processed
    # 200 frames of 900 KiB would be 180 MiB if they queued
    assert rss_after - rss_before < 40, f"RSS grew from {rss_before:.0f} to {rss_after:.0f} MiB"
    assert float(after["fps"]) >= 0 and "latency_ms" in after


def test_parameters_change_at_run_time_and_bad_values_are_refused(graph):
    node, probe = graph
    image = load_photo("basketball1.png")
    people = len(probe.request(probe.image_msg(image))[0].poses)
    assert people >= 1

    assert all(r.successful for r in probe.set_parameters(keypoint_threshold=1.0))
    assert len(probe.request(probe.image_msg(image))[0].poses) == 0, "no keypoint scores over 1"
    assert all(r.successful for r in probe.set_parameters(keypoint_threshold=NETWORK_DEFAULT, max_people=1))
    assert len(probe.request(probe.image_msg(image))[0].poses) == 1
    assert all(r.successful for r in probe.set_parameters(min_keypoints=19, max_people=100))  # 18 keypoints at most
    assert len(probe.request(probe.image_msg(image))[0].poses) == 0
    assert all(r.successful for r in probe.set_parameters(min_keypoints=-1, min_pose_score=2.0))  # nobody scores 2:
    complete = probe.request(probe.image_msg(image))[0].poses  # only whole people with a torso stay
    assert 0 < len(complete) < people and all(len(p.keypoints) >= 9 for p in complete)
    assert all(r.successful for r in probe.set_parameters(min_pose_score=NETWORK_DEFAULT))

    assert all(r.successful for r in probe.set_parameters(overlay="none", max_people=100))
    msg = probe.image_msg(image)
    poses, overlay = probe.request(msg)
    assert len(poses.poses) == people
    assert np.array_equal(overlay_image(overlay), image), "overlay 'none' draws nothing"
    assert all(r.successful for r in probe.set_parameters(overlay="box"))
    assert not np.array_equal(overlay_image(probe.request(probe.image_msg(image))[1]), image)

    assert all(r.successful for r in probe.set_parameters(publish_overlay=False))
    msg = probe.image_msg(image)
    probe.request(msg, overlay=False)
    time.sleep(1.0)
    assert probe.find(probe.overlays, msg.header.stamp) is None, "no overlay once publish_overlay is false"
    assert all(r.successful for r in probe.set_parameters(publish_overlay=True))

    refused = {
        "keypoint_threshold": (1.5, "range"),
        "link_threshold": (-1.5, "range"),
        "max_people": (0, "range"),
        "min_pose_score": (-0.5, "min_pose_score -0.5 is negative: use a value in [0, 2], or -1.0"),
        "min_keypoints": (-2, "range"),
        "overlay": ("box,cats", "'cats' is not one of"),
        "network": ("resnet18-body", "read-only"),
    }
    for name, (value, reason) in refused.items():
        (result,) = probe.set_parameters(**{name: value})
        assert not result.successful and reason in result.reason, (name, result.reason)
    # a refused change leaves the node as it was: same people, box overlay still on
    poses, overlay = probe.request(probe.image_msg(image))
    assert len(poses.poses) == people and not np.array_equal(overlay_image(overlay), image)


def decoding(probe: Probe) -> dict[str, float]:
    """The decoder settings the node reports on /diagnostics after now (so after any change just made)."""
    values = probe.latest_diagnostics(after=probe.now())
    return {
        name: float(values[name])
        for name in ("keypoint_threshold", "link_threshold", "min_keypoints", "min_pose_score")
    }


def test_thresholds_are_the_network_own_unless_set_and_minus_one_restores_them(graph):
    node, probe = graph
    spec = NETWORKS[DEFAULT_NETWORK]
    own = {
        "keypoint_threshold": spec.keypoint_threshold,
        "link_threshold": spec.link_threshold,
        "min_keypoints": spec.min_keypoints,
        "min_pose_score": spec.min_pose_score,
    }
    assert spec.min_keypoints > 1, "a network whose min_keypoints differs from DecodeParams' shows it is kept"
    assert f"keypoint_threshold {spec.keypoint_threshold} (network default)" in node.log()
    assert decoding(probe) == own

    image = load_photo("basketball1.png")
    people = len(probe.request(probe.image_msg(image))[0].poses)
    assert all(r.successful for r in probe.set_parameters(keypoint_threshold=0.6, link_threshold=0.3))
    fewer = len(probe.request(probe.image_msg(image))[0].poses)  # the very next frame
    assert fewer < people, (fewer, people)
    assert decoding(probe) == {**own, "keypoint_threshold": 0.6, "link_threshold": 0.3}, "min_* kept"
    log = node.log()  # the parameter service sets one parameter at a time: one line each
    assert "decoding with keypoint_threshold 0.6\n" in log and "decoding with link_threshold 0.3\n" in log

    assert all(r.successful for r in probe.set_parameters(keypoint_threshold=NETWORK_DEFAULT))
    assert all(r.successful for r in probe.set_parameters(link_threshold=NETWORK_DEFAULT))
    assert decoding(probe) == own
    assert f"decoding with link_threshold {spec.link_threshold} (network default)\n" in node.log()
    assert len(probe.request(probe.image_msg(image))[0].poses) == people

    (result,) = probe.set_parameters(keypoint_threshold=-0.5)
    assert not result.successful and NETWORK_DEFAULT_NOTE in result.reason, result.reason
    assert decoding(probe) == own


def tracks(probe: Probe, image, frame_id: str | None = None, back: bool = False) -> list[int]:
    """The track ids of the reply to one frame of ``image`` (sorted); ``back``: stamped before the last."""
    msg = probe.image_msg(image)
    if frame_id is not None:
        msg.header.frame_id = frame_id
    if back:
        msg.header.stamp.sec -= 500
    return sorted(p.track_id for p in probe.request(msg, overlay=False)[0].poses)


def test_people_keep_track_ids_until_the_camera_changes_or_time_goes_back(graph):
    node, probe = graph
    image = load_photo("basketball1.png")  # two players: the same two ids once confirmed
    assert all(r.successful for r in probe.set_parameters(track_min_hits=2))
    seen = [tracks(probe, image, "cam_a") for _ in range(4)]
    assert seen[0] == [0, 0] and seen[1] == seen[3] and 0 not in seen[1] and len(set(seen[1])) == 2, seen
    again = [tracks(probe, image, "cam_b") for _ in range(2)]
    assert again[0] == [0, 0] and min(again[1]) > max(seen[1]), again  # new camera: new ids, never reused
    assert "tracks reset: frame_id 'cam_a' -> 'cam_b'" in node.wait_log("tracks reset: frame_id")
    assert tracks(probe, image, "cam_b", back=True) == [0, 0]
    assert "tracks reset: time went back" in node.wait_log("time went back")
    assert all(r.successful for r in probe.set_parameters(tracking=False))
    assert tracks(probe, image, "cam_b") == tracks(probe, image, "cam_b") == [0, 0]
    assert all(r.successful for r in probe.set_parameters(tracking=True, track_min_hits=3))
    (refused,) = probe.set_parameters(track_min_hits=0)
    assert not refused.successful and "range" in refused.reason


def test_library_log_reaches_the_node_log(graph):
    """The backend choice and its reasons (Python logging in the library) appear in the node's rclpy log."""
    node, _ = graph
    lines = [line for line in node.log().splitlines() if "backend auto: not " in line]
    assert any("backend auto: not tensorrt:" in line for line in lines), node.log()
    assert all(line.startswith("[INFO] [") and ".posenet]: backend auto: " in line for line in lines), lines


@pytest.mark.parametrize("service", ["set_parameters", "set_parameters_atomically"])
def test_a_malformed_parameter_request_does_not_kill_the_node(graph, service):
    """A ParameterValue type outside the enum (42) makes rclpy's parameter service raise; any DDS
    participant can send it. The node counts and logs it, and goes on answering frames."""
    from rcl_interfaces.msg import Parameter, ParameterValue
    from rcl_interfaces.srv import SetParameters, SetParametersAtomically

    node, probe = graph
    kind = SetParameters if service == "set_parameters" else SetParametersAtomically
    client = probe.node.create_client(kind, f"{probe.namespace}/posenet/{service}")
    try:
        assert client.wait_for_service(timeout_sec=30)
        request = kind.Request(parameters=[Parameter(name="keypoint_threshold", value=ParameterValue(type=42))])
        client.call_async(request)
        assert probe.wait_for(lambda: "callback failed" in node.log(), 15), node.log()
    finally:
        probe.node.destroy_client(client)
    assert node.alive(), node.log()
    probe.request(probe.image_msg(load_photo("basketball1.png")))  # still answering
    values = probe.latest_diagnostics(after=probe.now())
    assert int(values["callback_errors"]) >= 1 and any(k.startswith("callback error: ") for k in values), values

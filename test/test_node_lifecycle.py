"""The pose node's lifecycle over real DDS: each transition does what ROS 2 managed nodes promise.

configure loads the network (and a failing one leaves the node unconfigured and alive), activate
opens the image topic, deactivate stops publishing and drops frames, cleanup releases the network,
shutdown finalizes; parameters can be set in any state. Transitions go through the node's
``change_state`` service, as ``ros2 lifecycle set`` and launch's lifecycle events do.
"""

from __future__ import annotations

import time

import pytest
from support.photos import load_photo
from support.ros_harness import SMALL_INPUT, NodeProcess, Probe, require_ros, unique_namespace

require_ros()

from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402

QUIET_S = 3.0  # how long a node that must not publish is watched


@pytest.fixture
def managed(tmp_path):
    """A node started with autostart false, and a probe in its namespace."""
    started: list[tuple[NodeProcess, Probe]] = []

    def start(**parameters) -> tuple[NodeProcess, Probe]:
        namespace = unique_namespace(f"lifecycle{len(started)}")
        node = NodeProcess(
            "ros2_posenet.ros.node",
            namespace,
            {"input_size": SMALL_INPUT, "autostart": False, **parameters},
            tmp_path / f"node{len(started)}.log",
        )
        started.append((node, Probe(namespace)))
        return started[-1]

    yield start
    for node, probe in started:
        probe.close()
        assert node.stop() == 0, node.log()


def state(probe: Probe) -> str:
    return probe.call(GetState, "get_state", GetState.Request()).current_state.label


def transition(probe: Probe, transition_id: int) -> bool:
    return probe.call(ChangeState, "change_state", ChangeState.Request(transition=Transition(id=transition_id))).success


def assert_no_poses(probe: Probe, image) -> None:
    """Frames published for QUIET_S get no answer."""
    before = len(probe.poses)
    deadline = time.monotonic() + QUIET_S
    while time.monotonic() < deadline:
        probe.publish(probe.image_msg(image))
        time.sleep(0.2)
    assert len(probe.poses) == before, "the node published while not active"


def test_transitions_load_open_close_and_release(managed):
    node, probe = managed()
    image = load_photo("basketball1.png")
    assert state(probe) == "unconfigured"
    assert probe.set_parameters(keypoint_threshold=0.2)[0].successful  # stored for the next configure
    assert not probe.set_parameters(keypoint_threshold=-0.5)[0].successful
    assert_no_poses(probe, image)
    assert "network released" not in node.log() and " on " not in node.log().split("decoding with")[0][-1:]

    assert transition(probe, Transition.TRANSITION_CONFIGURE) and state(probe) == "inactive"
    log = node.wait_log("decoding with keypoint_threshold 0.2")
    assert "listening on" not in log
    assert_no_poses(probe, image)  # configured, not active: no subscription yet

    assert transition(probe, Transition.TRANSITION_ACTIVATE) and state(probe) == "active"
    node.wait_log("listening on")
    poses, _ = probe.request(probe.image_msg(image))
    assert poses.poses, "no people in basketball1.png"

    assert transition(probe, Transition.TRANSITION_DEACTIVATE) and state(probe) == "inactive"
    node.wait_log("deactivated")
    time.sleep(0.5)  # a frame already in flight finishes (and is dropped)
    assert_no_poses(probe, image)

    assert transition(probe, Transition.TRANSITION_CLEANUP) and state(probe) == "unconfigured"
    node.wait_log("network released")

    for step in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):  # again: the network reloads
        assert transition(probe, step)
    probe.request(probe.image_msg(image))

    assert transition(probe, Transition.TRANSITION_ACTIVE_SHUTDOWN) and state(probe) == "finalized"
    assert node.log().count("network released") == 2
    assert node.alive()


def test_a_configure_that_fails_leaves_the_node_unconfigured_and_alive(managed):
    node, probe = managed(network="no-such-net")
    assert not transition(probe, Transition.TRANSITION_CONFIGURE)
    log = node.wait_log("configure failed: unknown network 'no-such-net'")
    assert state(probe) == "unconfigured" and node.alive(), log
    assert "Traceback" not in log

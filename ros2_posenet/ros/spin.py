"""Spinning that no callback can end: an exception in any callback is reported and the node goes on.

``rclpy.spin`` re-raises whatever a callback raises, and rclpy's own parameter service raises on a
malformed request (a ParameterValue type outside the enum), so one request from any DDS participant
could otherwise stop the node.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node


def spin_until_shutdown(
    node: Node, on_error: Callable[[Exception], object], until: Callable[[], bool] = lambda: False
) -> None:
    """Spin ``node`` until shutdown (Ctrl-C, ExternalShutdownException) or ``until()``; ``on_error`` gets
    every exception a callback raised."""
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        while rclpy.ok(context=node.context) and not until():
            try:
                executor.spin_once(timeout_sec=0.1)
            except (KeyboardInterrupt, ExternalShutdownException):
                raise
            except Exception as error:  # noqa: BLE001 - the point: nothing a callback does ends the node
                on_error(error)
    finally:
        executor.remove_node(node)
        executor.shutdown()


def run_until_shutdown(
    node: Node,
    on_error: Callable[[Exception], object],
    until: Callable[[], bool] = lambda: False,
    release: Callable[[], object] = lambda: None,
) -> None:
    """``spin_until_shutdown``, then ``release()``, destroy the node and shut rclpy down, deaf to further Ctrl-C.

    A Ctrl-C in a terminal reaches every process of the group and ``ros2 launch`` forwards its own SIGINT
    too, so a node gets two: the second must not interrupt the shutdown under way.
    """
    try:
        spin_until_shutdown(node, on_error, until)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        release()
        node.destroy_node()
        with contextlib.suppress(KeyboardInterrupt):  # rclpy puts Python's handler back as it shuts down
            rclpy.try_shutdown()
        signal.signal(signal.SIGINT, signal.SIG_IGN)

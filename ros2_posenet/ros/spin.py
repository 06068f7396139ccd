"""Spinning that no callback can end: an exception in any callback is reported and the node goes on.

``rclpy.spin`` re-raises whatever a callback raises, and rclpy's own parameter service raises on a
malformed request (a ParameterValue type outside the enum), so one request from any DDS participant
could otherwise stop the node.
"""

from __future__ import annotations

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

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
from rclpy.signals import SignalHandlerOptions


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
    finally:  # spinning is over, the shutdown begins: a Ctrl-C now must not leave the executor half torn down
        _ignore_interrupts()
        executor.remove_node(node)
        executor.shutdown()


def init_rclpy(args: list[str] | None) -> None:
    """``rclpy.init`` without rclpy's signal handlers: theirs shut the context down from another thread,
    which can free a publisher under a frame being published (seen as a SIGSEGV at Ctrl-C, now and
    then). Ours raises KeyboardInterrupt in the main thread instead, between callbacks, for SIGINT and
    SIGTERM (ros2 launch's escalation) alike."""
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)


def _interrupt_once(signum: int, frame: object) -> None:
    """Raise KeyboardInterrupt and go deaf at once: a second signal even a few bytecodes later (a
    terminal's Ctrl-C and ros2 launch's SIGINT come 10-30 ms apart) must not interrupt the shutdown the
    first one started; one inside the executor's shutdown left it half torn down, and its ``__del__``
    printed a traceback."""
    _ignore_interrupts()
    raise KeyboardInterrupt


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


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
        shut_down(node, release)


def shut_down(node: Node | None, release: Callable[[], object] = lambda: None) -> None:
    """``release()``, destroy the node (None: a Ctrl-C came while it was being made) and shut rclpy
    down, deaf to further SIGINT and SIGTERM."""
    _ignore_interrupts()
    release()
    if node is not None:
        node.destroy_node()
    with contextlib.suppress(KeyboardInterrupt):  # rclpy puts Python's handler back as it shuts down
        rclpy.try_shutdown()
    _ignore_interrupts()

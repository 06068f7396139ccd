"""The library's Python log (logger ``ros2_posenet``: backend choice, engine builds) into a node's rclpy log.

Without it those lines go nowhere under ``ros2 run`` / ``ros2 launch``: rclpy does not configure
Python logging. With it a TensorRT build's progress appears as node log lines, at the levels given.
"""

from __future__ import annotations

import logging
from typing import Any

LIBRARY_LOGGER = "ros2_posenet"


class RclpyLogHandler(logging.Handler):
    """Forwards each record to an rclpy logger at the matching severity."""

    def __init__(self, ros_logger: Any) -> None:
        super().__init__(logging.DEBUG)
        self._ros_logger = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if record.levelno >= logging.ERROR:
                self._ros_logger.error(message)
            elif record.levelno >= logging.WARNING:
                self._ros_logger.warning(message)
            elif record.levelno >= logging.INFO:
                self._ros_logger.info(message)
            else:
                self._ros_logger.debug(message)
        except Exception:  # logging must never take the node down
            self.handleError(record)


def bridge_library_log(ros_logger: Any) -> RclpyLogHandler:
    """Send the library's INFO and above to ``ros_logger``; returns the handler (to remove it again)."""
    handler = RclpyLogHandler(ros_logger)
    library = logging.getLogger(LIBRARY_LOGGER)
    library.addHandler(handler)
    library.setLevel(logging.INFO)
    library.propagate = False  # the node's log is where these lines belong, once
    return handler

"""``posenet_file_source``: a camera stand-in that publishes a video, image folder, glob or image file.

Frames go out as sensor_msgs/Image on ``image`` at ``rate`` Hz with sensor-data QoS, like a camera
driver, so the pose node runs on the sample photos without a camera. With ``image_transport``
compressed they go out as sensor_msgs/CompressedImage on ``image/compressed`` (jpeg or png, as
image_transport's compressed plugin writes them). With ``loop`` the input starts over at its end;
without it the node exits after the last frame. ``wait_for_subscribers`` holds the first frame
until someone listens, so a short input is not published into the void.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator

import rclpy
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from ros2_posenet.errors import PoseNetError
from ros2_posenet.ros.image import (
    COMPRESSED_FORMATS,
    SUPPORTED_ENCODINGS,
    bgr_to_compressed,
    bgr_to_fields,
    transport_topic,
)
from ros2_posenet.ros.params import IMAGE_TRANSPORTS
from ros2_posenet.ros.spin import init_rclpy, run_until_shutdown, shut_down
from ros2_posenet.sources import Frame, FrameSource, open_input

NODE_NAME = "posenet_file_source"
EXIT_ERROR = 1
# A publisher sees a subscriber before that subscriber has matched the publisher; a best-effort
# frame sent in between is lost. Waiting this long after the first match lets both sides finish.
DISCOVERY_SETTLE_S = 1.0


class FileSourceNode(Node):
    """Publishes the frames of ``source``; ``on_publish(frame, msg)`` sees each one (the demo uses it)."""

    def __init__(self, on_publish: Callable[[Frame, Image | CompressedImage], None] | None = None, **kwargs) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self.source: FrameSource | None = None  # rclpy may destroy a node whose __init__ failed
        self.declare_parameter("source", "", ParameterDescriptor(description="video, image folder, glob or image"))
        self.declare_parameter(
            "rate",
            10.0,
            ParameterDescriptor(
                description="frames per second",
                floating_point_range=[FloatingPointRange(from_value=0.1, to_value=1000.0, step=0.0)],
            ),
        )
        self.declare_parameter("loop", True, ParameterDescriptor(description="start over at the end of the input"))
        self.declare_parameter("frame_id", "camera", ParameterDescriptor(description="header.frame_id of the images"))
        self.declare_parameter(
            "encoding", "bgr8", ParameterDescriptor(description=f"one of {', '.join(SUPPORTED_ENCODINGS)}")
        )
        self.declare_parameter(
            "image_transport", "raw", ParameterDescriptor(description=f"one of {', '.join(IMAGE_TRANSPORTS)}")
        )
        self.declare_parameter(
            "compressed_format", "jpeg", ParameterDescriptor(description=f"one of {', '.join(COMPRESSED_FORMATS)}")
        )
        self.declare_parameter(
            "wait_for_subscribers", True, ParameterDescriptor(description="hold the first frame until someone listens")
        )
        self.on_publish = on_publish
        self.spec = self.get_parameter("source").value
        self.encoding = self.get_parameter("encoding").value
        self.frame_id = self.get_parameter("frame_id").value
        self.loop = bool(self.get_parameter("loop").value)
        self.wait = bool(self.get_parameter("wait_for_subscribers").value)
        self.transport = self.get_parameter("image_transport").value
        self.compressed_format = self.get_parameter("compressed_format").value
        self.finished = False
        self.published = 0
        self._subscriber_seen: float | None = None
        if not self.spec:
            raise ValueError("parameter 'source' is empty: give a video, image folder, glob or image")
        if self.encoding not in SUPPORTED_ENCODINGS:
            raise ValueError(f"encoding {self.encoding!r} is not one of {', '.join(SUPPORTED_ENCODINGS)}")
        if self.transport not in IMAGE_TRANSPORTS:
            raise ValueError(f"image_transport {self.transport!r} is not one of {', '.join(IMAGE_TRANSPORTS)}")
        if self.compressed_format not in COMPRESSED_FORMATS:
            raise ValueError(
                f"compressed_format {self.compressed_format!r} is not one of {', '.join(COMPRESSED_FORMATS)}"
            )
        self.source = open_input(self.spec, warn=self.get_logger().warning)
        self.frames: Iterator[Frame] = iter(self.source)
        self.publisher = self.create_publisher(*transport_topic(self, self.transport), qos_profile_sensor_data)
        self.create_timer(1.0 / float(self.get_parameter("rate").value), self._tick)
        self.get_logger().info(f"publishing {self.spec} on {self.publisher.topic_name}")

    def _next_frame(self) -> Frame | None:
        frame = next(self.frames, None)
        if frame is None and self.loop and self.published:
            if self.source is not None:
                self.source.close()
            self.source = open_input(self.spec, warn=self.get_logger().warning)
            self.frames = iter(self.source)
            frame = next(self.frames, None)
        return frame

    def _may_publish(self) -> bool:
        if not self.wait or self.published:
            return True
        if self.publisher.get_subscription_count() == 0:
            self._subscriber_seen = None
            return False
        now = time.monotonic()
        self._subscriber_seen = self._subscriber_seen or now
        return now - self._subscriber_seen >= DISCOVERY_SETTLE_S

    def _tick(self) -> None:
        if self.finished or not self._may_publish():
            return
        frame = self._next_frame()
        if frame is None:
            self.finished = True
            self.get_logger().info(f"end of {self.spec} after {self.published} frames")
            return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.frame_id)
        msg: Image | CompressedImage
        if self.transport == "compressed":
            fmt, data = bgr_to_compressed(frame.image, self.compressed_format)
            msg = CompressedImage(header=header, format=fmt, data=data)
        else:
            msg = Image(header=header, **bgr_to_fields(frame.image, self.encoding)._asdict())
        self.publisher.publish(msg)
        self.published += 1
        if self.on_publish is not None:
            self.on_publish(frame, msg)

    def destroy_node(self) -> None:
        if self.source is not None:
            self.source.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``posenet_file_source``: publish until the input ends (no loop) or Ctrl-C."""
    init_rclpy(args)
    try:
        node = FileSourceNode()
    except (PoseNetError, ParameterException, ValueError) as error:
        print(f"posenet_file_source: error: {error}", file=sys.stderr)
        rclpy.try_shutdown()
        return EXIT_ERROR
    except KeyboardInterrupt:  # Ctrl-C while it opens the input (a second one may follow: deaf to it)
        shut_down(None)
        return 0
    run_until_shutdown(
        node, lambda error: node.get_logger().error(f"callback failed: {error!r}"), lambda: node.finished
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ros2_posenet: real-time multi-person 2D pose estimation (OpenPose-style CMAP + PAF networks)."""

# The ROS 2 messages are generated into a second ``ros2_posenet`` folder (a ROS install tree or the
# venv); joining the folders makes ``ros2_posenet.msg`` importable beside the library.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.errors import PoseNetError
from ros2_posenet.pose import Keypoint, Pose
from ros2_posenet.topology import Topology

__all__ = ["DecodeParams", "Keypoint", "Pose", "PoseNetError", "Topology"]

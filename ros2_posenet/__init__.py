"""ros2_posenet: real-time multi-person 2D pose estimation (OpenPose-style CMAP + PAF networks)."""

from ros2_posenet.decode.params import DecodeParams
from ros2_posenet.errors import PoseNetError
from ros2_posenet.pose import Keypoint, Pose
from ros2_posenet.topology import Topology

__all__ = ["DecodeParams", "Keypoint", "Pose", "PoseNetError", "Topology"]

# Source me (bash): ROS 2 settings for running the node from the PyPI wheels in .venv.
# The messages built by scripts/build_ros_msgs.sh need nothing else (the venv finds them); this adds
# the ament index of the venv and the Fast DDS profile that lets camera-sized images through
# shared memory (config/fastdds.xml says why; Humble's Fast DDS reads FASTRTPS_DEFAULT_PROFILES_FILE
# instead). Values already set by the caller are kept.
_ros2_posenet_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AMENT_PREFIX_PATH="${AMENT_PREFIX_PATH:-$_ros2_posenet_root/.venv}"
export FASTDDS_DEFAULT_PROFILES_FILE="${FASTDDS_DEFAULT_PROFILES_FILE:-$_ros2_posenet_root/config/fastdds.xml}"
export RCUTILS_LOGGING_BUFFERED_STREAM="${RCUTILS_LOGGING_BUFFERED_STREAM:-0}"
unset _ros2_posenet_root

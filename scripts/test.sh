#!/usr/bin/env bash
# The test command (README and CI): the whole suite in .venv, with the built ROS messages on the paths.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/ros_env.sh
source scripts/ros_env.sh
exec .venv/bin/python -m pytest -q "$@"

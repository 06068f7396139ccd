#!/usr/bin/env bash
# The demo on real photos: the `posenet` command writes overlay images and JSON, then the ROS 2 node
# receives the same photos over DDS and what it publishes is written to demo_output/ros/.
set -euo pipefail
cd "$(dirname "$0")/.."
PHOTOS=$(.venv/bin/python -c 'from ros2_posenet.models.cache import photos_dir; print(photos_dir())')
OUT=demo_output
mkdir -p "$OUT"

.venv/bin/posenet "$PHOTOS/*.[pj][np]g" "$OUT/posenet/" --json "$OUT/posenet/poses.json"

# shellcheck source=scripts/ros_env.sh
source scripts/ros_env.sh
.venv/bin/python scripts/ros_demo.py --photos "$PHOTOS" --out "$OUT/ros"
echo "demo: overlays and poses in $OUT/posenet/ (command) and $OUT/ros/ (ROS 2 node)"

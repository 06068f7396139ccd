#!/usr/bin/env bash
# trt_pose's C++ parser as a shared library for benchmarks/cpu_decode.py (a comparison tool, never a
# dependency): its sources come from a clone of github.com/NVIDIA-AI-IOT/trt_pose at the commit below.
#   bash scripts/build_trt_pose_parser.sh TRT_POSE_GIT_DIR [OUT.so]
set -euo pipefail
cd "$(dirname "$0")/.."
git_dir="$1"
out="${2:-benchmarks/results/libtrt_pose_parse.so}"
commit=336b8cd  # the newest commit of trt_pose's master when this was written
src="$(mktemp -d)"
git --git-dir "$git_dir" archive "$commit" trt_pose/parse | tar -x -C "$src"
mkdir -p "$(dirname "$out")"
g++ -O3 -march=native -shared -fPIC -std=c++14 -I"$src/trt_pose/parse" \
  "$src"/trt_pose/parse/{find_peaks,refine_peaks,paf_score_graph,munkres,connect_parts}.cpp \
  benchmarks/trt_pose_shim.cpp -o "$out"
echo "build_trt_pose_parser: $out (trt_pose $commit)"

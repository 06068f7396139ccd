#!/usr/bin/env bash
# trt_pose's own Python parser (ParseObjects on its torch C++ extension), as its users run it, for the
# third column of benchmarks/cpu_decode.py: a venv with torch (CPU is enough), numpy, trt_pose built from
# the same commit as scripts/build_trt_pose_parser.sh, and this package (no dependencies). A comparison
# tool, never a dependency.
#   bash scripts/build_trt_pose_torch.sh TRT_POSE_GIT_DIR [TORCH (a wheel file or a pip spec; default torch)] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
git_dir="$1"
torch="${2:-torch}"
dir="${3:-.venv-trt-pose}"
commit=336b8cd  # as scripts/build_trt_pose_parser.sh
[[ -x "$dir/bin/python" ]] || python3 -m venv "$dir"
"$dir/bin/python" -m pip install -q "$torch" numpy setuptools wheel
src="$(mktemp -d)"
git --git-dir "$git_dir" archive "$commit" | tar -x -C "$src"
MAX_JOBS=2 "$dir/bin/python" -m pip install -q --no-build-isolation "$src"
"$dir/bin/python" -m pip install -q --no-deps -e .
echo "build_trt_pose_torch: ok: $dir (trt_pose $commit); OMP_NUM_THREADS=1 $dir/bin/python benchmarks/cpu_decode.py"

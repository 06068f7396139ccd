#!/usr/bin/env bash
# On the GPU machine (see scripts/device_prepare.sh): install the carried wheels, run the GPU tests
# and both GPU benchmarks; logs and JSON go to $OUT (default out/device).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/device}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site wheels/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD
if [ -d .gpu_carry/cache ]; then export ROS2_POSENET_CACHE=$PWD/.gpu_carry/cache; fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, pycuda; print('torch', torch.__version__, 'pycuda', pycuda.VERSION_TEXT)"
python3 -m pytest -q -rs -s -p no:cacheprovider --timeout 300 test/test_gpu_*.py test/test_engine_cache.py test/test_cuda_graph.py test/test_trt_pose_convention.py test/test_tensorrt_standin.py test/test_pipelines.py test/test_onnx_torch.py "$@" 2>&1 | tee "$OUT/pytest_gpu.log"
python3 benchmarks/gpu_decode.py --json "$OUT/gpu_decode.json" 2>&1 | tee "$OUT/gpu_decode.log"
python3 benchmarks/gpu_decode.py --burst 1 --runs 100 --json "$OUT/gpu_decode_cold.json" 2>&1 | tee "$OUT/gpu_decode_cold.log"
python3 benchmarks/gpu_end_to_end.py --json "$OUT/gpu_end_to_end.json" 2>&1 | tee "$OUT/gpu_end_to_end.log"
python3 benchmarks/torch_profile.py --json "$OUT/torch_profile.json" 2>&1 | tee "$OUT/torch_profile.log"

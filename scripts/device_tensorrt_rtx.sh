#!/usr/bin/env bash
# On the GPU machine: TensorRT-RTX's real builder API runs test/test_gpu_tensorrt.py (parse ONNX, build,
# cache; RTX's runtime refuses compute capability 9.0, so no inference). Its 234 MB library travels
# xz-compressed in two halves, .trt_rtx_a/ and .trt_rtx_b/ (scripts/device_prepare.sh --tensorrt-rtx),
# carried by two consecutive runs while the machine stays warm (carried folders do not outlive their run):
#   run 1, carry [.trt_rtx_a]: mkdir -p /tmp/trt_stage && cp -r .trt_rtx_a /tmp/trt_stage/
#   run 2, carry [.trt_rtx_b]: bash scripts/device_tensorrt_rtx.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/device}
mkdir -p "$OUT"
part_a=/tmp/trt_stage/.trt_rtx_a
if [ ! -d "$part_a" ] || [ ! -d .trt_rtx_b ]; then
    echo "TensorRT-RTX pieces missing ($part_a from run 1, .trt_rtx_b carried now)"; exit 0
fi
site=/tmp/trt_rtx
mkdir -p "$site/tensorrt_rtx_libs"
cat "$part_a"/libtensorrt_rtx.xz.part* .trt_rtx_b/libtensorrt_rtx.xz.part* | xz -d > "$site/tensorrt_rtx_libs/libtensorrt_rtx.so.1" || exit 1
cp "$part_a"/libtensorrt_onnxparser_rtx.so.1 "$part_a"/__init__.py "$site/tensorrt_rtx_libs/"
python3 -m pip install -q --no-index --no-deps --no-compile --target "$site" "$part_a"/*.whl || exit 1
export PYTHONUNBUFFERED=1 PYTHONPATH=$site:$PWD LD_LIBRARY_PATH=$site/tensorrt_rtx_libs:${LD_LIBRARY_PATH:-}
if [ -d .gpu_carry/cache ]; then export ROS2_POSENET_CACHE=$PWD/.gpu_carry/cache; fi
python3 -m pytest -q -rs -s -p no:cacheprovider test/test_gpu_tensorrt.py 2>&1 | tee "$OUT/pytest_tensorrt_rtx.log"

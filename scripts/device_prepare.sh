#!/usr/bin/env bash
# Here (no GPU): gather what a run on the GPU machine needs and cannot download there.
#   wheels/       pycuda (built there, see ../shared/notes/gpu-machine.md) + its pure-Python deps (cp312)
#   .gpu_carry/   the converted mobilenet-thin ONNX and the sample photos, laid out like the model cache
#   --tensorrt-rtx: also TensorRT-RTX (cu13) split in .trt_rtx_a/ and .trt_rtx_b/ (see device_tensorrt_rtx.sh)
# Then: device run with carry [wheels, .gpu_carry] and command `bash scripts/device_gpu_run.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p wheels
cp -n ../shared/wheels/pycuda-*-cp312-*.whl wheels/ 2>/dev/null || true
"$PY" -m pip download -q --no-deps --python-version 3.12 --only-binary :all: -d wheels \
    pytools platformdirs mako
"$PY" -m pip download -q --no-deps --only-binary :all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d wheels siphash24
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qx '/.gpu_carry/' "$exclude" 2>/dev/null || echo '/.gpu_carry/' >> "$exclude"
model=$("$PY" -c "from ros2_posenet.models.fetch import resolve_network; print(resolve_network('mobilenet-thin-body').model_path)")
cache=$("$PY" -c "from ros2_posenet.models.cache import cache_dir; print(cache_dir())")
relative=${model#"$cache"/}
rm -rf .gpu_carry && mkdir -p ".gpu_carry/cache/$(dirname "$relative")" .gpu_carry/cache/photos
cp "$model" ".gpu_carry/cache/$relative"
cp "$cache"/photos/*.png "$cache"/photos/*.jpg "$cache"/photos/*.avi .gpu_carry/cache/photos/
if [ "${1:-}" = "--tensorrt-rtx" ]; then
    grep -qx '/.trt_rtx_[ab]/' "$exclude" || echo '/.trt_rtx_[ab]/' >> "$exclude"
    work=$(mktemp -d)
    "$PY" -m pip download -q --no-deps --only-binary :all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 -d "$work" tensorrt-rtx-cu13-libs==1.7.1.116 tensorrt-rtx-cu13-bindings==1.7.1.116
    unzip -q "$work"/tensorrt_rtx_cu13_libs-*.whl -d "$work/libs"
    rm -rf .trt_rtx_a .trt_rtx_b && mkdir .trt_rtx_a .trt_rtx_b
    cp "$work"/tensorrt_rtx_cu13_bindings-*.whl "$work"/libs/tensorrt_rtx_libs/__init__.py \
        "$work"/libs/tensorrt_rtx_libs/libtensorrt_onnxparser_rtx.so.1 .trt_rtx_a/
    xz -T0 -6 -c "$work/libs/tensorrt_rtx_libs/libtensorrt_rtx.so.1" | split -b 34M - "$work/libtensorrt_rtx.xz.part"
    mv "$work"/libtensorrt_rtx.xz.partaa .trt_rtx_a/ && mv "$work"/libtensorrt_rtx.xz.part* .trt_rtx_b/
    rm -rf "$work"
    du -sh .trt_rtx_a .trt_rtx_b
fi
du -sh wheels .gpu_carry

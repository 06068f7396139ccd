"""TensorRT: build engines from our ONNX files through the real builder API and cache them.

With ``tensorrt`` installed (Jetson, desktop) everything runs, inference included. Where only
TensorRT-RTX's Python bindings can be had (the H200 machine here: see ../shared/notes), the same
``build_engine`` code parses and builds through that real API, and the real engine bytes go
through the cache; RTX's runtime refuses compute capability 9.0, so inference is not run there.
Skipped when neither is installed (CI).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest
from support.contract_onnx import write_contract_onnx
from support.decode_helpers import BODY

from ros2_posenet.engines.engine_cache import MAGIC, EngineCache, EngineKey, engine_path
from ros2_posenet.engines.tensorrt import build_engine
from ros2_posenet.errors import ModelError, PoseNetError
from ros2_posenet.models.fetch import resolve_network
from ros2_posenet.models.files import sha256_file
from ros2_posenet.models.registry import ResolvedNetwork, get_spec


def tensorrt_module():
    """(module, can_run): real TensorRT, else TensorRT-RTX bindings (build only), else skip."""
    try:
        import tensorrt

        return tensorrt, True
    except ImportError:
        pass
    try:
        import tensorrt_rtx_bindings

        return tensorrt_rtx_bindings, False
    except ImportError:
        pytest.skip("neither tensorrt nor tensorrt_rtx_bindings is installed")


@pytest.fixture(scope="module")
def trt():
    return tensorrt_module()[0]


@pytest.fixture(scope="module")
def compute_capability() -> str:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    major, minor = torch.cuda.get_device_capability()
    return f"{major}.{minor}"


def build(trt, model: Path, shape: tuple[int, ...], precision: str, capability: str) -> bytes:
    logger = trt.Logger(trt.Logger.WARNING)
    return build_engine(trt, model, "input", shape, precision, logger, capability)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_contract_onnx_builds_and_is_cached(trt, compute_capability, tmp_path, precision, caplog) -> None:
    model = write_contract_onnx(tmp_path / "pose_resnet18_body.onnx", links=BODY.num_links)
    shape = (1, 3, 224, 224)
    key = EngineKey(sha256_file(model), trt.__version__, "this GPU", compute_capability, precision, shape)
    cache = EngineCache(engine_path(model, key))
    builds = []

    def real_build() -> bytes:
        builds.append(1)
        return build(trt, model, shape, precision, compute_capability)

    with caplog.at_level(logging.INFO, logger="ros2_posenet"):
        first = cache.load_or_build(key, real_build)
        second = EngineCache(engine_path(model, key)).load_or_build(key, real_build)
    assert len(builds) == 1 and first == second and len(first) > 10_000
    assert cache.path.read_bytes().startswith(MAGIC)
    messages = [r.getMessage() for r in caplog.records]
    assert any("building a" in m and "takes minutes" in m for m in messages)
    assert any("TensorRT engine built in" in m for m in messages)
    print(f"{trt.__name__} {trt.__version__} {precision}: {len(first)} bytes; log: {messages}")


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_dynamic_mobilenet_onnx_builds_with_a_profile(trt, compute_capability, precision) -> None:
    try:
        network = resolve_network("mobilenet-thin-body")
    except PoseNetError as error:
        pytest.skip(f"mobilenet-thin-body not available: {error}")
    start = time.perf_counter()
    data = build(trt, Path(network.model_path), (1, 3, 368, 432), precision, compute_capability)
    assert len(data) > 100_000
    print(
        f"{trt.__name__} {trt.__version__} mobilenet-thin-body 432x368 {precision}: {len(data)} bytes in "
        f"{time.perf_counter() - start:.1f} s"
    )


def test_unparsable_onnx_is_a_one_line_model_error(trt, compute_capability, tmp_path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not an ONNX file")
    with pytest.raises(ModelError, match="TensorRT cannot parse"):
        build(trt, broken, (1, 3, 224, 224), "fp32", compute_capability)


def test_engine_runs_and_matches_onnxruntime(tmp_path) -> None:
    trt, can_run = tensorrt_module()
    if not can_run:
        pytest.skip(f"{trt.__name__} builds engines but cannot run them on this GPU")
    from ros2_posenet.engines.onnx_runtime import OnnxRuntimeEngine
    from ros2_posenet.engines.tensorrt import TensorRTEngine

    model = write_contract_onnx(tmp_path / "pose_resnet18_body.onnx", links=BODY.num_links)
    network = ResolvedNetwork(get_spec("resnet18-body"), model, BODY)
    engine = TensorRTEngine(network, precision="fp32")
    tensor = np.random.default_rng(0).normal(0, 1, (1, 3, 224, 224)).astype(np.float32)
    for got, want in zip(engine.infer(tensor), OnnxRuntimeEngine(network).infer(tensor), strict=True):
        assert np.abs(got - want).max() < 1e-3

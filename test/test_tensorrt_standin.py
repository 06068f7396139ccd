"""The real ``TensorRTEngine`` class, end to end, against STAND-INS of TensorRT and pycuda.

TensorRT cannot be installed on the machines here, so support/tensorrt_standin.py implements the
subset of TensorRT's Python API the engine calls (for TensorRT 10 and for 8.5/8.6) and computes the
network with ONNX Runtime on the bytes at the bound addresses of support/pycuda_standin.py's
host-memory "device". Both refuse any call outside that subset, so a wrong call in our engine (the
build call missing an argument, a binding the version lacks) fails here, in CI. What the stand-ins
cannot show (real kernels, real FP16) is covered by test_gpu_tensorrt.py where TensorRT exists.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from support import pycuda_standin, tensorrt_standin
from support.contract_onnx import write_contract_onnx
from support.decode_helpers import BODY

from ros2_posenet.cuda.context import GpuContext
from ros2_posenet.engines import create_engine
from ros2_posenet.engines.base import EngineOptions
from ros2_posenet.engines.engine_cache import EngineCache, EngineKey
from ros2_posenet.engines.onnx_runtime import OnnxRuntimeEngine
from ros2_posenet.errors import BackendUnavailableError, ModelError
from ros2_posenet.models.files import sha256_file
from ros2_posenet.models.registry import ResolvedNetwork, get_spec

INPUT = np.random.default_rng(0).normal(0, 1, (1, 3, 224, 224)).astype(np.float32)


@pytest.fixture(params=list(tensorrt_standin.VERSIONS), ids=lambda g: f"tensorrt-{g}")
def stand_ins(request, monkeypatch):
    """(tensorrt stand-in, device memory) for one API generation; GpuContext starts afresh."""
    monkeypatch.setattr(GpuContext, "_instances", {})
    memory = pycuda_standin.install(monkeypatch)
    return tensorrt_standin.install(monkeypatch, request.param, memory), memory


@pytest.fixture
def network(tmp_path) -> ResolvedNetwork:
    model = write_contract_onnx(tmp_path / "models" / "pose_resnet18_body.onnx", links=BODY.num_links)
    return ResolvedNetwork(get_spec("resnet18-body"), model, BODY)


def tensorrt_engine(network: ResolvedNetwork, precision: str = "fp32", **options):
    from ros2_posenet.engines.tensorrt import TensorRTEngine

    return TensorRTEngine(network, precision=precision, **options)


def test_builds_caches_and_matches_onnxruntime(stand_ins, network, caplog) -> None:
    trt, _ = stand_ins
    with caplog.at_level(logging.INFO, logger="ros2_posenet"):
        engine = tensorrt_engine(network)
    assert trt.builds == 1 and engine.name == "tensorrt-fp32"
    cached = list(network.model_path.parent.glob("*.engine"))
    assert [p.name for p in cached] == ["pose_resnet18_body.fp32.1x3x224x224.engine"]
    assert "building a fp32 TensorRT engine" in caplog.text and "takes minutes" in caplog.text
    for got, want in zip(engine.infer(INPUT), OnnxRuntimeEngine(network).infer(INPUT), strict=True):
        assert got.shape == want.shape and np.abs(got - want).max() < 1e-5
    tensorrt_engine(network)  # a second start loads the cached engine
    assert trt.builds == 1


def test_device_buffers_run_in_place(stand_ins, network) -> None:
    """The GPU pipeline's use: write ``input`` on the device, ``infer_device`` returns device outputs."""
    engine = tensorrt_engine(network)
    with engine.gpu:
        engine.input.set(INPUT)
    cmap, paf = engine.infer_device()
    with engine.gpu:
        device_cmap, device_paf = cmap.get(), paf.get()
    want_cmap, want_paf = OnnxRuntimeEngine(network).infer(INPUT)
    assert np.abs(device_cmap[0] - want_cmap).max() < 1e-5 and np.abs(device_paf[0] - want_paf).max() < 1e-5


def test_stale_and_corrupt_engines_are_rebuilt(stand_ins, network, monkeypatch, caplog) -> None:
    trt, memory = stand_ins
    tensorrt_engine(network)
    (path,) = network.model_path.parent.glob("*.engine")
    path.write_bytes(path.read_bytes()[:-100])  # truncated: checksum mismatch
    with caplog.at_level(logging.WARNING, logger="ros2_posenet"):
        tensorrt_engine(network)
    assert trt.builds == 2 and "corrupt" in caplog.text
    key = EngineKey(
        sha256_file(network.model_path), trt.__version__, "Orin (stand-in)", "8.7", "fp32", (1, 3, 224, 224)
    )
    EngineCache(path).store(key, b"a plan this TensorRT cannot deserialise")
    tensorrt_engine(network)
    assert trt.builds == 3
    newer = tensorrt_standin.install(monkeypatch, "10", memory, version="10.9.0")  # TensorRT upgraded
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ros2_posenet"):
        tensorrt_engine(network)
    assert newer.builds == 1 and "stale" in caplog.text and "10.9.0" in caplog.text


def test_fp16_where_fast_and_build_progress_reported(stand_ins, network) -> None:
    trt, _ = stand_ins
    steps: list[tuple[str, int, int]] = []
    engine = tensorrt_engine(network, "fp16", build_progress=lambda *step: steps.append(step))
    assert engine.name == "tensorrt-fp16"
    cmap, _ = engine.infer(INPUT)
    assert np.array_equal(cmap, cmap.astype(np.float16).astype(np.float32))  # computed in half precision
    if hasattr(trt, "IProgressMonitor"):  # TensorRT 10 reports build steps; 8.x does not
        assert steps[0] == ("Building engine", 0, 20) and steps[-1] == ("Building engine", 20, 20)
    else:
        assert steps == []


def test_close_frees_the_device_and_refuses_more_work(stand_ins, network) -> None:
    _, memory = stand_ins
    before = memory.live
    engine = tensorrt_engine(network)
    assert memory.live == before + 3  # input, cmap and paf buffers
    engine.close()
    assert memory.live == before
    with pytest.raises(ModelError, match="closed"):
        engine.infer(INPUT)
    with pytest.raises(ModelError, match="closed"):
        engine.infer_device()
    engine.close()  # twice is harmless


def test_create_engine_passes_precision_and_progress(stand_ins, network) -> None:
    steps: list = []
    engine = create_engine("tensorrt", network, None, EngineOptions("fp16", build_progress=lambda *s: steps.append(s)))
    assert engine.name == "tensorrt-fp16"
    with pytest.raises(ValueError, match="fp16 or fp32"):
        create_engine("tensorrt", network, None, EngineOptions("bf16"))


def test_tensorrt_older_than_8_5_is_refused_in_one_line(stand_ins, network, monkeypatch) -> None:
    _, memory = stand_ins
    tensorrt_standin.install(monkeypatch, "8", memory, version="8.4.1")
    with pytest.raises(BackendUnavailableError, match="older than 8.5"):
        tensorrt_engine(network)


def test_unparsable_model_is_one_line(stand_ins, network) -> None:
    network.model_path.write_bytes(b"not an ONNX file")
    with pytest.raises(ModelError, match="TensorRT cannot parse"):
        tensorrt_engine(network)

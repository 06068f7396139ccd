"""The OpenVINO engine (skipped where OpenVINO is not installed; set-up installs it).

The accuracy guard: on every real image the project has, OpenVINO at the precision ``auto`` picks
finds the same people as ONNX Runtime in fp32: equal counts, keypoints within 1.5 px (median) and
4 px (worst). bf16 is measured by benchmarks/cpu_engines.py; it fails this guard (README).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from support.photos import guard_images
from support.poses import keypoint_distances

from ros2_posenet.engines.openvino import openvino_status
from ros2_posenet.errors import BackendUnavailableError
from ros2_posenet.posenet import PoseNet

OPENVINO = openvino_status()
pytestmark = pytest.mark.skipif(not OPENVINO[0], reason=f"OpenVINO unavailable: {OPENVINO[1]}")
SIZES = [(224, 224), (432, 368), (656, 368)]


@pytest.fixture(scope="module")
def images() -> list[tuple[str, np.ndarray]]:
    return guard_images()


@pytest.fixture
def compiled_cache(tmp_path, monkeypatch):
    """OpenVINO's compiled models go to a fresh folder; the converted network stays where set-up put it."""
    monkeypatch.setattr("ros2_posenet.engines.openvino.cache_dir", lambda: tmp_path)
    return tmp_path


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_auto_precision_finds_the_same_people_as_onnxruntime_fp32(images, size) -> None:
    reference = PoseNet(backend="onnxruntime", input_size=size)
    net = PoseNet(backend="openvino", input_size=size)
    assert net.backend_name == "openvino-fp32"
    for name, image in images:
        expected, found = reference.process(image), net.process(image)
        assert len(found) == len(expected), f"{name}: {len(found)} people, ONNX Runtime {len(expected)}"
        distances = keypoint_distances(found, expected)
        if distances:
            assert np.median(distances) <= 1.5 and max(distances) <= 4.0, (name, np.median(distances), max(distances))


def test_compiled_model_is_cached_and_threads_are_capped(compiled_cache, caplog) -> None:
    compiled = compiled_cache
    with caplog.at_level(logging.INFO, logger="ros2_posenet"):
        PoseNet(backend="openvino", input_size=(224, 224), threads=1)
    assert list((compiled / "openvino").glob("*.blob")), "OpenVINO wrote no compiled model into its cache folder"
    assert "224x224, fp32, 1 threads" in caplog.text


def test_unsupported_precision_is_one_line(monkeypatch) -> None:
    import openvino as ov

    monkeypatch.setattr(ov.Core, "get_property", lambda self, device, name: ["FP32", "INT8"])
    with pytest.raises(BackendUnavailableError, match="no native bf16"):
        PoseNet(backend="openvino", precision="bf16")


def test_auto_backend_prefers_openvino_on_a_cpu_and_says_why(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="ros2_posenet"):
        net = PoseNet(backend="auto", input_size=(224, 224))
    assert net.backend_name == "openvino-fp32"
    assert "backend auto: openvino (" in caplog.text and "faster than ONNX Runtime on CPUs" in caplog.text

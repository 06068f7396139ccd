"""The TensorRT engine cache logic, on any machine: keys, atomic writes, rebuilds of bad files.

TensorRT cannot be installed here, so engine bytes come from ``StandInEngineBuilder``: a stand-in
for the TensorRT builder that returns bytes derived from the key and counts how often it ran.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from ros2_posenet.engines.engine_cache import MAGIC, EngineCache, EngineKey, engine_path
from ros2_posenet.models.files import sha256_file


class StandInEngineBuilder:
    """Stand-in for TensorRT's builder: "builds" bytes that name the key they were built for."""

    def __init__(self, key: EngineKey) -> None:
        self.key = key
        self.builds = 0

    def __call__(self) -> bytes:
        self.builds += 1
        return b"stand-in engine for " + self.key.to_json().encode() + bytes(range(256)) * 64


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    path = tmp_path / "pose_resnet18_body.onnx"
    path.write_bytes(b"onnx model bytes v1")
    return path


def make_key(model: Path, **changes) -> EngineKey:
    key = EngineKey(
        model_sha256=sha256_file(model),
        tensorrt_version="10.3.0",
        gpu_name="NVIDIA H100 80GB HBM3",
        compute_capability="9.0",
        precision="fp16",
        input_shape=(1, 3, 224, 224),
    )
    return replace(key, **changes)


def test_first_use_builds_and_second_loads(model: Path) -> None:
    key = make_key(model)
    cache = EngineCache(engine_path(model, key))
    builder = StandInEngineBuilder(key)
    first = cache.load_or_build(key, builder)
    second = EngineCache(engine_path(model, key)).load_or_build(key, builder)
    assert builder.builds == 1
    assert first == second == builder()
    assert cache.path == model.parent / "pose_resnet18_body.fp16.1x3x224x224.engine"
    assert cache.path.read_bytes().startswith(MAGIC)


def test_model_sha256_tracks_content(model: Path) -> None:
    before = sha256_file(model)
    model.write_bytes(b"onnx model bytes v2")
    assert sha256_file(model) != before
    assert len(before) == 64


@pytest.mark.parametrize(
    "field, value",
    [
        ("model_sha256", "0" * 64),
        ("tensorrt_version", "8.6.2"),
        ("gpu_name", "Orin"),
        ("compute_capability", "8.7"),
        ("precision", "fp32"),
        ("input_shape", (1, 3, 256, 256)),
    ],
)
def test_any_key_change_rebuilds_with_log_line(model: Path, field: str, value, caplog) -> None:
    old_key = make_key(model)
    path = engine_path(model, old_key)
    EngineCache(path).load_or_build(old_key, StandInEngineBuilder(old_key))
    new_key = replace(old_key, **{field: value})
    builder = StandInEngineBuilder(new_key)
    with caplog.at_level(logging.WARNING, logger="ros2_posenet"):
        data = EngineCache(path).load_or_build(new_key, builder)
    assert builder.builds == 1 and data == StandInEngineBuilder(new_key)()
    assert any("stale" in r.message and field in r.message for r in caplog.records)
    assert EngineCache(path).load(new_key) == data  # replaced on disk


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-10],  # payload cut short: checksum mismatch
        lambda raw: raw[:20],  # header cut short
        lambda raw: b"raw TensorRT plan without our header" + raw,  # foreign file
        lambda raw: raw[: len(MAGIC) + 4] + b"{not json" + raw[len(MAGIC) + 13 :],
        lambda raw: raw[:-1] + bytes([raw[-1] ^ 0xFF]),  # one flipped bit in the payload
        lambda raw: b"",
    ],
)
def test_corrupt_file_is_rebuilt_with_log_line(model: Path, damage, caplog) -> None:
    key = make_key(model)
    path = engine_path(model, key)
    EngineCache(path).load_or_build(key, StandInEngineBuilder(key))
    path.write_bytes(damage(path.read_bytes()))
    builder = StandInEngineBuilder(key)
    with caplog.at_level(logging.WARNING, logger="ros2_posenet"):
        data = EngineCache(path).load_or_build(key, builder)
    assert builder.builds == 1
    assert data == StandInEngineBuilder(key)()
    assert any("corrupt" in r.message for r in caplog.records)


def test_undeserialisable_engine_is_rebuilt(model: Path, caplog) -> None:
    key = make_key(model)
    cache = EngineCache(engine_path(model, key))
    cache.load_or_build(key, StandInEngineBuilder(key))
    builder = StandInEngineBuilder(key)
    verdicts = iter([False, True])  # the runtime rejects the cached bytes once (e.g. a driver change)
    with caplog.at_level(logging.WARNING, logger="ros2_posenet"):
        cache.load_or_build(key, builder, accept=lambda data: next(verdicts))
    assert builder.builds == 1
    assert any("could not be deserialised" in r.message for r in caplog.records)


def test_failed_write_leaves_previous_engine_and_no_temp_files(model: Path, monkeypatch) -> None:
    key = make_key(model)
    cache = EngineCache(engine_path(model, key))
    cache.store(key, b"good engine")

    def crash(*args) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("ros2_posenet.engines.engine_cache.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        cache.store(key, b"new engine that never lands")
    assert cache.load(key) == b"good engine"
    assert [p.name for p in cache.path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_read_only_model_folder_falls_back_to_cache_dir(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "networks"
    folder.mkdir()
    model = folder / "model.onnx"
    model.write_bytes(b"x")
    monkeypatch.setenv("ROS2_POSENET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("ros2_posenet.engines.engine_cache.os.access", lambda path, mode: False)
    path = engine_path(model, make_key(model, precision="fp32"))
    assert path == tmp_path / "cache" / "engines" / "model.fp32.1x3x224x224.engine"

"""On-disk cache of built TensorRT engines, keyed by everything that makes an engine invalid.

An engine file holds a small header (magic, the JSON key, the payload's SHA-256) and then the
serialised engine. A file whose key differs (another model, TensorRT version, GPU, precision or
input shape), whose payload does not match its hash, or that the runtime cannot deserialise is
rebuilt with a log line, never trusted. Files are written atomically (temp file + rename), so an
interrupted build never leaves half an engine behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ros2_posenet.models.cache import cache_dir
from ros2_posenet.models.files import write_atomic

LOG = logging.getLogger("ros2_posenet")

MAGIC = b"ROS2POSENET-TRT\x01"
_HEADER_LENGTH = struct.Struct("<I")


@dataclass(frozen=True)
class EngineKey:
    """What an engine was built from and for; any difference means it must be rebuilt."""

    model_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    input_shape: tuple[int, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EngineKey:
        data = json.loads(text)
        data["input_shape"] = tuple(int(n) for n in data["input_shape"])
        return cls(**data)

    def differences(self, other: EngineKey) -> list[str]:
        """Human-readable fields in which ``other`` (found on disk) differs from this key."""
        mine, theirs = asdict(self), asdict(other)
        return [f"{name} {theirs[name]} != {mine[name]}" for name in mine if mine[name] != theirs[name]]


def engine_path(model_path: Path, key: EngineKey, directory: Path | None = None) -> Path:
    """Where the engine of ``model_path`` is cached: beside the model when that folder is writable.

    The name holds the precision and input shape (several may coexist); the rest of the key lives
    in the header, so a changed model or another GPU replaces the file instead of piling up.
    """
    if directory is None:
        directory = model_path.parent if os.access(model_path.parent, os.W_OK) else cache_dir() / "engines"
    shape = "x".join(str(n) for n in key.input_shape)
    return directory / f"{model_path.stem}.{key.precision}.{shape}.engine"


class EngineCache:
    """Load an engine's bytes for a key, or build, store and return them.

    ``build()`` returns serialised engine bytes (minutes on a Jetson); ``accept(data)`` returns
    False when the runtime cannot deserialise bytes that passed the header checks.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load_or_build(
        self, key: EngineKey, build: Callable[[], bytes], accept: Callable[[bytes], bool] = lambda data: True
    ) -> bytes:
        data = self.load(key)
        if data is not None:
            if accept(data):
                LOG.info("TensorRT engine loaded from %s", self.path)
                return data
            LOG.warning("TensorRT engine %s could not be deserialised; rebuilding", self.path)
        data = build()
        self.store(key, data)
        return data

    def load(self, key: EngineKey) -> bytes | None:
        """The cached payload for ``key``, or None (with the reason logged) when it must be rebuilt."""
        if not self.path.is_file():
            LOG.info("no cached TensorRT engine at %s; building one", self.path)
            return None
        try:
            raw = self.path.read_bytes()
            found, digest, payload = _split(raw)
        except (OSError, ValueError, KeyError, TypeError) as error:
            LOG.warning("TensorRT engine %s is corrupt (%s); rebuilding", self.path, error)
            return None
        if found != key:
            LOG.warning("TensorRT engine %s is stale (%s); rebuilding", self.path, "; ".join(key.differences(found)))
            return None
        if hashlib.sha256(payload).hexdigest() != digest:
            LOG.warning("TensorRT engine %s is corrupt (checksum mismatch); rebuilding", self.path)
            return None
        return payload

    def store(self, key: EngineKey, payload: bytes) -> None:
        """Write header + payload atomically (temp file, fsync, rename over the target)."""
        header = json.dumps({"key": json.loads(key.to_json()), "sha256": hashlib.sha256(payload).hexdigest()})
        write_atomic(self.path, MAGIC + _HEADER_LENGTH.pack(len(header)) + header.encode() + payload)
        LOG.info("TensorRT engine saved to %s (%.1f MB)", self.path, len(payload) / 1e6)


def _split(raw: bytes) -> tuple[EngineKey, str, bytes]:
    """Parse an engine file into (key, payload SHA-256, payload); ValueError when malformed."""
    if not raw.startswith(MAGIC):
        raise ValueError("not an engine file written by ros2_posenet")
    start = len(MAGIC) + _HEADER_LENGTH.size
    if len(raw) < start:
        raise ValueError("truncated header")
    (length,) = _HEADER_LENGTH.unpack_from(raw, len(MAGIC))
    if len(raw) < start + length:
        raise ValueError("truncated header")
    header = json.loads(raw[start : start + length])
    key = EngineKey.from_json(json.dumps(header["key"]))
    return key, str(header["sha256"]), raw[start + length :]

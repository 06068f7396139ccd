"""File helpers shared by the model cache and the engine cache: hashing and atomic writes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, streamed (ONNX files and engines can be hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def has_sha256(path: Path, expected: str) -> bool:
    """True when ``path`` exists and has the expected SHA-256."""
    return path.is_file() and sha256_file(path) == expected


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a synced temporary file in the same folder, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes 0600; the cache is shared like any downloaded file
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise

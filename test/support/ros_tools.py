"""The real ROS 2 command-line tools (``ros2 launch``, ``ros2 topic``, ``ros2 param``, ``ros2 service``) on
the package built and installed the way a colcon workspace installs it.

``launch``, ``launch_ros`` and ``ros2cli`` are not on PyPI; ../shared/ros-tools/ holds them built from
their upstream sources with an install script. Where that kit and the repository's ``.venv`` are present
(they are in CI), ``ros_workspace()`` installs the kit into ``.venv``, builds the package with colcon
(from PyPI) into a temporary workspace once per test session, and gives the environment that runs the
tools against it. Elsewhere the tests that use it skip, saying why.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from support.ros_harness import DOMAIN_ID, REPO, LoggedProcess

KIT = REPO.parent / "shared" / "ros-tools"
VENV = REPO / ".venv"
COLCON = ("colcon-core", "colcon-cmake", "colcon-ros", "colcon-package-selection", "colcon-test-result")
COLCON += ("colcon-library-path", "colcon-recursive-crawl", "colcon-parallel-executor", "colcon-output")
# A variable the launch file must set itself: the test environment (scripts/ros_env.sh) sets it too.
PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")


class Workspace(NamedTuple):
    root: Path  # src/ros2_posenet (a copy of the checkout), build/, install/
    env: dict[str, str]  # runs ros2 and colcon against install/

    @property
    def prefix(self) -> Path:
        return self.root / "install" / "ros2_posenet"


def _run(command: list[str], what: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@functools.cache
def _workspace() -> Workspace | str:
    """The workspace, or why there is none."""
    if not (KIT / "install.sh").is_file():
        return f"the ROS 2 tools kit is not here ({KIT})"
    if not (VENV / "bin" / "python").is_file():
        return f"no {VENV} (bash scripts/setup.sh makes it)"
    if not (VENV / "ros-tools.env").is_file() or not (VENV / "bin" / "ros2").is_file():
        _run(["bash", str(KIT / "install.sh"), str(VENV)], "ros-tools install.sh")
    if not (VENV / "bin" / "colcon").is_file():
        _run([str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", *COLCON], "pip install colcon")
    root = Path(tempfile.mkdtemp(prefix="ros2_posenet_ws_"))
    source = root / "src" / "ros2_posenet"
    source.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-z", "-co", "--exclude-standard"], capture_output=True, cwd=REPO, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        path = REPO / os.fsdecode(name)
        if path.is_file():
            (source / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / os.fsdecode(name))
    base = {k: v for k, v in os.environ.items() if k not in PROFILE_VARIABLES and not k.startswith("PYTEST")}
    path = f"{VENV / 'bin'}:{base['PATH']}"
    build_env = {**base, "PATH": path, "CMAKE_PREFIX_PATH": str(VENV), "AMENT_PREFIX_PATH": str(VENV)}
    _run(
        ["colcon", "build", "--packages-select", "ros2_posenet", "--cmake-args", "-Wno-dev"],
        "colcon build",
        env={**build_env, "PYTHONPATH": ""},
        cwd=root,
    )
    prefix = root / "install" / "ros2_posenet"
    env = {
        **base,
        "PATH": path,
        "AMENT_PREFIX_PATH": f"{prefix}:{VENV}",
        "PYTHONPATH": str(prefix / "lib" / "python3.11" / "site-packages"),
        "LD_LIBRARY_PATH": ":".join(
            filter(None, [str(prefix / "lib"), str(VENV / "lib"), base.get("LD_LIBRARY_PATH")])
        ),
        "ROS_DOMAIN_ID": str(DOMAIN_ID),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
        "RCUTILS_LOGGING_BUFFERED_STREAM": "0",
        "PYTHONUNBUFFERED": "1",
    }
    return Workspace(root, env)


def ros_workspace() -> Workspace:
    """The built workspace; skips the calling test where the kit or ``.venv`` is missing."""
    workspace = _workspace()
    if isinstance(workspace, str):
        pytest.skip(workspace)
    return workspace


def ros2(workspace: Workspace, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """One ``ros2`` command to its end (``--no-daemon`` where the verb takes it: no daemon outlives the test)."""
    return subprocess.run(
        ["ros2", *args], capture_output=True, text=True, env=workspace.env, timeout=timeout, cwd=workspace.root
    )


def ros2_until(workspace: Workspace, expected: str | tuple[str, ...], *args: str, timeout: float = 60.0) -> str:
    """The output of a ``ros2`` graph query once it holds ``expected`` (each of them): just after a start,
    queries without a daemon can miss nodes and topics for a while."""
    deadline = time.monotonic() + timeout
    wanted = (expected,) if isinstance(expected, str) else expected
    while True:
        result = ros2(workspace, *args)
        output = result.stdout + result.stderr
        if all(text in output for text in wanted) or time.monotonic() > deadline:
            return output
        time.sleep(0.5)


class Launch(LoggedProcess):
    """``ros2 launch ros2_posenet FILE ARGS`` in its own process group."""

    what = "ros2 launch"

    def __init__(self, workspace: Workspace, launch_file: str, *arguments: str, log: Path) -> None:
        command = ["ros2", "launch", "ros2_posenet", launch_file, *arguments]
        super().__init__(command, log, workspace.env, workspace.root, start_new_session=True)

    def wait_log(self, text: str, timeout: float = 90.0) -> str:
        return super().wait_log(text, timeout)

    def wait(self, timeout: float = 90.0) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"ros2 launch did not end within {timeout} s:\n{self.log()}")

    def stop(self) -> int:
        """SIGINT to the process group, as Ctrl-C does; the exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return self.process.returncode


def processes_of(workspace: Workspace) -> list[str]:
    """Command lines of the processes still running from the workspace's install prefix (orphans)."""
    running = []
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = status.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(workspace.prefix / "lib" / "ros2_posenet") in command:
            running.append(command.strip())
    return running

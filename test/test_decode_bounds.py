"""The CPU decoder's compiled loops (numba): they never index outside their arrays, and they work
where numba cannot cache them.

numba compiles array accesses without bounds checks, so a wrong index reads or writes another
object's memory silently (an index of INT64_MIN times an even row stride even wraps to a valid
address). Here the decoder's own tests, hostile maps included (non-finite values, NaN and infinite
candidates, tiny maps, crowds that take the screened path), run again in a fresh process with numba's
bounds checking on (NUMBA_BOUNDSCHECK=1, compiled into a cache of their own), where any such access
raises IndexError and fails them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent
MODULES = ("test_decode_cpu.py", "test_assembly.py", "test_trt_pose_convention.py")


def test_decoder_tests_pass_with_bounds_checks_on(tmp_path: Path) -> None:
    env = os.environ | {"NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(str(TESTS / m) for m in MODULES)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "IndexError" not in done.stdout


def test_without_a_writable_cache_the_loops_compile_in_memory_and_say_so() -> None:
    """A read-only install and home: numba finds no cache locator (none of its locator classes can
    write) and refuses ``cache=True``; the decoder must still import, warn once and decode."""
    script = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "from numba.core import caching; caching.CacheImpl._locator_classes = []\n"
        "import numpy as np\n"
        "from ros2_posenet.decode.cpu import decode_cpu\n"
        "from support.decode_helpers import BODY\n"
        "from support.synthetic import random_people, render_maps\n"
        "print(len(decode_cpu(*render_maps(random_people(2, BODY, 56, 56, seed=1), BODY, 56, 56), BODY)))\n"
    )
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "2"
    assert done.stderr.count("nowhere to cache") == 1, done.stderr[-3000:]

"""The CPU decoder's compiled loops (numba, no bounds checks) never index outside their arrays.

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

"""What every benchmark script does at its ends: write results as JSON, and fail in one line."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from pathlib import Path

from ros2_posenet.errors import PoseNetError


def write_results(path: Path, runs: int, rows: list[dict], **context: str) -> None:
    """``{"context": ..., "runs": N, "rows": [...]}``; context (GPU, versions, image...) always names the CPU."""
    path.parent.mkdir(parents=True, exist_ok=True)
    context = {"cpu": platform.processor() or platform.machine(), **context}
    path.write_text(json.dumps({"context": context, "runs": runs, "rows": rows}, indent=2))
    print(f"wrote {path}")


def run(main: Callable[[], int]) -> None:
    """Run a benchmark's ``main``; a missing runtime, GPU or model is one line, not a traceback."""
    try:
        raise SystemExit(main())
    except (PoseNetError, ImportError) as error:
        raise SystemExit(f"error: {error}") from None

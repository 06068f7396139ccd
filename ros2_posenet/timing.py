"""Per-stage wall-clock timings: the last frame's and a running history for summaries."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class StageTimer:
    """Records how long each named stage took; keeps the last ``history`` samples per stage."""

    def __init__(self, history: int = 10000) -> None:
        self._samples: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=history))
        self.last: dict[str, float] = {}

    def reset(self) -> None:
        """Forget every sample (benchmarks: drop the warm-up)."""
        self._samples.clear()
        self.last.clear()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the body of a ``with`` block as stage ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, time.perf_counter() - start)

    def record(self, name: str, seconds: float) -> None:
        self.last[name] = seconds
        self._samples[name].append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per stage: count, median, 99th percentile and mean in milliseconds."""
        return {
            name: {
                "count": len(values),
                "median_ms": float(np.median(values)) * 1e3,
                "p99_ms": float(np.percentile(values, 99)) * 1e3,
                "mean_ms": float(np.mean(values)) * 1e3,
            }
            for name, values in self._samples.items()
            if values
        }

"""Per-stage wall-clock timings: the last frame's and a running history for summaries.

The history of each stage is a fixed NumPy ring allocated with its first sample, so a node that runs
for days keeps the same memory from its first frame on (a deque of Python floats grew for hours).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class _Ring:
    """The last ``size`` values, in preallocated memory."""

    def __init__(self, size: int) -> None:
        self._values = np.empty(size)
        self._count = 0

    def append(self, value: float) -> None:
        self._values[self._count % len(self._values)] = value
        self._count += 1

    def values(self) -> np.ndarray:
        return self._values[: min(self._count, len(self._values))]


class StageTimer:
    """Records how long each named stage took; keeps the last ``history`` samples per stage."""

    def __init__(self, history: int = 10000) -> None:
        self._history = history
        self._samples: dict[str, _Ring] = {}
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
        ring = self._samples.get(name)
        if ring is None:
            ring = self._samples[name] = _Ring(self._history)
        ring.append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per stage: count, median, 99th percentile and mean in milliseconds."""
        return {
            name: {
                "count": len(values),
                "median_ms": float(np.median(values)) * 1e3,
                "p99_ms": float(np.percentile(values, 99)) * 1e3,
                "mean_ms": float(np.mean(values)) * 1e3,
            }
            for name, values in ((name, ring.values()) for name, ring in self._samples.items())
            if len(values)
        }

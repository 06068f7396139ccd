"""Stage timings keep a fixed window of samples: summaries of the last N, memory fixed from the start."""

from __future__ import annotations

import pytest

from ros2_posenet.timing import StageTimer


def test_the_history_is_a_fixed_window_of_the_latest_samples() -> None:
    timer = StageTimer(history=100)
    for value in range(20000):
        timer.record("total", value / 1000)
    summary = timer.summary()["total"]
    assert summary["count"] == 100
    assert summary["median_ms"] == pytest.approx(19949.5, rel=1e-9)  # of 19900 .. 19999 ms
    assert summary["mean_ms"] == pytest.approx((19900 + 19999) / 2, rel=1e-9)
    timer.reset()
    assert timer.summary() == {} and timer.last == {}

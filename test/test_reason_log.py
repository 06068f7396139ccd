"""The node's problem log: kinds, not texts, so a flood of distinct bad frames stays small."""

from __future__ import annotations

from ros2_posenet.ros.reason_log import ReasonLog, reason_kind


def test_numbers_and_quoted_values_do_not_make_new_kinds() -> None:
    assert reason_kind("empty image (0x0)") == reason_kind("empty image (17x3)") == "empty image (NxN)"
    assert reason_kind("step 100 is shorter than one row of 640 rgb8 pixels") == reason_kind(
        "step 7 is shorter than one row of 2 rgb8 pixels"
    )
    assert reason_kind("unsupported encoding 'x' for 'y'") == reason_kind("unsupported encoding 'zz' for 'w'")


def test_each_kind_logged_once_per_period_with_the_repeats_counted() -> None:
    now, lines = [0.0], []
    log = ReasonLog(lines.append, period=10.0, clock=lambda: now[0])
    for step in range(5000):
        log.report(reason_kind(f"step {step} is shorter than one row"), f"frame rejected: step {step} is shorter")
    assert len(lines) == 1 and log.counts == {"step N is shorter than one row": 5000}
    now[0] = 11.0
    log.report("step N is shorter than one row", "frame rejected: step 1 is shorter")
    assert len(lines) == 2 and lines[1].endswith("(4999 more like it since the last line)")


def test_kinds_are_bounded_and_lines_capped() -> None:
    lines: list[str] = []
    log = ReasonLog(lines.append, max_kinds=4, max_line=50)
    for index in range(5000):
        log.report(f"kind {chr(65 + index % 26)}{index}", "x" * 4096)
    assert len(log.counts) == 5 and log.counts["other"] == 4996
    assert len(lines) == 5 and all(len(line) <= 50 for line in lines)

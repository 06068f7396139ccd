"""Problems counted by kind and logged at most once per kind per period: a flood costs no memory.

A kind is the message's reason with its numbers and quoted values taken out ("step N is shorter
than one row of N rgb8 pixels", "unsupported encoding"), so 5,000 different bad frames are a
handful of kinds; past ``max_kinds`` kinds everything new counts as "other". Lines are capped, and
a line that follows suppressed repeats says how many there were.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|\d+(?:\.\d+)?")


def reason_kind(message: str, limit: int = 60) -> str:
    """``message`` with numbers and quoted values replaced by N: what makes two problems the same kind."""
    return _VALUES.sub("N", message)[:limit]


class ReasonLog:
    """``report(kind, message)``: count it, and pass ``message`` to ``log`` unless the kind was logged
    less than ``period`` seconds ago. ``counts`` holds every kind's total (at most ``max_kinds`` + 1)."""

    OTHER = "other"

    def __init__(
        self,
        log: Callable[[str], object],
        period: float = 10.0,
        max_kinds: int = 32,
        max_line: int = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log, self._period, self._max_kinds, self._max_line, self._clock = log, period, max_kinds, max_line, clock
        self.counts: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def report(self, kind: str, message: str) -> None:
        if kind not in self.counts and len(self.counts) >= self._max_kinds:
            kind = self.OTHER
        self.counts[kind] = self.counts.get(kind, 0) + 1
        now = self._clock()
        last = self._logged_at.get(kind)
        if last is not None and now - last < self._period:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._logged_at[kind] = now
        line = " ".join(message.split())
        if len(line) > self._max_line:
            line = line[: self._max_line - 3] + "..."
        repeats = self._suppressed.pop(kind, 0)
        self._log(line + (f" ({repeats} more like it since the last line)" if repeats else ""))

"""Live rep detection: the offline definitions, fed chunk by chunk as angle frames arrive.

``StreamingRepDetector`` is the same :class:`processing.reps.RepScanner` that
``detect_reps`` runs over a whole recording, so on the same frames the live reps are the
offline reps exactly. A rep is emitted as soon as its lockout is confirmed, which the
scanner's rule bounds to ``LOCKOUT_HOLD_S`` (0.25 s) of session time after the lockout
(plus whatever delay the streaming angles add before the frames arrive).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from processing.reps import DEFAULT_THRESHOLDS, Rep, RepScanner, RepThresholds
from processing.samples import AngleFrames


class StreamingRepDetector:
    """Feed ``AngleFrames`` in time order with ``push``; call ``finish`` at the end of the
    session to close a rep whose lockout the data ended on."""

    def __init__(
        self, thresholds: RepThresholds = DEFAULT_THRESHOLDS, veto: Callable[[float, float], bool] | None = None
    ) -> None:
        self.thresholds = thresholds
        self._scanner = RepScanner(thresholds, veto)
        self.reps: list[Rep] = []

    def push(self, frames: AngleFrames | pd.DataFrame) -> list[Rep]:
        """New frames in; the reps completed by them out (usually none)."""
        if not len(frames):
            return []
        new = self._scanner.push(frames)
        self.reps.extend(new)
        return new

    def restart(self) -> None:
        """The angles' reference changed: frames from now on are measured against another
        upright, so nothing before the change may pair with them (the jump between the two
        would read as a rise). Rep numbering and sets go on."""
        self._scanner.restart()

    def finish(self) -> list[Rep]:
        new = self._scanner.finish()
        self.reps.extend(new)
        return new

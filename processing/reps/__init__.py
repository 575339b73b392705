"""Deadlift reps from segment angles: when did the knees, and when did the hips, do the work.

Definitions are ``docs/domain.md``'s, word for word, so that the simulator's truth, the
offline analysis and the live detector agree by construction. One module per job:

- ``model``: :class:`Pattern` (each pattern's name, colour and cues), :class:`RepThresholds`,
  :class:`Rep`, ``classify`` (the pattern rule); standard library only;
- ``measure``: one rep's onsets, ends and metrics (``measure_rep``), dropout marks
  (``sample_gaps``, ``mark_gaps``);
- ``scanner``: finding reps, live and offline alike (``RepScanner``, ``detect_reps``);
- ``sets``: the set summary and its statistics (``summarize``), the rep table
  (``reps_dataframe``).

The names below are imported from their module on first use (PEP 562), so reading the
pattern names (``from processing.reps import Pattern``) loads neither numpy nor pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processing.lazy import lazy_exports

#: name -> module that defines it
_EXPORTS: dict[str, str] = {
    "DEFAULT_THRESHOLDS": "processing.reps.model",
    "PATTERNS": "processing.reps.model",
    "REP_FIELDS": "processing.reps.model",
    "Pattern": "processing.reps.model",
    "Rep": "processing.reps.model",
    "RepThresholds": "processing.reps.model",
    "classify": "processing.reps.model",
    "GAP_FACTOR": "processing.reps.measure",
    "mark_gaps": "processing.reps.measure",
    "measure_rep": "processing.reps.measure",
    "sample_gaps": "processing.reps.measure",
    "RepScanner": "processing.reps.scanner",
    "detect_reps": "processing.reps.scanner",
    "reps_dataframe": "processing.reps.sets",
    "summarize": "processing.reps.sets",
}

__all__ = [
    "DEFAULT_THRESHOLDS",
    "GAP_FACTOR",
    "PATTERNS",
    "REP_FIELDS",
    "Pattern",
    "Rep",
    "RepScanner",
    "RepThresholds",
    "classify",
    "detect_reps",
    "mark_gaps",
    "measure_rep",
    "reps_dataframe",
    "sample_gaps",
    "summarize",
]

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
    from processing.reps.measure import GAP_FACTOR, mark_gaps, measure_rep, sample_gaps
    from processing.reps.model import (
        DEFAULT_THRESHOLDS,
        PATTERNS,
        REP_FIELDS,
        Pattern,
        Rep,
        RepThresholds,
        classify,
    )
    from processing.reps.scanner import RepScanner, detect_reps
    from processing.reps.sets import reps_dataframe, summarize


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

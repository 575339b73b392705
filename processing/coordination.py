"""Coordination (angle-angle) traces: thigh angle against trunk angle through each rep's rise.

One trace per rep over [start_s, lockout_s] of the frames the reps were detected on (the
rows of ``hinge analyze --angles`` offline; the streaming frames live). Read with the thigh
on x and the trunk on y: a knee-first rep traces an "L" (the thigh falls first, at a
nearly constant trunk, then the trunk), a simultaneous rep a diagonal, and a hips-rise-early
rep bulges upward (the trunk leans further forward while the thigh falls). The first rep of
each set is the set's reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Trace:
    """One rep's rise: ``t`` (s), ``thigh_deg`` (x) and ``trunk_deg`` (y), and the rep."""

    rep: Any
    t: np.ndarray
    thigh_deg: np.ndarray
    trunk_deg: np.ndarray

    @property
    def index(self) -> int:
        return int(_get(self.rep, "index"))

    @property
    def set(self) -> int:
        return int(_get(self.rep, "set"))

    @property
    def pattern(self) -> str:
        return str(_get(self.rep, "pattern"))


def _get(rep: Any, key: str) -> Any:
    return rep[key] if isinstance(rep, dict) else getattr(rep, key)


def rep_trace(t: np.ndarray, thigh_deg: np.ndarray, trunk_deg: np.ndarray, rep: Any) -> Trace:
    """The frames with ``start_s <= t <= lockout_s`` of the rep (a ``Rep`` or its dict);
    rows with a NaN angle are left out (``--angles`` leaves them out too)."""
    t = np.asarray(t, dtype=float)
    thigh = np.asarray(thigh_deg, dtype=float)
    trunk = np.asarray(trunk_deg, dtype=float)
    i, j = np.searchsorted(t, [float(_get(rep, "start_s")), float(_get(rep, "lockout_s"))], side="left")
    j = j + 1 if j < len(t) and t[j] <= float(_get(rep, "lockout_s")) else j
    keep = np.isfinite(thigh[i:j]) & np.isfinite(trunk[i:j])
    return Trace(rep, t[i:j][keep], thigh[i:j][keep], trunk[i:j][keep])


def traces(frames: Any, reps: list[Any]) -> list[Trace]:
    """Every rep's trace from ``frames`` (a DataFrame or ``AngleFrames`` with ``t``,
    ``thigh_deg``, ``trunk_deg``)."""
    t, thigh, trunk = (
        np.asarray(frames[c] if hasattr(frames, "columns") else getattr(frames, c), dtype=float)
        for c in ("t", "thigh_deg", "trunk_deg")
    )
    return [rep_trace(t, thigh, trunk, r) for r in reps]


def set_reference(reps: list[Any], set_no: int) -> int | None:
    """The index of the first rep of set ``set_no`` (the set's reference), or None."""
    idx = [int(_get(r, "index")) for r in reps if int(_get(r, "set")) == set_no]
    return min(idx) if idx else None

"""What a rep is: its pattern (name, colour and cues, once), its thresholds and its fields.

Standard library only, so the command line can list the patterns without loading numpy or
pandas, and every part that shows a pattern (the terminal table, the window, the report,
the simulator's options) reads it from :class:`Pattern`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any


class Pattern(StrEnum):
    """How a rep broke off the floor (``docs/domain.md``). A ``str``: the value is the name
    every output writes (``hinge analyze --json``, the CSV, ``truth.json``).

    Each carries its ``colour`` (RGB, the same in the window, the report and the terminal),
    ``headline`` (the short cue shown big after the rep), ``cue`` (the line a coach would
    say, ``Rep.cue``) and ``meaning`` (what happened, in words).
    """

    colour: tuple[int, int, int]
    headline: str
    cue: str
    meaning: str

    def __new__(cls, name: str, colour: tuple[int, int, int], headline: str, cue: str, meaning: str) -> Pattern:
        member = str.__new__(cls, name)
        member._value_ = name
        member.colour = colour
        member.headline = headline
        member.cue = cue
        member.meaning = meaning
        return member

    KNEE_FIRST = (
        "knee-first",
        (46, 160, 67),
        "Knees first",
        "Knees first — good: legs broke the floor, then the hips drove through",
        "the legs broke the floor, the torso rose after",
    )
    SIMULTANEOUS = (
        "simultaneous",
        (230, 160, 20),
        "Hips and knees together",
        "Hips and knees together — push the floor away with the legs before the chest rises",
        "torso and knees started together",
    )
    HIPS_RISE_EARLY = (
        "hips-rise-early",
        (214, 39, 40),
        "Hips rose early",
        "Hips rose early — keep the chest up and lead with the knees off the floor",
        "the knees straightened while the chest dropped",
    )


#: The pattern names, in the order every table lists them.
PATTERNS: tuple[str, ...] = tuple(p.value for p in Pattern)


@dataclass(frozen=True)
class RepThresholds:
    """User-changeable thresholds (domain.md defaults).

    ``set_break_s``: a new set starts when a rep starts more than this long after the
    previous rep's lockout. Within a set that time is the hold at the top, the descent and
    any dead-stop pause at the bottom: 2-5 s. Between sets the lifter rests, walks, reloads
    and sets up again: minutes in a real session, and more than 10 s even in the shortest
    rest the simulator makes. 8 s lies between the two.
    """

    onset_fraction: float = 0.10
    lean_deg: float = 5.0
    knee_done_pct: float = 50.0
    min_bottom_deg: float = 45.0
    top_within_deg: float = 15.0
    set_break_s: float = 8.0


DEFAULT_THRESHOLDS = RepThresholds()


@dataclass
class Rep:
    """One rep's timings and metrics (seconds on the session clock, degrees, deg/s)."""

    index: int  # 1-based over the whole recording
    set: int  # 1-based
    start_s: float
    lockout_s: float
    end_s: float
    knee_onset_s: float
    knee_end_s: float
    hip_onset_s: float
    hip_end_s: float
    hip_lag_ms: float
    knee_done_at_hip_onset_pct: float
    trunk_lean_change_deg: float
    peak_knee_ext_deg_s: float
    peak_hip_ext_deg_s: float
    trunk_start_deg: float
    thigh_start_deg: float
    hip_start_deg: float
    concentric_s: float
    pattern: Pattern
    cue: str
    gap: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain Python numbers and strings, NaN as None."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float) and not math.isfinite(v):
                out[k] = None
        out["pattern"] = str(self.pattern)
        return out


REP_FIELDS = tuple(f.name for f in fields(Rep))


def classify(trunk_lean_change_deg: float, knee_done_pct: float, th: RepThresholds) -> Pattern:
    """domain.md: lean first (the torso tipping forward is the fault whatever the knees do)."""
    if trunk_lean_change_deg >= th.lean_deg:
        return Pattern.HIPS_RISE_EARLY
    if knee_done_pct >= th.knee_done_pct:
        return Pattern.KNEE_FIRST
    return Pattern.SIMULTANEOUS

"""Colours and styles shared by the plots, the rep table and the report, so one pattern looks
the same everywhere. Each pattern's colour and cues are its own (``processing.reps.Pattern``);
here is only how the window and the report draw it besides."""

from __future__ import annotations

from processing.reps import Pattern

CURVE_COLOURS: dict[str, tuple[int, int, int]] = {
    "trunk_deg": (255, 127, 14),  # orange
    "thigh_deg": (31, 119, 180),  # blue
    "hip_deg": (44, 160, 44),  # green
    "knee_ext_deg_s": (23, 190, 207),  # cyan: knee extension (thigh rotating back)
    "hip_ext_deg_s": (227, 119, 194),  # pink: hip extension (torso rising)
}

CURVE_LABELS: dict[str, str] = {
    "trunk_deg": "trunk",
    "thigh_deg": "thigh",
    "hip_deg": "hip",
    "knee_ext_deg_s": "knee ext",
    "hip_ext_deg_s": "hip ext (torso rise)",
}

#: Patterns told apart without colour too (colour-blind readers): a marker shape and a line
#: style each, the same in the window (pyqtgraph names) and the report (matplotlib names).
PATTERN_SYMBOLS: dict[str, str] = {
    Pattern.KNEE_FIRST: "o",
    Pattern.SIMULTANEOUS: "s",
    Pattern.HIPS_RISE_EARLY: "t1",
}  # t1: ▲
PATTERN_MPL_MARKERS: dict[str, str] = {Pattern.KNEE_FIRST: "o", Pattern.SIMULTANEOUS: "s", Pattern.HIPS_RISE_EARLY: "^"}
PATTERN_LINESTYLES: dict[str, str] = {
    Pattern.KNEE_FIRST: "solid",
    Pattern.SIMULTANEOUS: "dash",
    Pattern.HIPS_RISE_EARLY: "dot",
}
PATTERN_MPL_LINESTYLES: dict[str, object] = {
    Pattern.KNEE_FIRST: "-",
    Pattern.SIMULTANEOUS: (0, (6, 3)),
    Pattern.HIPS_RISE_EARLY: (0, (1.5, 2)),
}
#: Text glyphs for the same shapes (legends in words, the report's badges).
PATTERN_GLYPHS: dict[str, str] = {Pattern.KNEE_FIRST: "●", Pattern.SIMULTANEOUS: "■", Pattern.HIPS_RISE_EARLY: "▲"}

"""Colours shared by the plots, the rep table and the cue, so one pattern looks the same everywhere."""

from __future__ import annotations

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

PATTERN_COLOURS: dict[str, tuple[int, int, int]] = {
    "knee-first": (46, 160, 67),
    "simultaneous": (230, 160, 20),
    "hips-rise-early": (214, 39, 40),
}

#: The big cue for the latest rep, one per pattern (domain.md names the patterns).
PATTERN_CUES: dict[str, str] = {
    "knee-first": "Knees first",
    "simultaneous": "Hips and knees together",
    "hips-rise-early": "Hips rose early",
}

#: Patterns told apart without colour too (colour-blind readers): a marker shape and a line
#: style each, the same in the window (pyqtgraph names) and the report (matplotlib names).
PATTERN_SYMBOLS: dict[str, str] = {"knee-first": "o", "simultaneous": "s", "hips-rise-early": "t1"}  # t1: ▲
PATTERN_MPL_MARKERS: dict[str, str] = {"knee-first": "o", "simultaneous": "s", "hips-rise-early": "^"}
PATTERN_LINESTYLES: dict[str, str] = {"knee-first": "solid", "simultaneous": "dash", "hips-rise-early": "dot"}
PATTERN_MPL_LINESTYLES: dict[str, object] = {"knee-first": "-", "simultaneous": (0, (6, 3)), "hips-rise-early": (0, (1.5, 2))}
#: Text glyphs for the same shapes (legends in words, the report's badges).
PATTERN_GLYPHS: dict[str, str] = {"knee-first": "●", "simultaneous": "■", "hips-rise-early": "▲"}

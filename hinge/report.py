"""``hinge report``: one self-contained HTML file of a recording's analysis, to send to a coach.

What is in it: the set summary and each set's trend in words, the rep table, the sets
compared (several sets), per set the coordination plot (``processing/coordination.py``),
and per rep its coordination trace over the set's reference, the extension velocities with
the onsets marked, a strip of four side-on figures (``processing/body.py``: start, knee
onset, hip onset, lockout) and the cue. Everything comes from
``processing.analysis.analyze`` (the numbers of ``hinge analyze``).

Built with matplotlib (the plots, as SVG inlined in the page: no CDN, no script, text and
lines stay sharp when zoomed or printed) and Jinja2 (the page, autoescaped, from
``hinge/templates/report.html.j2``). Patterns are told apart by colour, marker, line style
and their name (colour-blind readers). The SVGs' element ids are prefixed per figure so the
page stays valid HTML with several of them.
"""

from __future__ import annotations

import io
import math
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from processing.body import DEFAULT_HEIGHT_M, Segments, pose
from processing.coordination import traces
from processing.reps import PATTERNS, Pattern
from viewer.palette import (
    CURVE_COLOURS,
    PATTERN_GLYPHS,
    PATTERN_MPL_LINESTYLES,
    PATTERN_MPL_MARKERS,
)

UNLIT = "#bbbbbb"
REFERENCE = "#b8b8b8"


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _num(x: Any, fmt: str) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else fmt.format(x)


def _version() -> str:
    try:
        return metadata.version("hinge-imu")
    except metadata.PackageNotFoundError:
        return "dev"


# -- figures -------------------------------------------------------------------------------
class _Svg:
    """Figures as SVG text for inlining: fonts left to the browser, ids unique per figure."""

    def __init__(self) -> None:
        import matplotlib

        self._rc = {
            "svg.fonttype": "none",
            "svg.hashsalt": "hinge",
            "font.size": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "path.simplify_threshold": 0.5,
        }
        self._matplotlib = matplotlib
        self._n = 0

    def figure(self, w: float, h: float):
        from matplotlib.figure import Figure

        with self._matplotlib.rc_context(self._rc):
            return Figure(figsize=(w, h), layout="constrained")

    def render(self, fig, label: str) -> str:
        self._n += 1
        buf = io.StringIO()
        with self._matplotlib.rc_context(self._rc):
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
        svg = buf.getvalue()
        svg = svg[svg.index("<svg") :]
        # ids numbered in order of appearance, per figure: unique in the page, and the same
        # bytes every time (matplotlib's clip-path ids vary from run to run)
        names: dict[str, str] = {}
        for name in re.findall(r'\sid="([^"]+)"', svg):
            names.setdefault(name, f"f{self._n}-{len(names)}")
        svg = re.sub(r'(\sid="|href="#|url\(#)([^")]+)', lambda m: m.group(1) + names.get(m.group(2), m.group(2)), svg)
        return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def _style(ax, rc_size: float = 8) -> None:
    ax.tick_params(labelsize=rc_size - 1)
    ax.grid(True, color="#eeeeee", linewidth=0.6)


def _coordination_axes(ax, set_traces, chosen: int | None, ref) -> None:
    """Traces of one set (thigh x, trunk y); the reference as a grey band."""
    if ref is not None and len(ref.t):
        ax.plot(ref.thigh_deg, ref.trunk_deg, color=REFERENCE, lw=7, alpha=0.6, solid_capstyle="round", zorder=1)
    for tr in set_traces:
        if not len(tr.t):
            continue
        faded = chosen is not None and tr.index != chosen
        colour = _hex(Pattern(tr.pattern).colour)
        ax.plot(
            tr.thigh_deg,
            tr.trunk_deg,
            color=colour,
            lw=0.9 if faded else 1.8,
            ls=PATTERN_MPL_LINESTYLES[tr.pattern],
            alpha=0.35 if faded else 1.0,
            zorder=2 if faded else 3,
        )
        ax.plot(
            [tr.thigh_deg[0]],
            [tr.trunk_deg[0]],
            marker=PATTERN_MPL_MARKERS[tr.pattern],
            color=colour,
            mec="#222222",
            mew=0.5,
            ms=5 if faded else 7,
            alpha=0.5 if faded else 1.0,
            zorder=4,
            ls="none",
        )
        if not faded:
            ax.annotate(
                f"{tr.index}" + (" ref" if ref is not None and tr.index == ref.index else ""),
                (tr.thigh_deg[0], tr.trunk_deg[0]),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize=7,
            )
    ax.set_xlabel("thigh (deg)  ← knees extend")
    ax.set_ylabel("trunk (deg)  ↓ torso rises")
    _style(ax)


def _pattern_legend(ax, loc: str = "lower right") -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            color=_hex(Pattern(p).colour),
            ls=PATTERN_MPL_LINESTYLES[p],
            marker=PATTERN_MPL_MARKERS[p],
            mec="#222222",
            mew=0.5,
            label=p,
        )
        for p in PATTERNS
    ]
    ax.legend(handles=handles, loc=loc, fontsize=7, frameon=True, framealpha=0.85)


def _figure_pose(ax, trunk: float, thigh: float, seg: Segments, lit: dict[str, bool], title: str) -> None:
    p = pose(trunk, thigh, seg)
    h = seg.height_m
    ax.plot([-0.6 * h, 0.45 * h], [0, 0], color="#999999", lw=0.8)
    ax.plot(*np.array([p["heel"], p["toe"]]).T, color="#333333", lw=2)
    ax.plot(*np.array([p["ankle"], p["knee"]]).T, color="#888888", lw=2, ls=(0, (3, 2)))  # assumed vertical
    ax.plot(
        *np.array([p["knee"], p["hip"], p["shoulder"], p["neck"]]).T, color="#333333", lw=2.4, solid_capstyle="round"
    )
    ax.plot(*np.array([p["shoulder"], p["hand"]]).T, color="#888888", lw=1.4, ls=(0, (3, 2)))
    from matplotlib.patches import Circle

    ax.add_patch(Circle(tuple(p["head"]), seg.head / 2, fill=False, lw=1.8, ec="#333333"))
    for joint, key in (("knee", "knee_ext_deg_s"), ("hip", "hip_ext_deg_s")):
        on = lit.get(joint, False)
        ax.plot(
            *p[joint],
            marker="o",
            ms=8 if on else 6,
            mfc=_hex(CURVE_COLOURS[key]) if on else "white",
            mec="#222222",
            mew=0.8,
            zorder=5,
        )
    ax.set_title(title, fontsize=8)
    ax.set_xlim(-0.62 * h, 0.45 * h)
    ax.set_ylim(-0.03 * h, 1.02 * h)
    ax.set_aspect("equal")
    ax.axis("off")


def _interp(frames, col: str, t: float) -> float:
    return float(np.interp(t, frames["t"].to_numpy(), frames[col].to_numpy()))


def rep_figure(svg: _Svg, frames, rep, trace, ref, seg: Segments) -> str:
    """Coordination trace vs the reference, velocities with onsets, four side-on figures."""
    fig = svg.figure(10.5, 2.6)
    gs = fig.add_gridspec(1, 7, width_ratios=[1.2, 1.8, 0.8, 0.8, 0.8, 0.8, 0.01])
    ax = fig.add_subplot(gs[0, 0])
    _coordination_axes(ax, [trace], None, ref)
    ax.set_title("coordination", fontsize=8)

    ax = fig.add_subplot(gs[0, 1])
    t = frames["t"].to_numpy()
    i, j = np.searchsorted(t, [rep.start_s - 0.4, rep.lockout_s + 0.4])
    x = t[i:j] - rep.start_s
    ax.axhline(0, color="#999999", lw=0.6)
    ax.plot(
        x,
        frames["knee_ext_deg_s"].to_numpy()[i:j],
        color=_hex(CURVE_COLOURS["knee_ext_deg_s"]),
        lw=1.5,
        label="knee extension",
    )
    ax.plot(
        x,
        frames["hip_ext_deg_s"].to_numpy()[i:j],
        color=_hex(CURVE_COLOURS["hip_ext_deg_s"]),
        lw=1.5,
        ls=(0, (5, 2)),
        label="torso rise",
    )
    for name, onset, key, ls in (
        ("knee", rep.knee_onset_s, "knee_ext_deg_s", "-"),
        ("hip", rep.hip_onset_s, "hip_ext_deg_s", "--"),
    ):
        if onset is not None and math.isfinite(onset):
            ax.axvline(onset - rep.start_s, color=_hex(CURVE_COLOURS[key]), lw=1, ls=ls)
            ax.annotate(
                f"{name} onset",
                (onset - rep.start_s, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -2 if name == "knee" else -11),
                textcoords="offset points",
                fontsize=7,
                va="top",
            )
    ax.axvline(rep.lockout_s - rep.start_s, color="#777777", lw=0.8, ls=":")
    ax.set_xlabel("s from the start of the rise")
    ax.set_ylabel("deg/s")
    ax.set_title(f"extension velocities (hip lag {_num(rep.hip_lag_ms, '{:+.0f}')} ms)", fontsize=8)
    ax.legend(loc="lower left", fontsize=6.5, frameon=False)
    _style(ax)

    instants = [
        ("start", rep.start_s),
        ("knee onset", rep.knee_onset_s),
        ("hip onset", rep.hip_onset_s),
        ("lockout", rep.lockout_s),
    ]
    instants = sorted([(n, float(v)) for n, v in instants if v is not None and math.isfinite(v)], key=lambda x: x[1])
    for k, (name, when) in enumerate(instants[:4]):
        ax = fig.add_subplot(gs[0, 2 + k])
        lit = {"knee": when >= rep.knee_onset_s, "hip": when >= rep.hip_onset_s}
        _figure_pose(
            ax,
            _interp(frames, "trunk_deg", when),
            _interp(frames, "thigh_deg", when),
            seg,
            lit,
            f"{name}\n{when - rep.start_s:+.2f} s",
        )
    return svg.render(fig, f"rep {rep.index}: coordination, velocities, side-on figures")


def set_coordination_figure(svg: _Svg, set_traces, ref) -> str:
    fig = svg.figure(6.2, 3.6)
    ax = fig.add_subplot()
    _coordination_axes(ax, set_traces, None, ref)
    _pattern_legend(ax)
    return svg.render(fig, "coordination plot of the set")


def compare_figure(svg: _Svg, reps) -> str:
    fig = svg.figure(10.5, 2.6)
    axes = fig.subplots(1, 3)
    metrics = (
        ("knee_done_at_hip_onset_pct", "knees done at hip onset (%)"),
        ("hip_lag_ms", "hip lag (ms)"),
        ("trunk_lean_change_deg", "chest drop before rising (deg)"),
    )
    sets = sorted({r.set for r in reps})
    for ax, (key, label) in zip(axes, metrics, strict=True):
        for s in sets:
            rs = [r for r in reps if r.set == s]
            xs = np.arange(1, len(rs) + 1)
            ys = np.array([np.nan if getattr(r, key) is None else float(getattr(r, key)) for r in rs])
            ax.plot(xs, ys, color="#777777", lw=0.9)
            for x, y, r in zip(xs, ys, rs, strict=True):
                ax.plot(
                    [x],
                    [y],
                    marker=PATTERN_MPL_MARKERS[r.pattern],
                    color=_hex(Pattern(r.pattern).colour),
                    mec="#222222",
                    mew=0.5,
                    ms=6,
                    ls="none",
                )
            finite = np.isfinite(ys)
            if finite.any():
                k = int(np.flatnonzero(finite)[-1])
                ax.annotate(
                    f"set {s}", (xs[k], ys[k]), xytext=(5, 0), textcoords="offset points", fontsize=7, va="center"
                )
        ax.set_xlabel("rep in the set")
        ax.set_title(label, fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
        _style(ax)
    _pattern_legend(axes[0], loc="best")
    return svg.render(fig, "the sets compared, rep by rep")


# -- words ---------------------------------------------------------------------------------
def _counts(patterns: dict) -> str:
    return ", ".join(f"{n} {PATTERN_GLYPHS[p]} {p}" for p, n in patterns.items() if n) or "no reps"


def _set_line(s: dict) -> str:
    lag, knee = s["hip_lag_ms"], s["knee_done_at_hip_onset_pct"]
    rate = f", {s['reps_per_min']:.1f} reps/min" if s.get("reps_per_min") else ""
    trend = s.get("trend") or "no clear change across the set"
    return (
        f"Set {s['set']}: {s['reps']} reps ({_counts(s['patterns'])}); hips started "
        f"{_num(lag['mean'], '{:.0f}')} ± {_num(lag['sd'], '{:.0f}')} ms after the knees, with the knees "
        f"{_num(knee['mean'], '{:.0f}')} % done{rate}. Trend: {trend}."
    )


def _headline(reps, summary: dict) -> str:
    if not reps:
        return (
            "No reps found (a rep rises from at least 45° of hip flexion back to upright; walking, "
            "sitting down and standing up are not reps)."
        )
    n = summary["reps"]
    good = summary["patterns"].get(Pattern.KNEE_FIRST, 0)
    sets = summary["sets"]
    words = (
        f"{n} reps in {len(sets)} set{'s' if len(sets) != 1 else ''}: {_counts(summary['patterns'])}. "
        f"{good} of {n} led with the knees ({100 * good / n:.0f} %)."
    )
    if len(sets) > 1:
        shares = [100 * s["patterns"].get(Pattern.KNEE_FIRST, 0) / s["reps"] for s in sets if s["reps"]]
        words += " Knee-first share by set: " + " → ".join(f"{x:.0f} %" for x in shares) + "."
        if shares[-1] < shares[0] - 20:
            words += " The knee drive faded from set to set: the lower back took more of the early pull as the session went on."
        elif shares[-1] > shares[0] + 20:
            words += " The knee drive improved from set to set."
    return words


def _rep_numbers(r) -> str:
    return (
        f"set {r.set} · hip lag {_num(r.hip_lag_ms, '{:+.0f}')} ms · knees "
        f"{_num(r.knee_done_at_hip_onset_pct, '{:.0f}')} % done at hip onset · chest "
        f"{_num(r.trunk_lean_change_deg, '{:+.1f}')}° before rising · up in {_num(r.concentric_s, '{:.2f}')} s · "
        f"start: trunk {_num(r.trunk_start_deg, '{:.0f}')}°, thigh {_num(r.thigh_start_deg, '{:.0f}')}°"
    )


# -- the page ------------------------------------------------------------------------------
def build_report(analysis: Any, height_m: float = DEFAULT_HEIGHT_M, name: str | None = None) -> str:
    """The HTML page of an ``processing.analysis.Analysis``."""
    import jinja2
    from markupsafe import Markup

    rec, frames, reps, summary = analysis.recording, analysis.frames, analysis.reps, analysis.summary
    seg = Segments.from_height(height_m)
    name = name or Path(rec.path).name
    svg = _Svg()
    all_traces = {tr.index: tr for tr in traces(frames, reps)}
    sets = []
    for s in summary["sets"]:
        set_reps = [r for r in reps if r.set == s["set"]]
        set_traces = [all_traces[r.index] for r in set_reps]
        ref = set_traces[0] if set_traces else None
        sets.append(
            {
                "number": s["set"],
                "line": _set_line(s),
                "coordination_svg": set_coordination_figure(svg, set_traces, ref),
                "reps": [
                    {
                        "index": r.index,
                        "pattern": r.pattern,
                        "gap": r.gap,
                        "cue": r.cue,
                        "numbers": _rep_numbers(r),
                        "svg": rep_figure(svg, frames, r, all_traces[r.index], ref, seg),
                    }
                    for r in set_reps
                ],
            }
        )
    cal = analysis.calibration
    t = frames["t"].to_numpy() if len(frames) else np.array([0.0])
    sensors = ", ".join(f"{k} {len(df)} samples" for k, df in rec.segments.items())
    created = rec.meta.get("created") if isinstance(rec.meta, dict) else None
    set_header = ["set", "reps", *PATTERNS, "hip lag ms", "knees done %", "chest drop °", "up s", "trend"]
    set_rows = [
        [
            s["set"],
            s["reps"],
            *(s["patterns"].get(p, 0) for p in PATTERNS),
            _num(s["hip_lag_ms"]["mean"], "{:.0f}"),
            _num(s["knee_done_at_hip_onset_pct"]["mean"], "{:.0f}"),
            _num(s["trunk_lean_change_deg"]["mean"], "{:+.1f}"),
            _num(s["concentric_s"]["mean"], "{:.2f}"),
            s.get("trend") or "–",
        ]
        for s in summary["sets"]
    ]
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hinge", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=False,
    )
    page = env.get_template("report.html.j2").render(
        version=_version(),
        name=name,
        recording_line=(
            f"Recording {rec.path}"
            + (f", made {created}" if created else "")
            + f"; {t[-1] - t[0]:.0f} s of data ({sensors}); side-on figures for a lifter "
            f"{seg.height_m:.2f} m tall."
        ),
        definitions="angles from upright, thigh and trunk; onsets at 10 % of each extension velocity's peak "
        "(docs/domain.md).",
        headline=_headline(reps, summary),
        set_lines=[_set_line(s) for s in summary["sets"]],
        calibration_warning=getattr(cal, "warning", None),
        patterns=PATTERNS,
        glyphs=PATTERN_GLYPHS,
        meanings={p: Pattern(p).meaning for p in PATTERNS},
        colours={p: Pattern(p).colour for p in PATTERNS},
        reps=reps,
        table_header=["#", "set", "pattern", "hip lag ms", "knees done %", "chest drop °", "up s", "start s", "cue"],
        table_rows=[
            [
                r.index,
                r.set,
                r.pattern,
                _num(r.hip_lag_ms, "{:+.0f}"),
                _num(r.knee_done_at_hip_onset_pct, "{:.0f}"),
                _num(r.trunk_lean_change_deg, "{:+.1f}"),
                _num(r.concentric_s, "{:.2f}"),
                f"{r.start_s:.1f}",
                Pattern(r.pattern).headline,
            ]
            for r in reps
        ],
        compare_svg=Markup(compare_figure(svg, reps)) if len(summary["sets"]) > 1 else None,
        set_header=set_header,
        set_rows=set_rows,
        sets=[
            {
                **s,
                "coordination_svg": Markup(s["coordination_svg"]),
                "reps": [{**r, "svg": Markup(r["svg"])} for r in s["reps"]],
            }
            for s in sets
        ],
    )
    return page


def write_report(analysis: Any, path: Path, height_m: float = DEFAULT_HEIGHT_M) -> int:
    """Write the page to ``path`` (UTF-8); returns its size in bytes."""
    data = build_report(analysis, height_m).encode("utf-8")
    Path(path).write_bytes(data)
    return len(data)

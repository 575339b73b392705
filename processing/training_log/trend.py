"""The trend across sessions, in words, as the set summary states the trend across a set.

A coach asks two questions of a training block: is the lifter's pattern getting better over
the weeks, and does it hold up under load? Each of the session figures (share of knee-first
reps, in-set drift, knee-done %, hip lag) is fitted against time (days) and against load by
least squares; a change is stated only when the slope is significant (p < 0.05) and the
fitted change over the span is at least what the set summary calls a change (15 points,
60 ms). Otherwise the words say that no clear change shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from processing.reps.trend_rules import MIN_CHANGE, TREND_ALPHA, t_two_sided_p
from processing.training_log.log import Session

MIN_SESSIONS = 3


@dataclass(frozen=True)
class Metric:
    """A session figure: its column, how it is shown, the smallest change worth words."""

    column: str
    label: str
    scale: float  # stored value x scale = shown value
    unit: str
    min_change: float
    rises: str
    falls: str
    bounds: tuple[float, float] | None = None  # a fitted line is shown within these

    def shown(self, v: float) -> str:
        if self.bounds is not None:
            v = min(max(v, self.bounds[0]), self.bounds[1])
        return f"{v:+.0f}{self.unit}" if self.column == "drift_pts" else f"{v:.0f}{self.unit}"


METRICS = (
    Metric(
        "knee_first_share",
        "knee-first reps",
        100.0,
        "%",
        MIN_CHANGE["knee_done_at_hip_onset_pct"],
        "more reps were knee-first",
        "fewer reps were knee-first",
        (0.0, 100.0),
    ),
    Metric(
        "drift_pts",
        "in-set drift",
        1.0,
        " pts",
        MIN_CHANGE["knee_done_at_hip_onset_pct"],
        "the knees held on better late in sets",
        "the knees gave out earlier in sets",
        (-100.0, 100.0),
    ),
    Metric(
        "knee_done_pct",
        "knees done at hip onset",
        1.0,
        "%",
        MIN_CHANGE["knee_done_at_hip_onset_pct"],
        "the knees did more of the early work",
        "the knees did less of the early work",
        (0.0, 100.0),
    ),
    Metric(
        "hip_lag_ms",
        "hip lag",
        1.0,
        " ms",
        MIN_CHANGE["hip_lag_ms"],
        "the torso waited longer for the knees",
        "the torso started rising earlier",
    ),
)


def fit(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float] | None:
    """Least-squares line y = a + b x: (a, b, two-sided p of b, from the t-test of the
    slope); None when x or y is constant or there are fewer than 3 points. Plain Python: a
    thousand sessions take a millisecond, and reading the log needs no numpy."""
    n = len(x)
    if n < 3:
        return None
    mx, my = math.fsum(x) / n, math.fsum(y) / n
    sxx = math.fsum((xi - mx) ** 2 for xi in x)
    syy = math.fsum((yi - my) ** 2 for yi in y)
    if sxx == 0.0 or syy == 0.0:
        return None
    b = math.fsum((xi - mx) * (yi - my) for xi, yi in zip(x, y)) / sxx
    a = my - b * mx
    r2 = min(1.0, b * b * sxx / syy)
    p = 0.0 if r2 >= 1.0 else t_two_sided_p(math.sqrt(r2 * (n - 2) / (1.0 - r2)), n - 2)
    return a, b, p


def _values(sessions: Sequence[Session], m: Metric) -> tuple[list[Session], list[float]]:
    kept = [s for s in sessions if getattr(s, m.column) is not None]
    return kept, [getattr(s, m.column) * m.scale for s in kept]


def over_time(sessions: Sequence[Session]) -> list[str]:
    """What changed across the sessions (oldest first), one phrase per metric that did."""
    out = []
    for m in METRICS:
        kept, y = _values(sessions, m)
        if len(kept) < MIN_SESSIONS:
            continue
        days = [(s.recorded_at - kept[0].recorded_at).total_seconds() / 86400.0 for s in kept]
        x = days if max(days) > min(days) else [float(i) for i in range(len(kept))]
        line = fit(x, y)
        if line is None:
            continue
        a, b, p = line
        first, last = a + b * x[0], a + b * x[-1]
        if p < TREND_ALPHA and abs(last - first) >= m.min_change:
            span = f"{len(kept)} sessions" + (f", {days[-1]:.0f} days" if days[-1] >= 1 else "")
            out.append(
                f"{m.rises if last > first else m.falls} over {span} ({m.label} {m.shown(first)} → {m.shown(last)})"
            )
    return out


def against_load(sessions: Sequence[Session]) -> list[str]:
    """How the figures change with the load (sessions with a load, at least 3 loads)."""
    out = []
    for m in METRICS:
        kept, y = _values([s for s in sessions if s.load_kg is not None], m)
        loads = [s.load_kg for s in kept if s.load_kg is not None]
        if len(set(loads)) < MIN_SESSIONS:
            continue
        line = fit(loads, y)
        if line is None:
            continue
        a, b, p = line
        lo, hi = min(loads), max(loads)
        if p < TREND_ALPHA and abs(b * (hi - lo)) >= m.min_change:
            out.append(
                f"at heavier loads {m.rises if b > 0 else m.falls} "
                f"({m.label} {m.shown(a + b * lo)} at {lo:g} kg → {m.shown(a + b * hi)} at {hi:g} kg)"
            )
    return out


#: Above this |correlation| between date and load, the two cannot be told apart.
CONFOUNDED_R = 0.8


def load_follows_time(sessions: Sequence[Session]) -> int:
    """Did the load rise (1) or fall (-1) with the dates, as in a progressive block, or
    neither (0)? When it did, what changed over time changed with the load as well, and the
    data cannot say which."""
    kept = [s for s in sessions if s.load_kg is not None]
    loads = [s.load_kg for s in kept if s.load_kg is not None]
    if len(set(loads)) < MIN_SESSIONS:
        return 0
    days = [(s.recorded_at - kept[0].recorded_at).total_seconds() / 86400.0 for s in kept]
    line = fit(days, loads)
    if line is None:
        return 0
    mx, my = math.fsum(days) / len(days), math.fsum(loads) / len(loads)
    sxx = math.fsum((x - mx) ** 2 for x in days)
    syy = math.fsum((y - my) ** 2 for y in loads)
    if abs(line[1]) * math.sqrt(sxx / syy) < CONFOUNDED_R:  # |r|
        return 0
    return 1 if line[1] > 0 else -1


def trend_words(sessions: Sequence[Session]) -> list[str]:
    """The trend in words: changes over time, then with load (when the load rose with the
    dates, one line says so instead: the two cannot be told apart); one line saying nothing
    clear changed when neither shows."""
    if len(sessions) < MIN_SESSIONS:
        return [f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}: a trend needs at least {MIN_SESSIONS}"]
    words = over_time(sessions)
    loads = sorted({s.load_kg for s in sessions if s.load_kg is not None})
    direction = load_follows_time(sessions)
    if direction:
        if words:
            lo, hi = f"{loads[0]:g}", f"{loads[-1]:g}"
            how = f"rose with the dates ({lo} → {hi} kg)" if direction > 0 else f"fell with the dates ({hi} → {lo} kg)"
            words.append(f"the load {how}: these changes came with the load as much as with time")
    else:
        words += against_load(sessions)
    if not words:
        with_load = f" nor with load ({loads[0]:g}-{loads[-1]:g} kg)" if len(loads) >= 2 else ""
        words = [f"no clear change over {len(sessions)} sessions{with_load}"]
    return words


@dataclass(frozen=True)
class Period:
    """Sessions of one period (a session, a week, a month) summed up for the trend's table:
    shares and means weighted by reps, drift averaged over the sessions that have one."""

    label: str
    sessions: int
    reps: int
    load_min: float | None
    load_max: float | None
    knee_first_pct: float | None
    hip_lag_ms: float | None
    knee_done_pct: float | None
    drift_pts: float | None


#: Up to this many sessions the trend's table shows each; more are grouped by week, and by
#: month when there would still be more rows than this.
MAX_ROWS = 20


def period_of(by: str, s: Session) -> str:
    """The label of the period ``by`` ("session", "week", "month") that holds session ``s``
    (local dates)."""
    from datetime import UTC

    when = s.recorded_at.replace(tzinfo=UTC).astimezone()
    if by == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{when:%Y-%m}"
    return f"{when:%Y-%m-%d} #{s.id}"


def auto_period(sessions: Sequence[Session]) -> str:
    """ "session" for a short log, else "week", else "month": a table a person can read."""
    if len(sessions) <= MAX_ROWS:
        return "session"
    if len({period_of("week", s) for s in sessions}) <= MAX_ROWS:
        return "week"
    return "month"


def _weighted(pairs: list[tuple[float | None, int]]) -> float | None:
    kept = [(v, n) for v, n in pairs if v is not None and n > 0]
    total = sum(n for _, n in kept)
    return sum(v * n for v, n in kept) / total if total else None


def periods(sessions: Sequence[Session], by: str) -> list[Period]:
    """The sessions (oldest first) grouped by ``by``, in order."""
    groups: dict[str, list[Session]] = {}
    for s in sessions:
        groups.setdefault(period_of(by, s), []).append(s)
    out = []
    for label, group in groups.items():
        loads = [s.load_kg for s in group if s.load_kg is not None]
        drifts = [s.drift_pts for s in group if s.drift_pts is not None]
        share = _weighted([(s.knee_first_share, s.n_reps) for s in group])
        out.append(
            Period(
                label=label,
                sessions=len(group),
                reps=sum(s.n_reps for s in group),
                load_min=min(loads) if loads else None,
                load_max=max(loads) if loads else None,
                knee_first_pct=None if share is None else 100.0 * share,
                hip_lag_ms=_weighted([(s.hip_lag_ms, s.n_reps) for s in group]),
                knee_done_pct=_weighted([(s.knee_done_pct, s.n_reps) for s in group]),
                drift_pts=sum(drifts) / len(drifts) if drifts else None,
            )
        )
    return out


@dataclass(frozen=True)
class Athlete:
    """One athlete's place in a squad's log: how much, how recent, and the knee-first share
    of the last sessions against the ones before (rep-weighted)."""

    name: str | None
    sessions: int
    first: Session
    last: Session
    recent_pct: float | None  # the last ``RECENT`` sessions
    before_pct: float | None  # the sessions before those


#: How many of an athlete's last sessions the squad overview calls recent.
RECENT = 5


def athletes(sessions: Sequence[Session]) -> list[Athlete]:
    """The athletes of ``sessions`` (oldest first), by name (no name last)."""
    by: dict[str | None, list[Session]] = {}
    for s in sessions:
        by.setdefault(s.athlete, []).append(s)
    out = []
    for name in sorted(by, key=lambda n: (n is None, n or "")):
        group = by[name]
        recent, before = group[-RECENT:], group[:-RECENT]

        def pct(part: list[Session]) -> float | None:
            share = _weighted([(s.knee_first_share, s.n_reps) for s in part])
            return None if share is None else 100.0 * share

        out.append(Athlete(name, len(group), group[0], group[-1], pct(recent), pct(before)))
    return out

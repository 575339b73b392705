"""The plot of `hinge log trend --png`: each session figure across the weeks, and against load.

matplotlib (as for the report) draws it, on the Agg canvas straight from a ``Figure``: no
pyplot, no GUI backend, so it works on a server and in a terminal. Each panel shows one
figure per session over the date, a point's colour its load; the last panel puts the
knee-first share against the load. A line is drawn through a panel only when the trend in
words states a change for it (``processing.training_log.trend``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hinge.errors import OutputError
from processing.reps.trend_rules import TREND_ALPHA
from processing.training_log import Session
from processing.training_log.trend import METRICS, fit


def write_trend_png(sessions: Sequence[Session], path: Path, title: str) -> None:
    """Write the trend plot of ``sessions`` (oldest first) to ``path`` (PNG)."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3).ravel()
    dates = np.array([s.recorded_at for s in sessions], dtype="datetime64[s]")
    loads = np.array([np.nan if s.load_kg is None else s.load_kg for s in sessions])
    has_load = np.isfinite(loads).any()
    if has_load:  # one colour scale for every panel; a session without a load is grey
        lo, hi = np.nanmin(loads), np.nanmax(loads)
        colour = dict(
            c=loads,
            cmap=colormaps["viridis"].with_extremes(bad="0.6"),
            vmin=lo - (hi == lo),
            vmax=hi + (hi == lo),
            plotnonfinite=True,
        )
    else:
        colour = dict(color="tab:blue")
    points = None
    for ax, m in zip(axes, METRICS):
        y = np.array([np.nan if getattr(s, m.column) is None else getattr(s, m.column) * m.scale for s in sessions])
        points = ax.scatter(dates, y, s=28, **colour)
        ok = np.isfinite(y)
        days = (dates[ok] - dates[ok][0]).astype(float) / 86400.0 if ok.any() else np.array([])
        line = fit(days.tolist(), y[ok].tolist()) if ok.sum() >= 3 else None
        if line is not None and line[2] < TREND_ALPHA:
            ax.plot(dates[ok], line[0] + line[1] * days, color="0.3", lw=1, ls="--")
        ax.set_title(m.label)
        ax.set_ylabel(m.unit.strip())
        locator = AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.grid(alpha=0.3)
    ax = axes[len(METRICS)]
    share = np.array([np.nan if s.knee_first_share is None else 100 * s.knee_first_share for s in sessions])
    if has_load:
        ax.scatter(loads, share, s=28, **colour)
    ax.set_title("knee-first reps against load")
    ax.set_xlabel("load, kg")
    ax.set_ylabel("%")
    ax.grid(alpha=0.3)
    axes[-1].set_visible(False)
    if has_load and points is not None:
        fig.colorbar(points, ax=axes[: len(METRICS) + 1].tolist(), label="load, kg", shrink=0.6)
    fig.suptitle(title)
    try:
        fig.savefig(path, format="png", dpi=100)
    except OSError as err:
        raise OutputError(f"{path}: cannot write: {err.strerror or err}") from None

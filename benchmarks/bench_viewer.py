"""Viewer frame time while two sensors stream at 200 Hz with a 15 s window (offscreen).

Two measurements, each against a naive plot measured in the same run (2 px antialiased
pens, grid on, the whole history handed to ``setData`` on every update, redrawn as data
arrives rather than by a timer):

1. frame cost: 15 s of angle frames already shown, then 1/60 s of new frames appended per
   frame; time of ``redraw`` + a synchronous repaint, and of the repaint alone;
2. live: a simulated two-sensor 200 Hz session replayed at 1x through the real session
   process and ``Pipeline`` into the real window for a few seconds of wall time (after
   fast-forwarding 15 s so the window is full); every paint of the plot view is timed.
   Then the same for ``hinge demo``'s source: two virtual sensors at 200 Hz over the
   virtual BLE link (bumble), after 15 s at 1x to fill the window.

Since issue 13 the window also has the side-on view and the coordination plot, each its own
pyqtgraph view: the live rows time every paint of all three views; "all panels" is the sum
of the three medians (a frame repaints each at most once), and the target applies to it.

Targets (issue 6): median paint <= 8 ms and >= 50 frames/s.
Run: ``QT_QPA_PLATFORM=offscreen uv run python benchmarks/bench_viewer.py [--live-s 8]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from hinge import (  # noqa: E402
    AngleFrames,
    Pipeline,
    SampleBatch,
    SimConfig,
    read_recording,
    simulate,
    write_simulation,
)
from viewer.palette import CURVE_COLOURS  # noqa: E402
from viewer.plots import ANGLE_CURVES, VELOCITY_CURVES, AnglePlots  # noqa: E402
from viewer.replay_source import ReplaySource  # noqa: E402
from viewer.window import ViewerWindow  # noqa: E402
from viewer.worker import SessionWorker, ViewerUpdate  # noqa: E402

WINDOW_S = 15.0
FRAME_S = 1 / 60
PLOT_SIZE = (780, 690)

# Time every paint of a pyqtgraph view (the hook pyqtgraph itself overrides in Python), in
# wall time and in the GUI thread's CPU time: the machine is shared, and wall time then
# includes waiting for a core, CPU time does not.
PAINTS: dict[int, list[float]] = {}
PAINTS_CPU: dict[int, list[float]] = {}
_paint = pg.GraphicsView.paintEvent


def _timed_paint(self, ev):
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        return _paint(self, ev)
    finally:
        PAINTS.setdefault(id(self), []).append(time.perf_counter() - t0)
        PAINTS_CPU.setdefault(id(self), []).append(time.thread_time() - c0)


pg.GraphicsView.paintEvent = _timed_paint


class NaivePlots(pg.GraphicsLayoutWidget):
    """The baseline: what a first version typically does."""

    def __init__(self) -> None:
        super().__init__()
        self.resize(*PLOT_SIZE)
        self.parts: list[AngleFrames] = []
        self.redraw_count = 0
        self.curves = {}
        for row, names in enumerate((ANGLE_CURVES, VELOCITY_CURVES)):
            plot = self.addPlot(row=row, col=0)
            plot.showGrid(x=True, y=True)
            for name in names:
                self.curves[name] = plot.plot(pen=pg.mkPen(CURVE_COLOURS[name], width=2), antialias=True)
        self.plot = plot

    def append(self, frames: AngleFrames) -> None:
        self.parts.append(frames)

    def redraw(self) -> bool:
        data = AngleFrames.concat(self.parts)
        self.parts = [data]
        for name, curve in self.curves.items():
            curve.setData(data.t, getattr(data, name))
        if len(data):
            for item in self.ci.items:
                item.setXRange(data.t[-1] - WINDOW_S, data.t[-1], padding=0)
        return True

    def on_update(self, u: ViewerUpdate) -> None:
        self.append(u.frames)
        self.redraw()
        self.redraw_count += 1


def session(tmp: Path) -> Path:
    sim = simulate(
        SimConfig(
            patterns=["knee-first", "simultaneous", "hips-rise-early"],
            reps=6,
            sets=2,
            seed=5,
            rates_hz={"thigh": 200.0, "lumbar": 200.0},
        )
    )
    return write_simulation(sim, tmp / "session")


def all_frames(rec, rate_hz: float) -> AngleFrames:
    pipe = Pipeline(rate_hz=rate_hz)
    src = ReplaySource.from_recording(rec)  # for the span only
    batches = {seg: rec.batch(seg) for seg in rec.segments}
    parts = []
    for a in np.arange(0.0, src.duration_s + 1.0, 1.0):  # 1 s chunks, segments interleaved
        for seg, b in batches.items():
            i, j = np.searchsorted(b.t, [a, a + 1.0])
            if j > i:
                parts.append(pipe.push(SampleBatch(seg, b.t[i:j], b.acc[i:j], b.gyr[i:j])).frames)
    parts.append(pipe.finish().frames)
    return AngleFrames.concat(parts)


def frame_cost(app, views: dict, frames: AngleFrames, n: int = 120) -> dict[str, tuple[list, list, list]]:
    """Per view: (frame times, paint times, paint CPU times) in seconds over ``n`` frames
    after a full window.

    A frame = append 1/60 s of frames + ``redraw`` (both timed) + the paint Qt then does
    (timed inside ``paintEvent``). The views take turns frame by frame so that load from
    other processes hits them alike.
    """
    t = frames.t
    start = int(np.searchsorted(t, t[0] + WINDOW_S))
    step = max(1, int(np.searchsorted(t, t[0] + FRAME_S)))
    out = {}
    for name, view in views.items():
        view.resize(*PLOT_SIZE)
        view.show()
        view.append(frames[:start])
        view.redraw()
        out[name] = ([], [], [])
    app.processEvents()
    for k in range(n):
        a, b = start + k * step, start + (k + 1) * step
        if b > len(t):
            break
        chunk = frames[a:b]
        for name, view in views.items():
            PAINTS.pop(id(view), None)
            PAINTS_CPU.pop(id(view), None)
            t0 = time.perf_counter()
            view.append(chunk)
            view.redraw()
            t_redraw = time.perf_counter() - t0
            app.processEvents()
            paints = PAINTS.pop(id(view), [])
            out[name][0].append(t_redraw + sum(paints))
            out[name][1].extend(paints)
            out[name][2].extend(PAINTS_CPU.pop(id(view), []))
    for view in views.values():
        view.hide()
    return out


def live(app, rec, naive: bool, seconds: float, demo: bool = False) -> tuple[float, float, float, int, int, dict]:
    """(frames/s, median paint ms wall, median paint ms CPU, paints, redraws) of a 1x
    replay through the session process for ``seconds``; with ``demo``, of ``hinge demo``'s
    source instead: two virtual sensors streaming at 200 Hz over the virtual BLE link
    (real time only, so the window fills at 1x first)."""
    if demo:
        from hinge import VirtualSession, simulated_sources

        sources = simulated_sources(WINDOW_S + seconds + 30.0, reps=8, patterns=("knee-first", "hips-rise-early"))
        worker = SessionWorker(Pipeline, source_factory=partial(VirtualSession, sources, keep_log=False))
    else:
        src = ReplaySource.from_recording(rec)
        src.fast_forward(WINDOW_S, play=True)
        worker = SessionWorker(Pipeline, replay=src)
    if naive:
        view = NaivePlots()
        worker.signals.update.connect(view.on_update)
        widget = view
    else:
        widget = ViewerWindow("bench", replay=True)
        widget.attach(worker)
        view = widget.plots
    widget.show()
    worker.start()
    while (widget.session_t or 0.0) < WINDOW_S if demo else worker.replay_state.position_s < WINDOW_S:
        app.processEvents()  # until the window is full
        time.sleep(0.001)
    panels = {} if naive else {"side view": widget.side, "coordination": widget.coordination}
    for v in (view, *panels.values()):
        PAINTS.pop(id(v), None)
        PAINTS_CPU.pop(id(v), None)
    redraws0 = widget.redraw_count
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    redraws = widget.redraw_count - redraws0
    paints = PAINTS.pop(id(view), [])
    cpu = PAINTS_CPU.pop(id(view), [])
    extra = {name: PAINTS.pop(id(v), []) for name, v in panels.items()}
    worker.stop()
    widget.close()
    med = 1e3 * statistics.median(paints) if paints else float("nan")
    med_cpu = 1e3 * statistics.median(cpu) if cpu else float("nan")
    # A frame is new data shown: a redraw that got painted (paints may coalesce redraws,
    # and pyqtgraph sometimes paints twice per redraw).
    extra_med = {name: (1e3 * statistics.median(p) if p else 0.0, len(p)) for name, p in extra.items()}
    return min(redraws, len(paints)) / elapsed, med, med_cpu, len(paints), redraws, extra_med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--live-s", type=float, default=8.0)
    args = ap.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    pg.setConfigOptions(antialias=False)
    with tempfile.TemporaryDirectory() as tmp:
        rec = read_recording(session(Path(tmp)))
        print(
            f"session: 2 sensors x 200 Hz, {max(len(df) for df in rec.segments.values()) / 200:.0f} s; "
            f"window {WINDOW_S:.0f} s, {PLOT_SIZE[0]}x{PLOT_SIZE[1]} px plot view, offscreen"
        )
        rows = []
        for rate in (100.0, 200.0):
            frames = all_frames(rec, rate)
            res = frame_cost(app, {"hinge": AnglePlots(window_s=WINDOW_S), "naive": NaivePlots()}, frames)
            for name, (ft, pt, pc) in res.items():
                rows.append(
                    (
                        f"frame cost, {rate:.0f} Hz frames",
                        name,
                        1e3 * statistics.median(ft),
                        1e3 * statistics.median(pt),
                        1e3 * statistics.median(pc),
                        1 / statistics.median(ft),
                    )
                )
        print("\nframe = append 1/60 s of frames + redraw + paint (GUI thread, wall); max fps = 1 / frame;")
        print("paint CPU = the GUI thread's CPU time in paintEvent (excludes waiting for a shared core)")
        print(f"{'measurement':<28} {'plots':<6} {'frame ms':>9} {'paint ms':>9} {'paint CPU ms':>13} {'max fps':>8}")
        for r in rows:
            print(f"{r[0]:<28} {r[1]:<6} {r[2]:9.2f} {r[3]:9.2f} {r[4]:13.2f} {r[5]:8.0f}")
        for i in range(0, len(rows), 2):
            print(
                f"  naive / hinge, {rows[i][0]}: frame {rows[i + 1][2] / rows[i][2]:.1f}x, "
                f"paint {rows[i + 1][3] / rows[i][3]:.1f}x"
            )
        print(f"\nlive at 1x through the session process + Pipeline (100 Hz frames), {args.live_s:.0f} s wall:")
        print("frames/s = painted redraws that showed a new instant of the session, per second of wall time")
        print(
            f"{'source':<30} {'plots':<6} {'frames/s':>9} {'median paint ms':>16} {'paint CPU ms':>13} "
            f"{'paints':>7} {'redraws':>8}"
        )
        res = {}
        for label, naive, demo in (
            ("replay", False, False),
            ("replay", True, False),
            ("demo: 2 virtual BLE sensors", False, True),
        ):
            fps, paint_ms, paint_cpu, n, redraws, extra = live(app, rec, naive, args.live_s, demo)
            total = paint_ms + sum(m for m, _ in extra.values())
            res[label, naive] = (fps, total)
            print(
                f"{label:<30} {'naive' if naive else 'hinge':<6} {fps:9.1f} {paint_ms:16.2f} {paint_cpu:13.2f} "
                f"{n:7d} {redraws:8d}"
            )
            for name, (m, k) in extra.items():
                print(f"  + {name:<26} {'':<6} {'':>9} {m:16.2f} {'':>13} {k:7d}")
            if extra:
                print(f"  = all panels (sum of medians) {'':<6} {'':>9} {total:16.2f}")
        print(
            f"  naive / hinge median paint (replay, all panels): {res['replay', True][1] / res['replay', False][1]:.1f}x"
        )
        print(f"load average (other processes share the 2 cores): {os.getloadavg()[0]:.1f}")
        print("\ntarget median paint <= 8 ms and >= 50 frames/s:")
        for label in ("replay", "demo: 2 virtual BLE sensors"):
            fps, paint_ms = res[label, False]
            print(f"  {label:<30} {'met' if paint_ms <= 8.0 and fps >= 50.0 else 'NOT met'}")


if __name__ == "__main__":
    main()

"""A static pyqtgraph plot of a recording's offline angles, with each rep's onsets marked.

Top: trunk, thigh, hip angles (deg); below: knee and hip extension velocities (deg/s) with
each rep's knee and hip onsets as dashed lines, in the hinge window's colours (viewer/palette.py).

    uv run python examples/plot_angles.py                                 # a window
    uv run python examples/plot_angles.py recordings/knee-first --save angles.png
"""

from __future__ import annotations

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", default="recordings/mixed-set")
    parser.add_argument("--save", metavar="PNG", help="render offscreen to PNG instead of showing")
    args = parser.parse_args()
    if args.save:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

    import pyqtgraph as pg

    from hinge import compute_angles, detect_reps, read_recording
    from viewer.palette import CURVE_COLOURS, CURVE_LABELS

    frames = compute_angles(read_recording(args.recording)).frames
    reps = detect_reps(frames)

    app = pg.mkQApp("hinge angles")
    win = pg.GraphicsLayoutWidget(size=(1200, 700), title=f"{args.recording}: {len(reps)} reps")
    angles = win.addPlot(row=0, col=0, labels={"left": "angle (deg)"})
    velocities = win.addPlot(row=1, col=0, labels={"left": "extension velocity (deg/s)", "bottom": "time (s)"})
    velocities.setXLink(angles)
    for plot, names in (
        (angles, ("trunk_deg", "thigh_deg", "hip_deg")),
        (velocities, ("knee_ext_deg_s", "hip_ext_deg_s")),
    ):
        plot.addLegend(offset=(5, 5))
        for name in names:
            plot.plot(
                frames["t"].to_numpy(),
                frames[name].to_numpy(),
                pen=pg.mkPen(CURVE_COLOURS[name], width=2),
                name=CURVE_LABELS[name],
            )
    for rep in reps:  # knee onset, and hip onset (the torso starts to rise)
        for name, x in (("knee_ext_deg_s", rep.knee_onset_s), ("hip_ext_deg_s", rep.hip_onset_s)):
            dash = pg.mkPen(CURVE_COLOURS[name], style=pg.QtCore.Qt.PenStyle.DashLine)
            velocities.addItem(pg.InfiniteLine(x, pen=dash))

    win.show()
    if args.save:
        app.processEvents()  # lay the plots out before grabbing
        win.grab().save(args.save)
        print(f"saved {args.save}")
    else:
        app.exec()


if __name__ == "__main__":
    main()

"""`hinge fuse IN.csv --out OUT.csv`: orientation of one sensor from its recording CSV.

IN has the recording columns ``t,ax,ay,az,gx,gy,gz`` (SI units; checked like any recording
file); OUT gets ``t,qw,qx,qy,qz``: the sensor-to-earth quaternion, earth z up, heading
arbitrary (6D fusion sees no north). ``--mode offline`` (default) runs vqf forward-backward
over the whole file; ``--mode online`` steps the causal filter as live streaming does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hinge.errors import OutputError, RecordingError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fuse",
        description="Fuse one sensor's accelerometer and gyroscope (recording CSV columns "
        "t,ax,ay,az,gx,gy,gz) into sensor-to-earth quaternions t,qw,qx,qy,qz (earth z up).",
    )
    p.add_argument("input", type=Path, metavar="IN.csv", help="one sensor's recording CSV")
    p.add_argument("--out", type=Path, required=True, metavar="OUT.csv", help="quaternion CSV to write")
    p.add_argument(
        "--mode",
        choices=("offline", "online"),
        default="offline",
        help="offline: forward-backward, most accurate (default); online: causal, as live",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from processing.fusion import OnlineOrientation, orientation_offline, sample_timing
    from processing.recording.csv_text import format_header, format_rows
    from processing.recording.reader import read_segment_csv

    if not args.input.is_file():
        raise RecordingError(f"{args.input}: no such file")
    df = read_segment_csv(args.input)
    t = df["t"].to_numpy()
    acc = np.ascontiguousarray(df[["ax", "ay", "az"]].to_numpy())
    gyr = np.ascontiguousarray(df[["gx", "gy", "gz"]].to_numpy())
    if args.mode == "offline":
        quat = orientation_offline(t, acc, gyr)
    else:
        ts, one_max = sample_timing(t)
        _, _, res = OnlineOrientation(ts=ts, one_step_max=one_max).push(t, acc, gyr)
        quat = res.quat
    cols = ["t", "qw", "qx", "qy", "qz"]
    try:
        with open(args.out, "wb") as f:
            f.write(format_header(cols))
            f.write(format_rows([t, *quat.T], [6, 9, 9, 9, 9]))
    except OSError as err:
        raise OutputError(f"{args.out}: cannot write ({err.strerror})") from err
    print(f"{args.out}: {len(t)} orientations ({args.mode})")
    return 0

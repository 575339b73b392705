"""Recording format v1: write and read speed of one hour at 2 sensors x 200 Hz (1.44 M rows).

Baselines measured in the same run: ``pandas.DataFrame.to_csv`` for writing and a bare
``pandas.read_csv`` for reading (the floor the validating reader builds on).
Run: ``uv run python benchmarks/bench_recording.py [--minutes 60]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers_recording import segment_frame  # noqa: E402

from hinge import RecordingWriter, SampleBatch, read_recording, write_recording  # noqa: E402


def timed(fn, repeat: int = 1) -> tuple[float, float]:
    """Best (wall seconds, CPU seconds of all threads) of ``repeat`` runs: on a shared
    machine the minimum is the cost, the rest is other people's load."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    minutes = ap.parse_args().minutes
    rng = np.random.default_rng(0)
    segs = {}
    for i, seg in enumerate(("thigh", "lumbar")):
        df = segment_frame(duration_s=minutes * 60, phase=i)
        for c in ("ax", "ay", "az", "gx", "gy", "gz"):
            df[c] += rng.normal(0, 0.02, len(df))  # sensor noise: all digits in use
        df["seq"] = np.arange(len(df), dtype=float)
        segs[seg] = df
    rows = sum(len(d) for d in segs.values())
    tmp = Path(tempfile.mkdtemp())
    try:
        t_write = timed(lambda: write_recording(tmp / "rec", segs))  # once: it refuses to overwrite
        size = sum(p.stat().st_size for p in (tmp / "rec").iterdir())
        t_to_csv = timed(lambda: [d.to_csv(tmp / f"pd_{s}.csv", index=False) for s, d in segs.items()])
        t_read = timed(lambda: read_recording(tmp / "rec"), repeat=3)
        t_read_csv = timed(lambda: [pd.read_csv(tmp / "rec" / f"{s}.csv", engine="c") for s in segs], repeat=3)

        # Live: batches of 4 samples per sensor, a flush every 0.5 s of data, as in a session.
        n_live = min(len(segs["thigh"]), 200 * 60)
        batches = []
        for i in range(0, n_live, 4):
            for s, d in segs.items():
                part = d.iloc[i : i + 4]
                batches.append(
                    SampleBatch(
                        s,
                        part["t"].to_numpy(),
                        part[["ax", "ay", "az"]].to_numpy(),
                        part[["gx", "gy", "gz"]].to_numpy(),
                        {"seq": part["seq"].to_numpy()},
                    )
                )
        c0 = time.process_time()
        with RecordingWriter(tmp / "live", ["thigh", "lumbar"], flush_interval_s=1e9) as w:
            for k, b in enumerate(batches):
                w.append(b)
                if k % 50 == 49:  # 50 batches = 100 samples per sensor = 0.5 s at 200 Hz
                    w.flush()
        live_cpu = time.process_time() - c0
        live_s = n_live / 200.0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{minutes:g} min x 2 sensors x 200 Hz = {rows:,} rows, {size / 1e6:.1f} MB on disk")
    print(f"{'operation':40s} {'wall s':>8s} {'CPU s':>8s} {'CPU ratio':>10s}")
    for name, (wall, cpu), base in [
        ("write: pandas.to_csv (baseline)", t_to_csv, t_to_csv),
        ("write: write_recording", t_write, t_to_csv),
        ("read: bare pandas.read_csv (baseline)", t_read_csv, t_read_csv),
        ("read: read_recording (validated)", t_read, t_read_csv),
    ]:
        print(f"{name:40s} {wall:8.3f} {cpu:8.3f} {cpu / base[1]:10.2f}")
    print(
        f"{'live: RecordingWriter per s of data':40s} {'':8s} {live_cpu / live_s:8.4f} "
        f"  = {100 * live_cpu / live_s:.2f} % of one core (batches of 4, flush every 0.5 s)"
    )


if __name__ == "__main__":
    main()

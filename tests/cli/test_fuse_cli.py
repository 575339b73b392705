"""`hinge fuse` as a user runs it: a real BROAD trial written as a recording CSV, the command
line run on it (in this process), its quaternions scored against the optical reference; a
bad input's one-line error from a real process."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.helpers import ROOT, hinge_in_process
from tests.processing.test_fusion import inclination_rmse_deg, load_trial, trials


def hinge(*args):
    """``hinge ARGS`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "hinge", *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.mark.parametrize("mode,limit", [("offline", 1.0), ("online", 1.2)])
def test_fuse_broad_trial(tmp_path, mode, limit):
    path = next((p for p in trials() if p.name.startswith("10_")), trials()[0])
    t, acc, gyr, ref, scored = load_trial(path)
    src = tmp_path / "imu.csv"
    cols = {
        "t": t,
        "ax": acc[:, 0],
        "ay": acc[:, 1],
        "az": acc[:, 2],
        "gx": gyr[:, 0],
        "gy": gyr[:, 1],
        "gz": gyr[:, 2],
    }
    pd.DataFrame(cols).to_csv(src, index=False)
    out = tmp_path / "quat.csv"
    r = hinge_in_process("fuse", str(src), "--out", str(out), "--mode", mode)
    assert r.returncode == 0, r.stderr
    q = pd.read_csv(out)
    assert list(q.columns) == ["t", "qw", "qx", "qy", "qz"]
    assert len(q) == len(t)
    np.testing.assert_allclose(q.t, t, atol=1e-6)
    quat = q[["qw", "qx", "qy", "qz"]].to_numpy()
    np.testing.assert_allclose(np.linalg.norm(quat, axis=1), 1.0, atol=1e-6)
    assert inclination_rmse_deg(quat[scored], ref[scored]) < limit


def test_fuse_bad_input_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("t,ax,ay\n0,1,2\n")
    r = hinge("fuse", bad, "--out", tmp_path / "o.csv")
    assert r.returncode == 2
    assert r.stderr.startswith(f"hinge: {bad}") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

"""Coordination traces equal `hinge analyze --angles` over each rep's [start_s, lockout_s]."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from processing.analysis import analyze
from processing.coordination import set_reference, traces
from processing.recording import read_recording
from tests.helpers import hinge_in_process

ROOT = Path(__file__).resolve().parents[2]
REC = ROOT / "recordings" / "mixed-set"


def test_traces_equal_hinge_analyze_angles_over_each_rise(tmp_path):
    csv = tmp_path / "angles.csv"
    out = hinge_in_process("analyze", str(REC), "--json", "--angles", str(csv))
    assert out.returncode == 0, out.stderr
    reps = json.loads(out.stdout)["reps"]
    angles = pd.read_csv(csv)
    assert len(reps) == 5
    trs = traces(angles, reps)
    for rep, tr in zip(reps, trs, strict=True):
        want = angles[(angles.t >= rep["start_s"]) & (angles.t <= rep["lockout_s"])]
        assert len(tr.t) == len(want) > 20
        np.testing.assert_array_equal(tr.t, want.t.to_numpy())
        np.testing.assert_array_equal(tr.thigh_deg, want.thigh_deg.to_numpy())
        np.testing.assert_array_equal(tr.trunk_deg, want.trunk_deg.to_numpy())
    # The library's own frames (unrounded) give the same traces to the CSV's 4 decimals.
    a = analyze(read_recording(REC))
    for tr, mine in zip(trs, traces(a.frames, a.reps), strict=True):
        np.testing.assert_allclose(mine.thigh_deg, tr.thigh_deg, atol=6e-5)
        np.testing.assert_allclose(mine.trunk_deg, tr.trunk_deg, atol=6e-5)


def test_shapes_tell_the_patterns_apart():
    """Knee-first: the thigh does most of its travel before the trunk moves (an L);
    hips-rise-early: the trunk first leans further forward (a bulge above the start)."""
    a = analyze(read_recording(REC))
    for tr in traces(a.frames, a.reps):
        half = np.searchsorted(-tr.thigh_deg, -(tr.thigh_deg[0] + tr.thigh_deg[-1]) / 2)  # thigh half-way
        trunk_drop = tr.trunk_deg[0] - tr.trunk_deg[half]
        bulge = tr.trunk_deg.max() - tr.trunk_deg[0]
        if tr.pattern == "knee-first":
            assert trunk_drop < 5 and bulge < 5
        elif tr.pattern == "hips-rise-early":
            assert bulge >= 5
        else:
            assert trunk_drop > 5
    assert set_reference(a.reps, 1) == 1 and set_reference(a.reps, 2) is None

"""processing/body.py: the side-on figure's joints equal hand-computed geometry."""

from __future__ import annotations

import numpy as np
import pytest

from processing.body import Segments, pose


def test_segment_lengths_are_winters_ratios():
    s = Segments.from_height(1.80)
    # Winter (2009) Fig. 4.1: knee 0.285 H, ankle 0.039 H, hip 0.530 H, shoulder 0.818 H.
    assert s.shank == pytest.approx(0.4428)  # (0.285 - 0.039) * 1.80
    assert s.thigh == pytest.approx(0.4410)  # (0.530 - 0.285) * 1.80
    assert s.trunk == pytest.approx(0.5184)  # (0.818 - 0.530) * 1.80
    assert s.ankle == pytest.approx(0.0702)
    assert s.arm == pytest.approx(0.6948)  # (0.186 + 0.146 + 0.054) * 1.80


def test_standing_upright_puts_every_joint_at_winters_heights():
    p = pose(0.0, 0.0, Segments.from_height(1.80))
    for joint, y in (("ankle", 0.0702), ("knee", 0.513), ("hip", 0.954), ("shoulder", 1.4724)):
        assert p[joint] == pytest.approx([0.0, y]), joint
    top_of_head = p["head"][1] + 0.130 * 1.80 / 2
    assert top_of_head == pytest.approx(1.80)


def test_bent_pose_equals_hand_computed_geometry():
    # thigh 30 deg (knee forward of the hip), trunk 45 deg forward, H = 1.80 m:
    # hip = knee + 0.441 * (-sin 30, cos 30) = (0, 0.513) + (-0.2205, 0.381917)
    # shoulder = hip + 0.5184 * (sin 45, cos 45) = hip + (0.366564, 0.366564)
    p = pose(45.0, 30.0, Segments.from_height(1.80))
    assert p["knee"] == pytest.approx([0.0, 0.513])
    assert p["hip"] == pytest.approx([-0.2205, 0.894917], abs=1e-6)
    assert p["shoulder"] == pytest.approx([0.146064, 1.261481], abs=1e-6)
    assert p["hand"] == pytest.approx([0.146064, 1.261481 - 0.6948], abs=1e-6)  # arms hang vertically
    # horizontal thigh and trunk: the hip a thigh behind the knee, the shoulder a trunk ahead of it
    q = pose(90.0, 90.0, Segments.from_height(1.80))
    assert q["hip"] == pytest.approx([-0.441, 0.513], abs=1e-9)
    assert q["shoulder"] == pytest.approx([-0.441 + 0.5184, 0.513], abs=1e-9)


def test_arrays_of_angles_give_arrays_of_joints_and_lengths_are_kept():
    trunk = np.linspace(0, 80, 9)
    thigh = np.linspace(70, 0, 9)
    s = Segments.from_height(1.6)
    p = pose(trunk, thigh, s)
    assert p["hip"].shape == (9, 2)
    assert np.linalg.norm(p["hip"] - p["knee"], axis=1) == pytest.approx(np.full(9, s.thigh))
    assert np.linalg.norm(p["shoulder"] - p["hip"], axis=1) == pytest.approx(np.full(9, s.trunk))
    assert np.all(p["knee"][:, 0] == 0.0)  # the shank is vertical (assumed)


def test_a_height_must_be_positive():
    with pytest.raises(ValueError):
        Segments.from_height(0.0)

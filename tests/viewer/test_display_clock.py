"""The plots' display clock against synthetic arrival schedules with known truth.

Each schedule says when (wall time) data up to which session time arrives, as BLE
notifications and replays deliver it; frames tick at 60 Hz. The truth is the schedule
itself: the session advances at a known pace, so a smooth display advances by that pace
per frame, and it must never show data that has not arrived.
"""

from __future__ import annotations

import numpy as np
import pytest

from viewer.display_clock import SNAP_S, DisplayClock

FRAME_S = 1 / 60


def run(arrivals: list[tuple[float, float]], until_wall: float, seed: int = 0):
    """Ticks at 60 Hz (with a little timer jitter) through ``arrivals`` (wall, newest t);
    returns (wall, shown t, newest arrived t) per frame."""
    rng = np.random.default_rng(seed)
    clock = DisplayClock()
    out, k = [], 0
    frames = np.arange(0.0, until_wall, FRAME_S) + rng.uniform(0, 0.002, int(np.ceil(until_wall / FRAME_S)))
    for wall in frames:
        while k < len(arrivals) and arrivals[k][0] <= wall:
            clock.arrived(*arrivals[k])
            k += 1
        t = clock.tick(wall)
        out.append((wall, np.nan if t is None else t, np.nan if clock.newest is None else clock.newest))
    return np.array(out)


def ble_bursts(pace: float = 1.0, burst_s: float = 0.05, seconds: float = 10.0, jitter_s: float = 0.01, seed: int = 1):
    """Packets of ``burst_s`` of data (10 samples at 200 Hz) every ``burst_s / pace`` of wall
    time, each delayed by up to ``jitter_s`` (the link's connection events)."""
    rng = np.random.default_rng(seed)
    ends = np.arange(burst_s, seconds * pace, burst_s)
    walls = ends / pace + rng.uniform(0, jitter_s, len(ends))
    return sorted(zip(np.maximum.accumulate(walls), ends, strict=True))


@pytest.mark.parametrize("pace", [1.0, 4.0])
def test_bursty_data_scrolls_smoothly_at_the_data_pace(pace):
    res = run(ble_bursts(pace=pace), until_wall=10.0)
    wall, shown, newest = res.T
    ok = ~np.isnan(shown)
    assert np.all(shown[ok] <= newest[ok]), "never shows data that has not arrived"
    assert np.all(np.diff(shown[ok]) >= 0), "never runs backwards"
    settled = wall > 2.0
    step = np.diff(shown)[settled[1:]] / np.diff(wall)[settled[1:]]  # display pace per frame
    assert np.median(step) == pytest.approx(pace, rel=0.05)
    assert np.percentile(np.abs(step - pace), 90) < 0.25 * pace, "advances every frame, not in bursts"
    # Drawing up to the raw newest time instead would move in jumps: at 1x it stands still
    # in some frames and jumps 50 ms in others.
    raw = np.diff(newest)[settled[1:]] / np.diff(wall)[settled[1:]]
    assert np.std(step) < 0.3 * np.std(raw)
    lag = (newest - shown)[settled]
    assert np.max(lag) < 0.15 * pace + 0.02, "stays close behind the data"


def test_when_data_stops_everything_is_shown_soon_and_catch_up_shows_it_at_once():
    arrivals = ble_bursts(seconds=3.0)
    res = run(arrivals, until_wall=4.0)
    wall, shown, newest = res.T
    assert shown[-1] == newest[-1] == arrivals[-1][1]
    clock = DisplayClock()
    for a in arrivals[:30]:
        clock.arrived(*a)
    clock.tick(arrivals[29][0])
    clock.arrived(arrivals[30][0], arrivals[30][1])
    clock.catch_up()
    assert clock.t == arrivals[30][1]


def test_a_jump_ahead_snaps_and_reset_forgets():
    clock = DisplayClock()
    assert clock.tick(0.0) is None
    clock.arrived(0.0, 1.0)
    assert clock.tick(0.01) == 1.0  # first data: shown at once
    clock.arrived(0.02, 1.0 + SNAP_S + 5.0)  # a seek or fast-forward far ahead
    assert clock.tick(0.03) == 1.0 + SNAP_S + 5.0
    clock.reset()
    assert clock.tick(0.04) is None and clock.newest is None


def test_after_a_pause_it_resumes_at_the_data_pace_at_once():
    """A replay paused for 5 s, then playing on at 1x: the display keeps pace from the first
    frames after the pause (the pause says nothing about the pace)."""
    before = ble_bursts(seconds=4.0)
    after = [(w + 9.0, t + 4.0) for w, t in ble_bursts(seconds=4.0, seed=2)]  # wall +9 s, data +4 s
    wall, shown, newest = run(before + after, until_wall=13.0).T
    resumed = (wall > 9.2) & (wall < 10.0)
    step = np.diff(shown)[resumed[1:]] / np.diff(wall)[resumed[1:]]
    assert np.median(step) == pytest.approx(1.0, rel=0.1)
    assert np.max((newest - shown)[resumed]) < 0.15


def test_a_new_replay_speed_is_taken_at_once():
    """1x for 4 s, then the replay at 8x: told the new pace, the display keeps up within a
    few frames instead of lagging while it measures the pace again."""
    clock = DisplayClock()
    walls = np.arange(0.0, 4.0, 0.01)
    for w in walls:
        clock.arrived(w, w)
        clock.tick(w)
    clock.set_pace(8.0)
    shown = []
    for k in range(1, 60):  # 10 ms chunks of 80 ms of data; frames every 1/60 s
        w = 4.0 + k * 0.01
        clock.arrived(w, 4.0 + 8.0 * k * 0.01)
        shown.append((w, clock.tick(w), clock.newest))
    wall, t, newest = np.array(shown).T
    pace = np.diff(t)[5:] / np.diff(wall)[5:]
    assert np.median(pace) == pytest.approx(8.0, rel=0.1)
    assert np.max(newest - t) < 0.25


def test_after_a_fast_forward_normal_playing_scrolls_on_without_a_stall():
    """A seek: 15 s of data in 0.25 s chunks as fast as they come, then playing at 1x in
    10 ms chunks. The display follows the paced data at once, not stalled behind the
    fast-forward's big chunks."""
    fast = [(0.005 * k, 0.25 * k) for k in range(1, 61)]  # 15 s of data in 0.3 s of wall
    w0 = fast[-1][0]
    paced = [(w0 + 0.01 * k, 15.0 + 0.01 * k) for k in range(1, 300)]
    wall, shown, newest = run(fast + paced, until_wall=w0 + 3.0).T
    after = (wall > w0 + 0.1) & (wall < w0 + 2.9)
    step = np.diff(shown)[after[1:]] / np.diff(wall)[after[1:]]
    assert np.min(step) > 0.3, "never stalls"
    assert np.median(step) == pytest.approx(1.0, rel=0.1)
    assert np.max((newest - shown)[after]) < 0.3

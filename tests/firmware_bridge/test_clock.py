"""Device-clock to session-clock fit against simulated truth (drift, offset, jitter, bunching)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.clock import DeviceClock

FLOOR = 0.005  # latency floor of the simulated link (s); it cannot be observed by the host


def simulate(rng, ppm, offset, seconds=30.0, packet_s=10 / 208, scale=0.008, bunch=0.3, phase=0.0):
    """Packets of a sensor: true time of the newest sample, its device time, its arrival.

    Latency is FLOOR + exponential(scale), capped at 40 ms; with probability ``bunch`` a
    packet is held back and released together with the next one (several notifications
    in one connection event after a missed one). The device clock runs ``ppm`` fast and
    starts ``offset`` seconds off the session clock.
    """
    t = np.arange(phase, seconds, packet_s)
    arrival = t + FLOOR + np.minimum(rng.exponential(scale, len(t)), 0.040 - FLOOR)
    held = rng.random(len(t)) < bunch
    for k in range(len(t) - 2, -1, -1):
        if held[k]:
            arrival[k] = max(arrival[k], arrival[k + 1])
    arrival = np.maximum.accumulate(arrival)
    device = t * (1 + ppm * 1e-6) + offset
    return t, device, arrival


def online_errors(t, device, arrival, clock=None):
    """Each packet mapped with the fit available when it arrived (as the client does)."""
    clock = clock or DeviceClock()
    err = np.empty(len(t))
    for k in range(len(t)):
        clock.add(device[k], arrival[k])
        err[k] = clock.to_session(device[k]) - t[k] - FLOOR
    return err, clock


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("packet_s, bunch", [(10 / 208, 0.3), (10 / 208, 0.5), (8 / 104, 0.2)])
def test_two_sensors_aligned_within_2ms_after_10s(seed, packet_s, bunch):
    """100 ppm drift and 50 ms offset between the sensors, jittered and bunched packets."""
    rng = np.random.default_rng(seed)
    a = simulate(rng, ppm=100, offset=0.050, packet_s=packet_s, bunch=bunch)
    b = simulate(rng, ppm=0, offset=0.0, packet_s=packet_s, bunch=bunch, phase=0.017)
    err_a, clock_a = online_errors(*a)
    err_b, clock_b = online_errors(*b)
    late_a, late_b = err_a[a[0] > 10], err_b[b[0] > 10]
    assert np.abs(late_a).max() < 0.002 and np.abs(late_b).max() < 0.002
    # alignment: both fits map the same true instants to the same session time
    instants = np.linspace(10, 29, 500)
    ta = clock_a.to_session(instants * (1 + 100e-6) + 0.050)
    tb = clock_b.to_session(instants)
    assert np.abs(ta - tb).max() < 0.002
    assert clock_a.drift == pytest.approx(1 / (1 + 100e-6) - 1, abs=30e-6)  # session s per device s


def test_converges_within_the_first_seconds():
    rng = np.random.default_rng(11)
    t, device, arrival = simulate(rng, ppm=-80, offset=123.4, bunch=0.2)
    err, _ = online_errors(t, device, arrival)
    assert np.abs(err[(t > 2) & (t < 10)]).max() < 0.004
    assert np.abs(err[t > 5]).max() < 0.002


def test_uint32_microsecond_wrap_is_unwrapped():
    rng = np.random.default_rng(12)
    wrap = 2**32 * 1e-6
    t, device, arrival = simulate(rng, ppm=50, offset=wrap - 12.0, bunch=0.2)  # wraps at 12 s
    raw = np.mod(device, wrap)
    assert np.any(np.diff(raw) < 0)
    err, _ = online_errors(t, raw, arrival, DeviceClock(wrap_s=wrap))
    assert np.abs(err[t > 10]).max() < 0.002


def test_device_restart_starts_a_new_fit():
    rng = np.random.default_rng(13)
    t, device, arrival = simulate(rng, ppm=30, offset=500.0, bunch=0.2)
    device = np.where(t < 15, device, t * (1 + 30e-6) - 15.0)  # rebooted at 15 s: clock near 0
    clock = DeviceClock()
    err, clock = online_errors(t, device, arrival, clock)
    assert clock.resets == 1
    assert np.abs(err[t > 20]).max() < 0.003


def test_needs_data_before_mapping():
    with pytest.raises(RuntimeError):
        DeviceClock().to_session(1.0)


@pytest.mark.parametrize("rising", [True, False])
def test_follows_a_drift_that_changes_with_temperature(rising):
    """15 minutes with the drift ramping between 0 and 60 ppm (a sensor warming on the body);
    a fit over the whole history would be 7 ms off by the end when the drift falls."""
    rng = np.random.default_rng(14)
    t, _, arrival = simulate(rng, ppm=0, offset=7.0, seconds=900.0, bunch=0.3)
    ramp = 60e-6 * t**2 / (2 * 900.0)  # integral of 60 ppm * t / 900 s
    device = 7.0 + t + (ramp if rising else 60e-6 * t - ramp)
    err, _ = online_errors(t, device, arrival)
    assert np.abs(err[t > 10]).max() < 0.002

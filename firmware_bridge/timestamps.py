"""Sample-time helpers shared by the drivers: counter unwrapping and sample-period tracking.

Devices send short wrapping counters (a uint16 sample index, a uint32 microsecond or
millisecond clock). The host needs monotonic numbers to count losses and to fit clocks, and
it needs the real sample period (an IMU's output data rate is only nominal, typically within
a few per cent) to place the samples of a batch between their packet timestamps.
"""

from __future__ import annotations

import math

import numpy as np


class Unwrapper:
    """Turns a wrapping counter (``0 <= x < modulus``) into a monotonic integer.

    A step is taken as the shortest signed distance modulo ``modulus``: forward steps up to
    half the modulus, backward steps (reordering, a device restart) as negative. Callers
    that know better (a sequence number checked against elapsed device time) use
    ``advance`` to force the number of wraps.
    """

    def __init__(self, modulus: int) -> None:
        self.modulus = modulus
        self._last: int | None = None

    @property
    def last(self) -> int | None:
        """The last unwrapped value, or None before the first."""
        return self._last

    def step(self, raw: int) -> int:
        """Signed distance from the last value to ``raw`` (0 for the first value)."""
        if self._last is None:
            return 0
        d = (raw - self._last) % self.modulus
        return d - self.modulus if d >= self.modulus // 2 else d

    def unwrap(self, raw: int) -> int:
        """Unwrapped value of ``raw`` using the shortest step."""
        return self.advance(raw, self.step(raw))

    def advance(self, raw: int, delta: int) -> int:
        """Accept ``raw`` as ``last + delta`` (``delta`` must agree with ``raw`` modulo)."""
        if self._last is None:
            self._last = raw
        else:
            if (self._last + delta - raw) % self.modulus:
                raise ValueError(f"step {delta} does not reach {raw} modulo {self.modulus}")
            self._last += delta
        return self._last

    def reset(self) -> None:
        """Forget the history (the next value starts a new count)."""
        self._last = None


class PeriodEstimator:
    """Sample period of a device measured from (sample index, device time) pairs.

    The estimate is the slope between an anchor and the newest pair, so timestamp
    quantisation (1 ms on Movesense) shrinks as 1/elapsed samples. Before ``min_span``
    samples have elapsed, or when the measurement is more than ``tolerance`` away from the
    nominal period (a clock glitch, a restart), the nominal period is used.
    """

    def __init__(self, nominal_period: float, tolerance: float = 0.05, min_span: int = 50) -> None:
        self.nominal = nominal_period
        self.tolerance = tolerance
        self.min_span = min_span
        self._anchor: tuple[int, float] | None = None
        self._period = nominal_period

    @property
    def period(self) -> float:
        """Current best estimate of the sample period in seconds."""
        return self._period

    def update(self, index: int, t: float) -> float:
        """Add the pair (unwrapped sample index, device time in s); return the period."""
        if self._anchor is None or index < self._anchor[0]:
            self._anchor = (index, t)
            return self._period
        i0, t0 = self._anchor
        span = index - i0
        if span >= self.min_span:
            measured = (t - t0) / span
            if abs(measured / self.nominal - 1.0) <= self.tolerance:
                self._period = measured
            else:  # inconsistent with everything so far: start measuring again from here
                self._anchor = (index, t)
                self._period = self.nominal
        return self._period

    def reset(self, nominal_period: float | None = None) -> None:
        """Start again (after a rate change or a device restart)."""
        if nominal_period is not None:
            self.nominal = nominal_period
        self._anchor = None
        self._period = self.nominal


class SampleClockFit:
    """Sample times from coarse per-packet timestamps: ``t = t0 + period * index``.

    Some devices stamp each packet with a coarse clock (Movesense: milliseconds, a fifth of a
    sample period at 208 Hz) while the samples themselves come from a steady IMU clock. An
    exponentially weighted least-squares line through (sample index, timestamp) pairs
    recovers the sample instants well below the timestamp resolution and follows a slowly
    changing rate (weights fall by e over ``tau_samples`` samples). Until ``min_span``
    samples have been seen the nominal period is used through the newest timestamp.
    """

    def __init__(
        self, nominal_period: float, tau_samples: float = 20_000.0, min_span: int = 50, tolerance: float = 0.05
    ) -> None:
        self.nominal = nominal_period
        self.tau = tau_samples
        self.min_span = min_span
        self.tolerance = tolerance
        self.reset()

    def reset(self) -> None:
        """Forget everything (a device restart)."""
        self._ref: tuple[int, float] | None = None  # (index, time) origin of the sums
        self._s = [0.0, 0.0, 0.0, 0.0, 0.0]  # weighted S0, Sx, Sy, Sxx, Sxy
        self._first = 0
        self._last: tuple[int, float] | None = None

    def _line(self) -> tuple[float, float] | None:
        """(time at the reference index, period) of the fit, or None while unreliable."""
        if self._last is None or self._last[0] - self._first < self.min_span:
            return None
        s0, sx, sy, sxx, sxy = self._s
        det = s0 * sxx - sx * sx
        if det <= 0:
            return None
        period = (s0 * sxy - sx * sy) / det
        if abs(period / self.nominal - 1.0) > self.tolerance:
            return None
        return (sy - period * sx) / s0, period

    @property
    def period(self) -> float:
        line = self._line()
        return line[1] if line else self.nominal

    def predict(self, index: int | np.ndarray) -> float | np.ndarray:
        """Time of sample ``index`` (works before any fit from the newest timestamp)."""
        if self._last is None:
            raise RuntimeError("SampleClockFit: no timestamp added yet")
        line = self._line()
        if line is None:
            i_last, t_last = self._last
            return t_last + (np.asarray(index) - i_last) * self.nominal
        t_ref, period = line
        assert self._ref is not None  # set with the first timestamp, before any fit
        return self._ref[1] + t_ref + (np.asarray(index) - self._ref[0]) * period

    def add(self, index: int, t: float) -> None:
        """Add the timestamp ``t`` (s) of sample ``index`` (indices increasing)."""
        if self._ref is None:
            self._ref = (index, t)
            self._first = index
        elif index - self._ref[0] > self.tau:  # keep the sums' numbers small: move the origin
            d = index - self._ref[0]
            dt = t - self._ref[1]
            s0, sx, sy, sxx, sxy = self._s
            sxx, sxy = sxx - 2 * d * sx + d * d * s0, sxy - d * sy - dt * sx + d * dt * s0
            sx, sy = sx - d * s0, sy - dt * s0
            self._s = [s0, sx, sy, sxx, sxy]
            self._ref = (index, t)
        if self._last is not None:
            decay = math.exp(-(index - self._last[0]) / self.tau)
            self._s = [v * decay for v in self._s]
        x, y = float(index - self._ref[0]), t - self._ref[1]
        s = self._s
        self._s = [s[0] + 1.0, s[1] + x, s[2] + y, s[3] + x * x, s[4] + x * y]
        self._last = (index, t)

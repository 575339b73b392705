"""Device clock to session clock: offset and drift fitted from the lowest-latency packets.

Every packet gives a pair (device time of its newest sample, host arrival time). Arrival is
later than the sample by the BLE latency: a floor (the radio and stack at their fastest)
plus a positive, long-tailed excess (waiting for a connection event, retransmissions,
notifications released in bunches). So the points ``y = arrival - device_time`` plotted
against device time lie *above* a line ``y = offset + drift * device_time``, touching it
only at the fastest packets. The line is found from the lower convex hull of the points
(the Moon-Skelly-Towsley clock-skew estimator): of the lines under every point, it is the
one closest to them on average, i.e. the hull edge above the middle of the observation
window. Maintaining the hull is amortised O(1) per packet, because device times arrive in
order (Andrew's monotone chain); old vertices leave with a sliding window so a slowly
changing drift (temperature) is followed.

The mapped time includes the latency floor, which the host cannot observe; it is the same
order for every sensor on the same radio, so sensors stay aligned with each other.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np


class DeviceClock:
    """Online fit of ``session_time = device_time + offset + drift * (device_time - t0)``.

    ``add(device_t, arrival)`` per packet (device time of the packet's newest sample, seconds,
    and its host arrival time on the session clock); ``to_session(device_t)`` maps any device
    times. ``max_drift`` bounds the fitted drift (1e-3 = 1000 ppm covers crystal clocks;
    reconstructed clocks from a nominal rate need more). ``window_s`` is how much history
    the fit uses. ``wrap_s`` unwraps a device clock that wraps with that period (e.g.
    ``2**32 * 1e-6`` for a uint32 microsecond counter). A device time that jumps back (a
    restart) or a point far below the fitted line (more than ``reset_s``) starts a new fit.
    """

    def __init__(
        self,
        max_drift: float = 1e-3,
        window_s: float = 120.0,
        wrap_s: float | None = None,
        reset_s: float = 1.0,
    ) -> None:
        self.max_drift = max_drift
        self.window_s = window_s
        self.wrap_s = wrap_s
        self.reset_s = reset_s
        self.resets = 0
        self._clear()

    def _clear(self) -> None:
        self._x0: float | None = None  # device time origin of the fit
        self._first_x = 0.0  # first device time (relative) since the last reset
        self._hx: list[float] = []  # lower hull vertices, x increasing
        self._hy: list[float] = []
        self._alpha = 0.0
        self._beta = 0.0
        self._raw_last: float | None = None
        self._wraps = 0

    @property
    def ready(self) -> bool:
        """True once at least one pair was added."""
        return self._x0 is not None

    @property
    def offset(self) -> float:
        """Session time minus device time at the first device time of the fit (seconds)."""
        return self._alpha

    @property
    def drift(self) -> float:
        """Fitted drift: session seconds per device second, minus 1."""
        return self._beta

    def _unwrap(self, device_t: float) -> float:
        if self.wrap_s is None:
            return device_t
        if self._raw_last is not None:
            step = device_t - self._raw_last
            if step < -self.wrap_s / 2:
                self._wraps += 1
            elif step > self.wrap_s / 2:
                self._wraps -= 1
        self._raw_last = device_t
        return device_t + self._wraps * self.wrap_s

    def add(self, device_t: float, arrival: float) -> None:
        """Add one (device time of the newest sample, arrival time) pair and refit."""
        device_t = self._unwrap(float(device_t))
        if self._x0 is None:
            self._x0 = device_t
        x = device_t - self._x0
        y = float(arrival) - device_t
        if self._hx:
            if x < self._hx[-1] - self.reset_s or y < self._line(x) - self.reset_s:
                self._restart(device_t)  # device restarted or its clock jumped
                x, y = 0.0, float(arrival) - device_t
            elif x <= self._hx[-1]:
                if x < self._hx[-1] or y >= self._hy[-1]:
                    return  # out of order, or the same device time arriving later
                self._hx.pop()
                self._hy.pop()
        hx, hy = self._hx, self._hy
        while len(hx) >= 2 and (hx[-1] - hx[-2]) * (y - hy[-2]) - (hy[-1] - hy[-2]) * (x - hx[-2]) <= 0:
            hx.pop()
            hy.pop()
        hx.append(x)
        hy.append(y)
        while len(hx) > 2 and hx[1] <= x - self.window_s:
            del hx[0], hy[0]
        self._fit(x)

    def _restart(self, device_t: float) -> None:
        wraps, raw = self._wraps, self._raw_last
        self._clear()
        self._wraps, self._raw_last = wraps, raw
        self._x0 = device_t
        self.resets += 1

    def _line(self, x: float) -> float:
        return self._alpha + self._beta * x

    def _fit(self, x_last: float) -> None:
        hx, hy = self._hx, self._hy
        if len(hx) == 1:
            self._alpha, self._beta = hy[0] - self._beta * hx[0], self._beta
            return
        span = min(self.window_s, x_last - self._first_x)
        x_mid = x_last - span / 2
        i = min(max(bisect_right(hx, x_mid) - 1, 0), len(hx) - 2)
        beta = (hy[i + 1] - hy[i]) / (hx[i + 1] - hx[i])
        beta = min(max(beta, -self.max_drift), self.max_drift)
        if beta == (hy[i + 1] - hy[i]) / (hx[i + 1] - hx[i]):
            alpha = hy[i] - beta * hx[i]
        else:  # clamped: the supporting line of that slope touches the hull elsewhere
            alpha = min(yv - beta * xv for xv, yv in zip(hx, hy, strict=True))
        self._alpha, self._beta = alpha, beta

    def to_session(self, device_t: np.ndarray | float) -> np.ndarray | float:
        """Session times of device times (same shape); needs at least one ``add`` first."""
        if self._x0 is None:
            raise RuntimeError("DeviceClock: no (device time, arrival) pair added yet")
        if self.wrap_s is not None:
            device_t = np.asarray(device_t, dtype=np.float64) + self._wraps * self.wrap_s
        return device_t + self._alpha + self._beta * (device_t - self._x0)

    def reset(self) -> None:
        """Forget the fit (e.g. the user swapped the sensor)."""
        self._clear()

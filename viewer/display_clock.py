"""Which session instant the plots show at each frame: the newest data, smoothed in time.

Sensor data arrives in bursts: a BLE notification carries several samples (the hinge
profile 10 at 200 Hz, Movesense 8 at 208 Hz), so the newest session time jumps 40-50 ms
about 20-26 times a second. Drawing "up to the newest sample" would move the plots in those
jumps however fast the window paints. Like a video player's jitter buffer, the plots
instead show the session as of a short lag behind the newest data, advancing with the wall
clock at the rate data arrives (1x live, the replay's speed in a replay), and a slow
correction keeps the lag near its target. The lag is 1.25x the largest burst seen in the
last 2 s (12 ms for a replay's 10 ms chunks, about 60 ms for a 200 Hz BLE sensor); what
is shown never runs ahead of the data nor backwards. When data stops (a paused replay, the
end of a session), ``catch_up`` shows everything.
"""

from __future__ import annotations

from collections import deque

#: Arrivals remembered for the rate and burst estimates (wall seconds).
HISTORY_S = 2.0
#: Time constant of the pull towards "newest data minus lag" (wall seconds).
TAU_S = 0.5
#: Lag target: this times the largest burst of the last HISTORY_S, at most MAX_LAG_S.
LAG_FACTOR = 1.25
MAX_LAG_S = 0.5
#: No data for this long (wall seconds): what comes next starts a new pace measurement.
RESUME_S = 0.5
#: Further behind than this (a seek, a fast-forward, the first data): jump to the newest.
SNAP_S = 1.0


class DisplayClock:
    """Session time to display per frame; feed it ``arrived`` and ask it ``tick``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything (a replay restarting)."""
        self._arrivals: deque[tuple[float, float]] = deque()  # (wall time, newest session time)
        self._rate = 1.0
        self.t: float | None = None
        self._wall: float | None = None

    @property
    def newest(self) -> float | None:
        return self._arrivals[-1][1] if self._arrivals else None

    def arrived(self, wall: float, newest_t: float) -> None:
        """Data up to session time ``newest_t`` arrived at wall time ``wall``."""
        if self._arrivals and newest_t <= self._arrivals[-1][1]:
            return
        if self._arrivals and wall - self._arrivals[-1][0] > RESUME_S:
            self._arrivals.clear()  # data resumes (after a pause): the pace before still holds
        self._arrivals.append((wall, newest_t))
        while len(self._arrivals) > 2 and self._arrivals[0][0] < wall - HISTORY_S:
            self._arrivals.popleft()
        (w0, t0), (w1, t1) = self._arrivals[0], self._arrivals[-1]
        if w1 - w0 > 0.25:  # enough of a baseline to measure the data's pace
            self._rate = (t1 - t0) / (w1 - w0)

    def set_pace(self, rate: float) -> None:
        """The data's pace is now known to be ``rate`` (a replay's new speed): use it at
        once rather than measure it again over the next second."""
        self._rate = float(rate)
        while len(self._arrivals) > 1:  # measure afresh from the newest arrival on
            self._arrivals.popleft()

    def lag(self) -> float:
        """How far behind the newest data the display aims to be (session seconds)."""
        times = [t for _, t in self._arrivals]
        bursts = [b - a for a, b in zip(times, times[1:], strict=False)]
        return min(LAG_FACTOR * max(bursts, default=0.0), MAX_LAG_S)

    def tick(self, wall: float) -> float | None:
        """The session time to show at wall time ``wall`` (None before any data)."""
        newest = self.newest
        if newest is None:
            return None
        if self.t is None or self._wall is None or newest - self.t > SNAP_S:
            self.t, self._wall = newest, wall
            return self.t
        dt = max(0.0, wall - self._wall)
        self._wall = wall
        target = newest - self.lag()
        t = self.t + dt * self._rate + (target - self.t) * min(1.0, dt / TAU_S)
        self.t = min(max(t, self.t), newest)
        return self.t

    def catch_up(self) -> None:
        """Show everything that arrived (the data stopped: paused, finished, screenshot)."""
        if self.newest is not None:
            self.t = self.newest

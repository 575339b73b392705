"""What a live source tells about each sensor, for headless status lines and the viewer."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

State = Literal["scanning", "connecting", "streaming", "reconnecting", "lost", "stopped", "replay"]


@dataclass(frozen=True)
class SensorStatus:
    """One sensor's live state. ``loss_pct`` = lost / (received + lost) samples, in per cent.

    ``latency_ms`` is the median delay of a packet's newest sample, from its time (device
    clock mapped onto the session clock) to its arrival, over the last packets: the delay
    beyond the link's fastest packets (the mapping absorbs the latency floor, which the host
    cannot observe); it grows when packets bunch or the host falls behind. None until known.
    ``clipped`` counts samples at the sensor's full scale (real motion, cut off: angles and
    onsets from them are less certain); ``implausible`` counts samples with impossible
    values (non-finite, |a| > 50 g, |w| > 50 rad/s), dropped and included in ``lost_samples``.
    """

    segment: str
    name: str | None
    address: str | None
    driver: str | None
    state: State
    rate_hz: float | None = None
    received: int = 0
    lost_samples: int = 0
    loss_pct: float = 0.0
    malformed: int = 0
    battery_pct: int | None = None
    latency_ms: float | None = None
    clipped: int = 0  # samples with an axis at the sensor's full scale (saturated)
    implausible: int = 0  # samples with impossible values, dropped and counted in lost_samples

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One headless status line: segment, state, sensor, rate, received, lost, extras."""
        rate = "   - Hz" if self.rate_hz is None else f"{self.rate_hz:5.1f} Hz"
        extra = []
        if self.malformed:
            extra.append(f"malformed {self.malformed}")
        if self.clipped:
            extra.append(f"CLIPPED {self.clipped}")
        if self.implausible:
            extra.append(f"impossible {self.implausible}")
        if self.battery_pct is not None:
            extra.append(f"battery {self.battery_pct}%")
        if self.latency_ms is not None:
            extra.append(f"latency {self.latency_ms:.1f} ms")
        who = self.name or self.address or "?"
        return (
            f"{self.segment:<7} {self.state:<12} {who} [{self.driver or '-'}]  {rate}  "
            f"rx {self.received}  lost {self.lost_samples} ({self.loss_pct:.2f}%)"
            + ("  " + "  ".join(extra) if extra else "")
        )

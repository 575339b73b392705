"""The one interface every sensor family implements (bleak-style: one front end, many drivers).

A driver knows three things about its family: how to recognise a device from its
advertisement, how to configure it and start streaming over a connected ``BleakClient``,
and how to decode one notification into samples in SI units. Virtual sensors speak the same
bytes, built with the same module's ``encode_*`` helpers, so decoders are exercised by the
real BLE path in tests.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from bleak import BleakClient

G = 9.80665
#: Physically impossible for a sensor on a lifter's body: decoders mark such samples (and
#: non-finite ones) ``DecodedPacket.bad``; the client drops them and counts them as lost.
MAX_ACC = 50.0 * G  # m/s^2
MAX_GYR = 50.0  # rad/s (2865 deg/s)


def implausible(acc: np.ndarray, gyr: np.ndarray) -> np.ndarray | None:
    """Mask of samples with a non-finite or impossible value (|a| > 50 g, |w| > 50 rad/s on
    any axis), or None when every sample is fine."""
    with np.errstate(invalid="ignore"):
        bad = ~(
            np.isfinite(acc).all(axis=1)
            & np.isfinite(gyr).all(axis=1)
            & (np.abs(acc) <= MAX_ACC).all(axis=1)
            & (np.abs(gyr) <= MAX_GYR).all(axis=1)
        )
    return bad if bad.any() else None


class PacketError(ValueError):
    """A notification that does not parse: counted and skipped by the client, never fatal."""


@dataclass(frozen=True)
class DecodedPacket:
    """Samples from one notification.

    ``acc`` (N, 3) m/s^2 and ``gyr`` (N, 3) rad/s in the sensor frame. ``device_t`` (N,)
    seconds on the device clock; families without timestamps (WitMotion) give a clock
    reconstructed from the sample index and nominal rate (``DeviceInfo.timestamps``).
    ``seq`` is the sample counter of the first sample (wrapping as the family defines;
    ``seq_modulus`` gives the wrap); families without a counter (Movesense, WitMotion) give
    the sample index the driver inferred, with ``seq_modulus`` None. ``flags`` carries
    family flags such as ``{"fifo_overflow": True, "acc_clipped": False}``.

    ``lost`` is the number of samples missing between the previous decoded packet of this
    device and this one, as the family's own evidence says (exact from sample counters on
    the hinge profile, from timestamps on Movesense, estimated from arrival times on
    WitMotion). Decoders keep this state across reconnects, so a link drop is counted too;
    the client sums ``lost`` and never interpolates over it. ``device_t`` is unwrapped
    (monotonic) device time; pair ``device_t[-1]`` (the newest sample) with the arrival time
    when fitting the clock (``firmware_bridge.clock``). A packet may hold zero samples (a
    command response, the first half of a split Movesense frame, WitMotion notifications
    held after a gap).

    ``bad`` (N,) marks samples whose values are impossible (``implausible``): they keep
    their place in the numbering and timing, but the client drops them and counts them
    as lost, so they never reach the pipeline or a recording. ``clipped`` is the number of
    samples with an axis at the sensor's full scale (saturated: real, but cut off).
    """

    acc: np.ndarray
    gyr: np.ndarray
    device_t: np.ndarray | None = None
    seq: int | None = None
    seq_modulus: int | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    lost: int = 0
    bad: np.ndarray | None = None
    clipped: int = 0

    def __len__(self) -> int:
        return len(self.acc)


@dataclass(frozen=True)
class DeviceInfo:
    """What a driver learned about a device while starting it (goes into session.json)."""

    driver: str
    name: str | None = None
    address: str | None = None
    firmware: str | None = None
    model: str | None = None
    rate_hz: float | None = None
    placement: str | None = None
    battery_pct: int | None = None
    timestamps: str = "device"  # "device" or "reconstructed" (from nominal rate + arrival)
    extra: dict[str, Any] = field(default_factory=dict)


class SensorDriver(ABC):
    """One sensor family. Instances hold per-device decoding state (one per connected device)."""

    name: ClassVar[str]
    #: Service UUIDs (lower-case 128-bit strings) that identify the family in advertisements.
    service_uuids: ClassVar[tuple[str, ...]]
    #: Largest plausible drift of the family's device clock against the host's, for the
    #: clock fit (``DeviceClock(max_drift=driver.max_clock_drift)``): crystal clocks stay
    #: well inside 1000 ppm; clocks reconstructed from a nominal rate can be off by per cent.
    max_clock_drift: ClassVar[float] = 1e-3

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        #: The session clock (the client sets it): host time of configuration steps, on the
        #: same clock as ``decode``'s ``arrival``.
        self.clock: Callable[[], float] | None = None

    @property
    def period_s(self) -> float:
        """The device's sample period as measured so far (device-clock seconds)."""
        return 1.0 / self.rate_hz

    @classmethod
    @abstractmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        """True if an advertisement (local name, advertised service UUIDs) is this family."""

    @abstractmethod
    async def start(self, client: BleakClient, on_data: Callable[[bytes], None]) -> DeviceInfo:
        """Configure a connected ``BleakClient`` and subscribe; ``on_data`` gets raw bytes.

        ``on_data`` must only queue (it runs inside the BLE stack's callback)."""

    @abstractmethod
    async def stop(self, client: BleakClient) -> None:
        """Unsubscribe and stop streaming (best effort: the link may already be gone)."""

    @abstractmethod
    def decode(self, data: bytes, arrival: float | None = None) -> DecodedPacket:
        """Parse one notification strictly; raise ``PacketError`` on anything malformed.

        ``arrival`` is the host time (seconds, session clock) the notification arrived.
        Families without device timestamps (WitMotion) need it to reconstruct sample times;
        the others ignore it. Decoding is stateful per device (loss, unwrapping): use one
        driver instance per device and feed packets in arrival order."""


BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"  # standard Battery service 0x180F


async def read_battery(client: BleakClient) -> int | None:
    """Battery level in percent from the standard Battery service, None when unavailable."""
    try:
        data = bytes(await client.read_gatt_char(BATTERY_LEVEL_UUID))
    except Exception:  # optional service: any failure means "not available"
        return None
    return data[0] if len(data) == 1 and data[0] <= 100 else None


async def best_effort(*steps: Awaitable[object]) -> None:
    """Await each step, ignoring failures: stopping a sensor whose link may already be gone
    must not fail the session's shutdown."""
    for step in steps:
        with contextlib.suppress(Exception):
            await step

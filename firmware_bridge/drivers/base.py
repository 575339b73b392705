"""The one interface every sensor family implements (bleak-style: one front end, many drivers).

A driver knows three things about its family: how to recognise a device from its
advertisement, how to configure it and start streaming over a connected ``BleakClient``,
and how to decode one notification into samples in SI units. Virtual sensors speak the same
bytes, built with the same module's ``encode_*`` helpers, so decoders are exercised by the
real BLE path in tests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np


class PacketError(ValueError):
    """A notification that does not parse: counted and skipped by the client, never fatal."""


@dataclass(frozen=True)
class DecodedPacket:
    """Samples from one notification.

    ``acc`` (N, 3) m/s^2 and ``gyr`` (N, 3) rad/s in the sensor frame. ``device_t`` (N,)
    seconds on the device clock, or None when the family has no timestamps (WitMotion).
    ``seq`` is the sample counter of the first sample (wrapping as the family defines;
    ``seq_modulus`` gives the wrap), or None when the family has none. ``flags`` carries
    family flags such as ``{"fifo_overflow": True, "clipped": False}``.
    """

    acc: np.ndarray
    gyr: np.ndarray
    device_t: np.ndarray | None = None
    seq: int | None = None
    seq_modulus: int | None = None
    flags: dict[str, bool] = field(default_factory=dict)

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
    extra: dict = field(default_factory=dict)


class SensorDriver(ABC):
    """One sensor family. Instances hold per-device decoding state (one per connected device)."""

    name: ClassVar[str]
    #: Service UUIDs (lower-case 128-bit strings) that identify the family in advertisements.
    service_uuids: ClassVar[tuple[str, ...]]

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz

    @classmethod
    @abstractmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        """True if an advertisement (local name, advertised service UUIDs) is this family."""

    @abstractmethod
    async def start(self, client, on_data: Callable[[bytes], None]) -> DeviceInfo:
        """Configure a connected ``BleakClient`` and subscribe; ``on_data`` gets raw bytes.

        ``on_data`` must only queue (it runs inside the BLE stack's callback)."""

    @abstractmethod
    async def stop(self, client) -> None:
        """Unsubscribe and stop streaming (best effort: the link may already be gone)."""

    @abstractmethod
    def decode(self, data: bytes) -> DecodedPacket:
        """Parse one notification strictly; raise ``PacketError`` on anything malformed."""

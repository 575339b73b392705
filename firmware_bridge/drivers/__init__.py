"""Sensor drivers, one per family, and the registry the client uses to pick one.

``driver_for(name, service_uuids)`` looks at an advertisement (local name and advertised
service UUIDs) and returns the driver class of the first family that claims it, or None:
the client connects only to devices some driver (or the user's saved addresses) accepts.
"""

from __future__ import annotations

from firmware_bridge.drivers.base import DecodedPacket, DeviceInfo, PacketError, SensorDriver
from firmware_bridge.drivers.hinge_profile import HingeProfileDriver
from firmware_bridge.drivers.movesense import MovesenseDriver
from firmware_bridge.drivers.witmotion import WitMotionDriver

#: Supported families, most specific first (the hinge profile is matched by its own UUID).
DRIVERS: list[type[SensorDriver]] = [HingeProfileDriver, MovesenseDriver, WitMotionDriver]


def driver_for(name: str | None, service_uuids: list[str] | tuple[str, ...]) -> type[SensorDriver] | None:
    """The driver class for an advertisement, or None when no supported family matches."""
    uuids = [u.lower() for u in service_uuids]
    for driver in DRIVERS:
        if driver.matches(name, uuids):
            return driver
    return None


def driver_by_name(name: str) -> type[SensorDriver]:
    """The driver class registered as ``name`` (as stored in session.json / saved sensors)."""
    for driver in DRIVERS:
        if driver.name == name:
            return driver
    raise KeyError(f"no sensor driver named {name!r} (known: {[d.name for d in DRIVERS]})")


__all__ = [
    "DRIVERS",
    "DecodedPacket",
    "DeviceInfo",
    "HingeProfileDriver",
    "MovesenseDriver",
    "PacketError",
    "SensorDriver",
    "WitMotionDriver",
    "driver_by_name",
    "driver_for",
]

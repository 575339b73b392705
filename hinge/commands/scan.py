"""`hinge scan`: the sensors in range, with name, address, driver and signal strength.

Lists every advertising device a hinge driver recognises (``--all``: every device), so the
user can pick IDs for ``hinge stream --thigh ID --lumbar ID``. ``--virtual`` scans a virtual
radio with one virtual sensor of each supported family, through the same bleak path. On a
machine without Bluetooth it says so in one line and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio

from hinge.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scan",
        description="Scan for Bluetooth LE IMU sensors hinge can stream from.",
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="how long to scan (default 5 s)")
    p.add_argument("--all", action="store_true", help="also list devices no driver recognises")
    p.add_argument(
        "--virtual", action="store_true", help="scan a virtual radio with one virtual sensor per supported family"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.timeout > 0:
        raise UsageError(f"--timeout: must be positive, got {args.timeout}")
    found = asyncio.run(_scan_virtual(args.timeout) if args.virtual else _scan(args.timeout))
    rows = [f for f in found.values() if args.all or f.driver is not None]
    rows.sort(key=lambda f: -f.adv.rssi)
    if not rows:
        print(f"no sensors found in {args.timeout:g} s")
        return 1
    print(f"{'name':<20} {'address':<18} {'driver':<10} {'RSSI':>5}")
    for f in rows:
        driver = f.driver.name if f.driver else "-"
        print(f"{(f.name or '?'):<20} {f.address:<18} {driver:<10} {f.adv.rssi:>5}")
    return 0


async def _scan(timeout: float):
    from firmware_bridge.client import scan

    return await scan(timeout)


async def _scan_virtual(timeout: float):
    """One virtual sensor per family on a virtual radio, found by bleak over bumble."""
    import numpy as np

    from firmware_bridge.client import scan
    from firmware_bridge.virtual.backend import BumbleScanner
    from firmware_bridge.virtual.peripheral import SampleSource
    from firmware_bridge.virtual.session import NAMES, sensor_class
    from firmware_bridge.virtual.world import VirtualWorld

    t = np.arange(0.0, 1.0, 1 / 200)  # never streamed: a sensor lying still is enough
    source = SampleSource(t, np.tile([0.0, 0.0, 9.81], (len(t), 1)), np.zeros((len(t), 3)))
    async with VirtualWorld() as world:
        for family in NAMES:
            sensor = sensor_class(family)(NAMES[family].format("1"), source)
            await world.add(sensor)
        return await scan(min(timeout, 1.0), backend=BumbleScanner, want=lambda found: len(found) >= len(NAMES))

"""The virtual radio world: one ``VirtualLink``, the host's central, the sensors, one clock.

Everything that speaks over the virtual link lives in one event loop (bumble's virtual
controllers must be created inside the running loop). A ``VirtualWorld`` is an async
context manager that installs itself as the current world, so that bleak, which builds
its backend objects itself (``BleakScanner(backend=BumbleScanner)``), finds the link and the
central without extra arguments.

``now()`` is the world clock: the running event loop's clock (``loop.time()``, the one
asyncio's sleeps and timeouts use), times ``speed``, from the world's start. ``speed`` runs
the virtual sensors' sample clocks faster than the loop's (benchmarks). It serves as the
session clock of a virtual session, so that times stay comparable with the sensors' ground
truth at any speed. On an ordinary loop that is real time (the demo); on a
``VirtualTimeLoop`` (``virtual_time``) it is virtual time, so that a run does not depend on
how busy the machine is.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from bumble import hci
from bumble.device import Device
from bumble.transport.common import AsyncPipeSink

from firmware_bridge.virtual.controller import QuietHost, VirtualController, VirtualLink

if TYPE_CHECKING:
    from firmware_bridge.virtual.peripheral import VirtualSensor

_current: ContextVar[VirtualWorld | None] = ContextVar("hinge_virtual_world", default=None)
_address_counter = itertools.count(1)


def current_world() -> VirtualWorld:
    """The world installed by the innermost ``async with VirtualWorld()`` of this task."""
    world = _current.get()
    if world is None:
        raise RuntimeError("no virtual BLE world is running (use `async with VirtualWorld():`)")
    return world


def random_static_address() -> hci.Address:
    """A fresh random static address (two top bits set): LocalLink routes by random address."""
    n = next(_address_counter)
    return hci.Address(
        f"C4:1E:{(n >> 24) & 0xFF:02X}:{(n >> 16) & 0xFF:02X}:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}",
        hci.Address.RANDOM_DEVICE_ADDRESS,
    )


class VirtualDevice(Device):
    """A bumble ``Device`` that knows its ``VirtualController`` (faults switch its radio off)."""

    controller: VirtualController


def make_device(link: VirtualLink, name: str, address: hci.Address | None = None) -> VirtualDevice:
    """A bumble ``Device`` (host stack) over its own ``VirtualController`` on ``link``."""
    controller = VirtualController(name, link)
    device = VirtualDevice(
        name=name, address=address or random_static_address(), host=QuietHost(controller, AsyncPipeSink(controller))
    )
    device.controller = controller
    return device


class VirtualWorld:
    """One virtual radio medium with the host's central and any number of virtual sensors."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.link: VirtualLink | None = None
        self.sensors: list[VirtualSensor] = []
        self._central: Device | None = None
        self._central_lock = asyncio.Lock()
        self.connect_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._token: Token[VirtualWorld | None] | None = None
        #: Notifications on the air, per sender address: (bytes, world time it left), in order.
        self._air: dict[str, deque[tuple[bytes, float]]] = {}

    @property
    def running_link(self) -> VirtualLink:
        """The radio medium (there while the world runs)."""
        if self.link is None:
            raise RuntimeError("the virtual world is not running")
        return self.link

    def now(self) -> float:
        """Seconds since the world began, at ``speed`` times its event loop's clock."""
        if self._loop is None:
            raise RuntimeError("the virtual world has not begun (use `async with VirtualWorld():`)")
        return (self._loop.time() - self._t0) * self.speed

    # -- the radio's own clock ----------------------------------------------------------
    def on_air(self, address: str, data: bytes, world_t: float) -> None:
        """A sensor sends ``data`` at world time ``world_t`` (when its radio schedule says
        the notification leaves, not when a busy event loop got round to it)."""
        queue = self._air.setdefault(address.upper(), deque(maxlen=4096))
        queue.append((bytes(data), float(world_t)))

    def arrival(self, address: str, data: bytes) -> float | None:
        """When ``data`` from ``address`` reached the host on the virtual radio: the time it
        left the sensor (the link itself adds no latency; jitter and bunching are the
        sensor's faults). None for a notification the sensor did not announce (command
        responses): the caller then uses its own clock.

        This is what makes the virtual session's timing independent of the machine's load:
        the host's clock fit sees the radio's timing, not the event loop's scheduling delay.
        Delivery is in order, so entries before the match were never delivered (sent into a
        link that was dropping) and are forgotten."""
        queue = self._air.get(address.upper())
        if not queue:
            return None
        data = bytes(data)
        for i, (d, t) in enumerate(queue):
            if d == data:
                for _ in range(i + 1):
                    queue.popleft()
                return t
        return None

    async def __aenter__(self) -> VirtualWorld:
        self.link = VirtualLink()
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._token = _current.set(self)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for sensor in self.sensors:
            await sensor.close()
        if self.link is not None:
            self.link.close()
        if self._token is not None:
            _current.reset(self._token)

    async def add(self, sensor: VirtualSensor) -> None:
        """Power a virtual sensor on (it starts advertising) and keep it for clean-up."""
        await sensor.power_on(self)
        self.sensors.append(sensor)

    async def central(self) -> Device:
        """The host-side bumble device under the bleak backend (created on first use)."""
        async with self._central_lock:
            if self._central is None:
                device = make_device(self.running_link, "hinge-host")
                await device.power_on()
                self._central = device
            return self._central

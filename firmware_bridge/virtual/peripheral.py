"""Virtual sensors: bumble GATT peripherals that stream a lifter's samples on the world clock.

A ``VirtualSensor`` is a bumble ``Device`` on the world's ``VirtualLink`` with the GATT
layout of one sensor family, fed by a ``SampleSource`` (the virtual lifter's IMU columns, or
a recording's). It advertises with name and service UUID in the advertising data itself
(bumble's virtual controller does not transmit scan responses), streams once the host
starts it, keeps sampling through link drops (what it cannot send is lost, as on a real
sensor), and logs exactly what it sent: the ground truth tests compare recordings with.

Sensors of one ``VirtualLifter`` begin the movement together, once every one of them is
streaming, so the thigh and lumbar data describe the same instants of the same set.

The bytes come from the families' own encoders (``firmware_bridge.drivers.*``): the
virtual path exercises the real decoders. Subclasses define one family each.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection
from bumble.gatt import Characteristic, CharacteristicValue, Service

from firmware_bridge.virtual.faults import NO_FAULTS, Faults
from firmware_bridge.virtual.world import VirtualDevice, VirtualWorld, make_device

if TYPE_CHECKING:
    import pandas as pd

ADVERTISING_INTERVAL_MS = 100
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True)
class SampleSource:
    """What a virtual sensor measures: ``t`` (N,) s since the movement's origin (shared by
    the sensors of one lifter, so their samples keep their true relative timing),
    ``acc`` (N, 3) m/s^2, ``gyr`` (N, 3) rad/s, sensor frame, uniformly sampled."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    @property
    def rate_hz(self) -> float:
        return float((len(self.t) - 1) / (self.t[-1] - self.t[0]))

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> SampleSource:
        """From a recording/simulation DataFrame with columns ``t,ax,ay,az,gx,gy,gz``."""
        return cls(
            df["t"].to_numpy(dtype=float),
            df[["ax", "ay", "az"]].to_numpy(dtype=float),
            df[["gx", "gy", "gz"]].to_numpy(dtype=float),
        )

    def cut(self, duration_s: float) -> SampleSource:
        """Only the samples before ``duration_s``."""
        n = int(np.searchsorted(self.t, duration_s))
        return SampleSource(self.t[:n], self.acc[:n], self.gyr[:n])

    def resampled(self, rate_hz: float) -> SampleSource:
        """The same movement at another rate (linear interpolation): a sensor set to a
        different output data rate samples the same motion at other instants."""
        if abs(rate_hz - self.rate_hz) < 1e-6 * rate_hz:
            return self
        t = np.arange(self.t[0], self.t[-1] + 1e-12, 1.0 / rate_hz)
        interp = [np.interp(t, self.t, col) for col in (*self.acc.T, *self.gyr.T)]
        return SampleSource(t, np.column_stack(interp[:3]), np.column_stack(interp[3:]))


class VirtualLifter:
    """Starts the movement of a group of sensors together, once all of them stream."""

    def __init__(self) -> None:
        self.members: list[VirtualSensor] = []
        self._ready: set[int] = set()
        self.t0: float | None = None
        self.started = asyncio.Event()

    def join(self, sensor: VirtualSensor) -> None:
        self.members.append(sensor)

    def ready(self, sensor: VirtualSensor, now: float) -> None:
        self._ready.add(id(sensor))
        if self.t0 is None and len(self._ready) == len(self.members):
            self.t0 = now
            self.started.set()


@dataclass
class SentLog:
    """Ground truth of one sensor: which samples left the sensor, when (world time), and
    how many were lost on purpose (link down, skipped) or sent malformed."""

    index: list[np.ndarray]
    world_t: list[np.ndarray]
    device_t: list[np.ndarray]
    lost_link_down: int = 0
    skipped: int = 0
    malformed: int = 0
    huge: int = 0  # samples sent with an absurd value

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.index:
            return np.empty(0, int), np.empty(0), np.empty(0)
        return (np.concatenate(self.index), np.concatenate(self.world_t), np.concatenate(self.device_t))


class VirtualSensor(ABC):
    """One virtual IMU. Subclasses give the family's GATT layout and bytes."""

    family: str = ""
    samples_per_packet: int = 1
    #: Full scales (m/s^2, rad/s) the family's IMU saturates at; None: the encoder does.
    acc_full_scale: float | None = None
    gyr_full_scale: float | None = None

    def __init__(
        self,
        name: str,
        source: SampleSource,
        *,
        faults: Faults = NO_FAULTS,
        lifter: VirtualLifter | None = None,
        battery_pct: int = 87,
        keep_log: bool = True,
    ) -> None:
        self.name = name
        self.source = source
        self.rate_hz = source.rate_hz
        self.faults = faults
        self.lifter = lifter or VirtualLifter()
        self.lifter.join(self)
        self.battery_pct = battery_pct
        self.device: VirtualDevice | None = None
        self.world: VirtualWorld | None = None
        self.connection: Connection | None = None
        self.subscribed = False
        self.streaming = False
        self.log = SentLog([], [], [])
        self.keep_log = keep_log  # off for long runs: the log grows with every sample
        self.stream_started: float | None = None  # world time the lifter started moving
        self.readvertised_at: float | None = None  # world time advertising resumed after a drop
        self.vanished_at: float | None = None  # world time the radio went silent
        self._tasks: list[asyncio.Task[Any]] = []
        self._rng = random.Random(faults.seed)
        self._vanished = False
        self._dropping = False
        self.closing = False  # switched off for good: never advertise again
        self.sent_packets = 0
        self.finished = asyncio.Event()  # set once the whole source has been streamed

    # -- addresses and clocks ---------------------------------------------------------
    @property
    def radio(self) -> VirtualDevice:
        """The sensor's bumble device (there once powered on)."""
        if self.device is None:
            raise RuntimeError(f"{self.name}: not powered on")
        return self.device

    @property
    def running_world(self) -> VirtualWorld:
        """The world the sensor was powered on in."""
        if self.world is None:
            raise RuntimeError(f"{self.name}: not powered on")
        return self.world

    @property
    def address(self) -> str:
        return self.radio.random_address.to_string(with_type_qualifier=False).upper()

    def device_time(self, world_t: np.ndarray) -> np.ndarray:
        """The device clock at world times: the world clock plus the fault's offset, running
        fast by its ppm (so two sensors' clocks differ by exactly what their faults say)."""
        f = self.faults
        world_t = np.asarray(world_t)
        t = f.clock_offset_s + (1.0 + f.clock_ppm * 1e-6) * world_t
        for at_s, jump_s in f.clock_jumps:
            t = t + np.where(world_t >= (self.stream_started or 0.0) + at_s, jump_s, 0.0)
        return t

    def samples(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray]:
        """What the IMU measured for samples ``k0..k1-1``: the source, saturated at the
        family's full scale, with the ``huge`` fault's absurd values."""
        acc = self.source.acc[k0:k1].copy()
        gyr = self.source.gyr[k0:k1].copy()
        if self.acc_full_scale is not None:
            np.clip(acc, -self.acc_full_scale, self.acc_full_scale, out=acc)
        if self.gyr_full_scale is not None:
            np.clip(gyr, -self.gyr_full_scale, self.gyr_full_scale, out=gyr)
        for at_s, count in self.faults.huge:
            k = int(np.searchsorted(self.source.t, at_s))
            rows = np.arange(max(k, k0), min(k + count, k1)) - k0
            acc[rows, 0] = 1e20
        return acc, gyr

    def counter(self, k: int) -> int:
        """The sample counter the device sends for sample ``k`` (the ``seq_jumps`` fault)."""
        return k + sum(n for at_s, n in self.faults.seq_jumps if self.source.t[k] >= at_s)

    # -- family interface ---------------------------------------------------------------
    @abstractmethod
    def services(self) -> list[Service]:
        """The GATT services; the data characteristic is ``self.data_char``."""

    @abstractmethod
    def advertised_uuid(self) -> str:
        """The service UUID put in the advertising data."""

    @abstractmethod
    def encode(self, k0: int, k1: int, device_t: np.ndarray) -> bytes:
        """One notification carrying samples ``k0..k1-1`` with their device times."""

    @abstractmethod
    def malformed(self, good: bytes) -> bytes:
        """A broken notification the family's decoder must reject (from a good one)."""

    # -- power and advertising ----------------------------------------------------------
    async def power_on(self, world: VirtualWorld) -> None:
        self.world = world
        self.device = make_device(world.running_link, self.name)
        self.data_char: Characteristic[Any]
        for service in self.services():
            self.radio.add_service(service)
        self.radio.on("connection", self._on_connection)
        self.data_char.on("subscription", self._on_subscription)
        await self.radio.power_on()
        await self._advertise()

    def advertising_data(self) -> bytes:
        """Flags, the family's service UUID and the name, all in the advertising PDU."""
        uuid = UUID(self.advertised_uuid())
        uuid_type = (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS
            if len(uuid.uuid_bytes) == 2
            else AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS
        )
        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.FLAGS, bytes([0x06])),
                    (uuid_type, uuid.to_bytes()),
                    (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
                ]
            )
        )

    async def _advertise(self) -> None:
        self.radio.advertising_data = self.advertising_data()
        await self.radio.start_advertising(
            advertising_interval_min=ADVERTISING_INTERVAL_MS, advertising_interval_max=ADVERTISING_INTERVAL_MS
        )

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        connection.on("disconnection", lambda reason: self._on_disconnection(connection))

    def _on_disconnection(self, connection: Connection) -> None:
        if connection is not self.connection:
            return
        self.connection = None
        self.subscribed = False
        if not (self._vanished or self._dropping or self.closing):
            self._spawn(self._advertise())

    def _on_subscription(self, bearer: object, notify: bool, indicate: bool) -> None:
        self.subscribed = notify or indicate

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.append(task)
        self._tasks = [t for t in self._tasks if not t.done()]
        return task

    async def close(self) -> None:
        self.closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # shutting down: nothing to report
                pass
        self._tasks.clear()

    # -- streaming ------------------------------------------------------------------------
    def start_streaming(self) -> None:
        """The host started the stream: from now on the sensor samples (once the lifter moves)."""
        if self.streaming:
            return
        self.streaming = True
        self._spawn(self._stream())

    def stop_streaming(self) -> None:
        self.streaming = False

    async def _sleep_until(self, world_t: float) -> None:
        delay = (world_t - self.running_world.now()) / self.running_world.speed
        if delay > 0:
            await asyncio.sleep(delay)

    def _runs(self) -> list[tuple[int, int]]:
        """Packets as (k0, k1) ranges, with the skipped samples (FIFO overflow) left out."""
        n = len(self.source)
        keep = np.ones(n, bool)
        for at_s, count in self.faults.skips:
            k = int(np.searchsorted(self.source.t, at_s))
            keep[k : k + count] = False
        self.log.skipped = int((~keep).sum())
        ranges = []
        edges = np.flatnonzero(np.diff(np.r_[False, keep, False].astype(int)))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            for k0 in range(a, b, self.samples_per_packet):
                ranges.append((int(k0), int(min(k0 + self.samples_per_packet, b))))
        return ranges

    async def _stream(self) -> None:
        if self.stream_started is None:
            self.lifter.ready(self, self.running_world.now())
            await self.lifter.started.wait()
            assert self.lifter.t0 is not None  # set when it started
            t0 = self.lifter.t0
        else:  # STOP then START: a new stream (counter from 0) of the movement from now on
            t0 = self.running_world.now() - float(self.source.t[0])
        self.stream_started = t0
        for at_s, down_s in self.faults.drops:
            self._spawn(self._drop(t0 + at_s, down_s))
        for at_s, for_s in self.faults.vanish:
            self._spawn(self._vanish(t0 + at_s, for_s))
        src_t = self.source.t
        pending: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        release = t0
        for k0, k1 in self._runs():
            if not self.streaming:
                break
            world_t = t0 + src_t[k0:k1]
            release = max(release, world_t[-1] + self._rng.uniform(0.0, self.faults.jitter_s))
            pending.append((k0, k1, world_t, self.device_time(world_t)))
            if len(pending) < self.faults.bunch:
                continue
            await self._sleep_until(release)
            await self._send(pending, release)
            pending = []
        if pending:
            await self._sleep_until(release)
            await self._send(pending, release)
        self.finished.set()

    async def _send(self, packets: list[tuple[int, int, np.ndarray, np.ndarray]], air_t: float) -> None:
        """Notify ``packets``, which leave the radio at world time ``air_t``."""
        for k0, k1, world_t, device_t in packets:
            if not (self.connection is not None and self.subscribed and not self._vanished):
                self.log.lost_link_down += k1 - k0
                continue
            data = self.encode(k0, k1, device_t)
            self.log.huge += sum(
                max(0, min(k + c, k1) - max(k, k0))
                for k, c in ((int(np.searchsorted(self.source.t, a)), c) for a, c in self.faults.huge)
            )
            self.running_world.on_air(self.address, data, air_t)
            await self.radio.notify_subscriber(self.connection, self.data_char, data)
            if self.keep_log:
                self.log.index.append(np.arange(k0, k1))
                self.log.world_t.append(world_t)
                self.log.device_t.append(device_t)
            self.sent_packets += 1
            every = self.faults.malformed_every
            if every and self.sent_packets % every == 0 and self.connection is not None:
                bad = self.malformed(data)
                self.running_world.on_air(self.address, bad, air_t)
                await self.radio.notify_subscriber(self.connection, self.data_char, bad)
                self.log.malformed += 1

    # -- faults ---------------------------------------------------------------------------
    async def _drop(self, at: float, down_s: float) -> None:
        """Terminate the link, stay away ``down_s``, then advertise again."""
        await self._sleep_until(at)
        self._dropping = True
        try:
            if self.radio.is_advertising:
                await self.radio.stop_advertising()
            if self.connection is not None:
                await self.connection.disconnect()
            await self._sleep_until(at + down_s)
        finally:
            self._dropping = False
        self.readvertised_at = self.running_world.now()
        await self._advertise()

    async def _vanish(self, at: float, for_s: float | None) -> None:
        """Radio silence: the link layer times out on both ends; back later if ``for_s``."""
        await self._sleep_until(at)
        self._vanished = True
        self.vanished_at = self.running_world.now()
        self.running_world.running_link.set_radio(self.radio.controller, False)
        if for_s is None:
            return
        await self._sleep_until(at + for_s)
        self.running_world.running_link.set_radio(self.radio.controller, True)
        self._vanished = False
        if self.connection is None and not self.radio.is_advertising:
            await self._advertise()

    # -- common GATT pieces -----------------------------------------------------------------
    def battery_service(self) -> Service:
        level = Characteristic(
            BATTERY_LEVEL_UUID, Characteristic.Properties.READ, Characteristic.READABLE, bytes([self.battery_pct])
        )
        return Service(BATTERY_SERVICE_UUID, [level])


def read_only(uuid: str, value: bytes) -> Characteristic[Any]:
    return Characteristic(uuid, Characteristic.Properties.READ, Characteristic.READABLE, value)


def dynamic(
    uuid: str,
    properties: Characteristic.Properties,
    read: Callable[[Connection], bytes] | None = None,
    write: Callable[[Connection, bytes], None] | None = None,
) -> Characteristic[Any]:
    perms = Characteristic.Permissions(0)
    if read:
        perms |= Characteristic.READABLE
    if write:
        perms |= Characteristic.WRITEABLE
    return Characteristic(uuid, properties, perms, CharacteristicValue(read=read, write=write))

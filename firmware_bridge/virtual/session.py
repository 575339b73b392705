"""``VirtualSession``: two virtual sensors and the real client, as one live source.

The demo and ``hinge stream --virtual`` need a source that looks exactly like a live BLE
session (async context manager + async iterator of ``SampleBatch`` + ``status()``), but
whose sensors exist only in this process. This wraps a ``VirtualWorld`` with one virtual
sensor per segment, and a ``SensorSession`` that finds and drives them through bleak's own
``BleakScanner``/``BleakClient`` over the bumble backend. The iteration ends when the
virtual sensors have sent all their data.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from firmware_bridge.client import SensorSession
from firmware_bridge.virtual.backend import BumbleClient, BumbleScanner
from firmware_bridge.virtual.faults import NO_FAULTS, Faults
from firmware_bridge.virtual.peripheral import SampleSource, VirtualLifter, VirtualSensor
from firmware_bridge.virtual.world import VirtualWorld

if TYPE_CHECKING:
    from firmware_bridge.status import SensorStatus
    from processing.recording import RecordingWriter
    from processing.samples import SampleBatch

#: After the virtual sensors have sent everything, wait this long (on the event loop's clock)
#: for the last notifications to be decoded before ending the session. On a
#: ``VirtualTimeLoop`` that wait ends only once everything in flight has been delivered and
#: decoded; in real time a busy machine may still have some in flight.
DRAIN_S = 0.3
#: Virtual sensor names per family: short, so name + 128-bit UUID fit one advertising PDU.
NAMES = {"hinge": "hinge-{}", "movesense": "Movesense {}", "witmotion": "WT901BLE{}"}
SEGMENT_TAGS = {"thigh": "T", "lumbar": "L", "shank": "S", "upper_back": "U"}


def sensor_class(family: str) -> type[VirtualSensor]:
    """The virtual sensor class of a family (``hinge``, ``movesense`` or ``witmotion``)."""
    if family == "hinge":
        from firmware_bridge.virtual.hinge_sensor import HingeSensor

        return HingeSensor
    if family == "movesense":
        from firmware_bridge.virtual.movesense_sensor import MovesenseSensor

        return MovesenseSensor
    if family == "witmotion":
        from firmware_bridge.virtual.witmotion_sensor import WitMotionSensor

        return WitMotionSensor
    raise ValueError(f"unknown sensor family {family!r} (hinge, movesense, witmotion)")


def simulated_sources(
    duration_s: float | None = None,
    seed: int = 0,
    rate_hz: float = 200.0,
    reps: int = 5,
    patterns: tuple[str, ...] = ("knee-first",),
) -> dict[str, SampleSource]:
    """The virtual lifter's thigh and lumbar IMU data for one set (``processing.simulator``).

    The set is padded with standing (or cut) to ``duration_s`` when given. The simulator's
    own clock errors are switched off: the virtual sensors' device clocks add theirs
    (``Faults.clock_ppm``/``clock_offset_s``) on top of the true sample instants.
    """
    from processing.simulator import SimConfig, simulate

    cfg = SimConfig(
        patterns=list(patterns),
        reps=reps,
        seed=seed,
        rates_hz={"thigh": rate_hz, "lumbar": rate_hz},
        clock_offset_s=0.0,
        clock_drift_ppm=0.0,
    )
    sim = simulate(cfg)
    if duration_s is not None and sim.details["duration_s"] < duration_s:
        cfg.end_stand_s += duration_s - sim.details["duration_s"] + 1.0 / rate_hz
        sim = simulate(cfg)
    sources = {seg: SampleSource.from_frame(df) for seg, df in sim.imu.items()}
    if duration_s is not None:
        sources = {seg: src.cut(duration_s) for seg, src in sources.items()}
    return sources


class VirtualSession:
    """A live source of virtual sensors (one per segment of ``sources``) through bleak."""

    def __init__(
        self,
        sources: dict[str, SampleSource],
        *,
        family: str = "hinge",
        speed: float = 1.0,
        faults: dict[str, Faults] | None = None,
        writer: RecordingWriter | None = None,
        rate_hz: float = 200.0,
        scan_timeout: float = 5.0,
        keep_log: bool = True,
    ) -> None:
        self.sources = sources
        self.family = family
        self.speed = speed
        self.faults = faults or {}
        self.writer = writer
        self.rate_hz = rate_hz
        self.scan_timeout = scan_timeout
        self.keep_log = keep_log
        self.world: VirtualWorld | None = None
        self.sensors: dict[str, VirtualSensor] = {}
        self.session: SensorSession | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._ender: asyncio.Task[None] | None = None

    async def __aenter__(self) -> VirtualSession:
        cls = sensor_class(self.family)
        async with contextlib.AsyncExitStack() as stack:
            self.world = await stack.enter_async_context(VirtualWorld(self.speed))
            lifter = VirtualLifter()
            for seg, source in self.sources.items():
                name = NAMES[self.family].format(SEGMENT_TAGS.get(seg, seg))
                sensor = cls(
                    name, source, lifter=lifter, faults=self.faults.get(seg, NO_FAULTS), keep_log=self.keep_log
                )
                await self.world.add(sensor)
                self.sensors[seg] = sensor
            self.session = SensorSession(
                {seg: s.name for seg, s in self.sensors.items()},
                scanner_backend=BumbleScanner,
                client_backend=BumbleClient,
                clock=self.world.now,
                scan_timeout=self.scan_timeout,
                rate_hz=self.rate_hz,
                writer=self.writer,
                remember=False,
                backend_kwargs={"world": self.world},
                air_clock=self.world.arrival,
            )
            await stack.enter_async_context(self.session)
            self._ender = asyncio.get_running_loop().create_task(self._end_when_sent())
            self._stack = stack.pop_all()
        return self

    async def _end_when_sent(self) -> None:
        await asyncio.gather(*(s.finished.wait() for s in self.sensors.values()))
        await asyncio.sleep(DRAIN_S)
        await self.sensor_session.close()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ender is not None:
            self._ender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ender
            self._ender = None
        for sensor in self.sensors.values():
            sensor.closing = True
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    @property
    def sensor_session(self) -> SensorSession:
        """The session of the host's side (there once the virtual sensors are up)."""
        if self.session is None:
            raise RuntimeError("the virtual session is not open")
        return self.session

    def now(self) -> float:
        return self.sensor_session.now()

    def finish_counts(self) -> None:
        """See ``SensorSession.finish_counts``."""
        self.sensor_session.finish_counts()

    def status(self) -> list[SensorStatus]:
        return self.sensor_session.status()

    def __aiter__(self) -> VirtualSession:
        return self

    async def __anext__(self) -> SampleBatch:
        return await self.sensor_session.__anext__()

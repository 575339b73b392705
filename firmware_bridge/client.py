"""``SensorSession``: the thigh and lumbar sensors over bleak, as one stream of sample batches.

Scan once, connect serially (concurrent connects break BlueZ and bumble alike), subscribe
through each family's driver, and then yield ``SampleBatch``es on the session clock until
closed. The BLE callbacks only queue raw bytes with their arrival time; decoding, loss
accounting and clock mapping happen in the consumer (``__anext__``), outside the stack.

A dropped link is reconnected in the background with capped exponential backoff while
the other sensor keeps streaming; the samples missed meanwhile are counted from the
device's own counters (``DecodedPacket.lost``), shown live in ``status()``, written to the
recording's ``session.json`` and never interpolated.

The same code drives real sensors (bleak's platform backend) and virtual ones
(``scanner_backend=BumbleScanner, client_backend=BumbleClient`` with ``clock=world.now``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from firmware_bridge import config
from firmware_bridge.clock import DeviceClock
from firmware_bridge.drivers import driver_by_name, driver_for
from firmware_bridge.drivers.base import DeviceInfo, PacketError, SensorDriver
from firmware_bridge.status import SensorStatus, State
from processing.errors import (
    BluetoothError,
    ConfigError,
    NoSensorsError,
    SensorError,
    SensorNotFoundError,
)
from processing.samples import SampleBatch

if TYPE_CHECKING:
    from processing.recording import RecordingWriter

log = logging.getLogger(__name__)

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
#: Reconnect backoff: first retry after BACKOFF_START_S, doubling up to BACKOFF_MAX_S, so a
#: sensor that advertises again is back within about BACKOFF_MAX_S plus one connect.
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 1.0
#: A reconnect attempt waits this long for the sensor to advertise before backing off
#: (short, so two lost sensors take turns on the one-connect-at-a-time lock).
RECONNECT_ATTEMPT_S = 2.0
#: After this long without a link, a reconnecting sensor is shown as "lost" (still retried).
LOST_AFTER_S = 10.0
#: The received rate shown in the status is measured over windows this long.
RATE_WINDOW_S = 1.0
#: At most this many queued notifications are decoded and merged into one step.
MAX_MERGE = 64
#: A gap at the start or end of a sensor's stream longer than this many sample periods is
#: counted as lost (``SensorSession.finish_counts``).
GAP_PERIODS = 1.5
#: The loss before a sensor's first sample (families without a counter) is estimated once
#: its clock fit has this much of its data, and refined when the session ends.
START_ESTIMATE_AFTER_S = 2.0
#: At the session's end, a sensor still streaming whose last sample is older than this is
#: counted as lost up to the end (it went silent).
END_SILENT_S = 0.5
#: Clipped/impossible sample counts go to session.json at most this often (session time).
COUNTS_EVERY_S = 1.0


#: This machine has no usable Bluetooth adapter (the name before ``processing.errors``).
NoBluetoothError = BluetoothError


def no_bluetooth(err: BaseException) -> BluetoothError:
    detail = str(err) or type(err).__name__
    return BluetoothError(f"no Bluetooth adapter available ({detail})")


@dataclass
class Found:
    """One advertising device seen by the scan."""

    device: BLEDevice
    adv: AdvertisementData
    driver: type[SensorDriver] | None

    @property
    def address(self) -> str:
        return self.device.address

    @property
    def name(self) -> str | None:
        return self.adv.local_name or self.device.name


async def scan(
    timeout: float = 5.0,
    *,
    backend: type[BaseBleakScanner] | None = None,
    want: Callable[[dict[str, Found]], bool] | None = None,
    **bleak_kwargs: Any,
) -> dict[str, Found]:
    """Scan once; stop early as soon as ``want(found)`` is true. Errors of a missing adapter
    become ``BluetoothError``."""
    found: dict[str, Found] = {}
    done = asyncio.Event()

    def on_adv(device: BLEDevice, adv: AdvertisementData) -> None:
        found[device.address] = Found(device, adv, driver_for(adv.local_name or device.name, list(adv.service_uuids)))
        if want is not None and want(found):
            done.set()

    kwargs: dict[str, Any] = dict(bleak_kwargs)
    if backend is not None:
        kwargs["backend"] = backend
    try:
        async with BleakScanner(on_adv, **kwargs):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout)
    except (BleakError, OSError) as err:
        raise no_bluetooth(err) from err
    return found


@dataclass
class _Sensor:
    """Live state of one role."""

    segment: str
    wanted: str  # the ID given: an address or a name
    found: Found | None = None
    driver: SensorDriver | None = None
    client: BleakClient | None = None
    state: State = "scanning"
    rate_hz: float | None = None
    received: int = 0
    lost: int = 0
    malformed: int = 0
    implausible: int = 0  # samples with impossible values, dropped (and counted in ``lost``)
    clipped: int = 0  # samples with an axis at full scale
    counts_saved_at: float = -np.inf
    first_t: float | None = None  # session time of the first sample received
    first_device_t: float | None = None  # ... and its device time
    first_resets: int = 0  # clock fit restarts when it came
    start_counted: bool = False  # the driver counted the loss at the start (a counter)
    start_estimated: bool = False  # ... or the client estimated it (start_lost samples)
    start_lost: int = 0
    started_at: float | None = None  # session time the sensor was first started
    battery_pct: int | None = None
    clock: DeviceClock = field(default_factory=DeviceClock)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    measured_rate: float | None = None  # samples/s received over the last RATE_WINDOW_S
    window: tuple[float, int] | None = None  # (start arrival, samples since)
    last_t: float = -np.inf
    next_seq: int | None = None  # unwrapped sample counter of the next sample
    down_since: float | None = None
    reconnect_task: asyncio.Task[None] | None = None

    @property
    def seen(self) -> Found:
        """The advertisement matched to this role (the scan found it)."""
        if self.found is None:
            raise RuntimeError(f"{self.segment} sensor: not found yet")
        return self.found

    @property
    def sensor_driver(self) -> SensorDriver:
        """The driver of the sensor found for this role."""
        if self.driver is None:
            raise RuntimeError(f"{self.segment} sensor: no driver yet")
        return self.driver

    def status(self) -> SensorStatus:
        total = self.received + self.lost
        lat = float(np.median(self.latencies)) * 1000.0 if self.latencies else None
        return SensorStatus(
            segment=self.segment,
            name=self.found.name if self.found else None,
            address=self.found.address if self.found else None,
            driver=self.driver.name if self.driver else None,
            state=self.state,
            rate_hz=self.measured_rate or self.rate_hz,
            received=self.received,
            lost_samples=self.lost,
            loss_pct=100.0 * self.lost / total if total else 0.0,
            malformed=self.malformed,
            clipped=self.clipped,
            implausible=self.implausible,
            battery_pct=self.battery_pct,
            latency_ms=lat,
        )

    def count(self, arrival: float, n: int) -> None:
        """Received-rate bookkeeping, O(1) per packet: a new figure every RATE_WINDOW_S."""
        if self.window is None:
            self.window = (arrival, 0)
            return
        start, k = self.window
        k += n
        if arrival - start >= RATE_WINDOW_S:
            self.measured_rate = k / (arrival - start)
            self.window = (arrival, 0)
        else:
            self.window = (start, k)


def _matches(found: Found, wanted: str) -> bool:
    w = wanted.strip().lower()
    return found.address.lower() == w or (found.name or "").lower() == w


class SensorSession:
    """Async context manager and async iterator of ``SampleBatch`` (session clock).

    ``roles`` maps segment -> sensor ID (address or advertised name); None uses the pair
    saved by the last session. ``clock`` is the session's time base (``time.monotonic`` for
    real sensors, the virtual world's clock for virtual ones); session time 0 is entry.
    ``writer`` (a ``RecordingWriter``) receives loss counts and device details; the batches
    themselves are appended by whoever consumes them (the ``Pipeline``). ``backend_kwargs``
    go to every ``BleakScanner``/``BleakClient`` (e.g. the virtual backend's ``world``).
    ``air_clock(address, data)``, when given, is the time (on ``clock``) a notification
    arrived on the radio, or None to take ``clock()`` as it is queued: the virtual world's
    radio timing, so that a busy machine does not disturb the clock fit of virtual sensors.
    """

    def __init__(
        self,
        roles: dict[str, str] | None = None,
        *,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        clock: Callable[[], float] = time.monotonic,
        scan_timeout: float = 5.0,
        connect_timeout: float = 10.0,
        rate_hz: float = 200.0,
        writer: RecordingWriter | None = None,
        remember: bool = True,
        backend_kwargs: dict[str, Any] | None = None,
        air_clock: Callable[[str, bytes], float | None] | None = None,
    ) -> None:
        saved = {}
        if not roles:
            saved = config.load_sensors()
            roles = {seg: entry["address"] for seg, entry in saved.items()}
            if not roles:
                raise NoSensorsError("no sensors given and none saved")
        self._saved = saved or config.load_sensors()
        self._sensors = {seg: _Sensor(seg, wanted) for seg, wanted in roles.items()}
        self._scanner_backend = scanner_backend
        self._client_backend = client_backend
        self._backend_kwargs = backend_kwargs or {}
        self._clock = clock
        self._air_clock = air_clock
        self._t0 = clock()
        self.scan_timeout = scan_timeout
        self.connect_timeout = connect_timeout
        self.rate_hz = rate_hz
        self.writer = writer
        self.remember = remember
        self._queue: asyncio.Queue[tuple[_Sensor, float, bytes] | None] = asyncio.Queue()
        self._connect_lock = asyncio.Lock()
        self._closed = False
        self._counts_finished = False
        self._pending: deque[SampleBatch] = deque()

    # -- time -----------------------------------------------------------------------
    def now(self) -> float:
        """Session time in seconds (0 at entry)."""
        return self._clock() - self._t0

    @property
    def queue_depth(self) -> int:
        """Notifications received but not yet decoded (must stay small)."""
        return self._queue.qsize()

    # -- lifecycle ------------------------------------------------------------------
    async def __aenter__(self) -> SensorSession:
        self._t0 = self._clock()
        try:
            await self._scan()
            for sensor in self._sensors.values():
                try:
                    await self._connect(sensor, timeout=self.connect_timeout)
                except (TimeoutError, BleakError) as err:
                    raise SensorError(
                        f"{sensor.segment} sensor {sensor.seen.name or sensor.seen.address}: "
                        f"could not connect ({err or type(err).__name__})"
                    ) from err
                except PacketError as err:  # it answered, but with nothing hinge can use
                    raise SensorError(
                        f"{sensor.segment} sensor {sensor.seen.name or sensor.seen.address}: "
                        f"refused, unusable device description ({_one_line(err)})"
                    ) from None
        except BaseException:
            await self.close()
            raise
        if self.remember:
            self._save_pair()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop streaming, disconnect, and end the iteration."""
        if self._closed:
            return
        self._closed = True
        self.finish_counts()
        for sensor in self._sensors.values():
            if sensor.reconnect_task is not None:
                sensor.reconnect_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sensor.reconnect_task
            client = sensor.client
            sensor.client = None
            if client is not None:
                with contextlib.suppress(Exception):  # best effort: the link may be gone
                    if client.is_connected:
                        await sensor.sensor_driver.stop(client)
                        await client.disconnect()
            sensor.state = "stopped"
        self._queue.put_nowait(None)

    def finish_counts(self) -> None:
        """Count the samples missing at the start and at the end of each sensor's stream,
        and save the clipped/impossible counts; once, when the session ends (``close`` calls
        it; a consumer that closes its recording before the source calls it first).

        No packet ever reports these losses: a sensor whose link dropped right after START
        (before any packet came), or that went silent before the end. Expected are the
        samples from the start of the session's stream, the first sample received from
        any sensor (the other sensor's clock; or the sensor's own start, if later), to its
        end, the last sample received from any sensor. The sensor's own first and last
        samples, mapped with its clock fit, measure the gaps in its sample periods (the start
        is estimated once the sensor has START_ESTIMATE_AFTER_S of data, so it shows live,
        and refined here with the final fit).
        A gap at the end counts only when the sensor was not streaming any more, or has
        been silent for more than END_SILENT_S (a healthy sensor's last packets can still
        be on their way). The hinge profile counts the start exactly from its counter
        (``start_counted``); the other families get this estimate (exact to a sample
        when the clock fit is, as on the virtual radio).
        """
        if self._counts_finished:
            return
        self._counts_finished = True
        sensors = list(self._sensors.values())
        got = [s for s in sensors if s.first_t is not None]
        if got:
            start_ref = min(s.first_t for s in got if s.first_t is not None)
            end_ref = max(s.last_t for s in got)
            for s in sensors:
                period = s.driver.period_s * (1.0 + s.clock.drift) if s.driver else None
                if not period or not period > 0:
                    continue
                expected_from = max(start_ref, s.started_at if s.started_at is not None else start_ref)
                if s.first_t is None:  # streamed nothing at all
                    self._add_loss(s, max(0, round((end_ref - expected_from) / period) + 1))
                    continue
                self._estimate_start(s)  # final: with the final clock fit
                gap = end_ref - s.last_t
                if gap > GAP_PERIODS * period and (s.state != "streaming" or gap > END_SILENT_S):
                    self._add_loss(s, round(gap / period))
        for s in sensors:
            self._save_counts(s, None, force=True)

    def status(self) -> list[SensorStatus]:
        return [s.status() for s in self._sensors.values()]

    # -- scan and connect ---------------------------------------------------------------
    def _allowed(self, found: Found) -> bool:
        """Only devices a driver recognises, or that the user saved, are ever connected."""
        saved_addresses = {e["address"].lower() for e in self._saved.values()}
        return found.driver is not None or found.address.lower() in saved_addresses

    async def _scan(self) -> None:
        sensors = list(self._sensors.values())

        def all_found(found: dict[str, Found]) -> bool:
            return all(any(_matches(f, s.wanted) and self._allowed(f) for f in found.values()) for s in sensors)

        found = await scan(self.scan_timeout, backend=self._scanner_backend, want=all_found, **self._backend_kwargs)
        missing = []
        for sensor in sensors:
            hits = [f for f in found.values() if _matches(f, sensor.wanted)]
            if not hits:
                missing.append(f"{sensor.segment} sensor {sensor.wanted!r} not found")
                continue
            f = hits[0]
            if not self._allowed(f):
                raise SensorError(
                    f"{sensor.segment} sensor {sensor.wanted!r}: no hinge driver recognises "
                    f"{f.name or f.address} (uuids {', '.join(f.adv.service_uuids) or 'none'})"
                )
            if f.driver is None:  # a saved address: use the driver saved with it
                saved = next(e for e in self._saved.values() if e["address"].lower() == f.address.lower())
                try:
                    f.driver = driver_by_name(saved.get("driver", ""))
                except KeyError as err:
                    raise ConfigError(f"{config.sensors_path()}: {err.args[0]}") from None
            sensor.found = f
            sensor.driver = f.driver(self.rate_hz)
            sensor.driver.clock = self.now
            # a clock reconstructed from the nominal rate may be off by per cent, not ppm
            sensor.clock = DeviceClock(max_drift=getattr(f.driver, "max_clock_drift", 1e-3))
        if missing:
            raise SensorNotFoundError("; ".join(missing) + f" after scanning {self.scan_timeout:g} s")
        used = [s.seen.address for s in sensors]
        if len(set(used)) != len(used):
            raise SensorError("the same sensor was given for two roles")

    async def _connect(self, sensor: _Sensor, timeout: float, rescan: bool = False) -> None:
        """One connect + driver start, holding the session's connect lock (no other scan or
        connect meanwhile). ``rescan``: first wait for the device to advertise again and
        connect to the fresh ``BLEDevice`` (BlueZ forgets devices that went away)."""
        sensor.state = "connecting" if sensor.down_since is None else sensor.state
        kwargs: dict[str, Any] = {
            "timeout": timeout,
            "disconnected_callback": self._on_disconnected(sensor),
            **self._backend_kwargs,
        }
        if self._client_backend is not None:
            kwargs["backend"] = self._client_backend
        async with self._connect_lock:
            if rescan:
                scan_kwargs: dict[str, Any] = dict(self._backend_kwargs)
                if self._scanner_backend is not None:
                    scan_kwargs["backend"] = self._scanner_backend
                device = await BleakScanner.find_device_by_address(sensor.seen.address, timeout=timeout, **scan_kwargs)
                if device is None:
                    raise TimeoutError(f"{sensor.seen.address} is not advertising")
                sensor.seen.device = device
            client = BleakClient(sensor.seen.device, **kwargs)
            try:
                await client.connect()
            except (BleakError, OSError) as err:
                if sensor.down_since is None and isinstance(err, OSError):
                    raise no_bluetooth(err) from err
                raise
            sensor.client = client  # from here on a drop is the session's to handle
            try:
                info = await sensor.sensor_driver.start(client, self._on_data(sensor))
                await self._read_battery(sensor, client, info)
            except BaseException:
                sensor.client = None
                with contextlib.suppress(Exception):
                    await client.disconnect()
                raise
        sensor.rate_hz = info.rate_hz or self.rate_hz
        if sensor.started_at is None:
            sensor.started_at = self.now()
        sensor.state = "streaming"
        sensor.down_since = None
        if self.writer is not None:
            fields = {k: v for k, v in vars(info).items() if v is not None and k != "extra"}
            fields.update(info.extra or {})
            fields.setdefault("name", sensor.seen.name)
            fields.setdefault("address", sensor.seen.address)
            fields["battery_pct"] = sensor.battery_pct
            self.writer.update_sensor(sensor.segment, **fields)

    async def _read_battery(self, sensor: _Sensor, client: BleakClient, info: DeviceInfo) -> None:
        sensor.battery_pct = info.battery_pct
        if sensor.battery_pct is not None:
            return
        if client.services.get_characteristic(BATTERY_LEVEL_UUID) is None:
            return
        with contextlib.suppress(Exception):  # optional: a failed read is just "unknown"
            data = await client.read_gatt_char(BATTERY_LEVEL_UUID)
            if len(data) == 1 and data[0] <= 100:
                sensor.battery_pct = int(data[0])

    def _on_data(self, sensor: _Sensor) -> Callable[[bytes], None]:
        queue, clock, air = self._queue, self._clock, self._air_clock
        address = sensor.seen.address

        def on_data(data: bytes) -> None:  # inside the BLE stack: only queue
            data = bytes(data)
            arrival = air(address, data) if air is not None else None
            queue.put_nowait((sensor, clock() if arrival is None else arrival, data))

        return on_data

    def _on_disconnected(self, sensor: _Sensor) -> Callable[[BleakClient], None]:
        def on_disconnected(client: BleakClient) -> None:
            if self._closed or client is not sensor.client:
                return
            log.info("%s: link lost", sensor.segment)
            sensor.client = None
            sensor.state = "reconnecting"
            sensor.down_since = self.now()
            if sensor.reconnect_task is not None and not sensor.reconnect_task.done():
                return  # lost again while starting: the running reconnect loop retries
            sensor.reconnect_task = asyncio.get_running_loop().create_task(self._reconnect(sensor))

        return on_disconnected

    async def _reconnect(self, sensor: _Sensor) -> None:
        """Try again and again, backing off up to BACKOFF_MAX_S; the session goes on."""
        delay = BACKOFF_START_S
        refused = False
        while not self._closed:
            await asyncio.sleep(delay)
            if sensor.down_since is not None and self.now() - sensor.down_since > LOST_AFTER_S:
                sensor.state = "lost"
            try:
                await self._connect(sensor, timeout=RECONNECT_ATTEMPT_S, rescan=True)
                log.info("%s: reconnected", sensor.segment)
                return
            except PacketError as err:  # it answers with nothing usable: say so, keep trying
                if not refused:
                    log.warning(
                        "hinge: warning: %s sensor refused on reconnect, unusable device "
                        "description (%s); still trying",
                        sensor.segment,
                        _one_line(err),
                    )
                refused = True
            except Exception as err:  # any failure of one attempt: back off and try again
                log.debug("%s: reconnect failed: %s", sensor.segment, err)
            delay = min(delay * 2, BACKOFF_MAX_S)

    def _save_pair(self) -> None:
        pair = {
            s.segment: {"address": s.seen.address, "name": s.seen.name, "driver": s.sensor_driver.name}
            for s in self._sensors.values()
        }
        try:
            config.save_sensors(pair)
        except OSError as err:  # remembering is a convenience, never a reason to stop
            log.warning("could not save the sensor pair: %s", err)

    # -- the stream -----------------------------------------------------------------------
    def __aiter__(self) -> SensorSession:
        return self

    async def __anext__(self) -> SampleBatch:
        """The next batch. Notifications that queued up meanwhile are decoded together and
        merged per sensor, so a consumer that fell behind catches up in few, larger steps."""
        while not self._pending:
            item = await self._queue.get()
            items = [item]
            while item is not None and len(items) < MAX_MERGE and not self._queue.empty():
                item = self._queue.get_nowait()
                items.append(item)
            if items[-1] is None:
                items.pop()
                self._queue.put_nowait(None)  # keep ending any further reads
                if not items:
                    raise StopAsyncIteration
            merged: dict[str, list[SampleBatch]] = {}
            for sensor, arrival, data in (it for it in items if it is not None):
                batch = self._decode(sensor, arrival, data)
                if batch is not None:
                    merged.setdefault(batch.segment, []).append(batch)
            self._pending.extend(_concat(parts) for parts in merged.values())
        return self._pending.popleft()

    def _decode(self, sensor: _Sensor, arrival_clock: float, data: bytes) -> SampleBatch | None:
        arrival = arrival_clock - self._t0
        try:
            packet = sensor.sensor_driver.decode(data, arrival)
        except PacketError as err:
            sensor.malformed += 1
            log.debug("%s: malformed packet skipped: %s", sensor.segment, err)
            return None
        bad = packet.bad
        n_bad = 0 if bad is None else int(np.count_nonzero(bad))
        self._add_loss(sensor, packet.lost + n_bad)
        n = len(packet)
        if n == 0:
            if packet.lost and sensor.next_seq is not None:
                sensor.next_seq += packet.lost
            return None
        if n_bad:
            if not sensor.implausible:
                log.warning(
                    "hinge: warning: %s sensor sent impossible values (beyond 50 g or "
                    "50 rad/s, or not numbers): dropped and counted as lost",
                    sensor.segment,
                )
            sensor.implausible += n_bad
            self._save_counts(sensor, arrival)
        if packet.clipped:
            if not sensor.clipped:
                log.warning(
                    "hinge: warning: %s sensor clipped at its full scale (saturated): "
                    "angles and onsets near those samples are less certain",
                    sensor.segment,
                )
            sensor.clipped += packet.clipped
            self._save_counts(sensor, arrival)
        sensor.received += n - n_bad
        sensor.count(arrival, n - n_bad)
        device_t = np.asarray(packet.device_t, dtype=np.float64)
        sensor.clock.add(float(device_t[-1]), arrival)
        t = np.asarray(sensor.clock.to_session(device_t))
        sensor.latencies.append(arrival - float(t[-1]))
        if not t[0] > sensor.last_t:  # a refined clock fit must never reorder samples
            t = np.maximum(t, sensor.last_t + 1e-6 * np.arange(1, n + 1))
        sensor.last_t = float(t[-1])
        extra = {"device_t": device_t}
        if packet.seq is not None:
            # the sample counter, unwrapped: continues over wraps and counted losses
            if sensor.next_seq is None or packet.flags.get("restart"):
                first = packet.seq
            else:
                first = sensor.next_seq + packet.lost
            sensor.next_seq = first + n
            extra["seq"] = first + np.arange(n, dtype=np.float64)
        if sensor.first_t is None:  # the first sample seen (even one dropped below)
            sensor.first_t = float(t[0])
            sensor.first_device_t = float(device_t[0])
            sensor.first_resets = sensor.clock.resets
            sensor.start_counted = bool(packet.flags.get("start_counted"))
        acc, gyr = packet.acc, packet.gyr
        if n_bad:  # impossible values never reach the pipeline or a recording
            assert bad is not None  # n_bad > 0
            keep = ~bad
            t, acc, gyr = t[keep], acc[keep], gyr[keep]
            extra = {k: v[keep] for k, v in extra.items()}
        if (
            not sensor.start_counted
            and not sensor.start_estimated
            and sensor.last_t - sensor.first_t >= START_ESTIMATE_AFTER_S
        ):
            self._estimate_start(sensor)  # shown live; refined when the session ends
        if not len(t):
            return None
        return SampleBatch(sensor.segment, t, acc, gyr, extra)

    def _estimate_start(self, s: _Sensor) -> None:
        """Count (or correct the count of) the samples missing before a sensor's first one,
        for families without a counter from START (``finish_counts`` explains the rule)."""
        if s.start_counted or s.first_t is None or s.driver is None:
            return
        got = [x.first_t for x in self._sensors.values() if x.first_t is not None]
        period = s.driver.period_s * (1.0 + s.clock.drift)
        if not period > 0:
            return
        expected_from = max(min(got), s.started_at if s.started_at is not None else min(got))
        first_t = s.first_t
        if s.clock.resets == s.first_resets and s.first_device_t is not None:  # re-map with the current fit
            first_t = float(s.clock.to_session(s.first_device_t))
        gap = first_t - expected_from
        n = round(gap / period) if gap > GAP_PERIODS * period else 0
        self._add_loss(s, n - s.start_lost)
        s.start_lost = n
        s.start_estimated = True

    def _add_loss(self, sensor: _Sensor, n: int) -> None:
        """Count ``n`` lost samples (negative: a correction of an earlier estimate)."""
        if n:
            sensor.lost += n
            if self.writer is not None:
                self.writer.add_loss(sensor.segment, n)

    def _save_counts(self, sensor: _Sensor, now: float | None, force: bool = False) -> None:
        """The clipped and impossible sample counts into the recording's session.json (via
        ``update_sensor``), at most once per COUNTS_EVERY_S of session time."""
        if self.writer is None or not (sensor.clipped or sensor.implausible):
            return
        if not force and now is not None and now - sensor.counts_saved_at < COUNTS_EVERY_S:
            return
        sensor.counts_saved_at = now if now is not None else sensor.counts_saved_at
        with contextlib.suppress(Exception):  # a closed writer: the counts are in the status
            self.writer.update_sensor(
                sensor.segment, clipped_samples=sensor.clipped, implausible_samples=sensor.implausible
            )


def _one_line(err: BaseException, limit: int = 200) -> str:
    """An error's text on one printable line (a device's bytes can hold anything)."""
    text = " ".join(str(err).split()).encode("ascii", "backslashreplace").decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _concat(parts: list[SampleBatch]) -> SampleBatch:
    if len(parts) == 1:
        return parts[0]
    return SampleBatch(
        parts[0].segment,
        np.concatenate([p.t for p in parts]),
        np.concatenate([p.acc for p in parts]),
        np.concatenate([p.gyr for p in parts]),
        {k: np.concatenate([p.extra[k] for p in parts]) for k in parts[0].extra},
    )

"""Movesense sensors over the GATT SensorData protocol (``gatt_sensordata_app`` / GSP).

Sources (see ``docs/protocol.md`` section 2): the GSP specification
(https://movesense.com/docs/esw/gatt_sensordata_protocol) and the Python client of the
``gatt_sensordata_app`` sample in movesense-device-lib. The sensor streams ``/Meas/IMU6/<rate>``
as ``[type][ref][uint32 ms timestamp of the first sample][N acc xyz float32][N gyro xyz
float32]``; frames longer than one notification continue in a ``DATA_PART2`` packet. There
are no sequence numbers: losses are read from timestamp jumps. The millisecond timestamps
are coarse (a fifth of a period at 208 Hz); sample times come from a weighted line through
(sample index, timestamp) pairs, which removes that quantisation jitter.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from firmware_bridge.drivers.base import (
    DecodedPacket,
    DeviceInfo,
    PacketError,
    SensorDriver,
    best_effort,
    implausible,
    read_battery,
)
from firmware_bridge.timestamps import SampleClockFit, Unwrapper

if TYPE_CHECKING:
    from bleak import BleakClient

SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"
NAME_PREFIX = "Movesense"

OP_HELLO = 0x00
OP_SUBSCRIBE = 0x01
OP_UNSUBSCRIBE = 0x02

PT_COMMAND_RESPONSE = 1
PT_DATA = 2
PT_DATA_PART2 = 3

REF = 0x68  # our subscription's reference byte (any client-chosen value)
RATES = (13, 26, 52, 104, 208, 416, 833, 1666)  # /Meas/IMU6 sample rates
HEADER = struct.Struct("<BBI")  # type, ref, timestamp ms
SAMPLE_BYTES = 24  # acc xyz + gyro xyz, float32 each
TIME_MODULUS = 1 << 32  # milliseconds
#: Default full scales of the Movesense IMU (``/Meas/Acc/Config``, ``/Meas/Gyro/Config``):
#: a value this close to them is a saturated (clipped) sample.
ACC_RANGE = 8.0 * 9.80665  # m/s^2
GYR_RANGE_DPS = 2000.0
CLIP_FRACTION = 0.999
GAP_PERIODS = 1.5  # a first sample later than this many periods after the last one: loss
TIME_RESOLUTION_S = 1e-3  # ... beyond the timestamps' resolution
#: A loss is never more than the host's clock allows since the previous packet plus this
#: (latency varies, packets bunch): a timestamp further ahead is a clock glitch.
ARRIVAL_SLACK_S = 1.0
#: After a clock glitch, an arrival gap longer than this is counted as loss (by the host's
#: clock, an estimate); shorter ones are latency.
LONG_GAP_S = 0.5


def imu6_path(rate: int) -> str:
    return f"/Meas/IMU6/{rate}"


def cmd_subscribe(ref: int, path: str) -> bytes:
    return bytes([OP_SUBSCRIBE, ref]) + path.encode("utf-8")


def cmd_unsubscribe(ref: int) -> bytes:
    return bytes([OP_UNSUBSCRIBE, ref])


def parse_command(data: bytes) -> tuple[int, int, str | None]:
    """What a sensor does with a write: (opcode, ref, path or None); ValueError if malformed."""
    if len(data) < 2:
        raise ValueError("command shorter than 2 bytes")
    op, ref = data[0], data[1]
    if op == OP_SUBSCRIBE:
        return op, ref, bytes(data[2:]).decode("utf-8")
    if op in (OP_UNSUBSCRIBE, OP_HELLO) and len(data) == 2:
        return op, ref, None
    raise ValueError(f"unknown command {bytes(data).hex()}")


def encode_command_response(ref: int, status: int = 200) -> bytes:
    """A command result notification: ``[1][ref][uint16 HTTP-like status, big-endian]``
    (as the sample firmware's GATTSensorDataClient.cpp sends 507 as ``0x01 0xFB``)."""
    return struct.pack(">BBH", PT_COMMAND_RESPONSE, ref, status)


def encode_imu6(ref: int, timestamp_ms: int, acc: np.ndarray, gyr: np.ndarray) -> bytes:
    """One complete IMU6 data frame: acc (N, 3) m/s^2, gyr (N, 3) **rad/s** (sent as deg/s)."""
    acc = np.atleast_2d(np.asarray(acc, dtype="<f4"))
    gyr_dps = np.atleast_2d(np.degrees(np.asarray(gyr, dtype=np.float64))).astype("<f4")
    if acc.shape != gyr_dps.shape or acc.shape[1:] != (3,) or len(acc) < 1:
        raise ValueError(f"need (N, 3) acc and gyr, got {acc.shape} and {gyr_dps.shape}")
    return HEADER.pack(PT_DATA, ref, timestamp_ms % TIME_MODULUS) + acc.tobytes() + gyr_dps.tobytes()


def split_frame(frame: bytes, max_len: int = 244) -> list[bytes]:
    """Notifications carrying ``frame``: whole if it fits, else DATA + DATA_PART2 (GSP)."""
    if len(frame) <= max_len:
        return [frame]
    first, rest = frame[:max_len], frame[max_len:]
    second = bytes([PT_DATA_PART2, frame[1]]) + rest
    if len(second) > max_len:
        raise ValueError(f"frame of {len(frame)} bytes needs more than two notifications of {max_len}")
    return [first, second]


def nearest_rate(requested: float) -> int:
    return min(RATES, key=lambda r: (abs(r - requested), -r))


class MovesenseDriver(SensorDriver):
    """Movesense running the GATT SensorData service, streaming ``/Meas/IMU6``."""

    name = "movesense"
    service_uuids = (SERVICE_UUID,)

    def __init__(self, rate_hz: float = 208.0) -> None:
        super().__init__(rate_hz)
        self.sample_rate = nearest_rate(rate_hz)
        self.ref = REF
        self._fit = SampleClockFit(1.0 / self.sample_rate)
        self._t = Unwrapper(TIME_MODULUS)
        self._pending: bytes | None = None  # first part of a split frame
        self._prev: tuple[int, int] | None = None  # (index of the first sample, n)
        self._prev_arrival: float | None = None
        self._shift_ms = 0  # correction of timestamp glitches (keeps device time continuous)

    @property
    def period_s(self) -> float:
        return self._fit.period

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        if SERVICE_UUID in (u.lower() for u in service_uuids):
            return True
        return name is not None and name.startswith(NAME_PREFIX)

    async def start(self, client: BleakClient, on_data: Callable[[bytes], None]) -> DeviceInfo:
        self._pending = None  # a half frame from before a reconnect never completes
        await client.start_notify(NOTIFY_UUID, lambda _sender, data: on_data(bytes(data)))
        path = imu6_path(self.sample_rate)
        await client.write_gatt_char(WRITE_UUID, cmd_subscribe(self.ref, path), response=True)
        return DeviceInfo(
            driver=self.name,
            model="Movesense",
            rate_hz=float(self.sample_rate),
            battery_pct=await read_battery(client),
            timestamps="device",
            extra={"path": path, "ref": self.ref},
        )

    async def stop(self, client: BleakClient) -> None:
        await best_effort(
            client.write_gatt_char(WRITE_UUID, cmd_unsubscribe(self.ref), response=True),
            client.stop_notify(NOTIFY_UUID),
        )

    def decode(self, data: bytes, arrival: float | None = None) -> DecodedPacket:
        data = bytes(data)
        if len(data) < 2:
            raise PacketError(f"movesense: {len(data)}-byte notification")
        kind, ref = data[0], data[1]
        if kind == PT_COMMAND_RESPONSE:  # [1][ref][status BE] or the HELLO text
            failed = len(data) == 4 and ref == self.ref and struct.unpack(">H", data[2:])[0] >= 400
            return _empty(command_response=True, command_failed=failed)
        if ref != self.ref:
            raise PacketError(f"movesense: reference {ref}, subscribed as {self.ref}")
        if kind == PT_DATA:
            if len(data) <= HEADER.size:
                raise PacketError(f"movesense: {len(data)}-byte data packet has no samples")
            dropped = self._pending is not None  # its second part never came: lost
            self._pending = None
            if (len(data) - HEADER.size) % SAMPLE_BYTES:
                self._pending = data  # first part of a frame continued by DATA_PART2
                return _empty(partial=True, incomplete_frame_dropped=dropped)
            return self._decode_frame(data, arrival, incomplete_frame_dropped=dropped)
        if kind == PT_DATA_PART2:
            if self._pending is None:
                raise PacketError("movesense: DATA_PART2 without a first part")
            frame, self._pending = self._pending + data[2:], None
            if (len(frame) - HEADER.size) % SAMPLE_BYTES:
                raise PacketError(f"movesense: reassembled frame of {len(frame)} bytes is not whole samples")
            return self._decode_frame(frame, arrival)
        raise PacketError(f"movesense: unknown packet type {kind}")

    def _decode_frame(self, frame: bytes, arrival: float | None = None, **flags: bool) -> DecodedPacket:
        _, _, ts_ms = HEADER.unpack_from(frame)
        n = (len(frame) - HEADER.size) // SAMPLE_BYTES
        values = np.frombuffer(frame, dtype="<f4", offset=HEADER.size).astype(np.float64)
        acc = values[: 3 * n].reshape(n, 3)
        gyr_dps = values[3 * n :].reshape(n, 3)
        gyr = np.radians(gyr_dps)
        with np.errstate(invalid="ignore"):
            clipped = (np.abs(acc) >= CLIP_FRACTION * ACC_RANGE).any(axis=1) | (
                np.abs(gyr_dps) >= CLIP_FRACTION * GYR_RANGE_DPS
            ).any(axis=1)
        bad = implausible(acc, gyr)  # non-finite or impossible: dropped by the client

        step = self._t.step(ts_ms)
        restart = clock_glitch = False
        lost = 0
        host_known = arrival is not None and self._prev_arrival is not None
        if self._prev is None or (step < 0 and not host_known):
            restart = self._prev is not None  # timestamp went back: the sensor restarted
            self._t.reset()
            self._fit.reset()
            self._shift_ms = 0
            index = 0
        else:
            if step == 0:
                raise PacketError("movesense: repeated timestamp (duplicate packet)")
            prev_index, prev_n = self._prev
            period = self._fit.period
            expected = float(self._fit.predict(prev_index + prev_n))
            # How much later than the next sample's expected time this packet starts; more
            # than half a period (plus the timestamp resolution) means samples were lost.
            assert self._t.last is not None  # advanced by every packet before this one
            ahead = (self._t.last + step + self._shift_ms) * 1e-3 - expected
            if ahead > (GAP_PERIODS - 1.0) * period + TIME_RESOLUTION_S:
                lost = round(ahead / period)
            if host_known:
                # Cross-check with the host's clock: a timestamp further ahead than the time
                # since the previous packet allows, or behind the samples already seen, is a
                # glitch of the sensor's clock, not a loss (nor a restart: the data goes on).
                assert arrival is not None and self._prev_arrival is not None  # host_known
                elapsed = arrival - self._prev_arrival
                if lost + prev_n > (elapsed + ARRIVAL_SLACK_S) / period or ahead < -(period + TIME_RESOLUTION_S):
                    clock_glitch = True
                    lost = max(0, round(elapsed / period) - prev_n) if elapsed > LONG_GAP_S else 0
                    # continue the device time where the samples say it is
                    self._shift_ms += round((lost * period - ahead) * 1e3)
            index = prev_index + prev_n + lost
        t_first = (self._t.advance(ts_ms, step if self._t.last is not None else 0) + self._shift_ms) * 1e-3
        self._fit.add(index, t_first)
        self._prev = (index, n)
        self._prev_arrival = arrival
        flags["clock_glitch"] = clock_glitch
        return DecodedPacket(
            acc=acc,
            gyr=gyr,
            device_t=np.asarray(self._fit.predict(index + np.arange(n)), dtype=np.float64),
            seq=index,
            seq_modulus=None,
            flags={"restart": restart, **flags},
            lost=lost,
            bad=bad,
            clipped=int(np.count_nonzero(clipped if bad is None else clipped & ~bad)),
        )


def _empty(**flags: bool) -> DecodedPacket:
    return DecodedPacket(acc=np.empty((0, 3)), gyr=np.empty((0, 3)), device_t=np.empty(0), flags=flags)

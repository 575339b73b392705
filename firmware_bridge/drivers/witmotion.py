"""WitMotion WT901BLE / WT9011DCL over their BLE 5.0 protocol.

Sources (see ``docs/protocol.md`` section 3): the WT901BLECL datasheet, section 6
"Communication protocol", and ``device_model.py`` of WitMotion's Python BLE SDK. Each
20-byte frame is ``0x55 0x61`` + nine int16 (acc, gyro, Euler angles). The sensor sends no
timestamp and no counter, so this driver numbers the samples itself: sample ``k`` has the
device time ``k / nominal rate`` (a reconstructed clock) and the clock fit maps it to the
session clock from arrival times, absorbing the sensor's real rate error. Losses are
inferred from arrival gaps and are estimates; recordings say ``timestamps: reconstructed``.
After a gap the next notifications (``HOLD_S`` worth) are held back and released together,
numbered from the loss measured on the fastest of them.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from firmware_bridge.clock import DeviceClock
from firmware_bridge.drivers.base import (
    DecodedPacket,
    DeviceInfo,
    PacketError,
    SensorDriver,
    best_effort,
    read_battery,
)

if TYPE_CHECKING:
    from bleak import BleakClient

SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"
NAME_PREFIX = "WT"

FRAME_BYTES = 20
HEAD = 0x55
FLAG_IMU = 0x61  # acc, gyro, angle
FLAG_REGISTER = 0x71  # reply to a register read (FF AA 27 <reg> 00): skipped

G = 9.80665
ACC_SCALE = 16.0 * G / 32768.0  # m/s^2 per LSB
GYR_SCALE = math.radians(2000.0) / 32768.0  # rad/s per LSB

CMD_UNLOCK = bytes.fromhex("ffaa6988b5")
CMD_SAVE = bytes.fromhex("ffaa000000")
RATE_REGISTER = 0x03
RATE_CODES = {10: 0x06, 20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0B}
COMMAND_GAP_S = 0.1  # WitMotion's SDK waits this long between configuration writes

GAP_MIN_S = 0.1  # arrival gaps shorter than max(this, GAP_PERIODS periods) are latency
GAP_PERIODS = 10
# After a gap, notifications are held to measure how many samples are missing: for HOLD_S
# of arrivals and at least HOLD_PACKETS notifications, so that a burst of delayed
# notifications (a stall, nothing lost) is over and steady arrivals show the true delay.
HOLD_S = 0.1
HOLD_PACKETS = 8


def cmd_set_rate(hz: int) -> bytes:
    """``FF AA 03 <code> 00``: set the output rate (after ``CMD_UNLOCK``)."""
    return bytes([0xFF, 0xAA, RATE_REGISTER, RATE_CODES[hz], 0x00])


def parse_command(data: bytes) -> tuple[int, int]:
    """What a sensor does with a write: (register, uint16 value); ValueError if malformed."""
    if len(data) != 5 or data[0] != 0xFF or data[1] != 0xAA:
        raise ValueError(f"not a WitMotion command: {bytes(data).hex()}")
    return data[2], data[3] | data[4] << 8


def encode_frame(acc: np.ndarray, gyr: np.ndarray, angles_deg: np.ndarray | None = None) -> bytes:
    """One 20-byte ``0x55 0x61`` frame from acc (3,) m/s^2 and gyr (3,) rad/s (saturating)."""
    ang = np.zeros(3) if angles_deg is None else np.asarray(angles_deg, dtype=float)
    raw = np.concatenate(
        [
            np.asarray(acc, dtype=float) / ACC_SCALE,
            np.asarray(gyr, dtype=float) / GYR_SCALE,
            ang * 32768.0 / 180.0,
        ]
    )
    counts = np.clip(np.rint(raw), -32768, 32767).astype("<i2")
    payload: bytes = counts.tobytes()
    return bytes([HEAD, FLAG_IMU]) + payload


def nearest_rate(requested: float) -> int:
    return min(RATE_CODES, key=lambda r: (abs(r - requested), -r))


class WitMotionDriver(SensorDriver):
    """WitMotion BLE 5.0 IMUs (WT901BLE, WT9011DCL)."""

    name = "witmotion"
    service_uuids = (SERVICE_UUID,)
    #: The reconstructed clock runs at the nominal rate; the real one may be off by per cent.
    max_clock_drift: ClassVar[float] = 0.05

    def __init__(self, rate_hz: float = 200.0) -> None:
        super().__init__(rate_hz)
        self.sample_rate = nearest_rate(rate_hz)
        self._next = 0  # index of the next sample
        self._last_arrival: float | None = None
        self._clock = DeviceClock(max_drift=self.max_clock_drift)  # for gap decisions only
        self._held: list[tuple[np.ndarray, float]] | None = None  # notifications after a gap

    @property
    def period_s(self) -> float:
        return 1.0 / self.sample_rate

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        return SERVICE_UUID in (u.lower() for u in service_uuids)

    async def start(self, client: BleakClient, on_data: Callable[[bytes], None]) -> DeviceInfo:
        # Not saved to flash (no CMD_SAVE): the rate is set again on every connect.
        for cmd in (CMD_UNLOCK, cmd_set_rate(self.sample_rate)):
            await client.write_gatt_char(WRITE_UUID, cmd, response=False)
            await asyncio.sleep(COMMAND_GAP_S)
        await client.start_notify(NOTIFY_UUID, lambda _sender, data: on_data(bytes(data)))
        return DeviceInfo(
            driver=self.name,
            model="WitMotion",
            rate_hz=float(self.sample_rate),
            battery_pct=await read_battery(client),
            timestamps="reconstructed",
            extra={"rate_code": RATE_CODES[self.sample_rate]},
        )

    async def stop(self, client: BleakClient) -> None:
        await best_effort(client.stop_notify(NOTIFY_UUID))

    def decode(self, data: bytes, arrival: float | None = None) -> DecodedPacket:
        if arrival is None:
            raise ValueError("witmotion: decoding needs the arrival time (no device timestamps)")
        data = bytes(data)
        if not data or len(data) % FRAME_BYTES:
            raise PacketError(f"witmotion: {len(data)} bytes is not a whole number of 20-byte frames")
        rows = []
        for i in range(0, len(data), FRAME_BYTES):
            head, flag = data[i], data[i + 1]
            if head != HEAD:
                raise PacketError(f"witmotion: frame starts with {head:#04x}, not 0x55")
            if flag == FLAG_IMU:
                rows.append(np.frombuffer(data, dtype="<i2", count=9, offset=i + 2))
            elif flag != FLAG_REGISTER:
                raise PacketError(f"witmotion: unknown frame flag {flag:#04x}")
        if not rows:
            return _empty()
        counts = np.array(rows, dtype=np.float64)
        period = 1.0 / self.sample_rate
        gap = self._last_arrival is not None and arrival - self._last_arrival > max(GAP_MIN_S, GAP_PERIODS * period)
        self._last_arrival = arrival
        if self._held is None and gap and self._clock.ready:
            self._held = [(counts, arrival)]
            return _empty(held=True)
        if self._held is not None:
            self._held.append((counts, arrival))
            if len(self._held) < HOLD_PACKETS or arrival - self._held[0][1] < HOLD_S:
                return _empty(held=True)
            return self._release(period)
        return self._emit([(counts, arrival)], 0, period)

    def _release(self, period: float) -> DecodedPacket:
        """Samples held after an arrival gap, numbered from the number of samples missing.

        The missing count is the delay of the held notifications beyond the fitted arrival
        line (the lowest-latency arrivals), in sample periods, taken at the fastest of them:
        arrivals are never earlier than that line, so the minimum is the best evidence.
        """
        held, self._held = self._held, None
        assert held is not None  # called only while notifications are held
        real_period = period * (1.0 + self._clock.drift)
        delays, c = [], self._next
        for counts, arrival in held:
            c += len(counts)
            delays.append(arrival - float(self._clock.to_session((c - 1) * period)))
        lost = max(0, round(min(delays) / real_period))
        return self._emit(held, lost, period)

    def _emit(self, items: list[tuple[np.ndarray, float]], lost: int, period: float) -> DecodedPacket:
        index = self._next + lost
        end = index
        for counts, arrival in items:
            end += len(counts)
            self._clock.add((end - 1) * period, arrival)
        self._next = end
        counts = np.concatenate([c for c, _ in items])
        at_limit = (counts[:, 0:6] >= 32767) | (counts[:, 0:6] <= -32768)
        return DecodedPacket(
            acc=counts[:, 0:3] * ACC_SCALE,
            gyr=counts[:, 3:6] * GYR_SCALE,
            device_t=(index + np.arange(len(counts))) * period,
            seq=index,
            seq_modulus=None,
            flags={},
            lost=lost,
            clipped=int(np.count_nonzero(at_limit.any(axis=1))),
        )


def _empty(**flags: bool) -> DecodedPacket:
    return DecodedPacket(acc=np.empty((0, 3)), gyr=np.empty((0, 3)), device_t=np.empty(0), flags=flags)

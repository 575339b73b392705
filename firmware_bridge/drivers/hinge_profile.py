"""The hinge open profile v1: a GATT profile for DIY IMU firmware (nRF52840 / ESP32 boards).

``docs/protocol.md`` is the specification; this module is its executable form. The encoders
(``encode_data_packet``, ``encode_info``, ``parse_control``) are what a peripheral does
(the virtual sensors use them, so they produce exactly the bytes the spec describes) and
the driver is the exact inverse. Everything a device sends is parsed strictly: a packet that
does not match the spec byte for byte raises ``PacketError`` and is counted, never guessed at.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.drivers.base import (
    BATTERY_LEVEL_UUID,  # noqa: F401  (part of this profile's GATT layout)
    DecodedPacket,
    DeviceInfo,
    PacketError,
    SensorDriver,
    best_effort,
    implausible,
    read_battery,
)
from firmware_bridge.timestamps import PeriodEstimator, Unwrapper

if TYPE_CHECKING:
    from bleak import BleakClient

PROTOCOL_VERSION = 1

# --- GATT layout (lower-case 128-bit strings, as bleak reports them) ---------------------
SERVICE_UUID = "73ac0001-a3e2-4a65-aecf-41b2dd829b26"
DATA_UUID = "73ac0002-a3e2-4a65-aecf-41b2dd829b26"  # notify
CONTROL_UUID = "73ac0003-a3e2-4a65-aecf-41b2dd829b26"  # write with response
INFO_UUID = "73ac0004-a3e2-4a65-aecf-41b2dd829b26"  # read

BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"  # level: BATTERY_LEVEL_UUID
DEVICE_INFO_SERVICE_UUID = "0000180a-0000-1000-8000-00805f9b34fb"
MANUFACTURER_UUID = "00002a29-0000-1000-8000-00805f9b34fb"
MODEL_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
FIRMWARE_REV_UUID = "00002a26-0000-1000-8000-00805f9b34fb"

NAME_PREFIX = "hinge"

# --- data packet --------------------------------------------------------------------------
HEADER = struct.Struct("<BBHIB")  # version, flags, seq (uint16), t_first_us (uint32), n
SAMPLE_BYTES = 12  # 6 x int16: ax ay az gx gy gz
SEQ_MODULUS = 1 << 16
TIME_MODULUS = 1 << 32  # microseconds: wraps every 71.6 min
ATT_MTU = 247
MAX_SAMPLES = (ATT_MTU - 3 - HEADER.size) // SAMPLE_BYTES  # 19 at the recommended MTU

FLAG_FIFO_OVERFLOW = 0x01
FLAG_ACC_CLIPPED = 0x02
FLAG_GYR_CLIPPED = 0x04
FLAGS_RESERVED = 0xF8
INT16_MIN, INT16_MAX = -32768, 32767

# --- control ------------------------------------------------------------------------------
OP_START = 0x01
OP_STOP = 0x02
OP_SET_RATE = 0x03  # + uint16 Hz
OP_SET_BATCH = 0x04  # + uint8 samples per notification
OP_SET_PLACEMENT = 0x05  # + UTF-8 label, 1..16 bytes
PLACEMENT_MAX_BYTES = 16

# ATT application error codes a device returns in the write response (0x80-0x9f are the
# application's range in the Bluetooth Core spec).
ERR_UNKNOWN_OPCODE = 0x80
ERR_INVALID_LENGTH = 0x81
ERR_UNSUPPORTED_VALUE = 0x82
ERR_BUSY = 0x83  # not allowed while streaming

INFO_MAX_BYTES = 512
#: A loss is never larger than the host's clock allows: the time since the previous packet
#: arrived plus this much (latency varies; packets bunch), in samples. A counter or device
#: time jumping further is a glitch, not a loss.
ARRIVAL_SLACK_S = 1.0
#: What a body-worn IMU can sensibly report (``docs/protocol.md`` 1.5): an info outside
#: these is refused, so that no unusable sensor (a rate of 5e-324 Hz, a scale of 1e300) is
#: ever streamed from.
INFO_LIMITS = {
    "acc_range_g": (0.5, 1000.0),
    "acc_scale": (1e-9, 1.0),  # m/s^2 per LSB
    "gyr_range_dps": (10.0, 100_000.0),
    "gyr_scale": (1e-9, 1.0),  # rad/s per LSB
    "rate_hz": (1.0, 10_000.0),
}

G = 9.80665


class ControlError(Exception):
    """A control write the device must reject; ``code`` is the ATT error code to return."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class HingeInfo:
    """The info characteristic: what the host needs to decode and label the data."""

    firmware: str
    imu: str
    acc_range_g: float
    acc_scale: float  # m/s^2 per LSB
    gyr_range_dps: float
    gyr_scale: float  # rad/s per LSB
    rate_hz: float  # actual output data rate
    rates: tuple[int, ...]  # rates SET_RATE accepts
    batch: int  # samples per notification
    placement: str  # "thigh", "lumbar" or "" when unset
    streaming: bool
    protocol: int = PROTOCOL_VERSION
    extensions: dict[str, Any] = field(default_factory=dict)  # vendor keys, "x_" prefixed


def default_info(
    placement: str = "",
    rate_hz: float = 208.0,
    batch: int = 10,
    firmware: str = "0.1.0",
    imu: str = "LSM6DSO",
    streaming: bool = False,
) -> HingeInfo:
    """Info of a typical board: +-16 g and +-2000 dps full scale on an int16 IMU."""
    return HingeInfo(
        firmware=firmware,
        imu=imu,
        acc_range_g=16.0,
        acc_scale=16.0 * G / 32768.0,
        gyr_range_dps=2000.0,
        gyr_scale=math.radians(2000.0) / 32768.0,
        rate_hz=float(rate_hz),
        rates=(52, 104, 208, 416),
        batch=batch,
        placement=placement,
        streaming=streaming,
    )


# JSON keys of the info characteristic (``v`` = protocol version, ``fw`` = firmware version;
# short so that a typical info fits one ATT read of MTU-1 = 246 bytes).
_INFO_FIELDS: dict[str, tuple[type, ...]] = {
    "v": (int,),
    "fw": (str,),
    "imu": (str,),
    "acc_range_g": (int, float),
    "acc_scale": (int, float),
    "gyr_range_dps": (int, float),
    "gyr_scale": (int, float),
    "rate_hz": (int, float),
    "rates": (list,),
    "batch": (int,),
    "placement": (str,),
    "streaming": (bool,),
}


def encode_info(info: HingeInfo) -> bytes:
    """Bytes of the info characteristic: compact UTF-8 JSON, keys as in ``docs/protocol.md``."""
    d = asdict(info)
    ext = d.pop("extensions")
    d = {"v": d.pop("protocol"), "fw": d.pop("firmware"), **d}
    for key in ("acc_range_g", "gyr_range_dps", "rate_hz"):
        if float(d[key]).is_integer():
            d[key] = int(d[key])
    d["rates"] = list(d["rates"])
    d.update(ext)
    return json.dumps(d, separators=(",", ":")).encode()


def decode_info(data: bytes) -> HingeInfo:
    """Parse the info characteristic strictly (every field present, typed and in range)."""
    if len(data) > INFO_MAX_BYTES:
        raise PacketError(f"info: {len(data)} bytes, more than {INFO_MAX_BYTES}")
    try:
        d = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PacketError(f"info: not UTF-8 JSON ({e})") from None
    if not isinstance(d, dict):
        raise PacketError("info: not a JSON object")
    if d.get("v") != PROTOCOL_VERSION or isinstance(d.get("v"), bool):
        raise PacketError(f"info: protocol version {d.get('v')!r}, expected {PROTOCOL_VERSION}")
    for key, types in _INFO_FIELDS.items():
        if key not in d:
            raise PacketError(f"info: missing {key!r}")
        v = d[key]
        if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
            raise PacketError(f"info: {key!r} has type {type(v).__name__}")
    unknown = [k for k in d if k not in _INFO_FIELDS and not k.startswith("x_")]
    if unknown:
        raise PacketError(f"info: unknown keys {unknown} (vendor keys start with 'x_')")
    for key in ("fw", "imu", "placement"):
        try:  # JSON can carry a lone surrogate ("\ud800"), which is no text at all
            d[key].encode("utf-8")
        except UnicodeEncodeError:
            raise PacketError(f"info: {key!r} is not valid Unicode text") from None
    for key, (low, high) in INFO_LIMITS.items():
        try:
            value = float(d[key])
        except OverflowError:  # an integer like 10**309 has no float value
            raise PacketError(f"info: {key!r} is out of range") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise PacketError(f"info: {key!r} must be within {low:g}..{high:g}, got {value:.6g}")
        d[key] = value
    for scale, rng, unit in (("acc_scale", "acc_range_g", G), ("gyr_scale", "gyr_range_dps", math.pi / 180)):
        full = d[scale] * 32768 / (d[rng] * unit)  # an int16 count's full scale vs the range
        if not 0.25 <= full <= 4.0:
            raise PacketError(
                f"info: {scale!r} {d[scale]:.6g} does not fit {rng!r} {d[rng]:g} "
                "(int16 full scale must be within a factor 4 of the range)"
            )
    rates = d["rates"]
    if not rates or not all(isinstance(r, int) and not isinstance(r, bool) and 0 < r < 65536 for r in rates):
        raise PacketError("info: 'rates' must be a non-empty list of integers 1..65535")
    if not 1 <= d["batch"] <= 255:
        raise PacketError(f"info: 'batch' {d['batch']} outside 1..255")
    if len(d["placement"].encode()) > PLACEMENT_MAX_BYTES:
        raise PacketError(f"info: 'placement' longer than {PLACEMENT_MAX_BYTES} bytes")
    ext = {k: v for k, v in d.items() if k.startswith("x_")}
    return HingeInfo(
        firmware=d["fw"],
        imu=d["imu"],
        acc_range_g=float(d["acc_range_g"]),
        acc_scale=float(d["acc_scale"]),
        gyr_range_dps=float(d["gyr_range_dps"]),
        gyr_scale=float(d["gyr_scale"]),
        rate_hz=float(d["rate_hz"]),
        rates=tuple(rates),
        batch=d["batch"],
        placement=d["placement"],
        streaming=d["streaming"],
        extensions=ext,
    )


def quantise(values: np.ndarray, scale: float) -> tuple[np.ndarray, bool]:
    """SI values to int16 counts (round to nearest, saturate); True if any sample saturated."""
    counts = np.rint(np.asarray(values, dtype=float) / scale)
    clipped = bool(np.any(counts >= INT16_MAX) or np.any(counts <= INT16_MIN))
    return np.clip(counts, INT16_MIN, INT16_MAX).astype("<i2"), clipped


def encode_data_packet(
    seq: int,
    t_first_us: int,
    acc: np.ndarray,
    gyr: np.ndarray,
    info: HingeInfo,
    fifo_overflow: bool = False,
) -> bytes:
    """One data notification, as the firmware builds it.

    ``seq`` is the index of the first sample since streaming started (wrapped to uint16 here),
    ``t_first_us`` its device time in microseconds (wrapped to uint32 here), ``acc`` (N, 3)
    m/s^2 and ``gyr`` (N, 3) rad/s. Values are quantised with the info's scale factors; the
    clipping flags are set when a sample saturates int16.
    """
    acc = np.atleast_2d(acc)
    gyr = np.atleast_2d(gyr)
    n = len(acc)
    if n < 1 or n > 255 or acc.shape != (n, 3) or gyr.shape != (n, 3):
        raise ValueError(f"need 1..255 samples of (acc xyz, gyr xyz), got {acc.shape} and {gyr.shape}")
    a, a_clip = quantise(acc, info.acc_scale)
    g, g_clip = quantise(gyr, info.gyr_scale)
    flags = (
        (FLAG_FIFO_OVERFLOW if fifo_overflow else 0)
        | (FLAG_ACC_CLIPPED if a_clip else 0)
        | (FLAG_GYR_CLIPPED if g_clip else 0)
    )
    header = HEADER.pack(PROTOCOL_VERSION, flags, seq % SEQ_MODULUS, t_first_us % TIME_MODULUS, n)
    return header + np.hstack([a, g]).astype("<i2").tobytes()


# --- control commands (host side builds, device side parses) -----------------------------
def cmd_start() -> bytes:
    return bytes([OP_START])


def cmd_stop() -> bytes:
    return bytes([OP_STOP])


def cmd_set_rate(hz: int) -> bytes:
    return bytes([OP_SET_RATE]) + struct.pack("<H", hz)


def cmd_set_batch(n: int) -> bytes:
    return bytes([OP_SET_BATCH, n])


def cmd_set_placement(label: str) -> bytes:
    return bytes([OP_SET_PLACEMENT]) + label.encode()


def parse_control(data: bytes, info: HingeInfo) -> tuple[int, int | str | None]:
    """What a device does with a control write: (opcode, argument) or ``ControlError``.

    Checks the rules of ``docs/protocol.md`` against the device's current ``info`` (rate in
    ``info.rates``, batch within the MTU, no rate/batch change while streaming).
    """
    if not data:
        raise ControlError(ERR_INVALID_LENGTH, "empty control write")
    op, arg = data[0], bytes(data[1:])
    if op in (OP_START, OP_STOP):
        if arg:
            raise ControlError(ERR_INVALID_LENGTH, f"opcode {op:#04x} takes no argument")
        return op, None
    if op == OP_SET_RATE:
        if len(arg) != 2:
            raise ControlError(ERR_INVALID_LENGTH, "SET_RATE takes a uint16")
        hz = struct.unpack("<H", arg)[0]
        if hz not in info.rates:
            raise ControlError(ERR_UNSUPPORTED_VALUE, f"rate {hz} Hz not in {info.rates}")
        if info.streaming:
            raise ControlError(ERR_BUSY, "stop streaming before changing the rate")
        return op, hz
    if op == OP_SET_BATCH:
        if len(arg) != 1:
            raise ControlError(ERR_INVALID_LENGTH, "SET_BATCH takes a uint8")
        if not 1 <= arg[0] <= MAX_SAMPLES:
            raise ControlError(ERR_UNSUPPORTED_VALUE, f"batch {arg[0]} outside 1..{MAX_SAMPLES}")
        if info.streaming:
            raise ControlError(ERR_BUSY, "stop streaming before changing the batch size")
        return op, arg[0]
    if op == OP_SET_PLACEMENT:
        if not 1 <= len(arg) <= PLACEMENT_MAX_BYTES:
            raise ControlError(ERR_INVALID_LENGTH, f"placement must be 1..{PLACEMENT_MAX_BYTES} bytes")
        try:
            return op, arg.decode("utf-8")
        except UnicodeDecodeError:
            raise ControlError(ERR_UNSUPPORTED_VALUE, "placement is not UTF-8") from None
    raise ControlError(ERR_UNKNOWN_OPCODE, f"unknown opcode {op:#04x}")


def nearest_rate(requested: float, rates: tuple[int, ...]) -> int:
    """The supported rate closest to ``requested`` (ties go to the higher rate)."""
    return min(rates, key=lambda r: (abs(r - requested), -r))


async def _read_text(client: BleakClient, uuid: str) -> str | None:
    """Read an optional UTF-8 characteristic (Device Information); None if absent or broken."""
    try:
        return bytes(await client.read_gatt_char(uuid)).decode("utf-8").strip("\x00 ") or None
    except Exception:  # optional characteristic: any failure just means "not available"
        return None


class HingeProfileDriver(SensorDriver):
    """Driver for devices speaking the hinge open profile v1."""

    name = "hinge"
    service_uuids = (SERVICE_UUID,)

    def __init__(self, rate_hz: float = 208.0, info: HingeInfo | None = None) -> None:
        super().__init__(rate_hz)
        self.info = info
        nominal = 1.0 / (info.rate_hz if info else rate_hz)
        self._period = PeriodEstimator(nominal)
        self._seq = Unwrapper(SEQ_MODULUS)
        self._t = Unwrapper(TIME_MODULUS)
        self._prev: tuple[int, int, int] | None = None  # (seq raw, t raw, n) of the last packet
        self._prev_arrival: float | None = None
        self._t_shift_us = 0  # correction of device-time glitches (keeps device_t continuous)
        self._start_at: float | None = None  # host time of our START, until the first packet
        self._from_start = False  # the counter started at 0 with our START: seq = samples missed

    @property
    def period_s(self) -> float:
        return self._period.period

    @classmethod
    def matches(cls, name: str | None, service_uuids: list[str]) -> bool:
        if SERVICE_UUID in (u.lower() for u in service_uuids):
            return True
        return name is not None and name.lower().startswith(NAME_PREFIX)

    async def start(self, client: BleakClient, on_data: Callable[[bytes], None]) -> DeviceInfo:
        info = decode_info(bytes(await client.read_gatt_char(INFO_UUID)))
        target = nearest_rate(self.rate_hz, info.rates)
        if abs(info.rate_hz - target) > 0.01 * target:
            if info.streaming:
                await client.write_gatt_char(CONTROL_UUID, cmd_stop(), response=True)
            await client.write_gatt_char(CONTROL_UUID, cmd_set_rate(target), response=True)
            info = decode_info(bytes(await client.read_gatt_char(INFO_UUID)))
        if self.info is None or self.info.rate_hz != info.rate_hz:
            self._period.reset(1.0 / info.rate_hz)
        self.info = info
        manufacturer = await _read_text(client, MANUFACTURER_UUID)
        model = await _read_text(client, MODEL_UUID)
        firmware = await _read_text(client, FIRMWARE_REV_UUID)
        battery = await read_battery(client)
        await client.start_notify(DATA_UUID, lambda _sender, data: on_data(bytes(data)))
        if not info.streaming:
            await client.write_gatt_char(CONTROL_UUID, cmd_start(), response=True)
            if self._prev is None:  # the first packet's seq says how many samples never came
                self._from_start = True
                self._start_at = self.clock() if self.clock is not None else None
        return DeviceInfo(
            driver=self.name,
            firmware=info.firmware or firmware,
            model=model or info.imu,
            rate_hz=info.rate_hz,
            placement=info.placement or None,
            battery_pct=battery,
            timestamps="device",
            extra={
                "protocol": info.protocol,
                "imu": info.imu,
                "manufacturer": manufacturer,
                "acc_range_g": info.acc_range_g,
                "acc_scale": info.acc_scale,
                "gyr_range_dps": info.gyr_range_dps,
                "gyr_scale": info.gyr_scale,
                "batch": info.batch,
            },
        )

    async def stop(self, client: BleakClient) -> None:
        await best_effort(
            client.write_gatt_char(CONTROL_UUID, cmd_stop(), response=True), client.stop_notify(DATA_UUID)
        )

    def decode(self, data: bytes, arrival: float | None = None) -> DecodedPacket:
        if self.info is None:
            raise RuntimeError("hinge profile: read the info characteristic (start()) before decoding")
        if len(data) < HEADER.size:
            raise PacketError(f"data: {len(data)} bytes, shorter than the {HEADER.size}-byte header")
        version, flags, seq, t_us, n = HEADER.unpack_from(data)
        if version != PROTOCOL_VERSION:
            raise PacketError(f"data: protocol version {version}, expected {PROTOCOL_VERSION}")
        if flags & FLAGS_RESERVED:
            raise PacketError(f"data: reserved flag bits set ({flags:#04x})")
        if n == 0:
            raise PacketError("data: sample count 0")
        if len(data) != HEADER.size + n * SAMPLE_BYTES:
            raise PacketError(f"data: {len(data)} bytes for {n} samples, expected {HEADER.size + n * SAMPLE_BYTES}")

        restart = counter_reset = start_counted = clock_glitch = False
        lost = 0
        period_s = self._period.period
        if self._prev is None:
            idx, t_unw = self._seq.advance(seq, 0), self._t.advance(t_us, 0)
            if self._from_start:
                # START set the counter to 0, so this packet's seq is the number of samples
                # taken before it, none of which came: the loss at the start of the stream.
                # The host's clock since START resolves wraps and vetoes a bogus counter.
                k = seq
                if self._start_at is not None and arrival is not None:
                    k_host = (arrival - self._start_at) / period_s
                    k = seq + SEQ_MODULUS * max(0, round((k_host - seq) / SEQ_MODULUS))
                    if k > k_host + ARRIVAL_SLACK_S / period_s:
                        k = 0  # more samples than time allowed since START: not a count
                lost, start_counted = k, True
                self._from_start = False
        else:
            prev_seq, prev_t, prev_n = self._prev
            dt_us = self._t.step(t_us)
            if dt_us == 0 and seq == prev_seq:
                raise PacketError("data: duplicate of the previous packet")
            # Most samples the host's clock allows since the previous packet (None: unknown).
            k_host = None
            if arrival is not None and self._prev_arrival is not None:
                k_host = (arrival - self._prev_arrival + ARRIVAL_SLACK_S) / period_s
            k_time = dt_us * 1e-6 / period_s  # samples elapsed by the device clock
            ds = (seq - prev_seq) % SEQ_MODULUS
            # The uint16 counter wraps every 65536 samples; the device time (71 min)
            # says how many wraps passed, the counter gives the exact count.
            k = ds + SEQ_MODULUS * round((k_time - ds) / SEQ_MODULUS)
            agree = abs(k - k_time) <= 2.0 + 0.01 * abs(k_time)
            time_ok = k_host is None or k_time <= k_host
            seq_ok = k_host is not None and prev_n <= ds <= k_host
            if dt_us <= 0 and not seq_ok:
                restart = True  # device time went backwards: the device restarted
            elif agree and time_ok:
                if k < prev_n:  # cannot happen when they agree, but never count negative
                    counter_reset = True
                else:
                    lost = k - prev_n
            elif time_ok and dt_us > 0:
                # The counter disagrees with the device clock: streaming was restarted
                # (START after STOP counts from 0) or the counter glitched. The device
                # clock measures the gap; numbering starts again from this packet.
                counter_reset = True
                lost = max(0, round(k_time) - prev_n)
            elif seq_ok:
                # The device time jumped (forwards beyond what the host's clock allows, or
                # backwards) while the counter went on plausibly: a clock glitch. Count from
                # the counter and keep the device time continuous.
                clock_glitch = True
                lost = ds - prev_n
                self._t_shift_us += round((ds * period_s) * 1e6) - dt_us
            else:
                # Neither the counter nor the device time fits the host's clock: count
                # nothing, and continue both from here.
                clock_glitch = counter_reset = True
                self._t_shift_us += round((prev_n * period_s) * 1e6) - dt_us
            if restart or counter_reset:
                self._seq.reset()
                idx = self._seq.advance(seq, 0)
                if restart:
                    self._t.reset()
                    self._t_shift_us = 0
                    self._period.reset()
                    t_unw = self._t.advance(t_us, 0)
                else:
                    t_unw = self._t.advance(t_us, dt_us)
                    self._period.reset()
            else:
                idx = self._seq.advance(seq, lost + prev_n)
                t_unw = self._t.advance(t_us, dt_us)
        self._prev = (seq, t_us, n)
        self._prev_arrival = arrival
        t_unw = t_unw + self._t_shift_us

        t0 = t_unw * 1e-6
        period = self._period.update(idx, t0)
        raw = np.frombuffer(data, dtype="<i2", offset=HEADER.size).reshape(n, 6)
        counts = raw.astype(np.float64)
        acc, gyr = counts[:, :3] * self.info.acc_scale, counts[:, 3:] * self.info.gyr_scale
        return DecodedPacket(
            acc=acc,
            gyr=gyr,
            device_t=t0 + np.arange(n) * period,
            seq=seq,
            seq_modulus=SEQ_MODULUS,
            flags={
                "fifo_overflow": bool(flags & FLAG_FIFO_OVERFLOW),
                "acc_clipped": bool(flags & FLAG_ACC_CLIPPED),
                "gyr_clipped": bool(flags & FLAG_GYR_CLIPPED),
                "restart": restart,
                "counter_reset": counter_reset,
                "clock_glitch": clock_glitch,
                "start_counted": start_counted,
            },
            lost=lost,
            bad=implausible(acc, gyr),
            clipped=int(np.count_nonzero(((raw == INT16_MAX) | (raw == INT16_MIN)).any(axis=1))),
        )

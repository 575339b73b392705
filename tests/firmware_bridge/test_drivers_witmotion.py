"""WitMotion decoder against byte vectors built from the documented BLE 5.0 format.

Sources for the format (cited in docs/protocol.md section 3):
- WT901BLECL datasheet, section 6 "Communication protocol" / WitMotion SDK docs,
  https://wit-motion.gitbook.io/witmotion-sdk/ble-5.0-protocol/bluetooth-5.0-communication-protocol :
  frame = 0x55, flag 0x61, then acc X Y Z, angular velocity X Y Z, angle X Y Z as int16
  low byte first; acc = v / 32768 * 16 g, gyro = v / 32768 * 2000 deg/s, angle = v / 32768 * 180;
  a register read (``FF AA 27 <reg> 00``) answers with a ``0x55 0x71`` frame.
- WitMotion's Python BLE SDK ``device_model.py`` (service 0000ffe5-...9a34fb, notify ffe4,
  write ffe9; unlock ``FF AA 69 88 B5``, write register ``FF AA <reg> <lo> <hi>``,
  save ``FF AA 00 00 00``) and the rate register 0x03 codes (0x09 = 100 Hz, 0x0B = 200 Hz).
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from firmware_bridge.clock import DeviceClock
from firmware_bridge.drivers import driver_for
from firmware_bridge.drivers.base import PacketError
from firmware_bridge.drivers.witmotion import (
    CMD_SAVE,
    CMD_UNLOCK,
    NOTIFY_UUID,
    SERVICE_UUID,
    WRITE_UUID,
    WitMotionDriver,
    cmd_set_rate,
    encode_frame,
    parse_command,
)
from tests.helpers import in_virtual_time

G = 9.80665

# A 20-byte notification from a WT901BLE quoted in a public write-up on decoding these
# sensors (as a list of ints): 0x55 0x61 then nine int16.
REAL_FRAME = bytes([85, 97, 119, 2, 168, 254, 146, 254, 6, 2, 48, 254, 205, 255, 248, 240, 83, 252, 171, 196])


def wit_frame(acc_counts, gyr_counts, ang_counts=(0, 0, 0), flag=0x61):
    return bytes([0x55, flag]) + struct.pack("<9h", *acc_counts, *gyr_counts, *ang_counts)


def test_uuids_and_commands_match_the_docs():
    assert SERVICE_UUID == "0000ffe5-0000-1000-8000-00805f9a34fb"
    assert NOTIFY_UUID == "0000ffe4-0000-1000-8000-00805f9a34fb"
    assert WRITE_UUID == "0000ffe9-0000-1000-8000-00805f9a34fb"
    assert CMD_UNLOCK == bytes([0xFF, 0xAA, 0x69, 0x88, 0xB5])
    assert CMD_SAVE == bytes([0xFF, 0xAA, 0x00, 0x00, 0x00])
    assert cmd_set_rate(100) == bytes([0xFF, 0xAA, 0x03, 0x09, 0x00])
    assert cmd_set_rate(200) == bytes([0xFF, 0xAA, 0x03, 0x0B, 0x00])
    assert parse_command(CMD_UNLOCK) == (0x69, 0xB588)


def test_real_frame_decodes_to_documented_units():
    p = WitMotionDriver(200).decode(REAL_FRAME, arrival=0.0)
    assert len(p) == 1
    # ax = 0x0277 = 631, ay = 0xfea8 = -344, az = 0xfe92 = -366 (x 16 g / 32768)
    np.testing.assert_allclose(p.acc[0], np.array([631, -344, -366]) * 16 / 32768 * G)
    # gx = 0x0206 = 518, gy = 0xfe30 = -464, gz = 0xffcd = -51 (x 2000 deg/s / 32768)
    np.testing.assert_allclose(p.gyr[0], np.radians(np.array([518, -464, -51]) * 2000 / 32768))


def test_encoder_produces_the_documented_bytes():
    acc_counts, gyr_counts = (1000, -2000, 2048), (-300, 0, 32767)
    acc = np.array(acc_counts) * 16 / 32768 * G
    gyr = np.radians(np.array(gyr_counts) * 2000 / 32768)
    assert encode_frame(acc, gyr) == wit_frame(acc_counts, gyr_counts)


def test_several_frames_and_register_replies():
    register_reply = wit_frame((0, 0, 0), (0, 0, 0), flag=0x71)
    data = wit_frame((1, 2, 3), (4, 5, 6)) + register_reply + wit_frame((7, 8, 9), (1, 1, 1))
    p = WitMotionDriver(200).decode(data, arrival=1.0)
    assert len(p) == 2
    np.testing.assert_allclose(p.acc[:, 0], np.array([1, 7]) * 16 / 32768 * G)
    assert len(WitMotionDriver(200).decode(wit_frame((0,) * 3, (0,) * 3, flag=0x71), arrival=1.0)) == 0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        REAL_FRAME[:19],
        REAL_FRAME + b"\x55",
        b"\x54" + REAL_FRAME[1:],
        REAL_FRAME[:1] + b"\x62" + REAL_FRAME[2:],
        REAL_FRAME + b"\x00" + REAL_FRAME[1:],
    ],
)
def test_malformed_notifications_raise(data):
    with pytest.raises(PacketError):
        WitMotionDriver(200).decode(data, arrival=0.0)


def test_needs_arrival_times():
    with pytest.raises(ValueError):
        WitMotionDriver(200).decode(REAL_FRAME)


def _run(rate_real, seconds, rng, gap=None, stall=None):
    """A 200 Hz WitMotion whose real rate is ``rate_real``: one frame per notification,
    latency 8 ms + exponential(5 ms); ``gap`` = (start s, duration s) of samples not sent;
    ``stall`` = (start s, duration s) during which notifications wait and then burst out."""
    drv = WitMotionDriver(200)
    clock = DeviceClock(max_drift=drv.max_clock_drift)
    n = int(seconds * rate_real)
    t_true = np.arange(n) / rate_real
    arrivals = t_true + 0.008 + rng.exponential(0.005, n)
    if stall:
        in_stall = (t_true >= stall[0]) & (t_true < stall[0] + stall[1])
        arrivals[in_stall] = np.maximum(arrivals[in_stall], stall[0] + stall[1] + 0.008)
    arrivals = np.maximum.accumulate(arrivals)
    errs, lost, sent = [], 0, 0
    for k in range(n):
        if gap and gap[0] <= t_true[k] < gap[0] + gap[1]:
            continue
        p = drv.decode(encode_frame([0, 0, G], [0, 0, 0]), arrival=arrivals[k])
        lost += p.lost
        sent += 1
        if not len(p):
            continue  # held back after a gap, released with a later notification
        clock.add(p.device_t[-1], arrivals[k])
        if t_true[k] > 10:
            errs.append(float(clock.to_session(p.device_t[-1])) - t_true[k] - 0.008)
    return np.abs(errs).max(), lost, n - sent


def test_reconstructed_times_follow_a_sensor_whose_rate_is_off():
    """Rate 1.5 % slow: the clock fit absorbs it; times within 2 ms of truth after 10 s."""
    err, lost, missing = _run(200 * 0.985, 30, np.random.default_rng(5))
    assert missing == 0 and lost == 0
    assert err < 0.002


@pytest.mark.parametrize("seed", range(4))
def test_samples_not_sent_are_estimated_from_the_arrival_gap(seed):
    """0.4 s of samples never sent (a link drop): counted, and times stay right after it."""
    err, lost, missing = _run(200 * 1.01, 30, np.random.default_rng(seed), gap=(12.0, 0.4))
    assert missing in (80, 81)
    assert abs(lost - missing) <= 1
    assert err < 0.002


def test_a_stall_is_not_counted_as_loss():
    """Notifications delayed 150 ms and released in a burst: nothing was lost."""
    err, lost, missing = _run(200, 30, np.random.default_rng(9), stall=(12.0, 0.15))
    assert missing == 0 and lost == 0
    assert err < 0.002


def test_registry_recognises_witmotion():
    assert driver_for("WT901BLE68", [SERVICE_UUID]) is WitMotionDriver
    assert driver_for("WT901BLE68", ["0000ffe5-0000-1000-8000-00805f9b34fb"]) is None  # wrong base
    assert driver_for("Something", []) is None
    assert math.isclose(WitMotionDriver.max_clock_drift, 0.05)


@in_virtual_time
async def test_start_sets_rate_and_says_timestamps_are_reconstructed_over_real_bleak():
    """start()/stop() through bleak's own BleakClient on the bumble backend, against the
    virtual WT901BLE (firmware_bridge.virtual), whose frames come from this module."""
    import asyncio

    from bleak import BleakClient

    from firmware_bridge.virtual.backend import BumbleClient
    from firmware_bridge.virtual.peripheral import SampleSource
    from firmware_bridge.virtual.witmotion_sensor import WitMotionSensor
    from firmware_bridge.virtual.world import VirtualWorld

    t = np.arange(0, 20, 1 / 50)  # the module boots at 50 Hz; the driver asks for 100 Hz
    rng = np.random.default_rng(11)
    source = SampleSource(t, rng.normal(0, 5, (len(t), 3)), rng.normal(0, 2, (len(t), 3)))
    async with VirtualWorld() as world:
        sensor = WitMotionSensor("WT901BLE68", source)
        await world.add(sensor)
        drv = WitMotionDriver(rate_hz=100)
        received: list[tuple[bytes, float]] = []
        async with BleakClient(sensor.address, backend=BumbleClient) as client:
            info = await drv.start(client, lambda d: received.append((d, world.now())))
            assert info.timestamps == "reconstructed" and info.rate_hz == 100
            await asyncio.sleep(1.0)
            await drv.stop(client)
    assert sensor.rate_hz == 100  # FF AA 03 09 00 reached the module
    packets = [drv.decode(d, arrival=a) for d, a in received]
    assert len(packets) >= 50 and sum(p.lost for p in packets) == 0
    acc = np.concatenate([p.acc for p in packets])
    expected = source.resampled(100).acc[: len(acc)]
    assert np.abs(acc - expected).max() <= 16 * G / 32768 / 2 + 1e-9


def test_samples_at_the_int16_limit_are_counted_as_clipped():
    """Issue 11 row 14: +-2000 deg/s and +-16 g are the WT901's full scales."""
    drv = WitMotionDriver(200)
    frames = (
        wit_frame((0, 0, 2048), (32767, 0, 0))
        + wit_frame((0, 0, 2048), (0, 0, 0))
        + wit_frame((-32768, 0, 0), (0, -32768, 0))
    )
    p = drv.decode(frames, arrival=0.1)
    assert len(p) == 3 and p.clipped == 2 and p.bad is None

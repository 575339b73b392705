"""Movesense decoder against byte vectors built from the documented GSP format.

Sources for the format (cited in docs/protocol.md section 2):
- GATT SensorData Protocol spec: https://movesense.com/docs/esw/gatt_sensordata_protocol
  (service 34802252-..., write 34800001-..., notify 34800002-...; subscribe
  ``[0x01, ref] + path``, unsubscribe ``[0x02, ref]``).
- movesense-device-lib, ``samples/gatt_sensordata_app/GATTSensorDataClient.cpp`` (the
  firmware): commands ``[cmd][ref != 0][data]``, results ``[1][ref][2-byte HTTP status]``
  (507 is sent as ``0x01 0xFB``), data ``[2][ref][SBEM: timestamp, arrays]``; streams are
  unsubscribed when the link drops.
- movesense-device-lib, ``samples/gatt_sensordata_app/python_client/movesense_sensor_data.py``:
  packet types DATA = 2 and DATA_PART2 = 3 (the second part's bytes after ``[3][ref]`` are
  appended to the first), ``timestamp = uint32 at offset 2`` and per-sample times
  ``timestamp + i * 1000 / rate``, i.e. the timestamp is the FIRST sample's, followed by
  the sensor arrays one after another (all acc xyz, then all gyro xyz), float32 LE.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from firmware_bridge.drivers import driver_for
from firmware_bridge.drivers.base import PacketError
from firmware_bridge.drivers.movesense import (
    NOTIFY_UUID,
    REF,
    SERVICE_UUID,
    WRITE_UUID,
    MovesenseDriver,
    cmd_subscribe,
    cmd_unsubscribe,
    encode_command_response,
    encode_imu6,
    nearest_rate,
    split_frame,
)
from tests.helpers import in_virtual_time


def gsp_frame(ref, ts_ms, acc, gyr_dps):
    """A GSP IMU6 data frame exactly as documented, built independently of the driver."""
    n = len(acc)
    return (
        struct.pack("<BBI", 2, ref, ts_ms)
        + struct.pack(f"<{3 * n}f", *np.ravel(acc))
        + struct.pack(f"<{3 * n}f", *np.ravel(gyr_dps))
    )


def _samples(rng, n):
    acc = rng.normal(0, 9.81, (n, 3)).astype(np.float32).astype(np.float64)
    gyr_dps = rng.normal(0, 200, (n, 3)).astype(np.float32).astype(np.float64)
    return acc, gyr_dps


def test_uuids_and_commands_match_the_spec():
    assert SERVICE_UUID == "34802252-7185-4d5d-b431-630e7050e8f0"
    assert WRITE_UUID == "34800001-7185-4d5d-b431-630e7050e8f0"
    assert NOTIFY_UUID == "34800002-7185-4d5d-b431-630e7050e8f0"
    assert cmd_subscribe(99, "/Meas/IMU6/104") == bytes([1, 99]) + b"/Meas/IMU6/104"
    assert cmd_unsubscribe(99) == bytes([2, 99])
    assert nearest_rate(200) == 208 and nearest_rate(100) == 104


def test_single_notification_frame_104hz():
    rng = np.random.default_rng(1)
    acc, gyr_dps = _samples(rng, 8)  # 8 samples: 6 + 8 * 24 = 198 bytes
    drv = MovesenseDriver(104)
    frame = gsp_frame(REF, 123_456, acc, gyr_dps)
    assert len(frame) == 198
    p = drv.decode(frame)
    assert len(p) == 8
    np.testing.assert_array_equal(p.acc, acc)
    np.testing.assert_allclose(p.gyr, np.radians(gyr_dps), rtol=1e-12)
    assert p.device_t[0] == pytest.approx(123.456)  # the timestamp is the first sample's
    np.testing.assert_allclose(np.diff(p.device_t), 1 / 104)
    assert p.lost == 0 and p.seq == 0


def test_encoder_produces_the_documented_bytes():
    rng = np.random.default_rng(2)
    acc, gyr_dps = _samples(rng, 4)
    assert encode_imu6(REF, 777, acc, np.radians(gyr_dps)) == gsp_frame(REF, 777, acc, gyr_dps)


def test_two_part_frame_at_208hz():
    rng = np.random.default_rng(3)
    acc, gyr_dps = _samples(rng, 16)  # 6 + 16 * 24 = 390 bytes: two notifications at MTU 247
    frame = gsp_frame(REF, 5000, acc, gyr_dps)
    first, second = frame[:244], bytes([3, REF]) + frame[244:]
    assert split_frame(frame) == [first, second]
    drv = MovesenseDriver(208)
    p1 = drv.decode(first)
    assert len(p1) == 0 and p1.flags["partial"]
    p2 = drv.decode(second)
    assert len(p2) == 16
    np.testing.assert_array_equal(p2.acc, acc)
    assert p2.device_t[0] == pytest.approx(5.0)


def _stream(rate, n_per, count, real_rate=None, ts0=10_000):
    rng = np.random.default_rng(4)
    real_rate = real_rate or rate
    out = []
    for k in range(count):
        acc, gyr = _samples(rng, n_per)
        ts = ts0 + round(k * n_per * 1000 / real_rate)  # ms clock, first sample of the packet
        out.append(gsp_frame(REF, ts, acc, gyr))
    return out


@pytest.mark.parametrize("dropped", [[5], [5, 6, 7], [5, 9, 40]])
def test_loss_inferred_from_timestamp_jumps(dropped):
    frames = _stream(104, 8, 60)
    drv = MovesenseDriver(104)
    lost = sum(drv.decode(f).lost for i, f in enumerate(frames) if i not in dropped)
    assert lost == 8 * len(dropped)


def test_no_false_losses_when_the_real_rate_is_off_nominal():
    """The sensor's clock runs 2 % fast against the nominal 104 Hz for a minute."""
    frames = _stream(104, 8, 800, real_rate=104 * 1.02)
    drv = MovesenseDriver(104)
    packets = [drv.decode(f) for f in frames]
    assert sum(p.lost for p in packets) == 0
    assert np.diff(packets[-1].device_t)[0] == pytest.approx(1 / (104 * 1.02), rel=1e-3)
    # after a dropped packet the count is still exact
    more = _stream(104, 8, 3, real_rate=104 * 1.02, ts0=10_000 + round(800 * 8 * 1000 / (104 * 1.02)))
    assert drv.decode(more[1]).lost == 8


def test_command_results_have_no_samples():
    drv = MovesenseDriver(104)
    ok = drv.decode(bytes([1, REF, 0x00, 0xC8]))  # 200
    assert len(ok) == 0 and ok.flags["command_response"] and not ok.flags["command_failed"]
    full = drv.decode(bytes([1, REF, 0x01, 0xFB]))  # 507: no free subscription slot
    assert len(full) == 0 and full.flags["command_failed"]
    assert encode_command_response(REF, 507) == bytes([1, REF, 0x01, 0xFB])
    assert len(drv.decode(bytes([1, REF]) + b"Hello")) == 0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02",
        struct.pack("<BBI", 2, REF, 1000),  # header without samples
        gsp_frame(REF + 1, 1000, np.zeros((8, 3)), np.zeros((8, 3))),  # someone else's ref
        bytes([7, REF]) + b"\x00" * 30,  # unknown packet type
        bytes([3, REF]) + b"\x00" * 24,  # DATA_PART2 without a first part
    ],
)
def test_malformed_packets_raise(data):
    with pytest.raises(PacketError):
        MovesenseDriver(104).decode(data)


def test_bad_second_part_and_duplicates_raise():
    frame = gsp_frame(REF, 5000, np.zeros((16, 3)), np.zeros((16, 3)))
    drv = MovesenseDriver(208)
    drv.decode(frame[:244])
    with pytest.raises(PacketError):
        drv.decode(bytes([3, REF]) + frame[244:-1])  # reassembled frame is not whole samples
    whole = gsp_frame(REF, 9000, np.zeros((8, 3)), np.zeros((8, 3)))
    drv.decode(whole)
    with pytest.raises(PacketError):
        drv.decode(whole)


def test_registry_recognises_movesense():
    assert driver_for("Movesense 174630000192", []) is MovesenseDriver
    assert driver_for(None, [SERVICE_UUID]) is MovesenseDriver
    assert driver_for("movesense-clone", []) is None


@in_virtual_time
async def test_start_subscribes_and_stop_unsubscribes_over_real_bleak():
    """start()/stop() through bleak's own BleakClient on the bumble backend, against the
    virtual Movesense (firmware_bridge.virtual), whose bytes come from this module."""
    import asyncio

    from bleak import BleakClient

    from firmware_bridge.virtual.backend import BumbleClient
    from firmware_bridge.virtual.movesense_sensor import MovesenseSensor
    from firmware_bridge.virtual.peripheral import SampleSource
    from firmware_bridge.virtual.world import VirtualWorld

    t = np.arange(0, 20, 1 / 104)
    rng = np.random.default_rng(10)
    source = SampleSource(t, rng.normal(0, 5, (len(t), 3)), rng.normal(0, 2, (len(t), 3)))
    async with VirtualWorld() as world:
        sensor = MovesenseSensor("Movesense 000000000001", source)
        await world.add(sensor)
        drv = MovesenseDriver(rate_hz=100)
        received: list[bytes] = []
        async with BleakClient(sensor.address, backend=BumbleClient) as client:
            info = await drv.start(client, received.append)
            assert info.rate_hz == 104 and info.extra["path"] == "/Meas/IMU6/104"
            assert info.timestamps == "device" and info.battery_pct == 87
            await asyncio.sleep(1.0)
            await drv.stop(client)
            await asyncio.sleep(0.2)
            n_at_stop = len(received)
            await asyncio.sleep(0.3)
            assert len(received) == n_at_stop  # unsubscribed
    packets = [drv.decode(d) for d in received]
    assert packets[0].flags.get("command_response") and not packets[0].flags["command_failed"]
    data = [p for p in packets if len(p)]
    assert len(data) >= 5 and sum(p.lost for p in data) == 0
    acc = np.concatenate([p.acc for p in data])
    np.testing.assert_allclose(acc, source.acc[: len(acc)], rtol=1e-6, atol=1e-6)  # float32


def test_sample_times_are_finer_than_the_millisecond_timestamps():
    """Timestamps truncated to whole ms (a fifth of a period at 208 Hz): the decoded sample
    times keep one constant offset from the truth (absorbed by the clock fit), not the
    +-0.5 ms jitter of the raw stamps; a lost packet on the way does not disturb them."""
    rng = np.random.default_rng(12)
    real_period = 1 / (208 * 0.998)
    drv = MovesenseDriver(208)
    offsets, lost = [], 0
    for k in range(1500):  # 58 s
        first = 16 * k
        t_true = 3.0 + (first + np.arange(16)) * real_period
        if k == 700:
            continue
        acc, gyr = _samples(rng, 16)
        for part in split_frame(gsp_frame(REF, int(t_true[0] * 1000), acc, gyr)):
            p = drv.decode(part)
        lost += p.lost
        if k > 100:
            offsets.append(p.device_t - t_true)
    offsets = np.concatenate(offsets)
    assert lost == 16
    assert offsets.max() - offsets.min() < 1e-4


def _steady(drv, rng, packets, n=8, ts0=1000, rate=208, arrival0=0.0):
    """Feed ``packets`` good frames with arrival times; return the next (ts, arrival)."""
    for k in range(packets):
        acc, gyr = _samples(rng, n)
        ts = ts0 + int(k * n * 1000 / rate)
        drv.decode(gsp_frame(REF, ts, acc, gyr), arrival0 + (k + 1) * n / rate)
    return ts0 + int(packets * n * 1000 / rate), arrival0 + (packets + 1) * n / rate


def test_impossible_and_non_finite_values_are_marked_bad_not_passed_on():
    """Issue 11 row 3: NaN, 1e20 m/s^2 and 60 rad/s are marked ``bad`` (the client drops
    and counts them); the packet's timing still counts, so the next one loses nothing."""
    rng = np.random.default_rng(11)
    drv = MovesenseDriver(208)
    ts, arrival = _steady(drv, rng, 10)
    acc, gyr = _samples(rng, 8)
    acc[1, 0] = 1e20
    acc[4, 2] = np.nan
    gyr[6, 1] = np.degrees(60.0)
    p = drv.decode(gsp_frame(REF, ts, acc, gyr), arrival)
    assert p.bad is not None and list(np.flatnonzero(p.bad)) == [1, 4, 6]
    acc, gyr = _samples(rng, 8)
    q = drv.decode(gsp_frame(REF, ts + int(8 * 1000 / 208), acc, gyr), arrival + 8 / 208)
    assert q.lost == 0 and q.bad is None


def test_clipped_samples_are_counted():
    """Issue 11 row 14: samples at the default full scale (2000 deg/s, 8 g) are counted."""
    rng = np.random.default_rng(12)
    drv = MovesenseDriver(208)
    acc, gyr = _samples(rng, 8)
    gyr[2, 0] = 2000.0
    gyr[3, 1] = -2000.0
    acc[5, 2] = 8 * 9.80665
    assert drv.decode(gsp_frame(REF, 1000, acc, gyr), 0.1).clipped == 3


@pytest.mark.parametrize("jump_ms", [1_000_000, -1_000_000, 5_000])
def test_timestamp_jump_against_the_host_clock_is_a_glitch_not_a_loss(jump_ms):
    """Issue 11 row 5: the timestamp leaps (1e6 ms) while the packets keep arriving every
    38 ms: nothing is lost, and the device time of the samples goes on continuously,
    whether the clock stays off or comes back."""
    rng = np.random.default_rng(13)
    drv = MovesenseDriver(208)
    ts, arrival = _steady(drv, rng, 100)
    step = int(8 * 1000 / 208)
    acc, gyr = _samples(rng, 8)
    p = drv.decode(gsp_frame(REF, (ts + jump_ms) % 2**32, acc, gyr), arrival)
    assert p.lost == 0 and p.flags["clock_glitch"]
    q = drv.decode(gsp_frame(REF, (ts + jump_ms + step) % 2**32, acc, gyr), arrival + 8 / 208)
    assert q.lost == 0 and not q.flags["restart"]
    r = drv.decode(gsp_frame(REF, ts + 2 * step + 38, acc, gyr), arrival + 16 / 208)  # back
    assert r.lost == 0
    t = np.concatenate([p.device_t, q.device_t, r.device_t])
    assert np.diff(t) == pytest.approx(np.full(23, 1 / 208), abs=2e-3)


def test_a_real_gap_is_still_counted_when_the_host_clock_agrees():
    rng = np.random.default_rng(14)
    drv = MovesenseDriver(208)
    ts, arrival = _steady(drv, rng, 100)
    acc, gyr = _samples(rng, 8)
    gap = 3 * 208  # 3 s of samples never sent
    p = drv.decode(gsp_frame(REF, ts + round(gap * 1000 / 208), acc, gyr), arrival + 3.0)
    assert p.lost == gap and not p.flags["clock_glitch"]

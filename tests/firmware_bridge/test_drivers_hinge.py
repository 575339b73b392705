"""The hinge open profile v1 (docs/protocol.md): encoders and the strict decoder are inverses."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from firmware_bridge.drivers import DRIVERS, driver_by_name, driver_for
from firmware_bridge.drivers.base import PacketError
from firmware_bridge.drivers.hinge_profile import (
    ERR_BUSY,
    ERR_INVALID_LENGTH,
    ERR_UNKNOWN_OPCODE,
    ERR_UNSUPPORTED_VALUE,
    HEADER,
    MAX_SAMPLES,
    OP_SET_BATCH,
    OP_SET_PLACEMENT,
    OP_SET_RATE,
    OP_START,
    OP_STOP,
    SERVICE_UUID,
    ControlError,
    HingeInfo,
    HingeProfileDriver,
    cmd_set_batch,
    cmd_set_placement,
    cmd_set_rate,
    cmd_start,
    cmd_stop,
    decode_info,
    default_info,
    encode_data_packet,
    encode_info,
    nearest_rate,
    parse_control,
)
from tests.helpers import in_virtual_time

INFO = default_info("thigh", rate_hz=208)
PERIOD_US = 1e6 / 208


def _batch(rng, n):
    acc = rng.uniform(-15 * 9.81, 15 * 9.81, (n, 3))
    gyr = rng.uniform(-30.0, 30.0, (n, 3))
    return acc, gyr


def _stream(rng, sizes, seq0=0, t0_us=1_000_000):
    """Packets as firmware would send them: seq = index of the first sample, t = its time."""
    out, idx = [], seq0
    for n in sizes:
        acc, gyr = _batch(rng, n)
        t = t0_us + round((idx - seq0) * PERIOD_US)
        out.append((idx, t, acc, gyr, encode_data_packet(idx, t, acc, gyr, INFO)))
        idx += n
    return out


def test_round_trip_within_int16_quantisation():
    rng = np.random.default_rng(1)
    drv = HingeProfileDriver(200, info=INFO)
    for idx, t, acc, gyr, pkt in _stream(rng, [10, 19, 1, 7]):
        assert len(pkt) <= 244  # fits one notification at MTU 247
        p = drv.decode(pkt)
        assert len(p) == len(acc)
        assert np.abs(p.acc - acc).max() <= INFO.acc_scale / 2 + 1e-12
        assert np.abs(p.gyr - gyr).max() <= INFO.gyr_scale / 2 + 1e-12
        assert p.device_t[0] == pytest.approx(t * 1e-6, abs=1e-9)
        assert np.diff(p.device_t) == pytest.approx(np.full(len(acc) - 1, 1 / 208), abs=1e-9)
        assert p.seq == idx and p.seq_modulus == 65536 and p.lost == 0
        assert not any(p.flags.values()), p.flags


def test_exact_byte_layout():
    # version 1, flags 0, seq 0x0102, t 0x0A0B0C0D, n 1, then ax..gz little-endian int16
    acc = np.array([[1, -2, 3]]) * INFO.acc_scale
    gyr = np.array([[-4, 5, -32768]]) * INFO.gyr_scale
    pkt = encode_data_packet(0x0102, 0x0A0B0C0D, acc, gyr, INFO)
    assert pkt == bytes.fromhex("01 04 0201 0d0c0b0a 01") + struct.pack("<6h", 1, -2, 3, -4, 5, -32768)
    assert pkt[1] & 0x04  # the -32768 sample saturated: gyro clipping flag


def test_clipping_and_overflow_flags():
    drv = HingeProfileDriver(200, info=INFO)
    acc = np.array([[20 * 9.81, 0, 0]])  # beyond +-16 g
    p = drv.decode(encode_data_packet(0, 0, acc, np.zeros((1, 3)), INFO, fifo_overflow=True))
    assert p.flags["acc_clipped"] and p.flags["fifo_overflow"] and not p.flags["gyr_clipped"]
    assert p.acc[0, 0] == pytest.approx(32767 * INFO.acc_scale)


def test_losses_counted_exactly_with_varying_batches_and_wraps():
    rng = np.random.default_rng(2)
    sizes = list(rng.integers(1, MAX_SAMPLES + 1, 4000))  # ~40k samples: seq wraps
    packets = _stream(rng, sizes, seq0=65000, t0_us=2**32 - 3_000_000)  # time wraps too
    drop = set(rng.choice(len(packets), 300, replace=False)) - {0}
    drv = HingeProfileDriver(200, info=INFO)
    lost = 0
    times = []
    for i, (*_, pkt) in enumerate(packets):
        if i in drop:
            continue
        p = drv.decode(pkt)
        lost += p.lost
        times.append(p.device_t)
    assert lost == sum(sizes[i] for i in drop)
    t = np.concatenate(times)
    assert np.all(np.diff(t) > 0)  # unwrapped across the uint32 microsecond wrap


def test_gap_longer_than_the_sequence_wrap_is_exact():
    """A 6-minute outage (> 65536 samples at 208 Hz): device time resolves the wraps."""
    rng = np.random.default_rng(3)
    drv = HingeProfileDriver(200, info=INFO)
    first = _stream(rng, [10], seq0=100)[0]
    gap_samples = 10 + 6 * 60 * 208 + 3
    later = _stream(rng, [10], seq0=100 + gap_samples, t0_us=1_000_000 + round(gap_samples * PERIOD_US))[0]
    drv.decode(first[4])
    assert drv.decode(later[4]).lost == gap_samples - 10


@pytest.mark.parametrize(
    "mangle, why",
    [
        (lambda p: p[:5], "short header"),
        (lambda p: b"", "empty"),
        (lambda p: bytes([2]) + p[1:], "wrong version"),
        (lambda p: bytes([0]) + p[1:], "version 0"),
        (lambda p: p[:1] + bytes([0x08]) + p[2:], "reserved flag bit"),
        (lambda p: p[:1] + bytes([0x80]) + p[2:], "reserved flag bit 7"),
        (lambda p: p[:8] + bytes([0]) + p[9:], "zero samples"),
        (lambda p: p[:8] + bytes([p[8] + 1]) + p[9:], "N larger than the payload"),
        (lambda p: p[:8] + bytes([p[8] - 1]) + p[9:], "N smaller than the payload"),
        (lambda p: p + b"\x00", "trailing byte"),
        (lambda p: p + b"\x00" * 12, "an extra sample not counted in N"),
        (lambda p: p[:-1], "truncated sample"),
        (lambda p: p[: HEADER.size], "header only"),
    ],
)
def test_malformed_packets_raise_and_leave_state_alone(mangle, why):
    rng = np.random.default_rng(4)
    pkts = _stream(rng, [5, 5, 5])
    drv = HingeProfileDriver(200, info=INFO)
    drv.decode(pkts[0][4])
    with pytest.raises(PacketError):
        drv.decode(mangle(pkts[1][4]))
    # the bad packet did not disturb the loss accounting: the next good one shows 5 lost
    assert drv.decode(pkts[2][4]).lost == 5, why


def test_duplicate_packets_are_rejected():
    rng = np.random.default_rng(5)
    pkts = _stream(rng, [5, 5])
    drv = HingeProfileDriver(200, info=INFO)
    drv.decode(pkts[0][4])
    with pytest.raises(PacketError):
        drv.decode(pkts[0][4])
    assert drv.decode(pkts[1][4]).lost == 0


def test_counter_restarted_by_start_after_stop():
    """STOP, 1 s, START: the counter starts again at 0 while the device clock ran on."""
    rng = np.random.default_rng(8)
    drv = HingeProfileDriver(200, info=INFO)
    first = _stream(rng, [10] * 3, seq0=700)
    for pkt in first:
        drv.decode(pkt[4])
    t_resume = first[-1][1] + round((10 + 208) * PERIOD_US)  # 208 samples after the last one
    again = _stream(rng, [10] * 3, seq0=0, t0_us=t_resume)
    p = drv.decode(again[0][4])
    assert p.flags["counter_reset"] and p.lost == 208
    assert [drv.decode(q[4]).lost for q in again[1:]] == [0, 0]


def test_device_restart_is_flagged_not_counted_as_loss():
    rng = np.random.default_rng(6)
    drv = HingeProfileDriver(200, info=INFO)
    drv.decode(_stream(rng, [5], seq0=5000, t0_us=50_000_000)[0][4])
    p = drv.decode(_stream(rng, [5], seq0=0, t0_us=10_000)[0][4])  # clock back to ~0
    assert p.flags["restart"] and p.lost == 0
    assert drv.decode(_stream(rng, [5], seq0=5, t0_us=10_000 + round(5 * PERIOD_US))[0][4]).lost == 0


def test_sample_period_is_measured_from_device_time():
    """An IMU whose real rate is 1 % off nominal: samples are placed at the real period."""
    rng = np.random.default_rng(7)
    real_us = PERIOD_US * 1.01
    drv = HingeProfileDriver(200, info=INFO)
    for k in range(100):
        acc, gyr = _batch(rng, 10)
        p = drv.decode(encode_data_packet(10 * k, round(10 * k * real_us), acc, gyr, INFO))
    assert np.diff(p.device_t) == pytest.approx(np.full(9, real_us * 1e-6), rel=1e-4)


def test_info_round_trip_and_fits_one_read():
    for placement in ("thigh", "lumbar", ""):
        info = default_info(placement, rate_hz=104, streaming=True)
        raw = encode_info(info)
        assert len(raw) <= 246  # one ATT read response at MTU 247
        assert decode_info(raw) == info
    ext = json.loads(encode_info(INFO))
    ext["x_board"] = "xiao-nrf52840"
    assert decode_info(json.dumps(ext).encode()).extensions == {"x_board": "xiao-nrf52840"}


def _info_with(**changes):
    d = json.loads(encode_info(INFO))
    for k, v in changes.items():
        if v is ...:
            del d[k]
        else:
            d[k] = v
    return json.dumps(d).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b"{not json",
        _info_with(v=2),
        _info_with(v=True),
        _info_with(v=...),
        _info_with(acc_scale=...),
        _info_with(acc_scale="0.0048"),
        _info_with(acc_scale=0),
        _info_with(gyr_scale=-1.0),
        _info_with(rate_hz=True),
        _info_with(rates=[]),
        _info_with(rates=[104, "208"]),
        _info_with(batch=0),
        _info_with(batch=2.5),
        _info_with(streaming=1),
        _info_with(placement="a-very-long-placement-label"),
        _info_with(colour="red"),
        b"{" + b" " * 600 + b"}",
        # issue 11, row 9: values no usable sensor reports
        _info_with(placement="\ud800"),  # a lone surrogate
        _info_with(fw="\udfff-beta"),
        _info_with(acc_range_g=10**309),  # no float value
        _info_with(gyr_range_dps=10**400),
        _info_with(rate_hz=5e-324),
        _info_with(rate_hz=1e9),
        _info_with(acc_scale=1e300),
        _info_with(gyr_scale=1e-300),
        _info_with(acc_scale=INFO.acc_scale * 100),  # does not fit acc_range_g
    ],
)
def test_info_strict(raw):
    with pytest.raises(PacketError):
        decode_info(raw)


def test_control_commands():
    stopped = default_info("thigh", streaming=False)
    streaming = default_info("thigh", streaming=True)
    assert parse_control(cmd_start(), streaming) == (OP_START, None)
    assert parse_control(cmd_stop(), stopped) == (OP_STOP, None)
    assert parse_control(cmd_set_rate(104), stopped) == (OP_SET_RATE, 104)
    assert parse_control(cmd_set_batch(19), stopped) == (OP_SET_BATCH, 19)
    assert parse_control(cmd_set_placement("lumbar"), streaming) == (OP_SET_PLACEMENT, "lumbar")
    for data, info, code in [
        (b"", stopped, ERR_INVALID_LENGTH),
        (b"\x09", stopped, ERR_UNKNOWN_OPCODE),
        (cmd_start() + b"\x00", stopped, ERR_INVALID_LENGTH),
        (cmd_set_rate(100), stopped, ERR_UNSUPPORTED_VALUE),
        (cmd_set_rate(104)[:2], stopped, ERR_INVALID_LENGTH),
        (cmd_set_rate(104), streaming, ERR_BUSY),
        (cmd_set_batch(20), stopped, ERR_UNSUPPORTED_VALUE),
        (cmd_set_batch(0), stopped, ERR_UNSUPPORTED_VALUE),
        (cmd_set_batch(5), streaming, ERR_BUSY),
        (bytes([OP_SET_PLACEMENT]), stopped, ERR_INVALID_LENGTH),
        (bytes([OP_SET_PLACEMENT]) + b"\xff", stopped, ERR_UNSUPPORTED_VALUE),
    ]:
        with pytest.raises(ControlError) as err:
            parse_control(data, info)
        assert err.value.code == code, data


def test_nearest_rate():
    assert nearest_rate(200, (52, 104, 208, 416)) == 208
    assert nearest_rate(100, (52, 104, 208)) == 104
    assert nearest_rate(78, (52, 104)) == 104


def test_registry_recognises_the_hinge_profile():
    assert driver_for("anything", [SERVICE_UUID.upper()]) is HingeProfileDriver
    assert driver_for("hinge-thigh", []) is HingeProfileDriver
    assert driver_for("Keyboard", ["0000180f-0000-1000-8000-00805f9b34fb"]) is None
    assert driver_for(None, []) is None
    assert driver_by_name("hinge") is HingeProfileDriver
    assert len({d.name for d in DRIVERS}) == len(DRIVERS)


@in_virtual_time
async def test_start_negotiates_rate_and_stop_ends_streaming_over_real_bleak():
    """The driver's start()/stop() through bleak's own BleakClient on the bumble backend,
    against a virtual hinge board (firmware_bridge.virtual) built from this profile."""
    import asyncio

    from bleak import BleakClient

    from firmware_bridge.virtual.backend import BumbleClient
    from firmware_bridge.virtual.hinge_sensor import HingeSensor
    from firmware_bridge.virtual.peripheral import SampleSource
    from firmware_bridge.virtual.world import VirtualWorld

    t = np.arange(0, 20, 1 / 200)
    rng = np.random.default_rng(9)
    source = SampleSource(t, rng.normal(0, 5, (len(t), 3)), rng.normal(0, 2, (len(t), 3)))
    async with VirtualWorld() as world:
        sensor = HingeSensor("hinge-T", source, placement="thigh")
        await world.add(sensor)
        drv = HingeProfileDriver(rate_hz=100)  # the board boots at 200 Hz; 100 is supported
        received: list[bytes] = []
        async with BleakClient(sensor.address, backend=BumbleClient) as client:
            info = await drv.start(client, received.append)
            assert info.rate_hz == 100 and info.placement == "thigh" and info.timestamps == "device"
            assert info.model == "virtual-imu" and info.battery_pct == 87
            await asyncio.sleep(1.0)
            await drv.stop(client)
            await asyncio.sleep(0.2)
            n_at_stop = len(received)
            await asyncio.sleep(0.3)
            assert len(received) == n_at_stop  # STOP ended the stream
    packets = [drv.decode(d) for d in received]
    assert sum(p.lost for p in packets) == 0 and len(packets) >= 5
    acc = np.concatenate([p.acc for p in packets])
    expected = source.resampled(100).acc[: len(acc)]
    assert np.abs(acc - expected).max() <= INFO.acc_scale / 2 + 1e-9
    t_dev = np.concatenate([p.device_t for p in packets])
    np.testing.assert_allclose(np.diff(t_dev), 0.01, atol=2e-6)


def test_counter_jump_with_consistent_device_time_is_not_a_loss():
    """Issue 11 row 5: one packet's seq leaps by 30,000 while the device time goes on by
    one packet: the device clock says nothing was lost, whether the counter stays off or
    comes back."""
    rng = np.random.default_rng(20)
    drv = HingeProfileDriver(200, info=INFO)
    pkts = _stream(rng, [10] * 6)
    for p in pkts[:3]:
        drv.decode(p[4])
    idx, t, acc, gyr, _ = pkts[3]
    jumped = drv.decode(encode_data_packet(idx + 30_000, t, acc, gyr, INFO))
    assert jumped.lost == 0 and jumped.flags["counter_reset"]
    idx, t, acc, gyr, _ = pkts[4]
    assert drv.decode(encode_data_packet(idx + 30_000, t, acc, gyr, INFO)).lost == 0  # stays
    assert drv.decode(pkts[5][4]).lost == 0  # comes back


def test_device_time_glitch_with_a_plausible_counter_is_not_a_loss_nor_a_restart():
    """The device time leaps 1000 s (or back) for one packet while seq goes on and the
    packets arrive on time: counted from seq, device time kept continuous."""
    rng = np.random.default_rng(21)
    drv = HingeProfileDriver(208, info=INFO)
    pkts = _stream(rng, [10] * 5)
    arrival = lambda i: 1.0 + i * 10 / 208  # noqa: E731
    for i, p in enumerate(pkts[:3]):
        drv.decode(p[4], arrival(i))
    idx, t, acc, gyr, _ = pkts[3]
    p = drv.decode(encode_data_packet(idx, t + 1_000_000_000, acc, gyr, INFO), arrival(3))
    assert p.lost == 0 and p.flags["clock_glitch"] and not p.flags["restart"]
    q = drv.decode(pkts[4][4], arrival(4))
    assert q.lost == 0 and not q.flags["restart"]
    assert np.diff(np.r_[p.device_t, q.device_t]) == pytest.approx(np.full(19, 1 / 208), abs=1e-5)


def test_a_real_gap_counts_when_counter_device_time_and_host_clock_agree():
    rng = np.random.default_rng(22)
    drv = HingeProfileDriver(208, info=INFO)
    pkts = _stream(rng, [10] * 400)
    drv.decode(pkts[0][4], 1.0)
    p = drv.decode(pkts[300][4], 1.0 + 300 * 10 / 208)
    assert p.lost == 2990 and not (p.flags["counter_reset"] or p.flags["clock_glitch"])


def test_impossible_values_are_marked_and_clipped_samples_counted():
    """Issue 11 rows 3 and 14: a board with a +-1000 g range can send 1000 g (impossible on
    a body: marked bad); int16 full scale is clipping, per sample."""
    info = default_info("thigh", rate_hz=208)
    wide = HingeInfo(**{**info.__dict__, "acc_range_g": 1000.0, "acc_scale": 1000 * 9.80665 / 32768})
    drv = HingeProfileDriver(208, info=wide)
    acc = np.zeros((4, 3))
    gyr = np.zeros((4, 3))
    acc[1, 0] = 900 * 9.80665  # 900 g: representable, impossible
    gyr[2, 2] = 40.0  # beyond 2000 deg/s (34.9 rad/s): saturates
    p = drv.decode(encode_data_packet(0, 0, acc, gyr, wide))
    assert list(np.flatnonzero(p.bad)) == [1]
    assert p.clipped == 1 and p.flags["gyr_clipped"]


def test_loss_before_the_first_packet_is_counted_from_the_counter():
    """Issue 11 row 4: START sets the counter to 0; a link that drops before any packet
    came shows, on reconnect, a first packet with seq 620: 620 samples never came."""
    rng = np.random.default_rng(23)
    drv = HingeProfileDriver(208, info=INFO)
    drv._from_start, drv._start_at = True, 0.0  # what start() sets after writing START
    p = drv.decode(_stream(rng, [10], seq0=620)[0][4], 620 / 208 + 0.05)
    assert p.lost == 620 and p.flags["start_counted"]
    drv = HingeProfileDriver(208, info=INFO)
    drv._from_start, drv._start_at = True, 0.0
    bogus = drv.decode(_stream(rng, [10], seq0=30_000)[0][4], 0.2)  # 30,000 samples in 0.2 s?
    assert bogus.lost == 0

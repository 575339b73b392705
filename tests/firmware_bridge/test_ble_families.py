"""Virtual Movesense and WitMotion sensors end to end over the virtual BLE stack.

Each family's virtual peripheral builds its bytes with the family's own encoders and the
client decodes them with the family's driver, found from the advertisement: every sample
sent must arrive, equal within the family's wire precision (float32 for Movesense, int16
counts for WitMotion), at the rate the driver asked for.
"""

from __future__ import annotations

import numpy as np
import pytest

from firmware_bridge.drivers import witmotion as wm
from firmware_bridge.virtual import virtual_time
from firmware_bridge.virtual.peripheral import SampleSource
from firmware_bridge.virtual.session import VirtualSession


def source(seconds: float, seed: int) -> SampleSource:
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 1 / 200)
    phase = rng.uniform(0, 2 * np.pi, 2)
    acc = np.column_stack([np.sin(t + phase[0]), np.cos(t), 9.81 + 0.5 * np.sin(3 * t)])
    gyr = np.column_stack([np.sin(2 * t + phase[1]), 0.5 * np.cos(t), 0.1 * np.sin(5 * t)])
    return SampleSource(t, acc, gyr)


async def stream(family: str) -> tuple[VirtualSession, dict[str, list]]:
    vs = VirtualSession({"thigh": source(3.0, 1), "lumbar": source(3.0, 2)}, family=family)
    got: dict[str, list] = {"thigh": [], "lumbar": []}
    async with vs:
        async for batch in vs:
            got[batch.segment].append(batch)
    return vs, got


@pytest.fixture(scope="module")
def families():
    # in virtual time: a host stall would look like lost samples to a family without
    # counters (WitMotion), and on a busy machine stalls come at random
    return {family: virtual_time.run(stream(family)) for family in ("movesense", "witmotion")}


@pytest.mark.parametrize("family", ["movesense", "witmotion"])
def test_every_sample_arrives_decoded_by_the_family_driver(families, family):
    vs, got = families[family]
    for seg in ("thigh", "lumbar"):
        sensor = vs.sensors[seg]
        index, _, _ = sensor.log.arrays()
        assert len(index) > 500
        acc = np.concatenate([b.acc for b in got[seg]])
        gyr = np.concatenate([b.gyr for b in got[seg]])
        assert len(acc) == len(index)
        # the sensor streamed at the rate the driver asked for (Movesense 208, WitMotion 200)
        assert sensor.rate_hz == {"movesense": 208.0, "witmotion": 200.0}[family]
        want_acc, want_gyr = sensor.source.acc[index], sensor.source.gyr[index]
        if family == "movesense":  # float32 on the wire, gyro in deg/s
            np.testing.assert_allclose(acc, want_acc, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(gyr, want_gyr, rtol=1e-6, atol=1e-6)
        else:  # int16 counts
            assert np.abs(acc - want_acc).max() <= wm.ACC_SCALE / 2 + 1e-9
            assert np.abs(gyr - want_gyr).max() <= wm.GYR_SCALE / 2 + 1e-9
        status = {s.segment: s for s in vs.status()}[seg]
        assert status.driver == family and status.lost_samples == 0 and status.malformed == 0


def test_witmotion_times_are_reconstructed_and_increasing(families):
    vs, got = families["witmotion"]
    for seg in ("thigh", "lumbar"):
        t = np.concatenate([b.t for b in got[seg]])
        assert (np.diff(t) > 0).all()
        # reconstructed from the nominal rate: 5 ms steps on the session clock
        assert np.median(np.diff(t)) == pytest.approx(1 / 200, rel=0.05)

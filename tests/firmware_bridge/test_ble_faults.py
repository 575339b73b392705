"""Faults over the virtual BLE stack, through bleak's real BleakScanner/BleakClient.

Each scenario is a live session of two virtual hinge-profile sensors (bumble peripherals on
a virtual link) driven by ``SensorSession`` exactly as real sensors are; the sensors inject
one kind of fault and log exactly what they sent, which is the ground truth here. The
fault scenarios run concurrently in one event loop (each in its own virtual world), in
virtual time (``virtual_time.run``): the timing requirements (reconnect, detection) are
measured on the clock the sensors, the radio and the host's timeouts and backoff all keep,
which the machine's load cannot stretch (what a busy CPU adds is a benchmark's question).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from firmware_bridge.virtual import virtual_time
from firmware_bridge.virtual.faults import Faults
from firmware_bridge.virtual.peripheral import SampleSource
from firmware_bridge.virtual.session import VirtualSession
from processing.recording import RecordingWriter, read_recording

pytestmark = pytest.mark.slow

RATE = 200.0


def source(duration_s: float, seed: int) -> SampleSource:
    """Smooth, non-repeating motion: every sample distinguishable after int16 quantisation."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_s, 1.0 / RATE)
    phase = rng.uniform(0, 2 * np.pi, 6)
    acc = np.column_stack([3.0 * np.sin(1.3 * t + phase[i]) for i in range(3)]) + [0, 0, 9.81]
    gyr = np.column_stack([2.0 * np.sin(2.1 * t + phase[3 + i]) for i in range(3)])
    return SampleSource(t, acc, gyr)


@dataclass
class Run:
    session: VirtualSession
    batches: dict[str, list] = field(default_factory=lambda: {"thigh": [], "lumbar": []})
    # (world time, segment, state) whenever a sensor's state changes, seen by the consumer
    transitions: list[tuple[float, str, str]] = field(default_factory=list)
    record: object = None

    def t(self, seg: str) -> np.ndarray:
        return np.concatenate([b.t for b in self.batches[seg]])

    def seq(self, seg: str) -> np.ndarray:
        return np.concatenate([b.extra["seq"] for b in self.batches[seg]]).astype(int)


async def run_scenario(duration_s: float, faults: dict[str, Faults], record=None) -> Run:
    sources = {"thigh": source(duration_s, 1), "lumbar": source(duration_s, 2)}
    writer = RecordingWriter(record, ["thigh", "lumbar"]) if record is not None else None
    vs = VirtualSession(sources, faults=faults, writer=writer, rate_hz=RATE)
    run = Run(vs, record=record)
    states: dict[str, str] = {}

    def watch() -> None:
        for s in vs.status():
            if states.get(s.segment) != s.state:
                states[s.segment] = s.state
                run.transitions.append((vs.world.now(), s.segment, s.state))

    async def poll() -> None:  # state changes even when no batch arrives (a vanished sensor)
        while True:
            watch()
            await asyncio.sleep(0.01)

    async with vs:
        poller = asyncio.get_running_loop().create_task(poll())
        async for batch in vs:
            run.batches[batch.segment].append(batch)
            if writer is not None:
                writer.append(batch)
        poller.cancel()
        watch()
    if writer is not None:
        writer.close()
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ble_faults")

    async def all_scenarios():
        faults = await asyncio.gather(
            # thigh: link dropped at 1.5 s, advertising again 1.5 s later
            run_scenario(5.5, {"thigh": Faults(drops=((1.5, 1.5),))}, record=tmp / "drop"),
            # lumbar vanishes (radio silent) at 2 s and never comes back
            run_scenario(4.5, {"lumbar": Faults(vanish=((2.0, None),))}),
            # skipped sequence numbers and malformed/short packets
            run_scenario(
                4.0,
                {
                    "thigh": Faults(skips=((1.0, 7), (2.5, 23)), malformed_every=4),
                    "lumbar": Faults(malformed_every=3, seed=5),
                },
            ),
            # clocks: 100 ppm apart and 50 ms offset, with jittered packets released in
            # bunches of two (both sensors share the host's connection interval). Alongside
            # the others: the virtual radio's air times, not the crowded loop, time the fit.
            run_scenario(
                12.0,
                {
                    "thigh": Faults(clock_ppm=100.0, jitter_s=0.01, bunch=2, seed=1),
                    "lumbar": Faults(clock_offset_s=0.05, jitter_s=0.01, bunch=2, seed=2),
                },
            ),
        )
        return faults

    names = ("drop", "vanish", "corrupt", "clocks")
    return dict(zip(names, virtual_time.run(all_scenarios()), strict=True))


def sent(run: Run, seg: str):
    return run.session.sensors[seg].log


def test_link_drop_reconnects_within_2s_and_records_the_exact_gap(runs):
    run = runs["drop"]
    sensor = run.session.sensors["thigh"]
    back = [
        w for w, seg, state in run.transitions if seg == "thigh" and state == "streaming" and w > sensor.readvertised_at
    ]
    assert any(state == "reconnecting" for _, seg, state in run.transitions if seg == "thigh")
    assert back, f"thigh never reconnected: {run.transitions}"
    assert back[0] - sensor.readvertised_at < 2.0

    # Truth: the sensor numbers every sample it takes (its source's index). Lost = taken
    # between the first and the last sample received, and not received: the samples not
    # sent while the link was down, plus any sent into the dropping link (how many of
    # those depends on when the drop caught the packets in flight).
    index, _, _ = sent(run, "thigh").arrays()
    received = run.seq("thigh")
    assert np.isin(received, index).all() and len(np.unique(received)) == len(received)
    expected_lost = int(received.max() - received.min() + 1 - len(received))
    assert expected_lost >= int(np.sum(np.diff(index) - 1))  # at least what was never sent
    assert expected_lost > 1.5 * RATE * 0.9  # the gap really spans the time away
    status = {s.segment: s for s in run.session.status()}
    assert status["thigh"].lost_samples == expected_lost
    assert status["lumbar"].lost_samples == 0

    rec = read_recording(run.record)
    lost = {s["segment"]: s["lost_samples"] for s in rec.meta["sensors"]}
    assert lost == {"thigh": expected_lost, "lumbar": 0}
    seq = rec.segments["thigh"]["seq"].to_numpy().astype(int)
    np.testing.assert_array_equal(seq, index)  # recording goes on after the gap, nothing filled in
    t = rec.segments["thigh"]["t"].to_numpy()
    gap = np.argmax(np.diff(seq))
    assert t[gap + 1] - t[gap] == pytest.approx((expected_lost + 1) / RATE, abs=0.01)


def test_vanished_sensor_detected_within_2s(runs):
    run = runs["vanish"]
    sensor = run.session.sensors["lumbar"]
    gone = [
        w
        for w, seg, state in run.transitions
        if seg == "lumbar" and state in ("reconnecting", "lost") and w >= sensor.vanished_at
    ]
    assert gone, f"vanish never detected: {run.transitions}"
    assert gone[0] - sensor.vanished_at < 2.0
    # the other sensor streamed on to the end
    assert len(run.t("thigh")) == len(sent(run, "thigh").arrays()[0])


def test_skipped_sequence_numbers_counted_exactly(runs):
    run = runs["corrupt"]
    status = {s.segment: s for s in run.session.status()}
    log = sent(run, "thigh")
    assert log.skipped == 30
    assert status["thigh"].lost_samples == 30
    assert status["lumbar"].lost_samples == 0
    np.testing.assert_array_equal(run.seq("thigh"), log.arrays()[0])


def test_malformed_packets_counted_and_skipped(runs):
    run = runs["corrupt"]
    status = {s.segment: s for s in run.session.status()}
    for seg in ("thigh", "lumbar"):
        log = sent(run, seg)
        assert log.malformed > 5
        assert status[seg].malformed == log.malformed
        assert status[seg].received == len(log.arrays()[0])
        assert status[seg].state == "stopped"  # ended normally, no crash


def test_two_drifting_clocks_aligned_within_2ms_after_10s(runs):
    run = runs["clocks"]
    # Both sources sample the same true instants: sample k of each was taken at the same time.
    t_thigh, t_lumbar = run.t("thigh"), run.t("lumbar")
    s_thigh, s_lumbar = run.seq("thigh"), run.seq("lumbar")
    common, i, j = np.intersect1d(s_thigh, s_lumbar, return_indices=True)
    late = common >= 10.0 * RATE
    assert late.sum() > 200
    misalignment = np.abs(t_thigh[i][late] - t_lumbar[j][late])
    assert misalignment.max() < 0.002, f"max {misalignment.max() * 1e3:.2f} ms"
    # and the device clocks really were that far apart
    d_thigh = sent(run, "thigh").arrays()[2]
    d_lumbar = sent(run, "lumbar").arrays()[2]
    assert abs((d_thigh[-1] - d_thigh[0]) - (d_lumbar[-1] - d_lumbar[0])) > 0.0009
    assert (d_lumbar - d_thigh)[0] == pytest.approx(0.05, abs=0.002)


def test_recording_session_json_is_valid(runs):
    meta = json.loads((runs["drop"].record / "session.json").read_text())
    sensors = {s["segment"]: s for s in meta["sensors"]}
    assert {seg: s["device"]["name"] for seg, s in sensors.items()} == {"thigh": "hinge-T", "lumbar": "hinge-L"}
    assert sensors["thigh"]["device"]["address"] == runs["drop"].session.sensors["thigh"].address
    assert sensors["thigh"]["timestamps"] == "device"
    assert sensors["thigh"]["rate_hz"] == 200.0

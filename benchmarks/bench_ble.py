"""Benchmark of the BLE path over virtual sensors: CPU per packet, latency, a long run.

Two virtual hinge-profile sensors at 200 Hz stream through bumble (virtual controllers on
a link), bleak's own front end with the bumble backend, and ``SensorSession``:

1. real time (``--seconds``, default 30): host CPU per notification for everything in the
   process (virtual sensors, both BLE stacks, bleak, decoding, clock mapping), and latency
   from each sample's device time to the moment the session hands it over (p50/p99; per
   sample, which includes waiting for the packet to fill, and for the newest sample of
   each packet, which is transport only);
2. a long run (``--minutes``, default 10) at ``--speed`` times real time (default 5):
   memory (RSS), the session's notification queue and the lag of the newest sample behind
   the virtual clock must stay flat (a growing lag means this machine could not keep up
   with that speed: the virtual sensors fall behind their schedule).

Baselines measured in the same run: decoding + clock mapping of the same packets without
any BLE (the floor of the host's own work), and the event loop's timer lateness (the
floor of any latency in this process).

    uv run python benchmarks/bench_ble.py [--seconds 30] [--minutes 10] [--speed 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time

import numpy as np

from firmware_bridge.clock import DeviceClock
from firmware_bridge.drivers import hinge_profile as hp
from firmware_bridge.virtual.peripheral import SampleSource
from hinge import VirtualSession

RATE = 200.0


def sources(seconds: float) -> dict[str, SampleSource]:
    t = np.arange(0.0, seconds, 1.0 / RATE)
    out = {}
    for k, seg in enumerate(("thigh", "lumbar")):
        acc = np.column_stack([np.sin(t + k), np.cos(t + k), 9.81 + 0.1 * np.sin(3 * t)])
        gyr = np.column_stack([np.sin(2 * t + k), 0.5 * np.cos(t), 0.1 * np.sin(5 * t)])
        out[seg] = SampleSource(t, acc, gyr)
    return out


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


async def real_time(seconds: float) -> dict:
    lat_all, lat_newest = [], []
    vs = VirtualSession(sources(seconds))
    async with vs:
        cpu0, wall0 = time.process_time(), time.monotonic()
        async for batch in vs:
            now = vs.world.now()
            # virtual device clocks without faults read world time: device_t is the truth
            lat = now - batch.extra["device_t"]
            lat_all.append(lat)
            lat_newest.append(lat[-1])
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    packets = sum(s.sent_packets for s in vs.sensors.values())
    samples = sum(len(s.log.arrays()[0]) for s in vs.sensors.values())
    received = sum(s.received for s in vs.status())
    return dict(
        cpu=cpu,
        wall=wall,
        packets=packets,
        samples=samples,
        received=received,
        lat_all=np.concatenate(lat_all),
        lat_newest=np.asarray(lat_newest),
    )


def decode_baseline(n_packets: int = 4000) -> float:
    """CPU per packet of decoding + clock mapping alone (same packet format, no BLE)."""
    info = hp.default_info(rate_hz=RATE)
    src = sources(n_packets * 10 / RATE + 1)["thigh"]
    packets = [
        hp.encode_data_packet(k, int(k / RATE * 1e6), src.acc[k : k + 10], src.gyr[k : k + 10], info)
        for k in range(0, n_packets * 10, 10)
    ]
    driver = hp.HingeProfileDriver(RATE, info=info)
    clock = DeviceClock()
    t0 = time.process_time()
    for i, data in enumerate(packets):
        p = driver.decode(data, i * 0.05)
        clock.add(float(p.device_t[-1]), i * 0.05 + 0.002)
        clock.to_session(p.device_t)
    return (time.process_time() - t0) / len(packets)


async def timer_lateness(n: int = 400) -> np.ndarray:
    late = []
    for _ in range(n):
        t = time.monotonic()
        await asyncio.sleep(0.005)
        late.append(time.monotonic() - t - 0.005)
    return np.asarray(late)


async def long_run(minutes: float, speed: float) -> dict:
    vs = VirtualSession(sources(minutes * 60.0), speed=speed, keep_log=False)
    rows = []
    max_queue = 0
    async with vs:
        wall0 = time.monotonic()
        next_mark = 0.0
        async for batch in vs:
            depth = vs.session.queue_depth
            max_queue = max(max_queue, depth)
            if vs.now() >= next_mark:
                lag = vs.world.now() - batch.extra["device_t"][-1]
                rows.append((vs.now(), rss_mb(), depth, max_queue, lag))
                next_mark = vs.now() + minutes * 60.0 / 10
        wall = time.monotonic() - wall0
    status = vs.status()
    rows.append((vs.now(), rss_mb(), vs.session.queue_depth, max_queue, float("nan")))
    return dict(rows=rows, wall=wall, status=status, peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="real-time phase length")
    ap.add_argument("--minutes", type=float, default=10.0, help="long run, in session minutes")
    ap.add_argument("--speed", type=float, default=5.0, help="long run: times real time")
    args = ap.parse_args()

    base_decode = decode_baseline()
    base_late = asyncio.run(timer_lateness())
    rt = asyncio.run(real_time(args.seconds))
    per_packet = rt["cpu"] / rt["packets"]
    print(
        f"real-time phase: {args.seconds:g} s, 2 sensors x {RATE:g} Hz, "
        f"{rt['packets']} notifications, {rt['samples']} samples sent, {rt['received']} received"
    )
    print(f"{'figure':<44} {'value':>12} {'baseline':>12} {'ratio':>8}")
    print(
        f"{'host CPU per notification (10 samples), us':<44} {per_packet * 1e6:12.0f} "
        f"{base_decode * 1e6:12.0f} {per_packet / base_decode:8.1f}"
    )
    print(f"{'host CPU, % of one core':<44} {100 * rt['cpu'] / rt['wall']:12.1f}")
    for name, lat in (("latency per sample", rt["lat_all"]), ("latency newest sample of a packet", rt["lat_newest"])):
        for q in (50, 99):
            v = np.percentile(lat, q) * 1e3
            b = np.percentile(base_late, q) * 1e3
            print(f"{f'{name} p{q}, ms':<44} {v:12.2f} {b:12.2f} {v / max(b, 1e-3):8.1f}")
    print("  (baseline of CPU: decode + clock mapping without BLE; of latency: event-loop timer lateness)")

    lr = asyncio.run(long_run(args.minutes, args.speed))
    print(
        f"\nlong run: {args.minutes:g} min of 2 sensors x {RATE:g} Hz at {args.speed:g}x "
        f"real time ({lr['wall']:.0f} s wall)"
    )
    print(f"{'session min':>11} {'RSS MB':>8} {'queue':>6} {'max queue':>10} {'lag s':>7}")
    for t, rss, q, mq, lag in lr["rows"]:
        print(f"{t / 60:11.1f} {rss:8.1f} {q:6d} {mq:10d} {lag:7.2f}")
    first, last = lr["rows"][1] if len(lr["rows"]) > 2 else lr["rows"][0], lr["rows"][-1]
    print(
        f"RSS growth after the first mark: {last[1] - first[1]:+.1f} MB "
        f"(ratio end/first {last[1] / first[1]:.3f}); peak RSS {lr['peak_rss']:.0f} MB"
    )
    for s in lr["status"]:
        print(f"  {s.line()}")


if __name__ == "__main__":
    main()

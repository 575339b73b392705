"""The live path without hardware: two virtual IMUs over a virtual BLE link into the Pipeline.

Two virtual sensors (bumble peripherals) carry a simulated set of three reps (knee-first,
simultaneous, hips-rise-early); hinge's own BLE client finds them with bleak, connects and
streams ``SampleBatch``es, which the streaming ``Pipeline`` turns into angles and reps. Each
rep prints as the live detector emits it, the sensors' status lines at the end. This is what
``hinge demo --headless`` does. Times are on the session clock (0 = the session opened, before
the scan), mapped from the sensors' clocks through packet arrivals as with real sensors: they
and the hip lags may differ by a millisecond or so between runs; the reps and patterns do not.

    uv run python examples/stream_virtual_sensors.py              # ~7 s: the set at 4x speed
    uv run python examples/stream_virtual_sensors.py --seconds 12 --speed 1
"""

from __future__ import annotations

import argparse
import asyncio

from hinge import PATTERNS, Pipeline, Rep, VirtualSession, simulated_sources


def show(reps: list[Rep]) -> None:
    for rep in reps:
        print(
            f"rep {rep.index} at {rep.lockout_s:.1f} s: {rep.pattern}, hip lag {rep.hip_lag_ms:.0f} ms — {rep.cue}",
            flush=True,
        )


async def stream(seconds: float | None, speed: float) -> None:
    sources = simulated_sources(seconds, seed=0, reps=len(PATTERNS), patterns=PATTERNS)
    pipeline = Pipeline()
    src = VirtualSession(sources, speed=speed)
    async with src:
        async for batch in src:  # one sensor's newest samples, on the session clock
            show(pipeline.push(batch).reps)
        show(pipeline.finish().reps)  # a rep the data ended on, if any
        for status in src.status():
            print(status.line())
    print(f"{len(pipeline.reps)} reps")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None, help="data to stream (default: the whole set)")
    parser.add_argument("--speed", type=float, default=4.0, help="times real time (default 4)")
    args = parser.parse_args()
    asyncio.run(stream(args.seconds, args.speed))

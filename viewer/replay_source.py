"""A recording played back as a live source: paced batches with play/pause, speed and seek.

It yields the same ``SampleBatch``es a BLE session does (``async with src: async for batch
in src``), one short slice per segment per chunk of session time, interleaved in time order
(``processing.recording.BatchCursor``, the chunker ``hinge replay`` uses too), paced against
the wall clock at ``speed``. The controls (``play``, ``pause``,
``set_speed``, ``seek``, ``fast_forward``) are plain methods meant to run on the source's
own asyncio loop (the viewer's session process applies them there), so no locking is needed.

Seeking is deliberately simple and exact: the pass in progress ends, and a new pass starts
from the beginning of the recording and runs unpaced up to the target, so the pipeline that
consumes it (restarted by the session on every pass) is in exactly the state a straight
replay would have reached there.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_bridge.status import SensorStatus
from processing.recording import BatchCursor, Recording, RecordingWriter
from processing.samples import SampleBatch

#: Chunk length while paced and while fast-forwarding. Paced: 10 ms, the notification
#: interval of a 200 Hz sensor sending two samples at a time, so data arrives at least as
#: often as the viewer paints (~60 Hz); it costs the pipeline ~6 % of a core at 1x.
#: Fast: large chunks, fewer calls.
PACED_CHUNK_S = 0.01
FAST_CHUNK_S = 0.25


@dataclass(frozen=True)
class ReplayState:
    """What the replay controls show."""

    position_s: float
    duration_s: float
    speed: float
    playing: bool
    fast: bool = False  # running unpaced to a target (a seek or a rep jump)


class ReplaySource:
    """Paced, controllable playback of whole-segment ``SampleBatch``es (e.g. a ``Recording``)."""

    def __init__(self, batches: Mapping[str, SampleBatch], meta: Mapping[str, Any] | None = None) -> None:
        self._cursor = BatchCursor(batches)
        self.meta = dict(meta or {})
        self.start_s = self._cursor.start_s
        self.duration_s = self._cursor.end_s
        self.position_s = self.start_s
        self.speed = 1.0
        self.playing = True
        self.fast_until: float | None = None
        self.path: Path | None = None  # the recording's directory, when made from one (the window's report)
        self._play_after_fast = True
        self._restart = False
        self._changed = asyncio.Event()  # binds to the loop that first waits on it
        self._anchor = (time.monotonic(), self.position_s)

    @classmethod
    def from_recording(cls, recording: Recording) -> ReplaySource:
        src = cls({seg: recording.batch(seg) for seg in recording.segments}, recording.meta)
        src.path = recording.path
        return src

    def __getstate__(self) -> dict:
        """Picklable (the viewer's session process gets a copy): the event binds to a loop."""
        state = self.__dict__.copy()
        del state["_changed"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._changed = asyncio.Event()

    # -- the live-source protocol ---------------------------------------------------------
    async def __aenter__(self) -> ReplaySource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> AsyncIterator[SampleBatch]:
        return self.batches()

    def status(self) -> list[SensorStatus]:
        sensors = {s.get("segment"): s for s in self.meta.get("sensors", []) if isinstance(s, dict)}
        out = []
        for seg, b in self._cursor.batches.items():
            info = sensors.get(seg, {})
            rate = info.get("rate_hz") or (len(b) - 1) / max(float(b.t[-1] - b.t[0]), 1e-9)
            out.append(
                SensorStatus(
                    segment=seg,
                    name=info.get("name"),
                    address=info.get("address"),
                    driver=info.get("driver"),
                    state="replay",
                    rate_hz=float(rate),
                    received=self._cursor.sent[seg],
                )
            )
        return out

    def now(self) -> float:
        return self.position_s

    def finish_counts(self) -> None:
        """Nothing to count: a recording's losses are in its session.json already."""

    # -- controls (call on the source's loop) ---------------------------------------------
    def state(self) -> ReplayState:
        return ReplayState(self.position_s, self.duration_s, self.speed, self.playing, self.fast_until is not None)

    @property
    def at_end(self) -> bool:
        return self.position_s >= self.duration_s

    def play(self) -> None:
        if self.fast_until is not None:  # running unpaced to a target: play from there
            self._play_after_fast = True
            return
        if self.at_end:
            self.seek(self.start_s, play=True)
            return
        self.playing = True
        self._reanchor()

    def pause(self) -> None:
        if self.fast_until is not None:  # running unpaced to a target: pause there
            self._play_after_fast = False
            return
        self.playing = False
        self._reanchor()

    def set_speed(self, speed: float) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"replay speed must be positive, got {speed}")
        self.speed = float(speed)
        self._reanchor()

    def seek(self, target_s: float, play: bool | None = None) -> None:
        """Restart from the beginning and run unpaced to ``target_s``; then play or stay paused."""
        self._restart = True
        self.fast_forward(target_s, play=self.playing if play is None else play)

    def fast_forward(self, target_s: float, play: bool = False) -> None:
        """Run unpaced from here up to ``target_s`` (inf: to the end), then play or pause."""
        self.fast_until = max(float(target_s), self.start_s)
        self._play_after_fast = play
        self._reanchor()

    @property
    def restart_pending(self) -> bool:
        return self._restart

    async def wait_for_change(self) -> None:
        """Sleep until a control is used (the session waits here at the end of a replay)."""
        await self._changed.wait()
        self._changed.clear()

    # -- playback -------------------------------------------------------------------------
    async def batches(self) -> AsyncIterator[SampleBatch]:
        """One pass from the beginning; ends at the end of the data or when a seek restarts it."""
        self._restart = False
        self.position_s = self.start_s
        self._reanchor()
        self._cursor.rewind()
        since_yield = 0
        while not self.at_end:
            fast = self.fast_until is not None
            end = self.position_s + (FAST_CHUNK_S if fast else PACED_CHUNK_S)
            if fast:
                end = min(end, max(self.fast_until, self.position_s))
                since_yield += 1
                if since_yield >= 8:  # let controls, cancellation and the flusher run
                    since_yield = 0
                    await asyncio.sleep(0)
            else:
                await self._wait_until_due(end)
            if self._restart:
                return
            if self.fast_until is not None and not fast:
                continue  # a fast-forward was requested while waiting: recompute the chunk
            for batch in self._cursor.until(end):
                yield batch
                if self._restart:
                    return
            self.position_s = min(end, self.duration_s)
            if fast and self.fast_until is not None and self.position_s >= self.fast_until:
                self.fast_until = None
                self.playing = self._play_after_fast
                self._reanchor()

    async def _wait_until_due(self, chunk_end: float) -> None:
        while not self._restart and self.fast_until is None:
            if self.playing:
                wall0, pos0 = self._anchor
                delay = wall0 + (chunk_end - pos0) / self.speed - time.monotonic()
                if delay <= 0:
                    # due already (a session process the machine starved catches up): still
                    # let controls and the window's updates run between chunks, or a Pause
                    # would wait, and the window see nothing, until the burst ends
                    await asyncio.sleep(0)
                    return
            else:
                delay = None
            try:
                await asyncio.wait_for(self._changed.wait(), delay)
                self._changed.clear()
            except TimeoutError:
                return

    def _reanchor(self) -> None:
        self._anchor = (time.monotonic(), self.position_s)
        self._changed.set()


@dataclass(frozen=True)
class LiveReplay:
    """A source factory (``factory(writer=writer)``) playing a recording at ``speed`` as if live:
    no controls, it ends with the data. Picklable, for the viewer's session process."""

    recording: Recording
    speed: float = 1.0

    def __call__(self, writer: RecordingWriter | None = None) -> ReplaySource:
        src = ReplaySource.from_recording(self.recording)
        src.set_speed(self.speed)
        return src

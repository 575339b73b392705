"""The session worker: a thread with its own asyncio loop running source -> pipeline.

Why a worker thread rather than an asyncio-on-Qt loop (qasync and the like): bleak and
bumble want a plain asyncio loop, and fusion + rep detection are CPU work that must never
stall painting. So the source (BLE session, virtual sensors or a replay) and the
``Pipeline`` run on a private loop in a plain thread; results cross to the GUI thread only
through Qt signals, which are queued automatically because the receiving ``QObject`` lives
in the GUI thread. The GUI thread never awaits or blocks on the worker, except for the
join when the window closes. Replay controls travel the other way with
``loop.call_soon_threadsafe``, so the replay source is only ever touched on its own loop.

Updates are coalesced: the worker pushes every batch into the pipeline as it comes, but
posts what accumulated at most every ``POST_INTERVAL_S``: twice per painted frame (the
window redraws at ~60 Hz on its own timer), so every redraw finds new data without a
queued signal per BLE notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6 import QtCore

from processing.samples import AngleFrames
from viewer.replay_source import ReplaySource, ReplayState

POST_INTERVAL_S = 1 / 120
STATUS_INTERVAL_S = 0.5


@dataclass
class ViewerUpdate:
    """What the window needs from the worker since its last update."""

    frames: AngleFrames
    reps: list[Any]
    session_t: float | None
    session_start: float | None  # session time of the first sample (the calibration countdown starts there)
    calibrated: bool
    calibration_text: str
    reset: bool = False  # a replay pass restarted: forget everything shown before
    replay: ReplayState | None = None
    finished: bool = False  # the source ended and the pipeline was finished


class WorkerSignals(QtCore.QObject):
    """Signals from the worker thread; connect them to slots of GUI-thread objects."""

    update = QtCore.Signal(object)  # ViewerUpdate
    sensors = QtCore.Signal(object)  # list of SensorStatus
    stopped = QtCore.Signal(object)  # None, or the exception that ended the session


@dataclass
class _Pending:
    frames: list[AngleFrames] = field(default_factory=list)
    reps: list[Any] = field(default_factory=list)
    reset: bool = False
    finished: bool = False


def calibration_state(pipeline: Any) -> tuple[bool, str]:
    """(calibrated, status text) of the pipeline's streaming angle stage."""
    return pipeline.calibration is not None, str(pipeline.status or "")


#: GIL switch interval while a session runs beside the window (see ``SessionWorker.start``).
GIL_SWITCH_S = 0.001


class SessionWorker:
    """Runs ``source -> pipeline`` on a private asyncio loop in a thread; posts ``ViewerUpdate``s.

    ``source_factory()`` is called on the worker's loop (BLE objects must be created there)
    and returns an async context manager + async iterator of ``SampleBatch``, optionally
    with ``status()``; ``replay`` instead plays a ``ReplaySource`` that the controls drive.
    A live session ends when the source does or its session time reaches ``duration_s``.
    ``pipeline_factory()`` builds a fresh ``Pipeline`` (one per replay pass). The worker
    owns what the factory built: at the end it finishes the pipeline and then closes its
    ``writer`` if it has one, which finalises the recording.
    """

    def __init__(
        self,
        pipeline_factory: Callable[[], Any],
        source_factory: Callable[[], Any] | None = None,
        replay: ReplaySource | None = None,
        duration_s: float | None = None,
    ) -> None:
        if (source_factory is None) == (replay is None):
            raise ValueError("give exactly one of source_factory and replay")
        self.signals = WorkerSignals()
        self._pipeline_factory = pipeline_factory
        self._source_factory = source_factory
        self.replay = replay
        self.duration_s = duration_s
        self._thread = threading.Thread(target=self._thread_main, name="hinge-session-worker", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task | None = None
        self._ready = threading.Event()
        self._pending = _Pending()
        self._pipeline: Any = None
        self._session_t: float | None = None
        self._session_start: float | None = None
        self._n_reps = 0
        self._rep_target: int | None = None
        self._last_state: ReplayState | None = None
        self._calibration: tuple[bool, str] = (False, "")
        self.error: BaseException | None = None
        #: Tasks still alive on the loop when the session ended (should be none: tests check).
        self.leftover_tasks: list[asyncio.Task] = []

    # -- GUI thread -------------------------------------------------------------------------
    def start(self) -> None:
        # The worker and the GUI thread share the GIL. With CPython's default 5 ms switch
        # interval a paint that hands the GIL to the worker (every Qt call does) can wait
        # 5 ms to get it back, which alone would break the 8 ms paint budget; 1 ms keeps
        # the GUI thread's waits short at a negligible cost in switching.
        sys.setswitchinterval(GIL_SWITCH_S)
        self._thread.start()
        self._ready.wait(10)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel the session (pipeline finished, source closed) and join the thread."""
        loop, task = self._loop, self._main
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed meanwhile: already stopped
                loop.call_soon_threadsafe(task.cancel)
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("session worker did not stop")

    def control(self, name: str, *args: Any) -> None:
        """Apply a replay control (``play``, ``pause``, ``set_speed``, ``seek``, ``step_rep``) on the loop."""
        if self._loop is None or self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._control, name, *args)

    def _control(self, name: str, *args: Any) -> None:
        if name == "step_rep":
            self.step_rep(*args)
            return
        self._rep_target = None  # any other control cancels a step in progress
        getattr(self.replay, name)(*args)

    # -- worker loop ------------------------------------------------------------------------
    def _thread_main(self) -> None:
        try:
            asyncio.run(self._session())
        except asyncio.CancelledError:
            pass
        except BaseException as err:  # reported to the GUI; run_viewer re-raises user errors
            self.error = err
        finally:
            self._ready.set()
            self.signals.stopped.emit(self.error)

    async def _session(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        self._ready.set()
        helpers = [asyncio.create_task(self._post_loop(), name="post")]
        try:
            if self.replay is not None:
                await self._run_replay(self.replay)
            else:
                await self._run_live()
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            self._finish_pipeline()
            self._post()
            me = asyncio.current_task()
            self.leftover_tasks = [t for t in asyncio.all_tasks() if t is not me and not t.done()]

    async def _run_live(self) -> None:
        source = self._source_factory()
        self._start_pipeline()
        async with source:
            poll = asyncio.create_task(self._status_loop(source), name="status")
            try:
                async for batch in source:
                    self._push(batch)
                    if self.duration_s is not None and (self._session_t or 0.0) >= self.duration_s:
                        break
            finally:
                poll.cancel()
                await asyncio.gather(poll, return_exceptions=True)
        if hasattr(source, "status"):
            self.signals.sensors.emit(source.status())  # final states (stopped)
        self._finish_pipeline()
        self._post()

    async def _run_replay(self, src: ReplaySource) -> None:
        self.signals.sensors.emit(src.status())
        while True:
            self._start_pipeline()
            async for batch in src:
                self._push(batch)
                if self._rep_target is not None and self._n_reps >= self._rep_target:
                    self._rep_target = None
                    src.fast_until = None
                    src.pause()
            if src.restart_pending:
                continue
            self._rep_target = None
            src.pause()  # at the end, like any player: Play starts over
            self._finish_pipeline()
            self._post()
            self.signals.sensors.emit(src.status())
            while not src.restart_pending:
                await src.wait_for_change()
                self._post()

    def step_rep(self, delta: int) -> None:
        """Replay to the moment rep ``n_reps + delta`` was emitted, then pause (0: the start)."""
        src = self.replay
        target = self._n_reps + delta
        if delta > 0 and src.at_end:
            return
        if target <= 0:
            src.seek(src.start_s, play=False)
            return
        if delta < 0:
            src.seek(src.duration_s, play=False)
        else:
            src.fast_forward(src.duration_s, play=False)
        self._rep_target = target

    # -- pipeline ---------------------------------------------------------------------------
    def _start_pipeline(self) -> None:
        self._pipeline = self._pipeline_factory()
        self._pending = _Pending(reset=True)
        self._session_t = None
        self._session_start = None
        self._n_reps = 0
        self._calibration = (False, "")

    def _push(self, batch: Any) -> None:
        upd = self._pipeline.push(batch)
        if len(batch):
            t_end = float(batch.t[-1])
            if self._session_start is None:
                self._session_start = float(batch.t[0])
            self._session_t = t_end if self._session_t is None else max(self._session_t, t_end)
        self._take(upd)

    def _take(self, upd: Any) -> None:
        if upd is None:
            return
        if len(upd.frames):
            self._pending.frames.append(upd.frames)
        if upd.reps:
            self._pending.reps.extend(upd.reps)
            self._n_reps += len(upd.reps)

    def _finish_pipeline(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            try:
                self._take(pipeline.finish())
            finally:
                if pipeline.writer is not None:
                    pipeline.writer.close()
            self._pending.finished = True

    # -- posting to the GUI -----------------------------------------------------------------
    def _post(self) -> None:
        p = self._pending
        state = self.replay.state() if self.replay is not None else None
        if not (p.frames or p.reps or p.reset or p.finished) and state == self._last_state:
            return
        self._pending = _Pending()
        self._last_state = state
        if self._pipeline is not None:
            self._calibration = calibration_state(self._pipeline)
        calibrated, text = self._calibration
        self.signals.update.emit(
            ViewerUpdate(
                frames=AngleFrames.concat(p.frames),
                reps=p.reps,
                session_t=self.replay.position_s if self.replay is not None else self._session_t,
                session_start=self._session_start,
                calibrated=calibrated,
                calibration_text=text,
                reset=p.reset,
                replay=state,
                finished=p.finished,
            )
        )

    async def _post_loop(self) -> None:
        while True:
            await asyncio.sleep(POST_INTERVAL_S)
            self._post()

    async def _status_loop(self, source: Any) -> None:
        status = getattr(source, "status", None)
        if status is None:
            return
        while True:
            self.signals.sensors.emit(status())
            await asyncio.sleep(STATUS_INTERVAL_S)

"""The session process: ``source -> Pipeline`` on its own asyncio loop, posting to the window.

Why a separate process, not a thread beside the window: the window paints through many
small Python calls (pyqtgraph's items), and each one needs the GIL. With the session in a
thread of the same process, every paint also waited for the session's Python work (the
pipeline, and in the demo a whole virtual BLE stack): measured offscreen, a paint took
5.5 ms alone and 7.4-9 ms beside a session thread, over the window's 8 ms paint budget
(``benchmarks/bench_viewer.py``). A process has its own GIL; on a 2-core machine the same
paint beside a session process took 5.5 ms, as alone. bleak and bumble also want a plain asyncio loop, which the
process runs (``asyncio.run``), so no asyncio-on-Qt integration is needed.

This module never imports Qt: the process is spawned (not forked: the window's process
has Qt's threads) and starts with only what the session needs. Everything it gets crosses
as a pickled ``SessionSpec``; everything it sends back crosses as pickled messages on a
one-way pipe: ``("update", ViewerUpdate)``, ``("sensors", [SensorStatus])`` and last
``("stopped", error or None, names of tasks left running)``. Controls come in on another
pipe: ``("control", name, args)`` and ``("stop",)``; the pipe's end (the window's process
gone) stops the session too. The session is ``firmware_bridge.live.LiveSession``, the
runner ``hinge stream --headless`` uses too (a replay: one per pass), so stopping always
closes the recording, then finishes the pipeline.

Updates are coalesced: batches go into the pipeline as they come, but what accumulated is
posted at most every ``POST_INTERVAL_S``, twice per painted frame (the window redraws at
~60 Hz on its own timer), so every redraw finds new data without a message per BLE
notification. A sender thread does the pipe writes, so a busy window never stalls the
loop that receives the sensors' data.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from firmware_bridge.live import LiveSession, LiveSource, PipelineFactory, RecordTarget, SourceFactory
from processing.pipeline import PipelineUpdate
from processing.recording import RecordingWriter
from processing.reps import Rep
from processing.samples import AngleFrames
from viewer.replay_source import ReplaySource, ReplayState

POST_INTERVAL_S = 1 / 120
STATUS_INTERVAL_S = 0.5


@dataclass
class ViewerUpdate:
    """What the window needs from the session since its last update."""

    frames: AngleFrames
    reps: list[Rep]
    session_t: float | None
    session_start: float | None  # session time of the first sample (the calibration countdown starts there)
    calibrated: bool
    calibration_text: str
    reset: bool = False  # a replay pass restarted: forget everything shown before
    replay: ReplayState | None = None
    finished: bool = False  # the source ended and the pipeline was finished
    cue: list[Rep] = field(default_factory=list)  # the reps to sound: those emitted live or while playing


@dataclass
class SessionSpec:
    """Everything a session needs, picklable (it crosses to the spawned process).

    Give ``source_factory`` (a ``firmware_bridge.live.SourceFactory``, called in the session
    process) or ``replay`` (a ``ReplaySource`` the controls drive). ``pipeline_factory()``
    builds a fresh ``Pipeline`` (one per replay pass); with ``record`` it is called as
    ``pipeline_factory(writer=writer)``. A live session ends when its source does or its
    session time reaches ``duration_s``.
    """

    pipeline_factory: PipelineFactory
    source_factory: SourceFactory | None = None
    replay: ReplaySource | None = None
    record: RecordTarget | None = None
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if (self.source_factory is None) == (self.replay is None):
            raise ValueError("give exactly one of source_factory and replay")
        if self.record is not None and self.replay is not None:
            raise ValueError("a replay does not record")


def run_session_process(spec: SessionSpec, data: Connection, control: Connection) -> None:
    """The session process's entry point: run the session, then report how it stopped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the window's: it sends "stop" (see start)
    outbox = _Outbox(data)
    session = _Session(spec, outbox.put)
    error: BaseException | None = None
    try:
        asyncio.run(session.main(control))
    except asyncio.CancelledError:
        pass
    except BaseException as err:  # reported to the window; run_viewer re-raises it
        error = err
    outbox.put(("stopped", _portable(error), session.leftover_tasks))
    outbox.close()


def _stop_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
    """SIGTERM and SIGHUP (``kill``, a service manager, a closed terminal) stop the session
    like "stop" does, so the recording is closed properly."""
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(getattr(signal, name), stop)


def _portable(error: BaseException | None) -> BaseException | None:
    """The error as it can cross the pipe: itself if it pickles, else a RuntimeError naming
    it; either way with the session process's traceback as a note (shown with --debug)."""
    if error is None:
        return None
    note = "in the session process:\n" + "".join(traceback.format_exception(error)).rstrip()
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        error = RuntimeError(f"{type(error).__name__}: {error}")
    error.add_note(note)
    return error


class _Outbox:
    """Pipe writes on a thread of their own, so the session's loop never blocks on them."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="hinge-session-outbox", daemon=True)
        self._thread.start()

    def put(self, message: tuple) -> None:
        self._queue.put(message)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        alive = True
        while (message := self._queue.get()) is not None:
            if alive:
                try:
                    self._conn.send(message)
                except OSError:  # the window's process is gone: nobody to tell
                    alive = False
                except Exception as err:  # a message that cannot be pickled: report, go on
                    print(f"hinge: session message {message[0]!r} not sent: {err}", file=sys.stderr)


@dataclass
class _Pending:
    frames: list[AngleFrames] = field(default_factory=list)
    reps: list[Rep] = field(default_factory=list)
    cue: list[Rep] = field(default_factory=list)  # reps that came while playing at pace
    reset: bool = False
    finished: bool = False


class _Session:
    """``source -> pipeline`` on the process's loop; ``post(message)`` sends to the window."""

    def __init__(self, spec: SessionSpec, post: Callable[[tuple], None]) -> None:
        self.spec = spec
        self.replay = spec.replay
        self._send = post
        self._pending = _Pending()
        #: The session running (a replay: its current pass); None before the first.
        self.live: LiveSession | None = None
        self._n_reps = 0
        self._rep_target: int | None = None
        self._last_state: ReplayState | None = None
        self._calibration: tuple[bool, str] = (False, "")
        #: Names of tasks still alive on the loop when the session ended (should be none).
        self.leftover_tasks: list[str] = []
        self._main: asyncio.Task | None = None
        self._stopping = False

    async def main(self, control: Connection) -> None:
        loop = asyncio.get_running_loop()
        main = self._main = asyncio.current_task()
        # A thread blocks on the control pipe and hands each message to the loop: portable
        # (a pipe is not a socket on Windows, where the loop cannot watch it).
        threading.Thread(
            target=self._read_controls, args=(control, loop, main), name="hinge-session-controls", daemon=True
        ).start()
        _stop_on_signals(loop, self._stop)
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
            self.leftover_tasks = [t.get_name() for t in asyncio.all_tasks() if t is not main and not t.done()]

    def _read_controls(self, control: Connection, loop: asyncio.AbstractEventLoop, main: asyncio.Task) -> None:
        """(control thread) Each message to the loop; the pipe's end (the window's process
        gone) stops the session like "stop" does. The session is cancelled once only: a
        second cancel would cut its cleanup short (the recording's finish)."""
        try:
            while True:
                message = control.recv()
                if message[0] == "stop":
                    break
                _, name, args = message
                loop.call_soon_threadsafe(self._control, name, *args)
        except (EOFError, OSError):
            pass
        with contextlib.suppress(RuntimeError):  # the loop has already closed: done anyway
            loop.call_soon_threadsafe(self._stop)

    def _stop(self) -> None:
        """(loop) End the session: its main task is cancelled once only, whoever asks
        (the window, its pipe's end, SIGTERM, SIGHUP)."""
        if self._main is not None and not self._stopping:
            self._stopping = True
            self._main.cancel()

    def _control(self, name: str, *args: Any) -> None:
        if self.replay is None:
            return
        if name == "step_rep":
            self.step_rep(*args)
            return
        if name == "go_to_rep":
            self.go_to_rep(*args)
            return
        if name != "set_speed" and self._rep_target is not None:
            # Play, pause or seek cancel a rep jump in progress: it stops where it is.
            self._rep_target = None
            self.replay.fast_until = None
        getattr(self.replay, name)(*args)

    async def _run_live(self) -> None:
        assert self.spec.source_factory is not None  # SessionSpec checks it
        live = self._start(self.spec.source_factory, self.spec.record, self.spec.duration_s)
        async with live:  # on the way out: the recording closed, then the sensors
            poll = asyncio.create_task(self._status_loop(live.source), name="status")
            try:
                await live.stream(self._take)
            finally:
                poll.cancel()
                await asyncio.gather(poll, return_exceptions=True)
        self._finish_pipeline()
        self._send(("sensors", live.source.status()))  # final states (stopped)
        self._post()

    async def _run_replay(self, src: ReplaySource) -> None:
        self._send(("sensors", src.status()))

        def replayed(writer: RecordingWriter | None = None) -> ReplaySource:
            return src

        def take(upd: PipelineUpdate) -> None:
            self._take(upd)
            if self._rep_target is not None and self._n_reps >= self._rep_target:
                self._rep_target = None
                src.fast_until = None
                src.pause()

        while True:
            live = self._start(replayed)
            async with live:
                await live.stream(take)
            if src.restart_pending:
                continue
            self._rep_target = None
            src.pause()  # at the end, like any player: Play starts over
            self._finish_pipeline()
            self._post()
            self._send(("sensors", src.status()))
            while not src.restart_pending:
                await src.wait_for_change()
                self._post()

    def step_rep(self, delta: int) -> None:
        """Replay to the moment rep ``n + delta`` was emitted, then pause (0: the start);
        ``n`` is the rep a jump in progress is heading for, else the reps shown, so that
        pressing twice steps twice."""
        target = (self._rep_target if self._rep_target is not None else self._n_reps) + delta
        if target <= 0:
            self._rep_target = None
            self.replay.seek(self.replay.start_s, play=False)
        else:
            self.go_to_rep(target)

    def go_to_rep(self, index: int) -> None:
        """Replay to the moment rep ``index`` was emitted, then pause: on from here if it is
        still to come, else from the start again (unpaced either way)."""
        src = self.replay
        if index <= self._n_reps:
            src.seek(src.duration_s, play=False)
        elif src.at_end:
            return
        else:
            src.fast_forward(src.duration_s, play=False)
        self._rep_target = index

    # -- pipeline ---------------------------------------------------------------------------
    def _start(
        self, source_factory: SourceFactory, record: RecordTarget | None = None, duration_s: float | None = None
    ) -> LiveSession:
        """A fresh session (the recording opened, a new pipeline): live, or a replay's pass."""
        self.live = LiveSession(source_factory, self.spec.pipeline_factory, record, duration_s)
        self._pending = _Pending(reset=True)
        self._n_reps = 0
        self._calibration = (False, "")
        return self.live

    def _take(self, upd: PipelineUpdate | None) -> None:
        if upd is None:
            return
        if len(upd.frames):
            self._pending.frames.append(upd.frames)
        if upd.reps:
            self._pending.reps.extend(upd.reps)
            self._n_reps += len(upd.reps)
            # Judged now, not when the update is posted (later, under load: the replay may
            # have reached its end or a seek may have begun by then).
            r = self.replay
            if r is None or (r.playing and r.fast_until is None):
                self._pending.cue.extend(upd.reps)

    def _finish_pipeline(self) -> None:
        """Close the recording (if still open), then finish the pipeline (once)."""
        if self.live is None:
            return
        final = self.live.finish()
        if final is not None:
            self._take(final)
            self._pending.finished = True

    # -- posting to the window --------------------------------------------------------------
    def _post(self) -> None:
        p = self._pending
        state = self.replay.state() if self.replay is not None else None
        if not (p.frames or p.reps or p.reset or p.finished) and state == self._last_state:
            return
        self._pending = _Pending()
        self._last_state = state
        live = self.live
        if live is not None and not live.finished:
            self._calibration = (live.pipeline.calibration is not None, str(live.pipeline.status or ""))
        calibrated, text = self._calibration
        self._send(
            (
                "update",
                ViewerUpdate(
                    frames=AngleFrames.concat(p.frames),
                    reps=p.reps,
                    session_t=self.replay.position_s if self.replay is not None else live.session_t if live else None,
                    session_start=live.session_start if live is not None else None,
                    calibrated=calibrated,
                    calibration_text=text,
                    reset=p.reset,
                    replay=state,
                    finished=p.finished,
                    cue=p.cue,
                ),
            )
        )

    async def _post_loop(self) -> None:
        while True:
            await asyncio.sleep(POST_INTERVAL_S)
            self._post()

    async def _status_loop(self, source: LiveSource) -> None:
        while True:
            self._send(("sensors", source.status()))
            await asyncio.sleep(STATUS_INTERVAL_S)

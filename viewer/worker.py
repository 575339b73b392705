"""``SessionWorker``: the window's handle on its session process.

The session (source -> ``Pipeline``, recording included) runs in a spawned process, for the
reasons given in ``viewer/session_process.py``. This side lives in the GUI thread and never
blocks on it: a timer looks at the pipe every ``POLL_MS`` (a poll that returns at once, so
no thread of ours competes with painting for the GIL, and it works where a pipe can't be
watched like a socket), and each message is re-emitted as a Qt signal (``update``,
``sensors``, ``stopped``). Controls go the other way as small messages. The only wait is in ``stop``,
when the window closes: the session is asked to stop, finishes its pipeline and closes the
recording, and the process is joined.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

from PySide6 import QtCore

from firmware_bridge.live import PipelineFactory, RecordTarget, SourceFactory
from viewer.replay_source import ReplaySource, ReplayState
from viewer.session_process import SessionSpec, ViewerUpdate, run_session_process

__all__ = ["RecordTarget", "SessionWorker", "ViewerUpdate", "WorkerSignals"]

#: How often the GUI thread looks for the session's messages: well within a 16 ms frame.
POLL_MS = 4
#: How long closing the window waits for the session to finish (BLE disconnects included).
STOP_TIMEOUT_S = 30.0


class WorkerSignals(QtCore.QObject):
    """The session's messages as signals, emitted in the GUI thread."""

    update = QtCore.Signal(object)  # ViewerUpdate
    sensors = QtCore.Signal(object)  # list of SensorStatus
    stopped = QtCore.Signal(object)  # None, or the exception that ended the session


class SessionWorker:
    """Runs ``source -> pipeline`` in a session process and re-emits what it posts.

    The arguments are those of ``SessionSpec`` and must pickle (they cross to the process):
    module-level functions, classes, ``functools.partial`` of them, dataclasses; not
    lambdas or closures. ``replay`` is copied into the process: drive it with ``control``
    and read its state from ``replay_state``.
    """

    def __init__(
        self,
        pipeline_factory: PipelineFactory,
        source_factory: SourceFactory | None = None,
        replay: ReplaySource | None = None,
        duration_s: float | None = None,
        record: RecordTarget | None = None,
    ) -> None:
        self._spec = SessionSpec(pipeline_factory, source_factory, replay, record, duration_s)
        self.signals = WorkerSignals()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._data: Connection | None = None
        self._control: Connection | None = None
        self._poll: QtCore.QTimer | None = None
        self._stopped = False
        self.error: BaseException | None = None
        #: Names of tasks still alive in the session when it ended (should be none: tests check).
        self.leftover_tasks: list[str] = []
        #: The replay's position, speed and play state as of the latest update.
        self.replay_state: ReplayState | None = replay.state() if replay is not None else None
        #: The replayed recording's directory (None: live, or not from a recording).
        self.replay_path = replay.path if replay is not None else None

    def start(self) -> None:
        """Spawn the session process (the spec is pickled to it now)."""
        ctx = multiprocessing.get_context("spawn")
        data_in, data_out = ctx.Pipe(duplex=False)
        control_in, control_out = ctx.Pipe(duplex=False)
        process = ctx.Process(
            target=run_session_process, args=(self._spec, data_out, control_in), name="hinge-session", daemon=True
        )
        # Ctrl-C reaches the whole process group; the window handles it (closing sends
        # "stop"). Ignored signals stay ignored across spawn's exec (POSIX), so the session
        # process ignores it from its first instruction, imports included.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()  # pickles the spec: a lambda factory fails here, with its own error
        except BaseException:
            for conn in (data_in, data_out, control_in, control_out):
                conn.close()
            raise
        finally:
            signal.signal(signal.SIGINT, previous)
        data_out.close()  # only the process holds these ends now, so either side sees the other go
        control_in.close()
        self._process, self._data, self._control = process, data_in, control_out
        self._poll = QtCore.QTimer()
        self._poll.timeout.connect(self._drain)
        self._poll.start(POLL_MS)

    @property
    def running(self) -> bool:
        """True from ``start`` until the session has reported that it stopped (or died)."""
        if self._process is None:
            return False
        self._drain()
        return not self._stopped

    @property
    def exitcode(self) -> int | None:
        return None if self._process is None else self._process.exitcode

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the session (pipeline finished, recording closed) and join its process.

        A session still not done after ``timeout`` (a sensor hanging in its disconnect) is
        terminated and ``error`` says so; its recording was finished before the disconnect
        began."""
        if self._process is None or self._data is None:
            return
        deadline = time.monotonic() + timeout
        if not self._stopped:
            with contextlib.suppress(OSError):  # already gone: its end of the pipe says so
                self._control.send(("stop",))
        while not self._stopped and self._data is not None and (left := deadline - time.monotonic()) > 0:
            if self._data.poll(min(left, 0.1)) or not self._process.is_alive():
                self._drain()
        if self._data is None:
            return  # stopped meanwhile, from a slot that _drain ran
        self._process.join(max(0.0, deadline - time.monotonic()))
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(1.0)
            if not self._stopped:
                self._on_stopped(RuntimeError(f"the session did not stop within {timeout:g} s: terminated"), [])
        self._close_pipes()

    def control(self, name: str, *args: Any) -> None:
        """Apply a replay control (``play``, ``pause``, ``set_speed``, ``seek``, ``step_rep``,
        ``go_to_rep``)."""
        if self._control is not None and not self._stopped:
            with contextlib.suppress(OSError):
                self._control.send(("control", name, args))

    # -- messages from the session ----------------------------------------------------------
    @QtCore.Slot()
    def _drain(self) -> None:
        """Handle every message that has arrived (never waits for one)."""
        while not self._stopped and self._data is not None:
            try:
                if not self._data.poll():
                    if self._process.is_alive() or self._data.poll():
                        return
                    raise EOFError  # gone without a word (Windows may not show the pipe's end)
                message = self._data.recv()
            except (EOFError, OSError):  # the process ended without saying so: it died
                self._process.join(1.0)
                self._on_stopped(RuntimeError(f"the session process died (exit code {self._process.exitcode})"), [])
                return
            except Exception as err:  # a message this side cannot unpickle: say so, go on
                print(f"hinge: a message from the session could not be read: {err}", file=sys.stderr)
                continue
            kind = message[0]
            if kind == "update":
                update: ViewerUpdate = message[1]
                if update.replay is not None:
                    self.replay_state = update.replay
                self.signals.update.emit(update)
            elif kind == "sensors":
                self.signals.sensors.emit(message[1])
            elif kind == "stopped":
                self._on_stopped(message[1], message[2])

    def _on_stopped(self, error: BaseException | None, leftover: list[str]) -> None:
        self._stopped = True
        self.error = error
        self.leftover_tasks = list(leftover)
        if self._poll is not None:
            self._poll.stop()
        self.signals.stopped.emit(error)

    def _close_pipes(self) -> None:
        if self._poll is not None:
            self._poll.stop()
            self._poll = None
        for conn in (self._data, self._control):
            if conn is not None:
                conn.close()
        self._data = self._control = None

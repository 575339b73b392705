"""``run_viewer``: the entry point ``hinge demo``, ``hinge stream`` and ``hinge replay`` call.

Screenshots (``--screenshot PNG --after S``) are taken after S seconds of *session* time,
not wall time: a replay fast-forwards to S unpaced and pauses there, a live source is
shown until its data reaches S. The window is grabbed with ``QWidget.grab()``, which renders
the same pixels offscreen as on a screen.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware_bridge.live import PipelineFactory, RecordTarget, SourceFactory
from processing.errors import OutputError
from viewer.display import has_display
from viewer.replay_source import ReplaySource

if TYPE_CHECKING:
    from PySide6 import QtCore

    from processing.pipeline import Pipeline
    from processing.recording import Recording, RecordingWriter
    from viewer.window import CueSink, ViewerWindow


def default_pipeline(writer: RecordingWriter | None = None) -> Pipeline:
    from processing.pipeline import Pipeline

    return Pipeline(writer=writer)


def run_viewer(
    source_factory: SourceFactory | None = None,
    *,
    replay: Recording | None = None,
    title: str = "hinge",
    screenshot: Path | None = None,
    after_s: float | None = None,
    record: RecordTarget | None = None,
    pipeline_factory: PipelineFactory | None = None,
    speed: float = 1.0,
    duration_s: float | None = None,
    window_s: float = 15.0,
    height_m: float | None = None,
    sound: CueSink | None = None,
    history: dict[str, Any] | None = None,
) -> int:
    """Show the viewer until the window closes (or the screenshot is saved); returns 0.

    Give either ``source_factory`` (a ``firmware_bridge.live.SourceFactory``, called in the
    session process) or ``replay`` (a recording, played at ``speed``).
    ``pipeline_factory`` builds the ``Pipeline`` (default ``Pipeline()``). ``record`` (a
    ``firmware_bridge.live.RecordTarget``) records a live session: the session process
    opens the writer, hands it to the source and as ``pipeline_factory(writer=...)``, and
    closes it after ``finish()``; its path is shown in the window. The factories must pickle
    (the session runs in its own, spawned process; so a script calling this needs the
    usual ``if __name__ == "__main__":`` guard). A live session stops by itself when its session
    time reaches ``duration_s``. With ``screenshot``, the window is saved as PNG once
    session time reaches ``after_s`` (or when the session ends, if that comes first or
    ``after_s`` is None) and the viewer exits; without a display it renders offscreen.
    Ctrl-C closes the window like the close button does. An error that ended the session is
    re-raised (``HingeError``s reach the CLI as one line). ``height_m`` sizes the
    side-on figure; ``sound`` (a ``hinge.sound.CuePlayer``) gets each new rep's cue and is
    closed when the window is. ``history``: the keyword arguments of a
    ``viewer.history_panel.HistoryPanel`` (the athlete's last sessions from the training
    log), shown beside the rep table.
    """
    if screenshot is not None and not has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    import pyqtgraph as pg
    from PySide6 import QtCore, QtWidgets

    from viewer.history_panel import HistoryPanel
    from viewer.window import ViewerWindow
    from viewer.worker import SessionWorker, ViewerUpdate

    QtCore.qInstallMessageHandler(_qt_message)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    pg.setConfigOptions(antialias=False)
    src = None
    if replay is not None:
        src = ReplaySource.from_recording(replay)
        src.set_speed(speed)
        if screenshot is not None:
            src.fast_forward(after_s if after_s is not None else float("inf"), play=False)
    worker = SessionWorker(
        pipeline_factory or default_pipeline,
        source_factory=source_factory,
        replay=src,
        duration_s=duration_s,
        record=record,
    )
    recording_path = record.path if record is not None else None
    from processing.body import DEFAULT_HEIGHT_M

    win = ViewerWindow(
        title,
        replay=src is not None,
        recording_path=recording_path,
        window_s=window_s,
        height_m=height_m or DEFAULT_HEIGHT_M,
        report_source=replay.path if replay is not None else None,
        sound=sound,
        history=HistoryPanel(**history) if history is not None else None,
    )
    win.attach(worker)
    saved: list[bool] = []
    if screenshot is not None:

        def maybe_shoot(u: ViewerUpdate) -> None:
            due = u.finished or (after_s is not None and u.session_t is not None and u.session_t >= after_s)
            if due and not saved:
                saved.append(False)  # first: saving processes events, which may come back here
                saved[0] = save_screenshot(win, Path(screenshot))

        win.updated.connect(maybe_shoot)
        # A session that ends in an error before the shot: close, and the error is raised.
        worker.signals.stopped.connect(win.close, QtCore.Qt.ConnectionType.QueuedConnection)

    # Ctrl-C in the terminal: Qt's loop never returns to Python on its own, so wake it
    # regularly and close the window from the handler (which stops the session cleanly).
    # (Deferred to the event loop: a handler runs between any two bytecodes, e.g. inside
    # the worker's reading of a message.)
    previous = signal.signal(signal.SIGINT, lambda *_: QtCore.QTimer.singleShot(0, win.close))
    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    try:
        win.show()
        worker.start()
        app.exec()
    finally:
        wake.stop()
        signal.signal(signal.SIGINT, previous)
        worker.stop()
        if sound is not None:
            sound.close()
    if worker.error is not None:
        raise worker.error
    if screenshot is not None and saved != [True]:
        raise OutputError(f"{screenshot}: could not save the screenshot")
    return 0


def _qt_message(mode: QtCore.QtMsgType, context: QtCore.QMessageLogContext, message: str) -> None:
    """Qt's own messages to stderr, minus the offscreen plugin's harmless size-hint notice
    (printed for every window it renders, it would bury hinge's one-line messages)."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def save_screenshot(win: ViewerWindow, path: Path) -> bool:
    """Paint the latest data, save the window as PNG and close it (ending the viewer, also
    when saving fails: the caller reports that)."""
    from PySide6 import QtWidgets

    try:
        win.plots.catch_up()
        win.redraw()
        QtWidgets.QApplication.processEvents()  # pending layout of the plots (a fast replay gets here early)
        path.parent.mkdir(parents=True, exist_ok=True)
        return win.grab().save(str(path))
    except OSError:
        return False
    finally:
        win.close()

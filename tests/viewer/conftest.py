"""The viewer tests' window fixture: real windows fed by real session processes."""

from __future__ import annotations

import multiprocessing

import pytest

from processing.pipeline import Pipeline
from viewer.replay_source import ReplaySource
from viewer.window import ViewerWindow
from viewer.worker import SessionWorker


@pytest.fixture
def open_viewer(qtbot):
    """Opens windows fed by a worker as ``run_viewer`` does; at teardown closes them and
    checks that every session stopped (process exited cleanly, no task left)."""
    opened = []

    def open_(*, replay: ReplaySource | None = None, source_factory=None, pipeline_factory=Pipeline, **kw):
        worker = SessionWorker(pipeline_factory, source_factory=source_factory, replay=replay, **kw)
        win = ViewerWindow("test", replay=replay is not None)
        qtbot.addWidget(win)
        win.attach(worker)
        win.show()
        worker.start()
        opened.append((win, worker))
        return win, worker

    yield open_
    for win, worker in opened:
        win.close()
        assert not worker.running and worker.leftover_tasks == [] and worker.exitcode == 0
    assert [p for p in multiprocessing.active_children() if p.name == "hinge-session"] == []

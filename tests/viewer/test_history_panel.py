"""The window's panel of the athlete's last sessions: a real window, offscreen, fed the
sessions of a real training log and the reps of a real recording."""

from __future__ import annotations

from datetime import datetime, timedelta

from processing.analysis import analyze
from processing.recording import read_recording
from processing.samples import AngleFrames
from processing.training_log import TrainingLog
from tests.helpers import ROOT
from tests.processing.test_training_log import _synthetic
from viewer.history_panel import HistoryPanel
from viewer.window import ViewerWindow
from viewer.worker import ViewerUpdate


def _cells(panel: HistoryPanel, row: int) -> list[str]:
    return [panel.table.item(row, c).text() for c in range(panel.table.columnCount())]


def test_todays_set_beside_the_athletes_last_sessions(qtbot, tmp_path):
    with TrainingLog.open(str(tmp_path / "log.sqlite")) as log:
        start = datetime(2026, 3, 2, 18)
        for week, knee_first in enumerate([1, 3, 5]):  # of 6 reps: 17 %, 50 %, 83 %
            _synthetic(log, start + timedelta(days=7 * week), knee_first, load=100.0 + 10 * week)
        _synthetic(log, start + timedelta(days=1), 6, athlete="bo", load=60.0)
        sessions = log.sessions(athlete="ann", limit=5)
    panel = HistoryPanel(sessions, who="ann", load_kg=130.0)
    win = ViewerWindow("live", history=panel)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert panel.isVisible() and win.centralWidget().isAncestorOf(panel)
    assert _cells(panel, 0) == ["today", "130", "0", "–", "–"]
    assert [_cells(panel, r)[1:4] for r in (1, 2, 3)] == [
        ["120", "6", "83"],
        ["110", "6", "50"],
        ["100", "6", "17"],
    ]  # newest first; no bo
    assert "knee-first 50 %" in panel.comparison.text()

    reps = analyze(read_recording(ROOT / "recordings" / "mixed-set")).reps  # 2 of 5 knee-first
    win.on_update(ViewerUpdate(AngleFrames.empty(), reps[:1], None, None, False, ""))
    assert _cells(panel, 0)[2:4] == ["1", "100"]
    win.on_update(ViewerUpdate(AngleFrames.empty(), reps[1:], None, None, False, ""))
    assert _cells(panel, 0)[2:4] == ["5", "40"]
    lag = sum(r.hip_lag_ms for r in reps) / 5
    assert _cells(panel, 0)[4] == f"{lag:.0f}"
    assert panel.comparison.text().startswith("today knee-first 40 % vs 50 % over the last 3 sessions")
    shot = win.grab().toImage()  # the panel is painted inside the window
    assert not shot.isNull() and panel.geometry().height() > 0
    win.on_update(ViewerUpdate(AngleFrames.empty(), [], None, None, False, "", reset=True))
    assert _cells(panel, 0)[2] == "0"
    win.close()


def test_a_first_session_says_so(qtbot):
    panel = HistoryPanel([], who="cy")
    qtbot.addWidget(panel)
    assert panel.title() == "Last sessions — cy"
    assert panel.comparison.text() == "no earlier sessions in the training log yet"

"""The recorders under faults (issue 11): whatever stops a session, what was received is on
disk within 0.5 s and session.json ends with ``ended``, ``samples`` and ``lost_samples``.

Huge values, a stalled source, a full disk, a crash in the pipeline, SIGTERM / SIGHUP /
Ctrl-C. Timing is judged with generous bounds (a loaded 2-core machine) or not at all.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from hinge.errors import HingeUserError
from processing.recording import RecordingWarning, RecordingWriter, read_recording
from processing.recording import folder as recording
from processing.samples import SampleBatch
from tests.helpers_recording import segment_frame, two_segments

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _batch(seg: str, df, lo: int, hi: int) -> SampleBatch:
    part = df.iloc[lo:hi]
    return SampleBatch(
        seg,
        part["t"].to_numpy(),
        part[["ax", "ay", "az"]].to_numpy().copy(),
        part[["gx", "gy", "gz"]].to_numpy().copy(),
        {c: part[c].to_numpy() for c in part.columns[7:]},
    )


def _rows(path: Path) -> int:
    return max(0, path.read_bytes().count(b"\n") - 1)


# -- row 3: finite but huge values ------------------------------------------------------------


def test_huge_values_are_written_clipped_and_counted_and_no_row_is_lost(tmp_path):
    """A Movesense float of 1e20, a scale of 1e300, an inf: the writer neither raises in
    flush nor loses the rows it had taken; such values are written as +-1e8 and counted
    (``out_of_range``), and the reader drops those samples with a warning."""
    source = two_segments(duration_s=4.0)
    thigh = source["thigh"]
    w = RecordingWriter(tmp_path / "rec", ["thigh", "lumbar"], flush_interval_s=3600)
    bad = _batch("thigh", thigh, 0, 200)
    bad.acc[50, 0] = 1e20
    bad.gyr[60, 2] = -1e300
    bad.acc[70, 1] = np.inf
    w.append(bad)
    w.append(_batch("thigh", thigh, 200, len(thigh)))
    w.append(_batch("lumbar", source["lumbar"], 0, len(source["lumbar"])))
    w.flush()
    w.close()
    meta = json.loads((tmp_path / "rec" / "session.json").read_text())
    thigh_meta = meta["sensors"][0]
    assert thigh_meta["samples"] == len(thigh) == _rows(tmp_path / "rec" / "thigh.csv")
    assert thigh_meta["out_of_range"] == 3
    assert "out_of_range" not in meta["sensors"][1]
    lines = (tmp_path / "rec" / "thigh.csv").read_text().splitlines()
    assert lines[51].split(",")[1] == "100000000" and lines[61].split(",")[6] == "-100000000"
    with pytest.warns(RecordingWarning, match=r"thigh.csv:52: ax = 1e\+08 is physically impossible.*3 such samples"):
        got = read_recording(tmp_path / "rec")
    assert len(got.segments["thigh"]) == len(thigh) - 3
    np.testing.assert_allclose(got.segments["thigh"]["ax"], np.delete(thigh["ax"].to_numpy(), [50, 60, 70]))


def test_a_sensor_all_of_whose_values_are_huge_still_leaves_a_whole_recording(tmp_path):
    """acc_scale 1e300: every value is out of range. Nothing raises while streaming, the CSV
    holds every row, and reading it says what is wrong in one line."""
    df = segment_frame(duration_s=3.0)
    with RecordingWriter(tmp_path / "rec", ["thigh"], flush_interval_s=0.05) as w:
        for lo in range(0, len(df), 40):
            b = _batch("thigh", df, lo, lo + 40)
            w.append(SampleBatch("thigh", b.t, b.acc * 1e300, b.gyr * 1e300))
    meta = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert meta["sensors"][0]["samples"] == len(df) == _rows(tmp_path / "rec" / "thigh.csv")
    with pytest.raises(recording.RecordingError, match=r"thigh.csv(:\d+)?: .*(looks like deg/s|check the units)"):
        read_recording(tmp_path / "rec", required=("thigh",))


def test_what_the_writer_refuses_it_refuses_before_keeping_anything(tmp_path):
    """NaN and time going back are the caller's bugs: refused at append, before the rows are
    counted, so the counts and the CSV always agree."""
    df = segment_frame(duration_s=3.0)
    with RecordingWriter(tmp_path / "rec", ["thigh"]) as w:
        w.append(_batch("thigh", df, 0, 100))
        b = _batch("thigh", df, 100, 200)
        b.gyr[3, 1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            w.append(b)
        with pytest.raises(ValueError, match="beyond"):
            w.append(SampleBatch("thigh", b.t + 1e12, b.acc, b.acc))
        w.append(_batch("thigh", df, 100, 200))
    meta = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert meta["sensors"][0]["samples"] == 200 == _rows(tmp_path / "rec" / "thigh.csv")


# -- row 7: flushed on a timer ------------------------------------------------------------------


def test_received_samples_reach_the_disk_without_a_further_sample(tmp_path):
    """The flush is on a timer, not only on the next append: a sensor that stalls (or a
    process about to be killed) still has what arrived on disk. Judged without timing: the
    rows appear with no further call into the writer (the bound is only a test timeout)."""
    df = segment_frame(duration_s=3.0)
    w = RecordingWriter(tmp_path / "rec", ["thigh"])
    try:
        assert w.flush_interval_s <= 0.45  # the timer's wake-up fits in the promised 0.5 s
        w.append(_batch("thigh", df, 0, 77))
        csv = tmp_path / "rec" / "thigh.csv"
        deadline = time.monotonic() + 30
        while _rows(csv) < 77 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _rows(csv) == 77
    finally:
        w.close()


# -- row 8: a full disk -------------------------------------------------------------------------


def _enospc(*args, **kw):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["session.json", "csv"])
def test_a_full_disk_at_the_start_leaves_nothing_and_the_name_stays_usable(tmp_path, monkeypatch, where):
    """ENOSPC injected where the recording's files are created (a real full disk: see the
    tmpfs test below, which needs root): a one-line user error, no 0-byte CSVs, no
    ``.session.json.tmp``, and the same name works next time."""
    real_open = os.open
    if where == "session.json":
        monkeypatch.setattr(recording.os, "replace", _enospc)
    else:
        calls = []

        def open_second_fails(path, *args, **kw):
            calls.append(path)
            if len(calls) == 2:
                _enospc()
            return real_open(path, *args, **kw)

        monkeypatch.setattr(recording.os, "open", open_second_fails)
    target = tmp_path / "rec"
    with pytest.raises(HingeUserError, match=rf"^{target}: cannot create the recording \(No space left on device\)$"):
        RecordingWriter(target, ["thigh", "lumbar"])
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    with RecordingWriter(target, ["thigh", "lumbar"]) as w:
        w.append(_batch("thigh", segment_frame(duration_s=3.0), 0, 10))
    assert json.loads((target / "session.json").read_text())["sensors"][0]["samples"] == 10


def test_a_full_disk_while_closing_still_finalises_session_json(tmp_path):
    """The last lines cannot be written (``/dev/full`` stands in for a full disk): the error
    is the user's, one line, and session.json still ends with the counts."""
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("/dev/full is missing")
    w = RecordingWriter(tmp_path / "rec", ["thigh"], flush_interval_s=3600)
    os.close(w._fds["thigh"])
    w._fds["thigh"] = os.open(full, os.O_WRONLY)
    w.append(_batch("thigh", segment_frame(duration_s=3.0), 0, 10))
    with pytest.raises(HingeUserError, match=r"thigh.csv: cannot write \(No space left on device\)"):
        w.close()
    meta = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert meta["ended"] and meta["sensors"][0]["samples"] == 10 and meta["sensors"][0]["lost_samples"] == 0


@pytest.fixture
def full_disk(tmp_path):
    """A real full file system: a 64 KiB tmpfs filled up (needs root and mount)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real full disk needs root to mount a tmpfs (the injected ENOSPC tests cover the rest)")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with open(mnt / "filler", "wb") as f:
            with pytest.raises(OSError):
                f.write(b"x" * (1 << 20))
                f.flush()
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_cli_onto_a_full_disk_prints_one_line(full_disk):
    """``hinge stream --record`` and ``hinge simulate`` onto a really full disk: one line,
    exit 2, nothing left behind."""
    runs = {
        "stream": ["stream", "--virtual", "--headless", "--duration", "3", "--record", str(full_disk / "R")],
        "simulate": ["simulate", str(full_disk / "S"), "--reps", "1"],
    }
    for name, args in runs.items():
        out = subprocess.run(
            [sys.executable, "-m", "hinge", *args], capture_output=True, text=True, timeout=300, cwd=ROOT
        )
        assert out.returncode == 2, (name, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0], (name, out.stderr)
        assert lines[0].startswith(f"hinge: {full_disk}/"), (name, lines)
        assert sorted(p.name for p in full_disk.iterdir()) == ["filler"], name


# -- row 2: a crash in the pipeline --------------------------------------------------------------


class _Source:
    """A live source of fixed batches (what ``run_live`` and the session process need)."""

    def __init__(self, batches: list[SampleBatch], writer=None) -> None:
        self.batches = batches
        self.t = 0.0

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    def __aiter__(self):
        return self._run()

    async def _run(self):
        for b in self.batches:
            self.t = float(b.t[-1])
            yield b
            await asyncio.sleep(0)

    def now(self) -> float:
        return self.t

    def status(self) -> list:
        return []

    def finish_counts(self) -> None:
        pass


def _live_batches(duration_s: float = 6.0) -> list[SampleBatch]:
    source = two_segments(duration_s=duration_s)
    n = len(source["thigh"])
    return [_batch(seg, source[seg], lo, lo + 20) for lo in range(0, n, 20) for seg in ("thigh", "lumbar")]


def _assert_finished(rec: Path, n_each: int) -> None:
    meta = json.loads((rec / "session.json").read_text())
    assert meta["ended"], meta
    for entry in meta["sensors"]:
        assert entry["samples"] == n_each == _rows(rec / entry["file"]), entry
        assert entry["lost_samples"] == 0


class _Boom(RuntimeError):
    pass


def _crashing_pipeline(where: str):
    from processing.pipeline import Pipeline

    class Crashing(Pipeline):
        pushed = 0

        def push(self, batch):
            update = super().push(batch)
            Crashing.pushed += 1
            if where == "push" and Crashing.pushed == 102:
                raise _Boom("in push")
            return update

        def finish(self):
            if where == "finish":
                raise _Boom("in finish")
            return super().finish()

    return Crashing


@pytest.mark.parametrize("where", ["push", "finish"])
def test_a_crash_in_the_headless_pipeline_still_finishes_the_recording(tmp_path, monkeypatch, where):
    """``run_live`` closes the recording before (and whatever) the pipeline's end: every
    sample the pipeline was given is on disk and session.json has its counts."""
    from hinge.commands import stream

    monkeypatch.setattr("processing.pipeline.Pipeline", _crashing_pipeline(where))
    batches = _live_batches()
    with pytest.raises(_Boom):
        stream.run_live(lambda writer: _Source(batches, writer), tmp_path / "rec", None, {"source": "test"})
    n_each = 51 * 20 if where == "push" else len(two_segments(duration_s=6.0)["thigh"])
    _assert_finished(tmp_path / "rec", n_each)


@pytest.mark.parametrize("where", ["push", "finish"])
def test_a_crash_in_the_window_sessions_pipeline_still_finishes_the_recording(tmp_path, where):
    """The same in the window's session process (run here in-process)."""
    from functools import partial
    from multiprocessing import Pipe

    from viewer.session_process import RecordTarget, SessionSpec, _Session

    batches = _live_batches()
    spec = SessionSpec(
        pipeline_factory=_crashing_pipeline(where),
        source_factory=partial(_Source, batches),
        record=RecordTarget(tmp_path / "rec", ("thigh", "lumbar"), {"source": "test"}),
    )
    control, other = Pipe()
    session = _Session(spec, lambda message: None)
    try:
        with pytest.raises(_Boom):
            asyncio.run(session.main(control))
    finally:
        other.close()
    n_each = 51 * 20 if where == "push" else len(two_segments(duration_s=6.0)["thigh"])
    _assert_finished(tmp_path / "rec", n_each)


# -- rows 6 and 7 through the CLI: SIGTERM, SIGHUP, Ctrl-C, kill -9 ---------------------------------


def test_signals_finish_the_recording_like_ctrl_c_and_kill_9_is_reported_when_read(tmp_path):
    """``hinge stream --virtual --headless --record R``, stopped mid-session: SIGTERM and
    SIGHUP close the recording like Ctrl-C (exit 128 + the signal; Ctrl-C 130), so
    session.json ends with ``ended``, ``samples`` (= the CSV's rows) and ``lost_samples``.
    After kill -9 the reader says the recording was not closed and counts from the CSVs."""
    stops = {"SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP, "SIGINT": signal.SIGINT, "SIGKILL": signal.SIGKILL}
    procs = {}
    for name in stops:
        procs[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hinge",
                "stream",
                "--virtual",
                "--headless",
                "--duration",
                "120",
                "--record",
                str(tmp_path / name),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        waiting = dict(stops)
        while waiting and time.monotonic() < deadline:
            for name, sig in list(waiting.items()):
                rec = tmp_path / name
                assert procs[name].poll() is None, procs[name].communicate()
                enough = 700 if name == "SIGKILL" else 50  # the reader needs 2 s of data
                if all((rec / f).exists() and _rows(rec / f) > enough for f in ("thigh.csv", "lumbar.csv")):
                    os.kill(procs[name].pid, sig)
                    del waiting[name]
            time.sleep(0.05)
        assert not waiting, f"never streamed: {sorted(waiting)}"
        outs = {name: p.communicate(timeout=120) for name, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    for name, sig in stops.items():
        rec = tmp_path / name
        code = procs[name].returncode
        stdout, stderr = outs[name]
        if name == "SIGKILL":
            assert code == -signal.SIGKILL
            continue
        assert code == 128 + sig, (name, code, stderr)
        assert "Traceback" not in stderr, stderr
        said = "stopped\n" if name == "SIGINT" else f"stopped ({name})\n"
        assert said in stdout and f"recorded to {rec}" in stdout, stdout
        meta = json.loads((rec / "session.json").read_text())
        assert meta["ended"], (name, meta)
        for entry in meta["sensors"]:
            assert entry["samples"] == _rows(rec / entry["file"]) > 50, (name, entry)
            assert isinstance(entry["lost_samples"], int)
    killed = tmp_path / "SIGKILL"
    meta = json.loads((killed / "session.json").read_text())
    assert meta["ended"] is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = read_recording(killed, required=())
    assert any("the recording was not closed" in str(w.message) for w in caught)
    assert [s["samples"] for s in got.meta["sensors"]] == [_rows(killed / f) for f in ("thigh.csv", "lumbar.csv")]
    out = subprocess.run(
        [sys.executable, "-m", "hinge", "analyze", str(killed)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert out.stderr.startswith(f"hinge: warning: {killed / 'session.json'}: the recording was not closed"), out.stderr
    assert "Traceback" not in out.stderr


class _EndlessSource(_Source):
    """Streams the batches and then waits, as live sensors do, until stopped."""

    async def _run(self):
        async for b in super()._run():
            yield b
        await asyncio.Event().wait()


def test_sigterm_stops_the_window_session_and_finishes_the_recording(tmp_path):
    """The window's session process (run here in-process, on the main thread as there):
    SIGTERM ends the session like the window's "stop", with the recording closed."""
    from functools import partial
    from multiprocessing import Pipe

    from processing.pipeline import Pipeline
    from viewer.session_process import RecordTarget, SessionSpec, _Session

    batches = _live_batches()
    spec = SessionSpec(
        pipeline_factory=Pipeline,
        source_factory=partial(_EndlessSource, batches),
        record=RecordTarget(tmp_path / "rec", ("thigh", "lumbar"), {"source": "test"}),
    )
    control, other = Pipe()
    session = _Session(spec, lambda message: None)
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda *a: seen.append("not handled by the session"))

    async def main():
        task = asyncio.ensure_future(session.main(control))
        while session.live is None or session.live.writer.samples < 2 * len(two_segments(duration_s=6.0)["thigh"]):
            await asyncio.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(asyncio.shield(task), 120)  # a test timeout only

    try:
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(main())
    finally:
        signal.signal(signal.SIGTERM, previous)
        other.close()
    assert seen == []
    _assert_finished(tmp_path / "rec", len(two_segments(duration_s=6.0)["thigh"]))

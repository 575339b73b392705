"""Recording format v1: round trips, crash safety of the streaming writer, no overwrites."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hinge.errors import HingeUserError
from processing.recording import (
    CORE_COLUMNS,
    RecordingWarning,
    RecordingWriter,
    read_recording,
    write_recording,
)
from processing.recording import folder as recording
from processing.recording.csv_text import format_rows
from processing.samples import SampleBatch
from tests.helpers import ROOT, require
from tests.helpers_recording import segment_frame, two_segments

# What the format promises to keep: t to the microsecond, m/s^2 to 1e-6, rad/s to 1e-7.
TOLERANCE = {"t": 5e-7, "ax": 5e-7, "ay": 5e-7, "az": 5e-7, "gx": 5e-8, "gy": 5e-8, "gz": 5e-8}


def _assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for c in want.columns:
        assert got[c].dtype == np.float64
        np.testing.assert_allclose(got[c], want[c], rtol=0, atol=TOLERANCE.get(c, 5e-10) * 1.0001, err_msg=c)


def _batches(df: pd.DataFrame, segment: str, sizes: list[int]) -> list[SampleBatch]:
    out, i = [], 0
    extras = [c for c in df.columns if c not in CORE_COLUMNS]
    for n in sizes:
        d = df.iloc[i : i + n]
        i += n
        out.append(
            SampleBatch(
                segment,
                d["t"].to_numpy(),
                d[["ax", "ay", "az"]].to_numpy(),
                d[["gx", "gy", "gz"]].to_numpy(),
                {c: d[c].to_numpy() for c in extras},
            )
        )
    return out


def test_write_recording_round_trip(tmp_path):
    source = two_segments(duration_s=5.0)
    meta = {
        "athlete": "A. Lifter",
        "load": {"kg": 140},
        "notes": "set 2",
        "source": "simulator",
        "sensors": [{"segment": "thigh", "side": "left", "rate_hz": 200.0, "timestamps": "device"}],
    }
    rec = write_recording(tmp_path / "rec", source, meta)
    got = read_recording(rec)
    assert got.path == rec
    for seg in source:
        _assert_same(got.segments[seg], source[seg])
    assert got.meta["format"] == "hinge-recording" and got.meta["version"] == 1
    assert got.meta["created"].endswith("Z")  # ISO 8601 UTC
    assert (got.meta["athlete"], got.meta["load"], got.meta["notes"]) == ("A. Lifter", {"kg": 140}, "set 2")
    thigh = got.sensor("thigh")
    assert thigh == {
        "segment": "thigh",
        "side": "left",
        "rate_hz": 200.0,
        "timestamps": "device",
        "file": "thigh.csv",
        "samples": len(source["thigh"]),
    }
    assert got.meta["duration_s"] == pytest.approx(source["lumbar"]["t"].iloc[-1], abs=1e-6)
    # The header is exactly the core columns, extras after: what a spreadsheet shows.
    assert (rec / "lumbar.csv").read_text().splitlines()[0] == "t,ax,ay,az,gx,gy,gz,seq,device_t"
    # A recording's batch is what replay feeds the pipeline.
    batch = got.batch("lumbar")
    assert batch.acc.shape == (len(source["lumbar"]), 3) and batch.acc.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(batch.gyr[:, 0], source["lumbar"]["gx"], atol=5e-8)
    np.testing.assert_array_equal(batch.extra["seq"], source["lumbar"]["seq"])


def test_numbers_are_written_to_their_promised_precision():
    """Random values over 12 decades, both signs: decimals as documented, nothing more lost."""
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, 20000) * 10.0 ** rng.uniform(-8, 4, 20000)
    x[:6] = [0.0, -0.0, 1e-7, -4e-7, 999.9999996, -1000.0]
    for decimals in (0, 1, 3, 6, 7, 9):
        text = format_rows([x], [decimals]).decode()
        back = np.array([float(v) for v in text.splitlines()])
        allowed = 0.5 * 10.0**-decimals + 4 * np.spacing(np.abs(x))  # plus float64 resolution
        assert (np.abs(back - x) <= allowed).all()
        assert "e" not in text.lower()  # fixed point, as a spreadsheet expects
        assert not any(v.endswith("0") and "." in v for v in text.splitlines())  # trimmed


def test_streaming_writer_round_trip_and_session(tmp_path):
    source = two_segments(duration_s=4.0)
    rng = random.Random(3)
    sizes = []
    while sum(sizes) < len(source["thigh"]):
        sizes.append(rng.choice([1, 2, 4, 7, 30]))
    path = tmp_path / "live"
    with RecordingWriter(path, ["thigh", {"segment": "lumbar", "side": "right"}], meta={"source": "ble"}) as w:
        started = json.loads((path / "session.json").read_text())  # written at start
        assert started["format"] == "hinge-recording" and started["source"] == "ble"
        assert [s["file"] for s in started["sensors"]] == ["thigh.csv", "lumbar.csv"]
        w.update_sensor("thigh", device={"name": "HINGE-T", "address": "AA:BB"}, rate_hz=200)
        w.update_sensor("thigh", driver="hinge_profile", firmware="1.2", battery_pct=80)  # flat
        saved = json.loads((path / "session.json").read_text())["sensors"][0]
        assert saved["device"] == {"name": "HINGE-T", "address": "AA:BB", "driver": "hinge_profile", "firmware": "1.2"}
        assert (saved["rate_hz"], saved["battery_pct"]) == (200, 80)
        for a, b in zip(_batches(source["thigh"], "thigh", sizes), _batches(source["lumbar"], "lumbar", sizes)):
            w.append(a)
            w.append(b)
        w.add_loss("lumbar", 5)
        w.add_loss("lumbar", 2)
    got = read_recording(path)
    for seg in source:
        _assert_same(got.segments[seg], source[seg])
    meta = got.meta
    assert meta["sensors"][0]["device"]["address"] == "AA:BB"
    assert [(s["samples"], s["lost_samples"]) for s in meta["sensors"]] == [(800, 0), (800, 7)]
    assert meta["sensors"][1]["side"] == "right"
    assert meta["ended"] >= meta["created"]
    assert meta["duration_s"] == pytest.approx(source["lumbar"]["t"].iloc[-1] - source["thigh"]["t"].iloc[0], abs=1e-6)


def test_writer_flushes_complete_lines_in_one_write_at_most_every_interval(tmp_path, monkeypatch):
    """Observe every os.write the writer makes while it streams in real time."""
    writes: list[tuple[float, int, bytes]] = []
    real_write = os.write

    def watched_write(fd, data):
        writes.append((time.monotonic(), fd, bytes(data)))
        return real_write(fd, data)

    monkeypatch.setattr(recording.os, "write", watched_write)
    source = segment_frame(duration_s=2.4)
    t_start = time.monotonic()
    with RecordingWriter(tmp_path / "rec", ["thigh"]) as w:
        for batch in _batches(source, "thigh", [4] * 120):
            w.append(batch)
            time.sleep(0.02)
    assert len(writes) >= 4  # it did write while streaming, not only at close
    times = [t for t, _, _ in writes]
    gaps = np.diff([t_start] + times[:-1])  # the last write is close()'s, allowed any time
    interval = recording.FLUSH_INTERVAL_S
    assert interval <= 0.45  # with the timer's wake-up, what arrived is on disk within 0.5 s
    assert (gaps >= interval - 0.01).all(), gaps  # flushes start an interval apart; a write follows within ms
    assert (gaps[1:] <= interval + 0.25).all(), gaps  # and does not hold data much longer (20 ms appends)
    assert all(data.endswith(b"\n") for _, _, data in writes)  # complete lines only
    # Everything appended is on disk after close (whether close had a remainder to write or
    # the last append's flush happened to take it all), and exactly what was written.
    assert b"".join(d for _, _, d in writes) == (tmp_path / "rec" / "thigh.csv").read_bytes()
    assert len(read_recording(tmp_path / "rec", required=("thigh",)).segments["thigh"]) == len(source)


CHILD = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from tests.helpers_recording import two_segments
from processing.recording import RecordingWriter
from processing.samples import SampleBatch

source = two_segments(duration_s=60.0)
rate = 200.0
cols = {s: (df["t"].to_numpy(), df[["ax", "ay", "az"]].to_numpy(), df[["gx", "gy", "gz"]].to_numpy(),
            {c: df[c].to_numpy() for c in df.columns[7:]}) for s, df in source.items()}
done = 0
with RecordingWriter(sys.argv[1], ["thigh", "lumbar"], meta={"source": "test"}) as w:
    t0 = time.monotonic()
    while True:
        target = int((time.monotonic() - t0) * rate)  # samples arrive in real time
        if target > done:
            for seg, (t, acc, gyr, extra) in cols.items():
                w.append(SampleBatch(seg, t[done:target], acc[done:target], gyr[done:target],
                                     {c: v[done:target] for c, v in extra.items()}))
            done = target
            w.update_sensor("lumbar", received=done)  # session.json rewritten all the time
            print(done, flush=True)
        time.sleep(0.004)
"""


def test_writer_killed_mid_stream_leaves_a_readable_recording(tmp_path):
    """SIGKILL a real writer process: the recording reads back without repair, equals what
    was streamed, and lacks at most the last flush interval; session.json, rewritten on
    every batch here, is always whole."""
    path = tmp_path / "killed"
    rate = 200.0
    kill_at = int(rate * random.uniform(2.8, 3.6))  # somewhere in a flush interval
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(ROOT)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    reported = 0
    try:
        for line in child.stdout:
            reported = int(line)
            if reported >= kill_at:
                break
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read().split()  # what it printed before it died
        reported = max([reported, *map(int, rest)])
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert reported >= kill_at
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RecordingWarning)
        got = read_recording(path)
    # no cut line to repair; only the note that it was never closed
    assert [str(w.message) for w in caught] == [
        f"{path / 'session.json'}: the recording was not closed (hinge stopped while recording: "
        "killed or power lost); sample counts recomputed from the CSVs"
    ]
    assert got.meta["ended"] is None and not got.closed  # never finalised, and still readable
    for seg in ("thigh", "lumbar"):  # counts recomputed from what is on disk
        assert got.sensor(seg)["samples"] == len(got.segments[seg])
        assert got.sensor(seg)["lost_samples"] == 0
    assert 0 < got.sensor("lumbar")["received"] <= reported  # replaced whole, never half-written
    source = two_segments(duration_s=60.0)
    for seg in ("thigh", "lumbar"):
        df = got.segments[seg]
        _assert_same(df, source[seg].iloc[: len(df)].reset_index(drop=True))
        lost_s = (reported - len(df)) / rate
        # Bound: a flush includes the batch that triggered it, and the next comes within
        # 0.5 s of data, so at most 0.5 s plus a sample's rounding is ever unwritten.
        assert lost_s <= 0.5 + 2 / rate, (seg, lost_s)


def test_writer_refuses_an_existing_recording(tmp_path):
    existing = write_recording(tmp_path / "rec", two_segments(duration_s=3.0))
    before = {p.name: p.read_bytes() for p in existing.iterdir()}
    with pytest.raises(HingeUserError, match=f"{existing}: already exists"):
        RecordingWriter(existing, ["thigh", "lumbar"])
    with pytest.raises(HingeUserError, match=f"{existing}: already exists"):
        write_recording(existing, two_segments(duration_s=4.0))
    assert {p.name: p.read_bytes() for p in existing.iterdir()} == before
    (tmp_path / "empty").mkdir()
    with pytest.raises(HingeUserError, match="already exists"):
        RecordingWriter(tmp_path / "empty", ["thigh"])
    assert list((tmp_path / "empty").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "rec"]


def test_failed_one_shot_write_leaves_nothing(tmp_path):
    source = two_segments(duration_s=3.0)
    source["lumbar"].loc[100, "gy"] = np.nan
    with pytest.raises(ValueError, match="lumbar"):
        write_recording(tmp_path / "rec", source)
    assert list(tmp_path.iterdir()) == []  # no partial recording, no temp directory


def test_writer_refuses_data_the_reader_would_reject(tmp_path):
    source = segment_frame(duration_s=3.0)
    (first, second) = _batches(source, "thigh", [10, 10])
    with RecordingWriter(tmp_path / "rec", ["thigh"]) as w:
        w.append(second)
        with pytest.raises(ValueError, match="not strictly increasing"):
            w.append(first)  # time going back
        with pytest.raises(ValueError, match="NaN"):
            w.append(SampleBatch("thigh", second.t + 1, second.acc * np.nan, second.gyr))
        with pytest.raises(ValueError, match="extra columns"):
            w.append(SampleBatch("thigh", second.t + 1, second.acc, second.gyr, {"seq": np.arange(10.0)}))
        with pytest.raises(ValueError, match="not declared"):
            w.append(SampleBatch("shank", second.t, second.acc, second.gyr))


def test_pandas_example_from_the_docs(tmp_path, capsys):
    """The docs promise a coach can open a recording with plain pandas: run their example."""
    rec = write_recording(tmp_path / "rec", two_segments(duration_s=3.0), {"athlete": "Sam"})
    doc = (ROOT / "docs" / "recording-format.md").read_text()
    example = doc.split("```python\n", 1)[1].split("```", 1)[0]
    assert 'rec = "deadlift-2026-03-14"' in example
    exec(example.replace('"deadlift-2026-03-14"', repr(str(rec))), {})
    out = capsys.readouterr().out
    assert "Sam" in out and "9.80665" in out  # the lumbar sensor standing still reads 1 g


def test_declared_columns_and_a_silent_sensor(tmp_path):
    """Columns declared up front fix the header; a sensor that never sent data still gets a
    well-formed CSV (header only), and the recording says 0 samples for it."""
    source = segment_frame(duration_s=3.0)
    source["seq"] = np.arange(len(source), dtype=float)
    sensors = [{"segment": "thigh", "columns": [*CORE_COLUMNS, "seq"]}, "lumbar"]
    with RecordingWriter(tmp_path / "rec", sensors) as w:
        for batch in _batches(source, "thigh", [100] * 6):
            w.append(batch)
    assert (tmp_path / "rec" / "lumbar.csv").read_text() == "t,ax,ay,az,gx,gy,gz\n"
    meta = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert [s.get("samples") for s in meta["sensors"]] == [600, 0]
    assert "columns" not in meta["sensors"][0]
    assert (tmp_path / "rec" / "thigh.csv").read_text().startswith("t,ax,ay,az,gx,gy,gz,seq\n0,")
    with pytest.raises(recording.RecordingError, match="lumbar.csv: no samples"):
        read_recording(tmp_path / "rec")


def test_samples_closer_than_the_written_resolution_stay_increasing(tmp_path):
    """The BLE client may space re-ordered samples 1 us apart; after rounding to the
    microseconds the CSV keeps, time must still increase, or the reader would refuse it."""
    source = segment_frame(duration_s=3.0)
    t = source["t"].to_numpy().copy()
    t[100:105] = t[99] + np.array([0.3e-6, 0.6e-6, 0.9e-6, 1.2e-6, 1.5e-6])  # < 1 us apart
    source["t"] = t
    rec = write_recording(tmp_path / "one-shot", {"thigh": source, "lumbar": segment_frame(duration_s=3.0)})
    with RecordingWriter(tmp_path / "live", ["thigh"]) as w:
        for batch in _batches(source, "thigh", [101, 2, 497]):
            w.append(batch)
    for path in (rec / "thigh.csv", tmp_path / "live" / "thigh.csv"):
        written = pd.read_csv(path)["t"].to_numpy()
        assert (np.diff(written) > 0).all()
        assert np.abs(written - t).max() <= 5e-6  # moved by whole microseconds only


def test_unwritable_places_are_user_errors(tmp_path):
    """A full disk or a read-only folder is the user's to fix: one line, no traceback."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    for make in (lambda p: RecordingWriter(p, ["thigh"]), lambda p: write_recording(p, two_segments(3.0))):
        with pytest.raises(HingeUserError, match=f"{blocked / 'rec'}: cannot create the recording"):
            make(blocked / "rec")
    full = Path("/dev/full")  # every write fails with ENOSPC, like a full disk
    require(full.exists(), "/dev/full is missing")
    w = RecordingWriter(tmp_path / "rec", ["thigh"])
    os.close(w._fds["thigh"])
    w._fds["thigh"] = os.open(full, os.O_WRONLY)  # the CSV's descriptor now points at a full disk
    w.append(_batches(segment_frame(duration_s=3.0), "thigh", [10])[0])
    with pytest.raises(HingeUserError, match=r"thigh.csv: cannot write \(No space left on device\)"):
        w.close()


def test_discard_removes_a_recording_that_never_got_a_sample(tmp_path):
    from processing.recording import finish_recording

    empty = RecordingWriter(tmp_path / "empty", ["thigh", "lumbar"])
    assert (tmp_path / "empty" / "session.json").exists()
    assert finish_recording(empty) is False
    assert not (tmp_path / "empty").exists()

    foreign = RecordingWriter(tmp_path / "foreign", ["thigh"])
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    foreign.discard()
    assert [p.name for p in (tmp_path / "foreign").iterdir()] == ["notes.txt"]  # only ours went

    t = np.arange(0.0, 3.0, 0.01)
    kept = RecordingWriter(tmp_path / "kept", ["thigh", "lumbar"])
    for seg in ("thigh", "lumbar"):
        kept.append(SampleBatch(seg, t, np.tile([0.0, 0.0, 9.81], (len(t), 1)), np.zeros((len(t), 3))))
    with pytest.raises(ValueError):
        kept.discard()
    assert finish_recording(kept) is True
    assert len(read_recording(tmp_path / "kept").segments["thigh"]) == len(t)

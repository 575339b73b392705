"""Recording format v1: a directory with ``session.json`` and one CSV per segment.

Specified for users in ``docs/recording-format.md``. The writer is built to survive a crash
while streaming (complete lines only, one ``write()`` per flush, ``session.json`` replaced
atomically); the reader is strict, because a recording in the wrong units or with a cut
line would silently give wrong angles, and names the file and line of every problem.
Number formatting lives in ``csv_text.py``, the checks of the reader in ``reader.py``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from processing.errors import HingeError, RecordingError
from processing.recording.csv_text import (
    CORE_COLUMNS,
    decimals_for_columns,
    format_header,
    format_rows,
    iter_rows,
)
from processing.recording.reader import (
    RecordingWarning,
    read_segment_csvs,
    read_session_json,
)
from processing.samples import SEGMENTS, SEGMENTS_REQUIRED, SampleBatch

FORMAT = "hinge-recording"
VERSION = 1
SESSION_FILE = "session.json"
DEVICE_FIELDS = ("name", "address", "driver", "firmware")
#: How often a live recording is written to disk: what arrived is on disk within 0.5 s
#: (the interval plus the timer thread's wake-up), so a kill loses at most that.
FLUSH_INTERVAL_S = 0.4

__all__ = [
    "CORE_COLUMNS",
    "FORMAT",
    "VERSION",
    "Recording",
    "RecordingError",
    "RecordingWarning",
    "RecordingWriter",
    "read_recording",
    "write_recording",
]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Recording:
    """A recording as read from disk: metadata and one DataFrame per segment."""

    path: Path
    meta: dict[str, Any]
    segments: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: False when hinge stopped while recording (killed, power lost): session.json says
    #: ``"ended": null``; ``meta``'s ``samples``, ``lost_samples`` and ``duration_s`` were
    #: then recomputed from the CSVs (and a ``RecordingWarning`` said so).
    closed: bool = True

    def batch(self, segment: str) -> SampleBatch:
        """The whole segment as one ``SampleBatch`` (for replay and the streaming pipeline);
        columns beyond the core seven go into ``extra``."""
        df = self.segments[segment]
        extra = {c: df[c].to_numpy() for c in df.columns if c not in CORE_COLUMNS}
        return SampleBatch(
            segment=segment,
            t=np.ascontiguousarray(df["t"].to_numpy(dtype=np.float64)),
            acc=np.ascontiguousarray(df[["ax", "ay", "az"]].to_numpy(dtype=np.float64)),
            gyr=np.ascontiguousarray(df[["gx", "gy", "gz"]].to_numpy(dtype=np.float64)),
            extra=extra,
        )

    def sensor(self, segment: str) -> dict[str, Any]:
        """The ``session.json`` entry of one segment's sensor."""
        for entry in self.meta.get("sensors", []):
            if entry.get("segment") == segment:
                return entry
        raise KeyError(segment)


def read_recording(
    path: str | os.PathLike[str], required: tuple[str, ...] | list[str] = SEGMENTS_REQUIRED
) -> Recording:
    """Read and validate a recording directory (or its ``session.json``).

    Raises ``RecordingError`` naming the file (and line) of the first problem; warns with
    ``RecordingWarning`` when it drops an unterminated final line (a cut-off write).
    """
    path = Path(path)
    try:
        return _read_recording(path, required)
    except OSError as e:  # a folder hinge may not look into, a link loop...: the user's to fix
        raise RecordingError(f"{e.filename or path}: cannot read ({e.strerror or e})") from None


def _read_recording(path: Path, required: tuple[str, ...] | list[str]) -> Recording:
    if path.is_file() and path.name == SESSION_FILE:
        path = path.parent
    if not path.exists():
        raise RecordingError(f"{path}: no such recording (expected a directory with {SESSION_FILE})")
    if not path.is_dir():
        hint = f"; give the recording directory {path.parent}" if (path.parent / SESSION_FILE).is_file() else ""
        raise RecordingError(f"{path}: not a recording (expected a directory with {SESSION_FILE}){hint}")
    root = path.resolve()
    _inside(root, path / SESSION_FILE)
    meta = read_session_json(path / SESSION_FILE, FORMAT, VERSION, SEGMENTS)
    listed = [s["segment"] for s in meta["sensors"]]
    missing = [s for s in required if s not in listed]
    if missing:
        raise RecordingError(
            f"{path / SESSION_FILE}: no {' or '.join(repr(s) for s in missing)} sensor listed "
            f"(analysis needs {' and '.join(required)})"
        )
    files: dict[str, Path] = {}
    targets: dict[Path, str] = {}
    for entry in meta["sensors"]:
        csv = path / entry["file"]
        if not csv.is_file():
            raise RecordingError(f"{csv}: missing (session.json lists it for segment '{entry['segment']}')")
        target = _inside(root, csv)
        if target in targets:
            raise RecordingError(
                f"{csv}: the same file as the {targets[target]} sensor's (each sensor needs its own CSV)"
            )
        targets[target] = entry["segment"]
        files[entry["segment"]] = csv
    read = dict(zip(files, read_segment_csvs(list(files.values()))))
    segments = {seg: df for seg, (df, _) in read.items()}
    rows = {seg: n for seg, (_, n) in read.items()}
    closed = not ("ended" in meta and meta["ended"] is None)
    if not closed:
        _recount(path, meta, segments, rows)
    return Recording(path=path, meta=meta, segments=segments, closed=closed)


def _inside(root: Path, file: Path) -> Path:
    """The real path of ``file``, refused if a link takes it out of the recording ``root``:
    a recording is read from its own folder only."""
    try:
        target = file.resolve()
    except RuntimeError:  # Python 3.11 on a link loop (later versions raise OSError)
        raise RecordingError(f"{file}: a link that leads to itself") from None
    except OSError as e:
        if e.errno != errno.ELOOP:
            raise
        raise RecordingError(f"{file}: a link that leads to itself") from None
    if not target.is_relative_to(root):
        raise RecordingError(f"{file}: a link to a file outside the recording; copy the file in instead")
    return target


def _recount(path: Path, meta: dict[str, Any], segments: dict[str, pd.DataFrame], rows: dict[str, int]) -> None:
    """Counts of a recording that was never closed, from its CSVs: samples are the rows
    written; lost samples the gaps in ``seq`` (or in ``t`` at the sensor's rate)."""
    for entry in meta["sensors"]:
        seg = entry["segment"]
        df = segments[seg]
        entry["samples"] = rows[seg]
        if "seq" in df.columns and len(df) > 1:
            step = np.diff(df["seq"].to_numpy())
            lost = int(np.sum(step[step > 1] - 1))
        else:
            t = df["t"].to_numpy()
            dt = np.diff(t)
            rate = entry.get("rate_hz")
            nominal = (
                1.0 / rate
                if isinstance(rate, (int, float)) and rate > 0
                else (float(np.median(dt)) if len(dt) else 0.0)
            )
            lost = int(np.sum(np.rint(dt[dt > 1.5 * nominal] / nominal) - 1)) if nominal > 0 else 0
        entry["lost_samples"] = max(0, lost - (rows[seg] - len(df)))  # not the glitches dropped
    starts = [float(df["t"].iloc[0]) for df in segments.values() if len(df)]
    ends = [float(df["t"].iloc[-1]) for df in segments.values() if len(df)]
    if starts:
        meta["duration_s"] = round(max(ends) - min(starts), 6)
    warnings.warn(
        f"{path / SESSION_FILE}: the recording was not closed (hinge stopped while recording: "
        "killed or power lost); sample counts recomputed from the CSVs",
        RecordingWarning,
        stacklevel=3,
    )


def _sensor_entries(segments: list[str] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for s in segments:
        entry = {"segment": s} if isinstance(s, str) else dict(s)
        seg = entry.get("segment")
        if seg not in SEGMENTS:
            raise ValueError(f"unknown segment {seg!r} (expected one of {', '.join(SEGMENTS)})")
        entry.setdefault("file", f"{seg}.csv")
        entries.append(entry)
    names = [e["segment"] for e in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"segments listed twice: {names}")
    files = [e["file"] for e in entries]
    if len(set(files)) != len(files) or any(Path(f).name != f or f == SESSION_FILE for f in files):
        raise ValueError(f"each sensor needs its own plain CSV file name: {files}")
    return entries


def _session_dict(meta: dict[str, Any] | None, sensors: list[dict[str, Any]]) -> dict[str, Any]:
    meta = dict(meta or {})
    for key in ("format", "version", "sensors"):
        meta.pop(key, None)
    created = meta.pop("created", None) or _now_iso()
    return {"format": FORMAT, "version": VERSION, "created": created, **meta, "sensors": sensors}


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write to a temp file beside ``path`` and rename over it: readers never see half."""
    tmp = path.with_name(f".{path.name}.tmp")
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:  # a full disk: no half-written temp file left behind
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def _refuse_existing(path: Path) -> None:
    if path.exists() or path.is_symlink():
        raise RecordingError(f"{path}: already exists; a recording is never overwritten (choose a new name)")


def _check_samples(segment: str, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, after: float | None) -> None:
    """Refuse data the reader would reject: better a loud bug here than an unreadable file."""
    if not (np.isfinite(t).all() and np.isfinite(acc).all() and np.isfinite(gyr).all()):
        raise ValueError(f"{segment}: samples contain NaN or inf")
    if len(t) > 1 and not (np.diff(t) > 0).all():
        raise ValueError(f"{segment}: sample times are not strictly increasing")
    if after is not None and len(t) and not t[0] > after:
        raise ValueError(f"{segment}: sample time {t[0]} is not after the previous {after}")


def _on_microsecond_grid(t: np.ndarray, after_us: float | None) -> np.ndarray:
    """``t`` rounded to the microseconds the CSV keeps, still strictly increasing.

    Strictly increasing samples can only collide after rounding when they lie less than
    1 us apart (the BLE client spaces re-ordered samples 1 us apart); such a sample moves up by
    whole microseconds, the format's own resolution, so the file stays readable.
    """
    us = np.rint(t * 1e6)
    if after_us is not None:
        us = np.concatenate([[after_us], us])
    steps = np.arange(len(us))
    us = np.maximum.accumulate(us - steps) + steps
    return us[1:] if after_us is not None else us


#: A sensor value beyond this (any unit the format uses) is no reading but a glitch (a
#: corrupt packet, a wrong scale); written as +-OUT_OF_RANGE and counted, so the row and
#: the count stay, and the CSV keeps its precision. The reader drops such samples.
OUT_OF_RANGE = 1e8
EXTRA_OUT_OF_RANGE = 1e18  # extra columns (seq, device_t...): what the CSV can hold
MAX_T_S = 1e10  # the session clock never goes this far (317 years)


class RecordingWriter:
    """Append samples to a new recording while streaming; survives being killed.

    Lines are buffered per segment and written every ``flush_interval_s`` by a timer thread
    (whether or not more samples arrive) and at ``close``: each flush is one ``os.write`` of
    complete lines per file, so a kill loses at most the last half second and never leaves
    half a number that would parse as a wrong value. ``session.json`` is written at start
    (with ``"ended": null``) and finalised at close.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        segments: list[str] | list[dict[str, Any]],
        meta: dict[str, Any] | None = None,
        flush_interval_s: float = FLUSH_INTERVAL_S,
    ) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self._sensors = _sensor_entries(segments)
        self._by_segment = {e["segment"]: e for e in self._sensors}
        _refuse_existing(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()
        except FileExistsError:
            _refuse_existing(self.path)  # it appeared meanwhile
            raise RecordingError(f"{self.path}: cannot create the recording (a parent is a file)") from None
        except OSError as e:
            raise RecordingError(f"{self.path}: cannot create the recording ({e.strerror})") from None
        self._session = _session_dict({**(meta or {}), "ended": None}, self._sensors)
        self._fds: dict[str, int] = {}
        self._columns: dict[str, list[str]] = {}
        self._header: dict[str, bytes] = {}  # written with the first flush
        self._pending: dict[str, list[np.ndarray]] = {}  # (n, columns) blocks, formatted at flush
        self._unwritten: dict[str, bytes] = {}  # formatted, not yet on disk (a failed write)
        self._written_us: dict[str, float] = {}  # last time written per segment, microseconds
        self._counts = dict.fromkeys(self._by_segment, 0)
        self._lost = dict.fromkeys(self._by_segment, 0)
        self._out_of_range = dict.fromkeys(self._by_segment, 0)
        self._last_t: dict[str, float | None] = dict.fromkeys(self._by_segment)
        self._first_t: dict[str, float | None] = dict.fromkeys(self._by_segment)
        self._closed = False
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._flush_error: HingeError | None = None
        try:
            for entry in self._sensors:
                seg = entry["segment"]
                fd = os.open(self.path / entry["file"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                self._fds[seg] = fd
                self._pending[seg] = []
                columns = entry.pop("columns", None)
                if columns is not None:
                    self._set_columns(seg, list(columns))
            _write_json_atomic(self.path / SESSION_FILE, self._session)
        except OSError as e:  # a full disk, no inodes left...: leave nothing behind
            self._remove_files()
            raise RecordingError(f"{self.path}: cannot create the recording ({e.strerror})") from None
        self._last_flush = time.monotonic()
        self._timer = threading.Thread(target=self._flush_on_time, name="hinge-recording-flush", daemon=True)
        self._timer.start()

    def _set_columns(self, segment: str, columns: list[str]) -> None:
        extras = [c for c in columns if c not in CORE_COLUMNS]
        self._columns[segment] = list(CORE_COLUMNS) + extras
        self._header[segment] = format_header(self._columns[segment])

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, batch: SampleBatch) -> None:
        """Buffer one batch; flush all files if the flush interval has passed.

        Values beyond ``OUT_OF_RANGE`` (a glitch, never a reading) are written as
        +-``OUT_OF_RANGE`` and counted in the sensor's ``out_of_range`` in session.json;
        NaN and time not increasing are the caller's bugs (``ValueError``, nothing kept)."""
        seg = batch.segment
        if self._closed:
            raise ValueError("recording is closed")
        if seg not in self._by_segment:
            raise ValueError(f"segment {seg!r} was not declared for this recording")
        if self._flush_error is not None:  # the timer's write failed: the user's to know
            raise self._flush_error
        n = len(batch)
        if n == 0:
            return
        with self._lock:
            if seg not in self._columns:
                self._set_columns(seg, list(CORE_COLUMNS) + list(batch.extra))
            columns = self._columns[seg]
        extras = columns[len(CORE_COLUMNS) :]
        if set(batch.extra) != set(extras):
            raise ValueError(f"{seg}: extra columns {sorted(batch.extra)} differ from the recording's {extras}")
        block = np.empty((n, len(columns)))
        block[:, 0] = batch.t
        block[:, 1:4] = np.reshape(batch.acc, (n, 3))
        block[:, 4:7] = np.reshape(batch.gyr, (n, 3))
        for i, c in enumerate(extras, start=len(CORE_COLUMNS)):
            block[:, i] = batch.extra[c]
        t = block[:, 0]
        if np.isnan(block).any():
            raise ValueError(f"{seg}: samples contain NaN")
        if not (np.abs(t) < MAX_T_S).all():
            raise ValueError(f"{seg}: sample times beyond {MAX_T_S:g} s (or infinite)")
        last = self._last_t[seg]
        if (n > 1 and not (np.diff(t) > 0).all()) or (last is not None and not t[0] > last):
            raise ValueError(f"{seg}: sample times are not strictly increasing (previous t = {last})")
        values, extra = block[:, 1:7], block[:, 7:]
        wild = int((np.abs(values) > OUT_OF_RANGE).any(axis=1).sum())
        if wild:
            np.clip(values, -OUT_OF_RANGE, OUT_OF_RANGE, out=values)
        if extra.size and not (np.abs(extra) <= EXTRA_OUT_OF_RANGE).all():
            wild += int((np.abs(extra) > EXTRA_OUT_OF_RANGE).any(axis=1).sum())
            np.clip(extra, -EXTRA_OUT_OF_RANGE, EXTRA_OUT_OF_RANGE, out=extra)
        with self._lock:
            self._pending[seg].append(block)
            self._counts[seg] += n
            self._out_of_range[seg] += wild
            self._last_t[seg] = float(t[-1])
            if self._first_t[seg] is None:
                self._first_t[seg] = float(t[0])
            if time.monotonic() - self._last_flush >= self.flush_interval_s:
                self.flush()

    def add_loss(self, segment: str, n_samples: int) -> None:
        """Count samples the source lost (gaps in sequence numbers); saved in session.json."""
        with self._lock:
            self._lost[segment] += int(n_samples)

    def update_sensor(self, segment: str, **fields: Any) -> None:
        """Add details of a sensor (``rate_hz``, ``side``, ``timestamps``, ``device=...``) to its
        entry and save ``session.json`` now, so a crashed recording still says what was worn.

        Device details given flat (``name``, ``address``, ``driver``, ``firmware``) go into the
        entry's ``device`` object, where the format keeps them.
        """
        entry = self._by_segment[segment]
        for key in ("segment", "file"):
            if key in fields:
                raise ValueError(f"{key!r} of a sensor cannot change")
        with self._lock:
            device = dict(entry.get("device") or {})
            device.update(fields.pop("device", None) or {})
            device.update({k: fields.pop(k) for k in DEVICE_FIELDS if k in fields})
            entry.update(fields)
            if device:
                entry["device"] = device
            self._write_session()

    def _write_session(self) -> None:
        try:
            _write_json_atomic(self.path / SESSION_FILE, self._session)
        except OSError as e:
            with contextlib.suppress(OSError):
                (self.path / f".{SESSION_FILE}.tmp").unlink(missing_ok=True)
            raise RecordingError(f"{self.path / SESSION_FILE}: cannot write ({e.strerror})") from None

    def _flush_on_time(self) -> None:
        """(timer thread) Flush whenever the interval has passed, so what arrived is on disk
        within the interval even when no further sample comes (a sensor stalls, the
        process is about to be killed)."""
        while True:
            wait = self._last_flush + self.flush_interval_s - time.monotonic()
            if self._stop.wait(min(max(wait, 0.0), 60.0)):
                return
            with self._lock:
                if self._closed:
                    return
                if time.monotonic() - self._last_flush < self.flush_interval_s:
                    continue  # an append flushed meanwhile
                try:
                    self.flush()
                except HingeError as err:  # told to the streaming side on its next append
                    self._flush_error = err
                    return

    def flush(self) -> None:
        """Write every buffered line: one ``os.write`` per file of complete lines.

        Formatting happens here, once per interval for all pending samples, so ``append``
        costs next to nothing in a live session. The interval counts from the start of a
        flush, so what a crash can lose is the interval, not the interval plus a slow write.
        Lines leave the buffer only once formatted; a failed write keeps them for the next.
        """
        with self._lock:
            self._last_flush = time.monotonic()
            error = None
            for seg, pending in self._pending.items():
                data = self._unwritten.pop(seg, b"") + self._header.pop(seg, b"")
                if pending:
                    rows = np.concatenate(pending).T.copy()
                    rows[0] = _on_microsecond_grid(rows[0], self._written_us.get(seg)) / 1e6
                    data += format_rows(list(rows), decimals_for_columns(self._columns[seg]))
                    self._written_us[seg] = float(np.rint(rows[0, -1] * 1e6))
                    pending.clear()
                view = memoryview(data)
                try:
                    while view:  # a regular file takes it all at once; loop only on a short write
                        view = view[os.write(self._fds[seg], view) :]
                except OSError as e:  # disk full, USB stick pulled...: the user's to fix
                    self._unwritten[seg] = bytes(view)
                    file = self.path / self._by_segment[seg]["file"]
                    error = error or RecordingError(f"{file}: cannot write ({e.strerror})")
            if error is not None:
                raise error

    def close(self) -> None:
        """Flush, close the files and finalise ``session.json`` (counts, loss, end, duration).

        session.json is finalised even when the last lines cannot be written (a full disk):
        then the error is raised after it."""
        with self._lock:
            if self._closed:
                return
            self._stop.set()
            for seg in self._by_segment:
                if seg not in self._columns:  # no data came: still a well-formed (empty) CSV
                    self._set_columns(seg, list(CORE_COLUMNS))
            error: BaseException | None = None
            try:
                self.flush()
            except Exception as err:  # session.json is finalised all the same
                error = err
            finally:
                for fd in self._fds.values():
                    os.close(fd)
                self._closed = True
            starts = [v for v in self._first_t.values() if v is not None]
            ends = [v for v in self._last_t.values() if v is not None]
            for entry in self._sensors:
                seg = entry["segment"]
                entry["samples"] = self._counts[seg]
                entry["lost_samples"] = self._lost[seg]
                if self._out_of_range[seg]:
                    entry["out_of_range"] = self._out_of_range[seg]
            sensors = self._session.pop("sensors")
            self._session["ended"] = _now_iso()
            self._session["duration_s"] = round(max(ends) - min(starts), 6) if starts else 0.0
            self._session["sensors"] = sensors
            try:
                self._write_session()
            except HingeError as err:
                error = error or err
        if threading.current_thread() is not self._timer:
            self._timer.join(timeout=5.0)
        if error is not None:
            raise error

    @property
    def samples(self) -> int:
        """Samples appended so far, all segments."""
        return sum(self._counts.values())

    @property
    def closed(self) -> bool:
        return self._closed

    def discard(self) -> None:
        """Remove the recording, which must hold no sample yet: a session that never
        streamed (sensors not found, Ctrl-C while scanning) leaves nothing behind, so the
        same ``--record DIR`` works on the next try. Only the files this writer created go."""
        if self.samples:
            raise ValueError(f"{self.path}: holds samples; it is not discarded")
        with self._lock:
            self._stop.set()
            self._remove_files()

    def _remove_files(self) -> None:
        if not self._closed:
            for fd in self._fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._closed = True
        for name in [e["file"] for e in self._sensors] + [SESSION_FILE, f".{SESSION_FILE}.tmp"]:
            with contextlib.suppress(OSError):
                (self.path / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # something else was put there: leave it
            self.path.rmdir()


def finish_recording(writer: RecordingWriter) -> bool:
    """End a live session's recording: close it, or discard it if no sample ever arrived.
    Returns whether it was kept."""
    if writer.samples == 0:
        writer.discard()
        return False
    writer.close()
    return True


def write_recording(
    path: str | os.PathLike[str], segments: dict[str, pd.DataFrame], meta: dict[str, Any] | None = None
) -> Path:
    """Write a complete recording in one go (simulator, conversions).

    Written into a temporary directory beside ``path`` and renamed at the end, so a failure
    leaves nothing behind and an existing recording is never touched. ``meta["sensors"]``
    may carry extra fields per segment (``{"segment": "thigh", "rate_hz": 200, ...}``).
    """
    path = Path(path)
    _refuse_existing(path)
    extra_fields = {e["segment"]: e for e in (meta or {}).get("sensors", [])}
    unknown = set(extra_fields) - set(segments)
    if unknown:
        raise ValueError(f"meta['sensors'] names segments without data: {sorted(unknown)}")
    sensors = _sensor_entries([{**extra_fields.get(s, {}), "segment": s} for s in segments])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as e:
        raise RecordingError(f"{path}: cannot create the recording ({e.strerror})") from None
    try:
        for entry in sensors:
            seg = entry["segment"]
            df = segments[seg]
            missing = [c for c in CORE_COLUMNS if c not in df.columns]
            if missing:
                raise ValueError(f"{seg}: missing columns {missing}")
            columns = list(CORE_COLUMNS) + [c for c in df.columns if c not in CORE_COLUMNS]
            data = {c: df[c].to_numpy(dtype=np.float64) for c in columns}
            t = data["t"]
            acc = np.column_stack([data["ax"], data["ay"], data["az"]])
            gyr = np.column_stack([data["gx"], data["gy"], data["gz"]])
            _check_samples(seg, t, acc, gyr, None)
            data["t"] = _on_microsecond_grid(t, None) / 1e6
            if not all(np.isfinite(data[c]).all() for c in columns[len(CORE_COLUMNS) :]):
                raise ValueError(f"{seg}: extra columns contain NaN or inf")
            with open(tmp / entry["file"], "wb") as f:
                f.write(format_header(columns))
                for block in iter_rows([data[c] for c in columns], decimals_for_columns(columns)):
                    f.write(block)
            entry.setdefault("samples", len(df))
        ts = [segments[s]["t"] for s in segments if len(segments[s])]
        meta = dict(meta or {})
        if ts and "duration_s" not in meta:
            meta["duration_s"] = round(max(t.iloc[-1] for t in ts) - min(t.iloc[0] for t in ts), 6)
        session = _session_dict(meta, sensors)
        _write_json_atomic(tmp / SESSION_FILE, session)
        tmp.chmod(0o755)
        _refuse_existing(path)
        os.rename(tmp, path)
    except OSError as e:  # a full disk, a folder gone read-only: nothing left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise RecordingError(f"{path}: cannot write the recording ({e.strerror})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path

"""Strict reading of recording v1 files: every problem named with its file and line.

A cut line, a column in g or deg/s, or time running backwards does not crash the analysis;
it silently gives wrong angles. So the reader checks what the format promises and says
exactly where it is broken, in words a coach can act on.
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from processing.errors import RecordingError
from processing.recording.csv_text import CORE_COLUMNS

MIN_DURATION_S = 0.5  # shorter than this holds no movement to analyse (a rep alone takes longer)
MAX_GYRO_RAD_S = 35.0  # ~2000 deg/s, the largest range of common MEMS gyroscopes
G = 9.80665
REST_GYRO_RAD_S = 0.2  # below this a sample counts as "at rest" for the unit check
MIN_PLAUSIBLE_ACC = 0.25 * G  # typical |acc| outside these is a scale mistake, not a body
MAX_PLAUSIBLE_ACC = 8 * G
# Beyond these no body segment goes (a glitch: a corrupt packet, a broken sensor): such
# samples are dropped with a warning, like samples the radio lost.
IMPOSSIBLE_ACC = 50 * G  # m/s^2
IMPOSSIBLE_GYRO_RAD_S = 50.0
# More samples than this above MAX_GYRO_RAD_S is a column in deg/s, not a few glitches.
DEG_S_MIN_SAMPLES = 10
DEG_S_MIN_FRACTION = 0.002
MAX_HEADER_BYTES = 1 << 20  # a header line longer than this is not a CSV header
MAX_SESSION_JSON_BYTES = 16 << 20
SERIAL_READ_ROWS = 1 << 62  # no file has more rows: the limit only makes the read serial


class RecordingWarning(UserWarning):
    """Something in a recording was repaired while reading (e.g. a cut final line dropped)."""


def _line_of(text: str, pattern: str) -> str:
    """``":<line>"`` of the first match of ``pattern`` in ``text``, or ``""``."""
    m = re.search(pattern, text)
    return f":{text.count(chr(10), 0, m.start()) + 1}" if m else ""


def _key_line(text: str, key: str) -> str:
    return _line_of(text, rf'"{re.escape(key)}"\s*:')


def read_session_json(path: Path, fmt: str, version: int, segments: tuple[str, ...]) -> dict[str, Any]:
    """Parse and check ``session.json``: format, version and the list of sensors."""
    if not path.is_file():
        raise RecordingError(f"{path}: missing (every recording has a session.json)")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SESSION_JSON_BYTES + 1)
    except OSError as e:
        raise RecordingError(f"{path}: cannot read ({e.strerror})") from None
    if len(raw) > MAX_SESSION_JSON_BYTES:
        raise RecordingError(f"{path}: larger than {MAX_SESSION_JSON_BYTES >> 20} MiB: not a session.json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordingError(f"{path}: not UTF-8 text ({e.reason})") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordingError(f"{path}:{e.lineno}: not valid JSON ({e.msg}, column {e.colno})") from None
    except RecursionError:
        raise RecordingError(f"{path}: nested too deeply to be a session.json") from None
    if not isinstance(meta, dict):
        raise RecordingError(f"{path}: expected a JSON object {{...}}, found {type(meta).__name__}")
    if "format" not in meta:
        raise RecordingError(f'{path}: no "format" field (expected "{fmt}")')
    if meta["format"] != fmt:
        raise RecordingError(
            f'{path}{_key_line(text, "format")}: unknown format {json.dumps(meta["format"])} (expected "{fmt}")'
        )
    v = meta.get("version")
    if type(v) is not int or v != version:
        raise RecordingError(
            f"{path}{_key_line(text, 'version')}: unsupported version {json.dumps(v)} "
            f"(this hinge reads version {version})"
        )
    sensors = meta.get("sensors")
    if not isinstance(sensors, list) or not sensors:
        raise RecordingError(f'{path}{_key_line(text, "sensors")}: "sensors" must be a non-empty list')
    seen = set()
    files: dict[str, str] = {}
    for i, entry in enumerate(sensors):
        where = f"{path}{_key_line(text, 'sensors')}"
        if not isinstance(entry, dict):
            raise RecordingError(f"{where}: sensor entry {i + 1} is not an object")
        seg = entry.get("segment")
        if isinstance(seg, str):
            pattern = r'"segment"\s*:\s*' + re.escape(json.dumps(seg))
            where = f"{path}{_line_of(text, pattern)}"
        if seg not in segments:
            raise RecordingError(f"{where}: unknown segment {json.dumps(seg)} (expected one of {', '.join(segments)})")
        if seg in seen:
            raise RecordingError(f"{where}: segment {json.dumps(seg)} listed twice")
        seen.add(seg)
        file = entry.get("file")
        if not isinstance(file, str) or not file or Path(file).name != file or file in (".", ".."):
            raise RecordingError(f'{where}: sensor "{seg}" needs "file": a CSV file name inside the recording')
        if file in files:
            raise RecordingError(
                f'{where}: sensors "{files[file]}" and "{seg}" both name the file "{file}" '
                "(each sensor needs its own CSV)"
            )
        files[file] = seg
    return meta


def _numeric_problem(path: Path, source: bytes | Path, names: list[str]) -> RecordingError:
    """Slow path, only on error: find the first line whose core value is not a number."""
    raw = pd.read_csv(
        io.BytesIO(source) if isinstance(source, bytes) else source,
        engine="c",
        header=0,
        names=names,
        dtype=str,
        encoding_errors="replace",
        keep_default_na=False,
        skip_blank_lines=False,
        usecols=list(CORE_COLUMNS),
    )
    first = None
    for col in CORE_COLUMNS:
        text = raw[col].str.strip()
        bad = (
            pd.to_numeric(text, errors="coerce").isna()
            & (text != "")
            & ~text.str.lower().isin(["nan", "-nan", "+nan", "na", "n/a", "null", "none", "-1.#ind", "1.#qnan"])
        )
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            if first is None or row < first[0]:
                first = (row, col, raw[col].iloc[row])
    if first is None:
        return RecordingError(f"{path}: values that are not numbers")
    row, col, value = first
    return RecordingError(f"{path}:{row + 2}: {col} = {value!r} is not a number")


def _parse_csv(path: Path, source: bytes | Path, names: list[str]) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.BytesIO(source) if isinstance(source, bytes) else source,
            engine="c",
            header=0,
            names=names,
            skip_blank_lines=False,
            encoding_errors="replace",
            dtype=dict.fromkeys(CORE_COLUMNS, np.float64),
            # A row limit makes pandas read in one pass: its parallel read of a large file
            # holds every chunk and their concatenation (2.5x the data, 130 MB more for an
            # hour at 200 Hz) for little gain when every core analyses a recording.
            nrows=SERIAL_READ_ROWS,
        )
    except pd.errors.ParserError as e:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if m:
            want, line, saw = m.groups()
            hint = " (a decimal comma? numbers must use '.')" if int(saw) > int(want) else ""
            raise RecordingError(f"{path}:{line}: {saw} values, but the header has {want} columns{hint}") from None
        m = re.search(r"EOF inside string starting at row (\d+)", str(e))
        if m:  # pandas counts rows of the file from 0
            raise RecordingError(f'{path}:{int(m.group(1)) + 1}: a quote (") is never closed') from None
        raise RecordingError(f"{path}: not a readable CSV ({e})") from None
    except (ValueError, TypeError):
        raise _numeric_problem(path, source, names) from None


def _check_header(path: Path, header_line: bytes) -> list[str]:
    """The column names, after checking the core ones are there, each once."""
    try:
        header = header_line.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise RecordingError(f"{path}:1: the header is not text (expected t,ax,ay,az,gx,gy,gz)") from None
    names = [c.strip() for c in header.split(",")]
    missing = [c for c in CORE_COLUMNS if c not in names]
    if missing:
        hint = ""
        if ";" in header or "\t" in header:
            hint = "; columns must be separated by commas"
        raise RecordingError(
            f"{path}:1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(the header must start with {','.join(CORE_COLUMNS)}){hint}"
        )
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        which = f"columns {', '.join(dupes)} appear" if len(dupes) > 1 else f"column {dupes[0]} appears"
        raise RecordingError(f"{path}:1: {which} twice")
    return names


def _not_text(path: Path, head: bytes) -> RecordingError | None:
    """The real problem of a file that is not CSV text at all (before any line is read)."""
    odd, even = head[1::2].count(0), head[0::2].count(0)
    half = len(head) // 2
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(head) >= 8 and min(odd, even) == 0 and max(odd, even) >= 0.8 * half
    ):
        return RecordingError(f"{path}: UTF-16 text; save it as UTF-8 (plain CSV) instead")
    if head.startswith(b"\x1f\x8b") or head.startswith(b"PK\x03\x04"):
        return RecordingError(f"{path}: a compressed file (gzip or zip); unpack it first")
    if b"\x00" in head:
        return RecordingError(f"{path}: binary data, not CSV text")
    return None


def _open_csv(path: Path) -> tuple[bytes, bytes, int, bool]:
    """(the first 4 KiB, the header line with its line break if any, file size, whether the
    file ends in a line break)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            f.seek(0)
            header = f.readline(MAX_HEADER_BYTES)
            size = f.seek(0, io.SEEK_END)
            terminated = False
            if size:
                f.seek(size - 1)
                terminated = f.read(1) == b"\n"
    except OSError as e:
        raise RecordingError(f"{path}: cannot read ({e.strerror})") from None
    return head, header, size, terminated


@overload
def read_segment_csv(path: Path, with_rows: Literal[False] = False) -> pd.DataFrame: ...


@overload
def read_segment_csv(path: Path, with_rows: Literal[True]) -> tuple[pd.DataFrame, int]: ...


def read_segment_csv(path: Path, with_rows: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, int]:
    """Read one segment's CSV and check it; core columns first, all numeric columns float64.

    Samples with physically impossible values (a glitch) are dropped with a
    ``RecordingWarning``, like samples the radio lost. ``with_rows``: also return the
    number of samples in the file (before that drop)."""
    df, n = read_segment_csvs([path])[0]
    return (df, n) if with_rows else df


def read_segment_csvs(paths: list[Path]) -> list[tuple[pd.DataFrame, int]]:
    """``read_segment_csv(path, with_rows=True)`` of each file, parsed side by side in threads.

    pandas' C parser runs without the GIL, so on two cores two sensors' files take the time
    of one. Warnings and errors come from the calling thread in the files' order, each file's
    after the one before it is fully checked, as if the files were read one by one."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(paths), os.cpu_count() or 1))) as pool:
        parsed = list(pool.map(_prepared_and_parsed, paths))
    out = []
    for path, (df, cut, error) in zip(paths, parsed):
        if error is not None:
            raise error
        if cut is not None:
            warnings.warn(cut, RecordingWarning, stacklevel=3)
        out.append(_checked(path, df))
    return out


def _prepared_and_parsed(path: Path) -> tuple[pd.DataFrame, str | None, RecordingError | None]:
    """(the parsed file, the warning about a cut final line if any, or the error instead)."""
    try:
        source, names, cut = _prepared(path)
        return _parse_csv(path, source, names), cut, None
    except RecordingError as e:
        return pd.DataFrame(), None, e


def _prepared(path: Path) -> tuple[bytes | Path, list[str], str | None]:
    """What to parse (the file, or its bytes without an unterminated final line), the column
    names after checking the header, and the warning about such a cut line if any."""
    head, header, size, terminated = _open_csv(path)
    if not size:
        raise RecordingError(f"{path}: empty file (expected the header line {','.join(CORE_COLUMNS)})")
    problem = _not_text(path, head)
    if problem is not None:
        raise problem
    if not header.endswith(b"\n"):
        if b"\r" in header.rstrip(b"\r"):
            raise RecordingError(
                f"{path}: lines end in a lone CR (old Mac line breaks); save it with LF or CRLF line breaks"
            )
        if len(header) >= MAX_HEADER_BYTES:
            raise RecordingError(
                f"{path}:1: the first line is longer than {MAX_HEADER_BYTES >> 20} MiB: not a CSV header"
            )
        raise RecordingError(f"{path}: no complete header line (expected {','.join(CORE_COLUMNS)})")
    names = _check_header(path, header)
    if terminated:
        return path, names, None
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RecordingError(f"{path}: cannot read ({e.strerror})") from None
    cut = data.rfind(b"\n") + 1
    line = data.count(b"\n", 0, cut) + 1
    return (
        data[:cut],
        names,
        f"{path}:{line}: dropped an unterminated final line (the recording was cut off while writing)",
    )


def _checked(path: Path, df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A parsed file after the checks of its values: (the samples, the rows in the file)."""
    cols = [df[c].to_numpy() for c in CORE_COLUMNS]  # column-wise: no row-major copy
    n = len(df)
    while n and all(np.isnan(a[n - 1]) for a in cols):  # blank lines at the end: not data
        n -= 1
    if n == 0:
        raise RecordingError(f"{path}: no samples (only the header line)")
    if n < len(df):
        df = df.iloc[:n]
        cols = [a[:n] for a in cols]
    _check_values(path, cols)
    _check_units(path, cols)
    keep = _possible(path, cols)
    if keep is not None:
        df = df[keep].reset_index(drop=True)
    order = list(CORE_COLUMNS) + [c for c in df.columns if c not in CORE_COLUMNS]
    if list(df.columns) != order:
        df = df[order]
    for c in order[len(CORE_COLUMNS) :]:
        if pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != np.float64:
            df[c] = df[c].astype(np.float64)
    return df, n


def _possible(path: Path, cols: list[np.ndarray]) -> np.ndarray | None:
    """None if every sample is physically possible, else the mask of those to keep (the
    impossible ones named in a warning: dropped, like samples the radio lost)."""
    limits = [IMPOSSIBLE_ACC] * 3 + [IMPOSSIBLE_GYRO_RAD_S] * 3
    bad = np.zeros(len(cols[0]), bool)
    for col, limit in zip(cols[1:], limits):  # column by column: no (N, 6) copy
        bad |= np.abs(col) > limit
    if not bad.any():
        return None
    row = int(np.argmax(bad))
    values = np.array([c[row] for c in cols[1:]])
    first = int(np.argmax(np.abs(values) > np.array(limits)))
    n = int(bad.sum())
    warnings.warn(
        f"{path}:{row + 2}: {CORE_COLUMNS[first + 1]} = {values[first]:g} is physically impossible "
        f"(beyond 50 g or 50 rad/s); {n} such sample{'s' if n > 1 else ''} dropped as lost",
        RecordingWarning,
        stacklevel=5,
    )
    return ~bad


def _check_values(path: Path, cols: list[np.ndarray]) -> None:
    """Finite numbers, strictly increasing time, at least the calibration period."""
    bad_rows = [int(np.argmax(~np.isfinite(a))) for a in cols if not np.isfinite(a).all()]
    if bad_rows:
        row = min(bad_rows)
        values = np.array([a[row] for a in cols])
        if np.isnan(values).all():
            raise RecordingError(f"{path}:{row + 2}: empty line")
        col = int(np.argmax(~np.isfinite(values)))
        what = "infinite" if np.isinf(values[col]) else "missing or NaN"
        raise RecordingError(f"{path}:{row + 2}: {CORE_COLUMNS[col]} is {what}")
    t = cols[0]
    increasing = np.diff(t) > 0
    if not increasing.all():
        i = int(np.argmax(~increasing))
        raise RecordingError(
            f"{path}:{i + 3}: t = {float(t[i + 1])!r} is not after the previous line's "
            f"t = {float(t[i])!r} "
            "(time must increase strictly)"
        )
    if len(t) > 1:
        _check_time_unit(path, float(np.median(np.diff(t))))
    duration = float(t[-1] - t[0])
    if duration < MIN_DURATION_S:
        raise RecordingError(
            f"{path}: only {duration:.2f} s of data; nothing to analyse in less than {MIN_DURATION_S:g} s"
        )


# (unit, factor to seconds, the range of median intervals it explains: 5 Hz to 5 kHz)
_TIME_UNITS = (("milliseconds", 1e-3), ("microseconds", 1e-6), ("nanoseconds", 1e-9))
MAX_SAMPLE_INTERVAL_S = 0.5  # a median interval longer than this is not seconds (< 2 Hz)


def _check_time_unit(path: Path, median_dt: float) -> None:
    """``t`` in ms, us or ns gives a median interval of 5 or 5000 "seconds": refuse it by
    name, or the analysis finds no reps (ms) or replay waits for hours (us)."""
    if median_dt <= MAX_SAMPLE_INTERVAL_S:
        return
    for unit, factor in _TIME_UNITS:
        if 0.2e-3 <= median_dt * factor <= 0.2:
            raise RecordingError(
                f"{path}: t advances by {median_dt:g} per sample (median): looks like {unit} "
                f"(expected seconds); divide t by {1 / factor:,.0f}"
            )
    raise RecordingError(
        f"{path}: t advances by {median_dt:g} per sample (median), under 2 samples a second: "
        "expected seconds (0.005 at 200 Hz); check the unit of t"
    )


def _check_units(path: Path, cols: list[np.ndarray]) -> None:
    """Reject the two common unit mistakes: acceleration in g (or mg) and rates in deg/s.

    A column in deg/s exceeds 35 (rad/s) whenever the segment moves; a few samples beyond
    it are glitches instead, which ``_possible`` drops with a warning."""
    ax, ay, az, gx, gy, gz = cols[1:]
    gyro = {"gx": gx, "gy": gy, "gz": gz}
    fast = (np.abs(gx) > MAX_GYRO_RAD_S) | (np.abs(gy) > MAX_GYRO_RAD_S) | (np.abs(gz) > MAX_GYRO_RAD_S)
    if int(fast.sum()) >= max(DEG_S_MIN_SAMPLES, DEG_S_MIN_FRACTION * len(gx)):
        row, name = min(
            (int(np.argmax(np.abs(g) > MAX_GYRO_RAD_S)), name)
            for name, g in gyro.items()
            if np.max(np.abs(g)) > MAX_GYRO_RAD_S
        )
        raise RecordingError(
            f"{path}:{row + 2}: {name} = {gyro[name][row]:g} is beyond any gyroscope's range "
            f"({MAX_GYRO_RAD_S:g} rad/s): looks like deg/s (expected rad/s)"
        )
    norm = np.sqrt(ax * ax + ay * ay + az * az)
    rest = gx * gx + gy * gy + gz * gz < REST_GYRO_RAD_S**2
    typical = float(np.median(norm[rest] if rest.any() else norm))
    overall = float(np.median(norm))
    # A recording of jumps may never rest: its "rest" samples are landings and take-offs
    # (2-3 g). A unit mistake shows in the whole recording too, so both must agree.
    in_range = 0.5 * G <= overall <= 2 * G
    if in_range and not 0.5 * G <= typical <= 2 * G:
        typical = overall
    if 0.5 <= typical <= 2.0:
        raise RecordingError(
            f"{path}: acceleration magnitude at rest is {typical:.3g}: looks like g (expected m/s^2, {G:.2f} at rest)"
        )
    if 500 <= typical <= 2000:
        raise RecordingError(
            f"{path}: acceleration magnitude at rest is {typical:.4g}: looks like milli-g "
            f"(expected m/s^2, {G:.2f} at rest)"
        )
    # Beyond those, only a magnitude no body gives is a scale mistake (raw counts, cm/s^2):
    # a recording that never rests (running: 2-3 g at every sample) is data, and a
    # sensor's own scale error is judged against itself later.
    if not MIN_PLAUSIBLE_ACC <= typical <= MAX_PLAUSIBLE_ACC:
        raise RecordingError(
            f"{path}: acceleration magnitude at rest is {typical:.3g} m/s^2, expected about "
            f"{G:.2f}: check the units and scale of ax, ay, az"
        )

"""Strict reading of recording v1 files: every problem named with its file and line.

A cut line, a column in g or deg/s, or time running backwards does not crash the analysis;
it silently gives wrong angles. So the reader checks what the format promises and says
exactly where it is broken, in words a coach can act on.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hinge.errors import HingeUserError
from processing.recording_csv import CORE_COLUMNS

MIN_DURATION_S = 2.0  # the standing-still calibration the format promises at the start
MAX_GYRO_RAD_S = 35.0  # ~2000 deg/s, the largest range of common MEMS gyroscopes
G = 9.80665
REST_GYRO_RAD_S = 0.2  # below this a sample counts as "at rest" for the unit check


class RecordingError(HingeUserError):
    """A recording that cannot be read: ``"<file>[:<line>]: <problem>"``."""


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
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RecordingError(f"{path}: not UTF-8 text ({e.reason})") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordingError(f"{path}:{e.lineno}: not valid JSON ({e.msg}, column {e.colno})") from None
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
    for i, entry in enumerate(sensors):
        where = f"{path}{_key_line(text, 'sensors')}"
        if not isinstance(entry, dict):
            raise RecordingError(f"{where}: sensor entry {i + 1} is not an object")
        seg = entry.get("segment")
        if isinstance(seg, str):
            pattern = r'"segment"\s*:\s*' + re.escape(json.dumps(seg))
            where = f"{path}{_line_of(text, pattern)}"
        if seg not in segments:
            raise RecordingError(
                f"{where}: unknown segment {json.dumps(seg)} (expected one of {', '.join(segments)})"
            )
        if seg in seen:
            raise RecordingError(f"{where}: segment {json.dumps(seg)} listed twice")
        seen.add(seg)
        file = entry.get("file")
        if not isinstance(file, str) or not file or Path(file).name != file or file in (".", ".."):
            raise RecordingError(
                f'{where}: sensor "{seg}" needs "file": a CSV file name inside the recording'
            )
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
        bad = pd.to_numeric(text, errors="coerce").isna() & (text != "") & ~text.str.lower().isin(
            ["nan", "-nan", "+nan", "na", "n/a", "null", "none", "-1.#ind", "1.#qnan"]
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
        )
    except pd.errors.ParserError as e:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(e))
        if m:
            want, line, saw = m.groups()
            hint = " (a decimal comma? numbers must use '.')" if int(saw) > int(want) else ""
            raise RecordingError(
                f"{path}:{line}: {saw} values, but the header has {want} columns{hint}"
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", str(e))
        if m:  # pandas counts rows of the file from 0
            raise RecordingError(f"{path}:{int(m.group(1)) + 1}: a quote (\") is never closed") from None
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


def read_segment_csv(path: Path) -> pd.DataFrame:
    """Read one segment's CSV and check it; core columns first, all numeric columns float64."""
    with open(path, "rb") as f:
        head = f.read(4096)
        size = f.seek(0, io.SEEK_END)
        if size:
            f.seek(size - 1)
            terminated = f.read(1) == b"\n"
    if not size:
        raise RecordingError(f"{path}: empty file (expected the header line {','.join(CORE_COLUMNS)})")
    source: bytes | Path = path
    if not terminated:
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        line = data.count(b"\n", 0, cut) + 1
        warnings.warn(
            f"{path}:{line}: dropped an unterminated final line "
            "(the recording was cut off while writing)",
            RecordingWarning,
            stacklevel=3,
        )
        source = data = data[:cut]
        head = data[:4096]
        if not data:
            raise RecordingError(f"{path}: no complete header line (expected {','.join(CORE_COLUMNS)})")
    names = _check_header(path, head.split(b"\n", 1)[0])
    df = _parse_csv(path, source, names)
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
    order = list(CORE_COLUMNS) + [c for c in df.columns if c not in CORE_COLUMNS]
    if list(df.columns) != order:
        df = df[order]
    for c in order[len(CORE_COLUMNS) :]:
        if pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != np.float64:
            df[c] = df[c].astype(np.float64)
    return df


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
    duration = float(t[-1] - t[0])
    if duration < MIN_DURATION_S:
        raise RecordingError(
            f"{path}: only {duration:.2f} s of data; a recording needs at least "
            f"{MIN_DURATION_S:g} s (it starts with the lifter standing still)"
        )


def _check_units(path: Path, cols: list[np.ndarray]) -> None:
    """Reject the two common unit mistakes: acceleration in g (or mg) and rates in deg/s."""
    ax, ay, az, gx, gy, gz = cols[1:]
    gyro = {"gx": gx, "gy": gy, "gz": gz}
    over = [(int(np.argmax(np.abs(g) > MAX_GYRO_RAD_S)), name) for name, g in gyro.items()
            if np.max(np.abs(g)) > MAX_GYRO_RAD_S]
    if over:
        row, name = min(over)
        raise RecordingError(
            f"{path}:{row + 2}: {name} = {gyro[name][row]:g} is beyond any gyroscope's range "
            f"({MAX_GYRO_RAD_S:g} rad/s): looks like deg/s (expected rad/s)"
        )
    norm = np.sqrt(ax * ax + ay * ay + az * az)
    rest = gx * gx + gy * gy + gz * gz < REST_GYRO_RAD_S**2
    typical = float(np.median(norm[rest] if rest.any() else norm))
    if 0.5 <= typical <= 2.0:
        raise RecordingError(
            f"{path}: acceleration magnitude at rest is {typical:.3g}: looks like g "
            f"(expected m/s^2, {G:.2f} at rest)"
        )
    if 500 <= typical <= 2000:
        raise RecordingError(
            f"{path}: acceleration magnitude at rest is {typical:.4g}: looks like milli-g "
            f"(expected m/s^2, {G:.2f} at rest)"
        )
    if not 0.5 * G <= typical <= 2 * G:
        raise RecordingError(
            f"{path}: acceleration magnitude at rest is {typical:.3g} m/s^2, expected about "
            f"{G:.2f}: check the units and scale of ax, ay, az"
        )

"""Many recordings, one table: a study's or a season's reps in one call.

``analyze_many(paths, map=...)`` analyses each recording with ``analyze_recording`` through
the ``map`` it is given: the built-in ``map`` (one process), a ``ProcessPoolExecutor``'s
(every core of one machine; ``hinge analyze --jobs``), or a cluster's, e.g. Dask's
``lambda f, xs: dask.bag.from_sequence(xs, npartitions=len(xs)).map(f).compute()`` or
Ray's ``lambda f, xs: ray.get([ray.remote(f).remote(x) for x in xs])``. hinge has no
engine of its own: a recording is analysed alone, so any map that keeps the order will do.

A recording that cannot be analysed never stops the batch: its ``RecordingResult`` carries
the one-line error instead of the analysis, and ``results_table`` gives it a row of its own.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from processing.analysis import Analysis, analyze
from processing.errors import HingeError
from processing.recording import SESSION_FILE, RecordingWarning, read_recording
from processing.reps import DEFAULT_THRESHOLDS, REP_FIELDS, Rep, RepThresholds
from processing.samples import SEGMENTS

#: Columns of ``results_table`` before the rep fields (``REP_FIELDS``) and the last, ``error``.
SESSION_COLUMNS = ("recording", "date", "athlete", "exercise", "load_kg")
TABLE_COLUMNS = (*SESSION_COLUMNS, *REP_FIELDS, "error")
# Each column one type whatever the rows hold (a table of failures only, no athlete known):
# whole numbers and flags stay so beside failed rows (empty there), not 1.0 / NaN.
_DTYPES = {"int": "Int64", "bool": "boolean", "float": "float64", "str": "string", "Pattern": "string"}
_TABLE_DTYPES = {
    **dict.fromkeys(("recording", "date", "athlete", "exercise", "error"), "string"),
    "load_kg": "float64",
    **{f.name: _DTYPES[str(getattr(f.type, "__name__", f.type))] for f in fields(Rep)},
}


@dataclass
class RecordingResult:
    """One recording of a batch: ``document`` (what ``hinge analyze REC --json`` prints)
    and the session's ``date``, ``athlete``, ``exercise``, ``load_kg`` from session.json,
    or ``error`` (one line) when it could not be analysed. ``warnings``: what the reading
    repaired and the calibration's caveat, one line each. Small (no angle curves): it
    travels back from a worker process."""

    path: Path
    document: dict[str, Any] | None = None
    session: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def is_recording(path: Path) -> bool:
    """A directory with a session.json, or with a sensor CSV under the name a recording
    gives it (``thigh.csv``...): the latter is a recording with its session.json lost,
    which the batch then reports instead of passing over in silence."""
    return (path / SESSION_FILE).is_file() or any((path / f"{s}.csv").is_file() for s in SEGMENTS)


def find_recordings(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Each path that is a recording (or not a directory: the reader will say what it is),
    and the recordings found anywhere below each other directory, in name order; a
    recording's own folder is not searched further."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_file() and p.name == SESSION_FILE:
            p = p.parent
        if not p.is_dir() or is_recording(p):
            found.append(p)
            continue
        for root, dirs, _files in os.walk(p):
            dirs.sort()
            here = Path(root)
            if here != p and is_recording(here):
                found.append(here)
                dirs.clear()
    return found


def analysis_document(result: Analysis) -> dict[str, Any]:
    """The JSON document of one analysis (``docs/analysis-json.md``)."""
    segments = result.recording.segments
    sensors = {}
    for seg, df in segments.items():
        t = df["t"].to_numpy()
        rate = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else None
        sensors[seg] = {"samples": len(t), "rate_hz": rate}
    t0 = min(float(df["t"].iloc[0]) for df in segments.values())
    t1 = max(float(df["t"].iloc[-1]) for df in segments.values())
    return {
        "recording": {"path": str(result.recording.path), "duration_s": t1 - t0, "sensors": sensors},
        "calibration": result.calibration.report() if result.calibration is not None else None,
        "reps": [r.to_dict() for r in result.reps],
        "summary": result.summary,
    }


def session_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """What session.json tells about the session, for the table's first columns."""
    load = meta.get("load_kg", meta.get("load"))  # the format's {"kg": ...} (what --load writes), or a number
    if isinstance(load, dict):
        load = load.get("kg")
    return {
        "date": meta.get("created"),
        "athlete": meta.get("athlete"),
        "exercise": meta.get("exercise"),
        "load_kg": load if isinstance(load, (int, float)) and not isinstance(load, bool) else None,
    }


def analyze_recording(
    path: str | os.PathLike[str], thresholds: RepThresholds = DEFAULT_THRESHOLDS, parallel: bool = True
) -> RecordingResult:
    """Read and analyse one recording; any failure becomes the result's one-line ``error``
    (a user's problem as the library words it; anything else as an internal error).
    ``parallel``: its two sensors fused in two processes (``processing.analysis.analyze``)."""
    path = Path(path)
    out = RecordingResult(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RecordingWarning)  # each recording's own, however alike
        try:
            rec = read_recording(path)
            out.session = session_fields(rec.meta)
            result = analyze(rec, thresholds, parallel=parallel)
            out.document = analysis_document(result)
            if result.calibration is not None and result.calibration.warning:
                out.warnings.append(f"{path}: {result.calibration.warning}")
        except HingeError as err:
            out.error = str(err).splitlines()[0]
        except OSError as err:
            out.error = f"{err.filename or path}: {err.strerror or err}"
        except Exception as err:  # a bug in hinge: this recording's row says so, the rest go on
            out.error = f"{path}: internal error: {type(err).__name__}: {err}".splitlines()[0]
    out.warnings[:0] = [str(w.message) for w in caught]
    return out


Map = Callable[[Callable[[Path], RecordingResult], list[Path]], Iterable[RecordingResult]]


def analyze_many(
    paths: Iterable[str | os.PathLike[str]],
    thresholds: RepThresholds = DEFAULT_THRESHOLDS,
    map: Map = map,
    parallel: bool = True,
) -> Iterator[RecordingResult]:
    """``analyze_recording`` of each recording in ``paths`` (directories are searched with
    ``find_recordings``), in that order, through ``map(function, recordings)``. ``parallel``:
    each recording's sensors fused in two processes; pass False when ``map`` already runs
    recordings side by side (processes within processes only compete for the same cores)."""
    yield from map(partial(analyze_recording, thresholds=thresholds, parallel=parallel), find_recordings(paths))


def results_table(results: Iterable[RecordingResult]) -> pd.DataFrame:
    """One row per rep (``TABLE_COLUMNS``: the recording, its session, every rep field), and
    one per recording that failed (its ``error``; no rep fields)."""
    rows: list[dict[str, Any]] = []
    for r in results:
        head = {"recording": str(r.path), **r.session}
        if r.error is not None:
            rows.append({**head, "error": r.error})
        else:
            assert r.document is not None  # every recording without an error has one
            rows.extend({**head, **rep} for rep in r.document["reps"])
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS)).astype(_TABLE_DTYPES)

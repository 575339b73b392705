"""Which session a recording is, and when it was: its content hash and its date.

A recording is known by the sha256 of its sensor files (the CSVs that ``session.json``
lists, in segment order, each with its name): the same data is the same session wherever
the folder is moved or copied, and notes edited in ``session.json`` do not make it a new
one. Its date is ``session.json``'s ``created`` (the moment recording started), else the
files' modification time.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from processing.recording import Recording

CHUNK = 1 << 20


def sensor_files(rec: Recording) -> list[Path]:
    """The recording's sensor CSVs, in segment order."""
    files = {e["segment"]: e["file"] for e in rec.meta.get("sensors", []) if "segment" in e and "file" in e}
    return [rec.path / files.get(seg, f"{seg}.csv") for seg in sorted(rec.segments)]


def content_hash(rec: Recording) -> str:
    """sha256 (hex) of the recording's sensor files, each preceded by its file name."""
    h = hashlib.sha256()
    for path in sensor_files(rec):
        h.update(path.name.encode() + b"\0")
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def recording_date(rec: Recording) -> tuple[datetime, str]:
    """(start time in UTC without tzinfo, where it came from: "session.json" or "file time")."""
    created = rec.meta.get("created")
    if isinstance(created, str):
        try:
            dt = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            dt = None
        if dt is not None:
            if dt.tzinfo is not None:
                dt = dt.astimezone(UTC).replace(tzinfo=None)
            return dt, "session.json"
    mtime = min(p.stat().st_mtime for p in sensor_files(rec))
    return datetime.fromtimestamp(mtime, UTC).replace(tzinfo=None), "file time"

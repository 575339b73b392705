"""Recording format v1 (``docs/recording-format.md``): a directory with ``session.json`` and
one CSV per segment, read, written and replayed.

- ``folder``: the format itself: ``Recording`` and ``read_recording``, ``RecordingWriter``
  (live, crash-safe) and ``write_recording`` (one shot);
- ``reader``: the strict checks of every file read (units, cut lines, impossible values),
  each problem named with its file and line;
- ``csv_text``: numbers to CSV text, fast and exact to the format's decimals;
- ``chunks``: a recording handed out as a live session delivers it (``BatchCursor``, the one
  chunker of ``hinge replay``, the window's replay and the benchmarks; ``chunked_batches``).
"""

from processing.recording.chunks import CHUNK_S, BatchCursor, chunked_batches
from processing.recording.folder import (
    CORE_COLUMNS,
    FORMAT,
    SESSION_FILE,
    VERSION,
    Recording,
    RecordingError,
    RecordingWarning,
    RecordingWriter,
    finish_recording,
    read_recording,
    write_recording,
)

__all__ = [
    "BatchCursor",
    "CHUNK_S",
    "CORE_COLUMNS",
    "FORMAT",
    "SESSION_FILE",
    "VERSION",
    "Recording",
    "RecordingError",
    "RecordingWarning",
    "RecordingWriter",
    "chunked_batches",
    "finish_recording",
    "read_recording",
    "write_recording",
]

"""A recording handed out as a live session delivers it: each sensor's samples in short
slices, interleaved in session time.

``BatchCursor`` is the one chunker: ``chunked_batches`` (``hinge replay``, the examples and
the benchmarks) steps it on a fixed grid, the window's ``ReplaySource`` steps it at its own
pace, seeking and fast-forwarding. The same recording therefore reaches the ``Pipeline`` cut
the same way whichever plays it (at the same chunk length).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from processing.recording.folder import Recording
from processing.samples import SampleBatch

#: A BLE notification carries a few samples; replayed recordings come in chunks of this long.
CHUNK_S = 0.05


class BatchCursor:
    """Whole-segment ``SampleBatch``es handed out in order of session time: ``until(t)``
    gives, per segment, the samples before ``t`` not handed out yet."""

    def __init__(self, batches: Mapping[str, SampleBatch]) -> None:
        self.batches = {seg: b for seg, b in batches.items() if len(b)}
        if not self.batches:
            raise ValueError("replay needs at least one segment with samples")
        #: Session time of the first and of the last sample of any segment.
        self.start_s = min(float(b.t[0]) for b in self.batches.values())
        self.end_s = max(float(b.t[-1]) for b in self.batches.values())
        #: Samples handed out so far, per segment.
        self.sent = dict.fromkeys(self.batches, 0)

    @classmethod
    def from_recording(cls, rec: Recording) -> BatchCursor:
        return cls({seg: rec.batch(seg) for seg in rec.segments})

    def rewind(self) -> None:
        """Back to the first sample."""
        self.sent = dict.fromkeys(self.batches, 0)

    def until(self, t: float) -> Iterator[SampleBatch]:
        """Each segment's next samples before ``t``, one batch per segment that has any;
        once ``t`` reaches the last sample, everything left."""
        for seg, b in self.batches.items():
            i = self.sent[seg]
            j = i + int(np.searchsorted(b.t[i:], t, side="left")) if t < self.end_s else len(b)
            if j > i:
                self.sent[seg] = j
                yield SampleBatch(seg, b.t[i:j], b.acc[i:j], b.gyr[i:j], {k: v[i:j] for k, v in b.extra.items()})


def chunked_batches(rec: Recording, chunk_s: float = CHUNK_S) -> Iterator[SampleBatch]:
    """The recording's samples as ``SampleBatch``es of at most ``chunk_s`` per sensor, the
    sensors interleaved in session time (as a live session delivers them): what
    ``hinge replay`` feeds the ``Pipeline``."""
    cursor = BatchCursor.from_recording(rec)
    k = 1
    while True:
        end = cursor.start_s + k * chunk_s
        yield from cursor.until(end)
        if end >= cursor.end_s:
            return
        k += 1

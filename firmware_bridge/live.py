"""A live session: a source's sample batches through the ``Pipeline``, recorded on the way.

``LiveSource`` is the contract every live source keeps: real sensors
(``firmware_bridge.client.SensorSession``), virtual ones
(``firmware_bridge.virtual.session.VirtualSession``) and a recording played as if live
(``viewer.replay_source.ReplaySource``). ``LiveSession`` is the one runner of a live
session: ``hinge stream`` and ``hinge demo`` run it headless, the window runs it in its
session process.

The order of the end is the point of having one runner: when the stream stops (the source
ended, ``duration_s``, a stop or a crash), the losses at the ends of the streams are
counted, then the recording is closed, before the sensors disconnect (which can take long
with a sensor out of range) and before any ``await``; the pipeline is finished only after
that, so nothing it raises can cost the recording a sample.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from firmware_bridge.status import SensorStatus
from processing.samples import SampleBatch

if TYPE_CHECKING:
    from processing.pipeline import Pipeline, PipelineUpdate
    from processing.recording import RecordingWriter


class LiveSource(Protocol):
    """What a live session reads: opened and closed as an async context manager (connect,
    disconnect), iterated for ``SampleBatch``es on the session clock."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...

    def __aiter__(self) -> AsyncIterator[SampleBatch]: ...

    def status(self) -> list[SensorStatus]:
        """Each sensor's state, rate and counts (the status lines, the window's panel)."""
        ...

    def now(self) -> float:
        """The session clock now, in seconds."""
        ...

    def finish_counts(self) -> None:
        """Count the samples lost at the ends of the streams into the recording; called
        once as the session ends, before the recording is closed."""
        ...


class SourceFactory(Protocol):
    """Builds a live source; ``writer`` (the session's recording, or None) gets the
    sensors' details and losses. Called on the loop that will run the source; it must
    pickle to reach the window's session process."""

    def __call__(self, writer: RecordingWriter | None = None) -> LiveSource: ...


class PipelineFactory(Protocol):
    """Builds a fresh ``Pipeline``; called as ``factory(writer=writer)`` when recording,
    else ``factory()``."""

    def __call__(self, writer: RecordingWriter | None = None) -> Pipeline: ...


@dataclass(frozen=True)
class RecordTarget:
    """Where a live session records: the session opens the writer, which writes every
    sample, so the recording is complete even if the window hangs."""

    path: Path
    segments: tuple[str, ...] = ("thigh", "lumbar")
    meta: dict[str, Any] | None = None

    def open(self) -> RecordingWriter:
        from processing.recording import RecordingWriter

        return RecordingWriter(self.path, list(self.segments), self.meta)


class LiveSession:
    """One live session: ``source -> Pipeline``, every batch recorded on the way.

    Built with the recording open (``record``) and a fresh pipeline (``pipeline_factory``).
    ``async with session:`` builds the source (``source_factory``, on the running loop) and
    opens it, and on the way out counts the losses at the ends of the streams and closes the
    recording before closing the source; inside, ``stream(on_update)`` pushes every batch
    until the source ends or the session time reaches ``duration_s``. ``finish()`` then
    gives the pipeline's last update.
    """

    def __init__(
        self,
        source_factory: SourceFactory,
        pipeline_factory: PipelineFactory,
        record: RecordTarget | None = None,
        duration_s: float | None = None,
    ) -> None:
        self.duration_s = duration_s
        self._source_factory = source_factory
        self._source: LiveSource | None = None
        #: The recording's writer (None: not recording); ``kept`` once it is closed.
        self.writer = record.open() if record is not None else None
        self.kept: bool | None = None
        try:
            self.pipeline: Pipeline = (
                pipeline_factory(writer=self.writer) if self.writer is not None else pipeline_factory()
            )
        except BaseException:
            self.close_recording()
            raise
        self._finished = False
        #: Session time of the newest and of the first sample pushed (None before any).
        self.session_t: float | None = None
        self.session_start: float | None = None

    @property
    def finished(self) -> bool:
        """The pipeline was finished (``finish``)."""
        return self._finished

    @property
    def source(self) -> LiveSource:
        if self._source is None:
            raise RuntimeError("the live session is not open")
        return self._source

    async def __aenter__(self) -> LiveSession:
        try:
            self._source = self._source_factory(writer=self.writer)
            await self._source.__aenter__()
        except BaseException:  # never streamed: nothing to keep
            self.close_recording()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            try:
                self.source.finish_counts()
            finally:
                self.close_recording()
        finally:
            await self.source.__aexit__(*exc)

    async def stream(self, on_update: Callable[[PipelineUpdate], None]) -> None:
        """Push every batch into the pipeline and hand its update to ``on_update``, until
        the source ends or the session time reaches ``duration_s``."""
        async for batch in self.source:
            on_update(self.push(batch))
            if self.duration_s is not None and self.session_t is not None and self.session_t >= self.duration_s:
                return

    def push(self, batch: SampleBatch) -> PipelineUpdate:
        if self._finished:
            raise RuntimeError("the session's pipeline is finished")
        update = self.pipeline.push(batch)
        if len(batch):
            t_end = float(batch.t[-1])
            if self.session_start is None:
                self.session_start = float(batch.t[0])
            self.session_t = t_end if self.session_t is None else max(self.session_t, t_end)
        return update

    def close_recording(self) -> bool | None:
        """Close the recording, or discard it if no sample ever arrived (once); whether it
        was kept (None: not recording)."""
        if self.writer is not None and self.kept is None:
            from processing.recording import finish_recording

            self.kept = finish_recording(self.writer)
        return self.kept

    def finish(self) -> PipelineUpdate | None:
        """Close the recording, then finish the pipeline (once): its last reps. The
        pipeline's end adds no sample, and whatever it raises must not cost the recording."""
        self.close_recording()
        if self._finished:
            return None
        self._finished = True
        return self.pipeline.finish()

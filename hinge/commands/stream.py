"""`hinge stream`: a live session from the thigh and lumbar sensors, reps as they happen.

``--thigh ID --lumbar ID`` (address or advertised name; without them the pair saved by the
last session) picks the sensors; ``--virtual`` streams two virtual sensors carrying the
virtual lifter (or ``--from REC``, a recording) over a real BLE stack instead. Headless, it
prints the sensors' status lines every few seconds and whenever a sensor's state changes,
and one line per rep as the streaming detector confirms it; ``--record DIR`` writes the
session as a recording while it streams (crash-safe; losses go to ``session.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware_bridge.live import RecordTarget, SourceFactory
from firmware_bridge.virtual.faults import FAULT_HELP
from hinge.commands.log import add_to_log, add_who_args, recent_sessions, who_meta
from hinge.commands.window import add_window_args, cue_player, height_from_args, wants_window
from hinge.errors import RecordingError, UsageError

if TYPE_CHECKING:
    from firmware_bridge.client import SensorSession
    from firmware_bridge.live import LiveSession, LiveSource
    from hinge.sound import CuePlayer
    from processing.pipeline import PipelineUpdate
    from processing.recording import RecordingWriter
    from processing.reps import Rep

#: Headless status lines: every STATUS_EVERY_S of session time, and on every state change.
STATUS_EVERY_S = 5.0
STATE_CHECK_S = 0.2  # wall-clock seconds between looks at the sensors' states
FAMILIES = ("hinge", "movesense", "witmotion")


def add_live_args(p: argparse.ArgumentParser) -> None:
    """Options shared by `stream` and `demo`."""
    add_window_args(p)
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after S seconds (virtual sensors: their data lasts S seconds)",
    )
    p.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the session as a recording to DIR (must not exist)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="virtual sensors only: stream X times faster than real time",
    )
    p.add_argument(
        "--rate", type=float, default=200.0, metavar="HZ", help="sample rate to ask the sensors for (default 200)"
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="virtual sensors only, repeatable: inject a fault; " + FAULT_HELP,
    )
    add_who_args(p)
    p.add_argument(
        "--no-log",
        dest="log",
        action="store_false",
        help="do not add a --record'ed session to the training log when it ends",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stream",
        description="Stream the thigh and lumbar IMUs over Bluetooth LE, detect reps live, "
        "optionally record. IDs are addresses or advertised names (see `hinge scan`); without "
        "them the pair of the last session is used.",
    )
    p.add_argument("--thigh", metavar="ID", help="thigh sensor: address or name")
    p.add_argument("--lumbar", metavar="ID", help="lumbar (lower back) sensor: address or name")
    p.add_argument(
        "--virtual", action="store_true", help="two virtual sensors carrying the virtual lifter, over a real BLE stack"
    )
    p.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        metavar="REC",
        help="with --virtual: the virtual sensors replay this recording",
    )
    p.add_argument(
        "--family", choices=FAMILIES, default="hinge", help="with --virtual: sensor family to emulate (default hinge)"
    )
    p.add_argument("--seed", type=int, default=0, help="with --virtual: virtual lifter seed")
    p.add_argument(
        "--scan-timeout", type=float, default=10.0, metavar="S", help="how long to look for the sensors (default 10)"
    )
    add_live_args(p)
    p.set_defaults(func=run)


def virtual_faults(args: argparse.Namespace) -> dict:
    """``--fault`` specs as Faults per segment; a bad spec is the user's to fix."""
    from firmware_bridge.virtual.faults import parse_faults

    try:
        faults = parse_faults(args.fault)
    except ValueError as err:
        raise UsageError(f"--fault: {err}") from None
    unknown = set(faults) - {"thigh", "lumbar"}
    if unknown:
        raise UsageError(f"--fault: no virtual sensor {', '.join(sorted(unknown))} (thigh, lumbar)")
    return faults


def check_live_args(args: argparse.Namespace) -> None:
    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration: must be positive, got {args.duration}")
    if not (args.speed > 0 and math.isfinite(args.speed)):
        raise UsageError(f"--speed: must be positive, got {args.speed}")
    if not 10.0 <= args.rate <= 2000.0:
        raise UsageError(f"--rate: must be 10-2000 Hz, got {args.rate}")
    if args.record is not None and (args.record.exists() or args.record.is_symlink()):
        raise RecordingError(f"{args.record}: already exists; a recording is never overwritten")


def recording_sources(path: Path) -> dict:
    """The thigh and lumbar data of a recording, for virtual sensors to replay."""
    from firmware_bridge.virtual.peripheral import SampleSource
    from processing.recording import read_recording

    rec = read_recording(path)
    t0 = min(float(df["t"].iloc[0]) for df in rec.segments.values())
    out = {}
    for seg in ("thigh", "lumbar"):
        df = rec.segments[seg].copy()
        df["t"] -= t0
        out[seg] = SampleSource.from_frame(df)
    return out


@dataclass
class SessionPlan:
    """A command's live session: ``factory`` builds its source (``firmware_bridge.live``);
    ``duration`` limits the session (None: until the source ends); ``meta`` goes into the
    recording."""

    factory: SourceFactory
    duration: float | None
    meta: dict[str, Any]


def live_source(args: argparse.Namespace) -> SessionPlan:
    """The source `hinge stream` streams from: real sensors, or ``--virtual`` ones."""
    if args.virtual:
        from firmware_bridge.virtual.session import VirtualSession, simulated_sources

        if args.thigh or args.lumbar:
            raise UsageError("stream: --virtual brings its own sensors; drop --thigh/--lumbar")
        if args.source is not None:
            sources = recording_sources(args.source)
            if args.duration is not None:
                sources = {seg: s.cut(args.duration) for seg, s in sources.items()}
        else:
            sources = simulated_sources(args.duration, seed=args.seed, rate_hz=args.rate)
        virtual = partial(
            VirtualSession,
            sources,
            family=args.family,
            speed=args.speed,
            faults=virtual_faults(args),
            rate_hz=args.rate,
            scan_timeout=args.scan_timeout,
            keep_log=False,
        )
        return SessionPlan(virtual, None, {"source": f"hinge stream --virtual ({args.family})"})

    if args.source is not None:
        raise UsageError("stream: --from needs --virtual")
    if args.fault:
        raise UsageError("stream: --fault only applies to --virtual sensors")
    if args.speed != 1.0:
        raise UsageError("stream: --speed only applies to --virtual sensors")
    roles = {seg: getattr(args, seg) for seg in ("thigh", "lumbar") if getattr(args, seg)}
    if roles and len(roles) != 2:
        raise UsageError(
            "stream: give both --thigh ID and --lumbar ID (or neither, to use the pair saved by the last session)"
        )

    ble = partial(_sensor_session, roles or None, args.scan_timeout, args.rate)
    wanted = " and ".join(f"{seg} {i}" for seg, i in roles.items()) or "the saved pair"
    print(f"scanning for {wanted} (up to {args.scan_timeout:g} s)", flush=True)
    return SessionPlan(ble, args.duration, {"source": "hinge stream"})


def _sensor_session(
    roles: dict[str, str] | None, scan_timeout: float, rate_hz: float, writer: RecordingWriter | None = None
) -> SensorSession:
    from firmware_bridge.client import SensorSession

    return SensorSession(roles, scan_timeout=scan_timeout, rate_hz=rate_hz, writer=writer)


def run(args: argparse.Namespace) -> int:
    check_live_args(args)
    return run_session(args, live_source(args), title="hinge stream")


def run_session(args: argparse.Namespace, source: SessionPlan, title: str) -> int:
    """The live session; a recorded one then goes into the training log (unless ``--no-log``)."""
    source.meta.update(who_meta(args))  # the recording keeps who lifted what
    code = _run_session(args, source, title)
    if args.record is not None and args.log and args.record.exists():
        add_to_log(args, args.record)
    return code


def _run_session(args: argparse.Namespace, source: SessionPlan, title: str) -> int:
    """The live session in the viewer window, or headless when asked or without a display."""
    height = height_from_args(args)
    sound = cue_player(args)
    if not wants_window(args):
        return run_live(source.factory, args.record, source.duration, source.meta, sound=sound)
    from viewer.app import run_viewer

    # The session process opens the recording, and closes it when the window closes.
    code = run_viewer(
        source.factory,
        title=title,
        record=RecordTarget(args.record, ("thigh", "lumbar"), source.meta) if args.record else None,
        duration_s=source.duration,
        screenshot=args.screenshot,
        after_s=args.after,
        height_m=height,
        sound=sound,
        history=recent_sessions(args) if args.log else None,
    )
    if args.record is not None:  # the session process discards a recording without samples
        kept = args.record.exists()
        print(f"recorded to {args.record}" if kept else f"no samples arrived: {args.record} not kept", flush=True)
    return code


def run_live(
    source_factory: SourceFactory,
    record: Path | None,
    duration: float | None,
    meta: dict[str, Any],
    sound: CuePlayer | None = None,
) -> int:
    """The live session (``firmware_bridge.live.LiveSession``) headless, until the source
    ends, ``duration`` passes, Ctrl-C, SIGTERM or SIGHUP; the recording is closed, then the
    pipeline finished. Exit code 0, or 128 + the signal's number when one stopped it
    (Ctrl-C: 130).

    The recording is closed first and whatever happens: a crash in the pipeline (or in its
    ``finish``) costs no sample and leaves a session.json with ``ended``, ``samples`` and
    ``lost_samples``. ``sound`` gets each rep's pattern; it never waits.
    """
    from firmware_bridge.live import LiveSession
    from processing.pipeline import Pipeline

    stop = StopSignals()
    code = 0
    with stop:
        session = None
        try:
            target = RecordTarget(record, ("thigh", "lumbar"), meta) if record is not None else None
            session = LiveSession(source_factory, Pipeline, target, duration)
            asyncio.run(_headless(session, stop, sound))
        except KeyboardInterrupt:  # Ctrl-C, or a signal before the loop ran
            code = stop.exit_code()
            print(f"stopped{stop.label()}", flush=True)
        except asyncio.CancelledError:
            if stop.signum is None:
                raise
            code = stop.exit_code()
            print(f"stopped{stop.label()}", flush=True)
        finally:
            stop.defer()  # a second Ctrl-C or SIGTERM does not cut the recording's close short
            kept = None
            try:
                if session is not None:  # closed already, unless the session never ran
                    kept = session.close_recording()
            finally:
                stop.restore()
                try:
                    final = session.finish() if session is not None else None
                    for rep in final.reps if final is not None else []:
                        _say_rep(rep, sound)
                finally:
                    if sound is not None:
                        sound.close()
                    if kept is not None:
                        print(f"recorded to {record}" if kept else f"no samples arrived: {record} not kept", flush=True)
    if session is not None:
        print(f"{len(session.pipeline.reps)} reps", flush=True)
    return code


class StopSignals:
    """SIGTERM and SIGHUP stop a headless session the way Ctrl-C does (service managers,
    ``kill``, a closed terminal), so the recording is closed properly.

    Within the session's event loop a signal cancels the main task (``watch``); outside it
    (opening the recording) it raises ``KeyboardInterrupt``; while the recording closes
    (``defer``) signals, Ctrl-C included, are only noted.
    """

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self) -> None:
        self.signum: int | None = None
        self._saved: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._saved[sig] = signal.signal(sig, self._interrupt)
        return self

    def __exit__(self, *exc) -> None:
        self.restore()
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        self._saved.clear()

    def _interrupt(self, signum, frame) -> None:
        self.signum = self.signum or signum
        raise KeyboardInterrupt

    def _note(self, signum, frame) -> None:
        self.signum = self.signum or signum

    def watch(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task) -> None:
        """Inside the loop: a signal cancels ``task`` (once), as asyncio does for Ctrl-C."""
        if not self._saved:
            return

        def cancel(signum: int) -> None:
            if self.signum is None:
                self.signum = signum
                task.cancel()

        for sig in self.SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, cancel, sig)

    def defer(self) -> None:
        if self._saved:
            for sig in (*self.SIGNALS, signal.SIGINT):
                signal.signal(sig, self._note)

    def restore(self) -> None:
        """Back to raising (the recording is closed; the rest may be interrupted)."""
        if self._saved:
            for sig in self.SIGNALS:
                signal.signal(sig, self._interrupt)
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)

    def label(self) -> str:
        return f" ({signal.Signals(self.signum).name})" if self.signum else ""


def rep_line(rep: Rep) -> str:
    from hinge.commands.replay import rep_line as line

    return line(rep)


def _say_rep(rep: Rep, sound: CuePlayer | None) -> None:
    print(rep_line(rep), flush=True)
    if sound is not None:
        sound.play(rep.pattern, rep.index)


async def _headless(session: LiveSession, stop: StopSignals | None = None, sound: CuePlayer | None = None) -> None:
    """The session with status lines (every few seconds and on a state change), the
    calibration's progress and a line per rep."""
    if stop is not None:
        stop.watch(asyncio.get_running_loop(), asyncio.current_task())
    async with session:
        source = session.source
        states = _print_status(source)
        next_status = STATUS_EVERY_S
        next_check = time.monotonic()
        calibration = ""

        def show(update: PipelineUpdate) -> None:
            nonlocal states, next_status, next_check, calibration
            if session.pipeline.status != calibration:  # the upright reference: found, refined, weak
                calibration = session.pipeline.status
                print(f"[{source.now():6.1f} s] calibration: {calibration}", flush=True)
            for rep in update.reps:
                _say_rep(rep, sound)
            if time.monotonic() >= next_check:  # look for state changes a few times a second
                next_check = time.monotonic() + STATE_CHECK_S
                now = source.now()
                current = {s.segment: s.state for s in source.status()}
                if current != states or now >= next_status:
                    states = _print_status(source)
                    next_status = now + STATUS_EVERY_S

        await session.stream(show)
        _print_status(source)


def _print_status(source: LiveSource) -> dict[str, str]:
    statuses = source.status()
    t = source.now()
    for s in statuses:
        print(f"[{t:6.1f} s] {s.line()}", flush=True)
    return {s.segment: s.state for s in statuses}

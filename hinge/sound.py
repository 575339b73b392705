"""The audible cue after each rep (``--sound``): a short sound per pattern, for the lifter
who is looking at the bar, not at a screen.

Each pattern has its own pitch *and* rhythm, so the cues are told apart without a musical
ear and through gym noise:

| pattern | sound |
|---|---|
| ``knee-first`` | one high beep (880 Hz, 0.25 s): good |
| ``simultaneous`` | two middle beeps (587 Hz) |
| ``hips-rise-early`` | three low beeps (330 Hz) |

Tones are made with numpy and written as 16-bit mono WAV with the stdlib ``wave`` module.
``CuePlayer.play`` only puts the cue on a queue: a thread of the player writes the WAV and
starts the system's player (``paplay``, ``pw-play``, ``aplay`` or ``afplay``, whichever is
found) as a subprocess that is never waited for, so the pipeline never waits on sound.
Without any of them, the player says once that no audio output was found and stays
silent. ``CuePlayer(wav_dir=DIR)`` writes every cue to ``DIR/cue-NNN-PATTERN.wav`` instead
(``--sound-wav DIR``): the same code path, testable without a sound card.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from processing.reps import Pattern

SAMPLE_RATE = 22050
FADE_S = 0.01  # raised-cosine ramps: no clicks at the edges of a beep


@dataclass(frozen=True)
class Tone:
    freq_hz: float
    beeps: int
    beep_s: float
    gap_s: float = 0.09


#: The sound of each pattern.
CUE_TONES: dict[str, Tone] = {
    Pattern.KNEE_FIRST: Tone(880.0, 1, 0.25),
    Pattern.SIMULTANEOUS: Tone(587.0, 2, 0.13),
    Pattern.HIPS_RISE_EARLY: Tone(330.0, 3, 0.13),
}

#: Players tried in this order: the first found on PATH plays the cues.
PLAYERS: tuple[tuple[str, ...], ...] = (("paplay",), ("pw-play",), ("aplay", "-q"), ("afplay",))
#: An audible cue is dropped when another started less than this long ago (a fast replay).
MIN_INTERVAL_S = 0.4


def cue_samples(pattern: str, rate: int = SAMPLE_RATE, volume: float = 0.5) -> np.ndarray:
    """The cue of ``pattern`` as int16 samples at ``rate`` Hz."""
    tone = CUE_TONES[pattern]
    n_beep = int(round(tone.beep_s * rate))
    n_gap = int(round(tone.gap_s * rate))
    t = np.arange(n_beep) / rate
    beep = np.sin(2 * np.pi * tone.freq_hz * t)
    n_fade = int(FADE_S * rate)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n_fade) / n_fade)
    beep[:n_fade] *= ramp
    beep[-n_fade:] *= ramp[::-1]
    parts = []
    for k in range(tone.beeps):
        if k:
            parts.append(np.zeros(n_gap))
        parts.append(beep)
    return np.round(np.concatenate(parts) * volume * 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """16-bit mono WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
    return Path(path)


def write_cue(path: Path, pattern: str, rate: int = SAMPLE_RATE) -> Path:
    """The cue of ``pattern`` as a WAV file."""
    return write_wav(path, cue_samples(pattern, rate), rate)


def find_player() -> list[str] | None:
    for cmd in PLAYERS:
        if shutil.which(cmd[0]):
            return list(cmd)
    return None


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class CuePlayer:
    """Plays (or, with ``wav_dir``, writes) one cue per rep, off the caller's thread.

    ``play(pattern, index)`` returns at once. ``close()`` lets the queued cues finish being
    written or started (it does not wait for the sound to end)."""

    def __init__(
        self,
        wav_dir: Path | None = None,
        command: list[str] | None = None,
        warn: Callable[[str], None] = _warn,
    ) -> None:
        self.wav_dir = Path(wav_dir) if wav_dir is not None else None
        self._command = command
        self._warn = warn
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._procs: list[subprocess.Popen] = []
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._files: dict[str, Path] = {}
        self._last_start = -1e9
        self._n = 0
        self._warned = False
        #: The WAV files written (``wav_dir``) or the cues started, in order (for tests).
        self.done: list[str] = []
        self._thread = threading.Thread(target=self._run, name="hinge-sound", daemon=True)
        self._thread.start()

    def play(self, pattern: str, index: int | None = None) -> None:
        if pattern in CUE_TONES:
            self._queue.put((pattern, index))

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            ending = False
            while not ending:
                items = [self._queue.get()]
                with contextlib.suppress(queue.Empty):
                    while True:  # whatever else is waiting: a burst (a fast replay)
                        items.append(self._queue.get_nowait())
                ending = None in items
                cues = [it for it in items if it is not None]
                if self.wav_dir is None:
                    cues = cues[-1:]  # audible: only the newest of a burst
                for item in cues:
                    try:
                        self._handle(*item)
                    except OSError as err:
                        self._say_once(f"hinge: --sound: {err}")
        finally:
            self._reap()
            if self._tmp is not None and not any(p.poll() is None for p in self._procs):
                self._tmp.cleanup()

    def _handle(self, pattern: str, index: int | None) -> None:
        self._n += 1
        if self.wav_dir is not None:
            self.wav_dir.mkdir(parents=True, exist_ok=True)
            n = index if index is not None else self._n
            path = write_cue(self.wav_dir / f"cue-{n:03d}-{pattern}.wav", pattern)
            self.done.append(str(path))
            return
        if self._command is None:
            self._command = find_player()
            if self._command is None:
                self._say_once(
                    "hinge: --sound: no audio output found (no paplay, pw-play, aplay or afplay): the cues stay silent"
                )
                self._command = []
        if not self._command:
            return
        now = time.monotonic()
        if now - self._last_start < MIN_INTERVAL_S:
            return  # not on top of the last one (a fast replay)
        self._last_start = now
        self._reap()
        self._procs.append(
            subprocess.Popen(
                [*self._command, str(self._file(pattern))],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        self.done.append(pattern)

    def _file(self, pattern: str) -> Path:
        if pattern not in self._files:
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="hinge-cues-")
            self._files[pattern] = write_cue(Path(self._tmp.name) / f"{pattern}.wav", pattern)
        return self._files[pattern]

    def _reap(self) -> None:
        self._procs = [p for p in self._procs if p.poll() is None]

    def _say_once(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            with contextlib.suppress(Exception):
                self._warn(message)

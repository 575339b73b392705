"""The audible cue: each pattern's tone written to WAV, checked by FFT, also end to end."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from hinge.sound import CUE_TONES, CuePlayer, write_cue

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float), w.getframerate()


def tone_of(x: np.ndarray, rate: int) -> tuple[float, int]:
    """(dominant frequency by FFT, number of beeps by the envelope)."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    freq = float(np.fft.rfftfreq(8 * len(x), 1 / rate)[int(np.argmax(spec))])
    win = int(0.005 * rate)
    env = np.convolve(np.abs(x), np.ones(win) / win, mode="same") > 0.1 * np.abs(x).max()
    beeps = int(np.count_nonzero(np.diff(env.astype(int)) == 1) + env[0])
    return freq, beeps


@pytest.mark.parametrize("pattern", list(CUE_TONES))
def test_each_cue_has_its_own_pitch_and_rhythm(tmp_path, pattern):
    x, rate = read_wav(write_cue(tmp_path / "cue.wav", pattern))
    freq, beeps = tone_of(x, rate)
    assert freq == pytest.approx(CUE_TONES[pattern].freq_hz, abs=3)
    assert beeps == CUE_TONES[pattern].beeps
    assert 0.2 <= len(x) / rate <= 0.7  # short: over before the next rep starts
    assert np.abs(x).max() < 32767 and np.abs(x[:5]).max() < 500  # no clipping, no click at the start
    assert len({t.freq_hz for t in CUE_TONES.values()}) == len(CUE_TONES)


def test_replay_with_sound_wav_writes_one_cue_per_rep_in_its_patterns_tone(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hinge",
            "replay",
            "recordings/mixed-set",
            "--headless",
            "--speed",
            "0",
            "--sound-wav",
            str(tmp_path / "cues"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "cues").glob("cue-*.wav"))
    patterns = [
        line.split(": ")[1].split(",")[0].split(" ")[0] for line in out.stdout.splitlines() if line.startswith("rep ")
    ]
    assert len(files) == len(patterns) == 5
    for f, pattern in zip(files, patterns, strict=True):
        assert f.name.endswith(f"-{pattern}.wav")
        freq, beeps = tone_of(*read_wav(f))
        assert freq == pytest.approx(CUE_TONES[pattern].freq_hz, abs=3)
        assert beeps == CUE_TONES[pattern].beeps


def test_play_never_waits_for_the_player(tmp_path):
    """A player that takes 5 s: play() and close() return while it is still playing."""
    said = []
    marker = tmp_path / "played"
    slow = tmp_path / "slowplayer"
    slow.write_text(f"#!/bin/sh\nsleep 5\ntouch {marker}\n")
    slow.chmod(0o755)
    p = CuePlayer(command=[str(slow)], warn=said.append)
    p.play("knee-first")
    p.close()
    assert p.done == ["knee-first"] and said == []
    assert not marker.exists()  # the sound is still playing: nobody waited for it


def test_without_any_player_on_path_the_cues_are_silent_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    said = []
    p = CuePlayer(warn=said.append)
    for pattern in CUE_TONES:
        p.play(pattern)
    p.close()
    assert len(said) == 1 and "no audio output found" in said[0]
    assert p.done == []


def test_demo_headless_with_sound_wav_cues_every_rep(tmp_path):
    """The live path (virtual BLE sensors, `run_live`): one cue per rep, in its tone."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hinge",
            "demo",
            "--headless",
            "--speed",
            "8",
            "--duration",
            "30",
            "--sound-wav",
            str(tmp_path / "cues"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    files = sorted((tmp_path / "cues").glob("cue-*.wav"))
    assert [f.name.split("-", 2)[2] for f in files] == [
        "knee-first.wav",
        "knee-first.wav",
        "simultaneous.wav",
        "hips-rise-early.wav",
        "hips-rise-early.wav",
    ]
    for f in files:
        pattern = f.name.split("-", 2)[2].removesuffix(".wav")
        assert tone_of(*read_wav(f))[0] == pytest.approx(CUE_TONES[pattern].freq_hz, abs=3)


def test_window_cues_reps_while_playing_not_while_seeking(qtbot, tmp_path):
    from processing.pipeline import Pipeline
    from processing.recording import read_recording
    from viewer.replay_source import ReplaySource
    from viewer.window import ViewerWindow
    from viewer.worker import SessionWorker

    rec = read_recording(ROOT / "recordings" / "mixed-set")
    player = CuePlayer(wav_dir=tmp_path / "played")
    src = ReplaySource.from_recording(rec)
    src.set_speed(8.0)
    worker = SessionWorker(Pipeline, replay=src)
    win = ViewerWindow("sound", replay=True, sound=player)
    qtbot.addWidget(win)
    win.attach(worker)
    win.show()
    worker.start()
    try:
        qtbot.waitUntil(lambda: win.finished, timeout=60_000)
        player.close()
        played = sorted(p.name for p in (tmp_path / "played").glob("*.wav"))
        assert played == [f"cue-{r['index']:03d}-{r['pattern']}.wav" for r in win.reps.reps()]
        assert len(played) == 5
        # A seek back runs unpaced through the reps again: no cue for those.
        win.sound = seek_player = CuePlayer(wav_dir=tmp_path / "seek")
        with qtbot.waitSignal(win.updated, timeout=60_000, check_params_cb=lambda u: u.reset):
            worker.control("seek", 33.0, False)
        qtbot.waitUntil(
            lambda: win.reps.rowCount() == 5 and not worker.replay_state.fast and not worker.replay_state.playing,
            timeout=60_000,
        )
        seek_player.close()
        assert seek_player.done == []
    finally:
        win.close()
        worker.stop()

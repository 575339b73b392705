"""`hinge analyze` on realistic-gym sessions of the virtual lifter, beside the baseline code.

    uv run python benchmarks/bench_realism.py --quick              # 2 sessions per condition
    uv run python benchmarks/bench_realism.py --sessions 6         # more per condition
    uv run python benchmarks/bench_realism.py --baseline DIR       # baseline checkout of your own
    uv run python benchmarks/bench_realism.py --current DIR        # e.g. a worktree of HEAD
    uv run python benchmarks/bench_realism.py --seed-offset 500    # held-out sessions

Per condition (issue 10, item 5), N seeded sessions are simulated with the simulator of this
checkout (``hinge simulate`` options: short/late/no standing, fidgeting, uncalibrated
accelerometers and gyros, non-round rates with timestamp jitter, bench/jog rests, squats, a
``--realism gym`` mix, and sessions without lifts). Each is analysed as a user would, by
``hinge analyze REC --json --angles FILE`` in a subprocess, twice in the same run:

- ``current``: the code of this checkout (or ``--current DIR``);
- ``baseline``: commit 198bc27, main before issue 10 (a ``git worktree`` made in a temp dir,
  or ``--baseline DIR``), run as ``PYTHONPATH=DIR <this venv's python> -m hinge`` from DIR,
  so that both use the same environment;
- ``live`` (the current code): ``hinge replay REC --json``, the streaming path that live
  sessions and the demo use (provisional reference, refined as the session goes), scored
  the same way except for the angles (not written by replay).

Printed per condition and code: sessions analysed (the rest refused, with the first error
message), sessions with the exact rep count, reps found / truth reps (matched by time: an
analysed rep matches the truth rep whose lockout is nearest, within 0.75 s), false reps
(analysed reps matching no truth rep; on the sessions without lifts every rep is false),
knee/hip onset MAE and hip-lag MAE over matched reps, segment-angle RMSE (trunk and thigh
of ``--angles`` against ``truth_angles.csv`` interpolated on the same times, over the
sessions analysed) and pattern accuracy over matched reps.

The default sessions are the ones the rules were developed on; ``--seed-offset K`` draws
other sessions of every condition (seeds shifted by K, below 1000), which the rules have not
seen: the honest check that nothing is tuned to the default ones.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hinge import SimConfig, simulate, write_simulation  # noqa: E402
from processing.simulator import GYM_RATES_HZ  # noqa: E402

BASELINE_COMMIT = "198bc27"
ALL = ["knee-first", "simultaneous", "hips-rise-early"]
MATCH_S = 0.75  # an analysed rep's lockout within this of a truth rep's: the same rep


def _lifts(seed: int, **kw) -> SimConfig:
    """A lifting session: 2 sets of 5 reps of mixed patterns, 15 s apart, typical sensor
    noise (~55 s: a stand at the end lies beyond the first 30 s)."""
    return SimConfig(**{"patterns": ALL, "reps": 5, "sets": 2, "rest_s": 15.0, "seed": seed, "noise": "typical", **kw})


def _rates(seed: int) -> dict[str, float]:
    rng = np.random.default_rng([seed, 99])
    return {seg: float(rng.choice(GYM_RATES_HZ)) for seg in ("thigh", "lumbar")}


# name -> (seed -> config); seeds differ per condition so the conditions are independent
CONDITIONS: dict[str, Callable[[int], SimConfig]] = {
    "clean (3 s still)": lambda s: _lifts(s),
    "short stand": lambda s: _lifts(s, standing="short"),
    "late start": lambda s: _lifts(s, standing="late"),
    "no stand": lambda s: _lifts(s, standing="none"),
    "sway/fidget": lambda s: _lifts(s, fidget_deg=2.0),
    "uncalibrated": lambda s: _lifts(
        s, acc_scale_max=0.35, acc_offset_max=1.5, gyro_offset_deg_s=6.0, gyro_warmup_deg_s=3.0
    ),
    "rates+jitter": lambda s: _lifts(s, rates_hz=_rates(s), jitter_s=0.003),
    "bench rests": lambda s: _lifts(s, rest_s=20.0, rest_activities=["bench", "walk"]),
    "jog rests": lambda s: _lifts(s, rest_s=20.0, rest_activities=["walk", "jog"]),
    "squat": lambda s: _lifts(s, exercise="squat"),
    "gym mix": lambda s: _lifts(
        s, realism="gym", rest_s=SimConfig().rest_s, exercise=("squat" if s % 2 else "deadlift")
    ),
    "no lifts": lambda s: SimConfig(
        reps=0, sets=2, seed=s, rest_s=25.0, rest_activities=["walk", "jog", "bench", "bend"]
    ),
    "no lifts, gym": lambda s: SimConfig(
        reps=0, sets=2, seed=s, realism="gym", rest_activities=["bench", "jog", "walk", "bend"]
    ),
    "uncal., short stand": lambda s: _lifts(
        s, standing="short", acc_scale_max=0.35, acc_offset_max=1.5, gyro_offset_deg_s=6.0, gyro_warmup_deg_s=3.0
    ),
    # a real bodyweight squat set: 10 in a row, coming up only ~16 deg short of upright
    # between them, after under 1 s of standing, on a thigh accelerometer off by up to 30 %
    "continuous squats": lambda s: _lifts(
        s,
        exercise="squat",
        reps=10,
        sets=1,
        standing="short",
        top_short_deg=16.0,
        fidget_deg=2.0,
        acc_scale_max=0.3,
        acc_offset_max=1.0,
        rates_hz={"thigh": 110.0, "lumbar": 110.0},
        jitter_s=0.002,
    ),
}


@dataclass
class Score:
    """Figures of one code version on one condition, summed over its sessions."""

    sessions: int = 0
    analysed: int = 0
    refused: list[str] = field(default_factory=list)
    exact: int = 0
    truth_reps: int = 0
    matched: int = 0
    false_reps: int = 0
    onset_err_s: list[float] = field(default_factory=list)
    lag_err_ms: list[float] = field(default_factory=list)
    pattern_ok: list[bool] = field(default_factory=list)
    sq_err: dict[str, list[float]] = field(default_factory=lambda: {"trunk_deg": [], "thigh_deg": []})


def match_reps(found: list[dict], truth: list[dict]) -> list[tuple[dict, dict]]:
    """Pairs (analysed, truth) by time: each truth rep takes the nearest unclaimed analysed
    rep by lockout, if within MATCH_S; order is kept (no crossing pairs)."""
    pairs, used = [], set()
    for tr in truth:
        best, best_d = None, MATCH_S
        for i, r in enumerate(found):
            d = abs(r["lockout_s"] - tr["lockout_s"])
            if i not in used and d <= best_d:
                best, best_d = i, d
        if best is not None:
            used.add(best)
            pairs.append((found[best], tr))
    return pairs


def score_session(sc: Score, rec: Path, truth: list[dict], result: tuple[int, str, str], angles: Path) -> None:
    """Add one analysed (or refused) session to ``sc``."""
    code, out, err = result
    sc.sessions += 1
    sc.truth_reps += len(truth)
    if code != 0:
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        sc.refused.append(lines[-1] if lines else f"exit {code}")
        return
    sc.analysed += 1
    found = json.loads(out)["reps"]
    pairs = match_reps(found, truth)
    sc.exact += len(found) == len(truth)
    sc.matched += len(pairs)
    sc.false_reps += len(found) - len(pairs)
    for r, t in pairs:
        sc.onset_err_s += [abs(r["knee_onset_s"] - t["knee_onset_s"]), abs(r["hip_onset_s"] - t["hip_onset_s"])]
        sc.lag_err_ms.append(abs(r["hip_lag_ms"] - t["hip_lag_ms"]))
        sc.pattern_ok.append(r["pattern"] == t["pattern"])
    if not angles.exists():  # replay writes no angles
        return
    got = pd.read_csv(angles)
    ref = pd.read_csv(rec / "truth_angles.csv")
    inside = (got.t >= ref.t.iloc[0]) & (got.t <= ref.t.iloc[-1])
    for col in ("trunk_deg", "thigh_deg"):
        exact = np.interp(got.t[inside], ref.t, ref[col])
        sc.sq_err[col] += list((got[col][inside].to_numpy() - exact) ** 2)


def analyze(code_dir: Path, rec: Path, angles: Path) -> tuple[int, str, str]:
    """`hinge analyze REC --json --angles FILE` of the code in ``code_dir``, in this venv's
    python: run from that directory with it first on PYTHONPATH, so that it, not the
    installed checkout, is imported."""
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    run = subprocess.run(
        [sys.executable, "-m", "hinge", "analyze", str(rec), "--json", "--angles", str(angles)],
        capture_output=True,
        text=True,
        cwd=code_dir,
        env=env,
        timeout=600,
    )
    return run.returncode, run.stdout, run.stderr


def replay(code_dir: Path, rec: Path, angles: Path) -> tuple[int, str, str]:
    """`hinge replay REC --json` of the code in ``code_dir`` (as ``analyze``), its JSON Lines
    gathered into the ``{"reps": [...]}`` that ``score_session`` reads."""
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    run = subprocess.run(
        [sys.executable, "-m", "hinge", "replay", str(rec), "--json"],
        capture_output=True,
        text=True,
        cwd=code_dir,
        env=env,
        timeout=600,
    )
    reps = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    return run.returncode, json.dumps({"reps": reps}), run.stderr


def baseline_worktree(tmp: Path) -> Path:
    """A detached `git worktree` of the baseline commit (removed again at the end)."""
    path = tmp / "baseline"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), BASELINE_COMMIT],
        check=True,
        capture_output=True,
    )
    return path


def _mean_ms(x: list[float], k: float = 1000.0) -> str:
    return f"{k * float(np.mean(x)):.1f}" if x else "-"


def report(scores: dict[str, dict[str, Score]]) -> None:
    head = (
        f"{'condition':18s} {'code':8s} {'analysed':>9s} {'exact':>7s} {'reps found':>11s} {'false':>6s} "
        f"{'onset MAE ms':>13s} {'lag MAE ms':>11s} {'trunk RMSE':>11s} {'thigh RMSE':>11s} {'pattern %':>10s}"
    )
    print("\nhinge analyze on realistic-gym simulated sessions (baseline = " + BASELINE_COMMIT + ")")
    print(head)
    print("-" * len(head))
    for cond, by_code in scores.items():
        for code, sc in by_code.items():
            rmse = {c: (f"{np.sqrt(np.mean(v)):.2f}" if v else "-") for c, v in sc.sq_err.items()}
            pat = f"{100 * np.mean(sc.pattern_ok):.1f}" if sc.pattern_ok else "-"
            print(
                f"{cond:18s} {code:8s} {sc.analysed:>4d}/{sc.sessions:<4d} {sc.exact:>3d}/{sc.analysed:<3d} "
                f"{sc.matched:>5d}/{sc.truth_reps:<5d} {sc.false_reps:6d} {_mean_ms(sc.onset_err_s):>13s} "
                f"{_mean_ms(sc.lag_err_ms, 1.0):>11s} {rmse['trunk_deg']:>11s} {rmse['thigh_deg']:>11s} {pat:>10s}"
            )
    print("\nrefused (sessions, first message):")
    for cond, by_code in scores.items():
        for code, sc in by_code.items():
            if sc.refused:
                print(f"  {cond:18s} {code:8s} {len(sc.refused)}: {sc.refused[0]}")
    totals = {code: Score() for code in next(iter(scores.values()))}
    for by_code in scores.values():
        for code, sc in by_code.items():
            t = totals[code]
            t.sessions += sc.sessions
            t.analysed += sc.analysed
            t.exact += sc.exact
            t.false_reps += sc.false_reps
    print(
        "\ntotal: "
        + "; ".join(
            f"{code}: {t.analysed}/{t.sessions} analysed, {t.exact} exact counts, {t.false_reps} false reps"
            for code, t in totals.items()
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 sessions per condition (a few minutes)")
    ap.add_argument("--sessions", type=int, default=None, help="sessions per condition (default 6; --quick: 2)")
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help=f"checkout of the baseline (default: {BASELINE_COMMIT} in a temp worktree)",
    )
    ap.add_argument("--current", type=Path, default=ROOT, help="checkout of the code to measure (default: this one)")
    ap.add_argument("--only", default=None, metavar="NAME[,NAME]", help="conditions to run (substring match)")
    ap.add_argument("--jobs", type=int, default=2, help="analyses in parallel (default 2)")
    ap.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        help="shift every session's seed (held-out sessions: figures not seen while tuning; default 0)",
    )
    args = ap.parse_args()
    n = args.sessions or (2 if args.quick else 6)
    conds = {k: v for k, v in CONDITIONS.items() if not args.only or any(w.strip() in k for w in args.only.split(","))}
    with tempfile.TemporaryDirectory(prefix="hinge-realism-") as tmp_s:
        tmp = Path(tmp_s)
        made_worktree = args.baseline is None
        current = args.current.resolve()
        codes = {"baseline": args.baseline or baseline_worktree(tmp), "current": current, "live": current}
        try:
            scores = run_grid(conds, n, codes, tmp, args.jobs, args.seed_offset)
        finally:
            if made_worktree:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(codes["baseline"])],
                    capture_output=True,
                )
    report(scores)


def run_grid(
    conds: dict[str, Callable[[int], SimConfig]],
    n: int,
    codes: dict[str, Path],
    tmp: Path,
    jobs: int,
    seed_offset: int = 0,
) -> dict[str, dict[str, Score]]:
    """Simulate every session, analyse it with every code version, score it."""
    scores = {c: {code: Score() for code in codes} for c in conds}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for ci, (cond, make) in enumerate(conds.items()):
            for k in range(n):
                cfg = make(1000 * (list(CONDITIONS).index(cond) + 1) + seed_offset + k)
                sim = simulate(cfg)
                rec = tmp / f"c{ci}-{k}"
                write_simulation(sim, rec)
                futures = {
                    code: pool.submit(replay if code == "live" else analyze, d, rec, tmp / f"c{ci}-{k}-{code}.csv")
                    for code, d in codes.items()
                }
                said = []
                for code, fut in futures.items():
                    result = fut.result()
                    score_session(scores[cond][code], rec, sim.truth_reps, result, tmp / f"c{ci}-{k}-{code}.csv")
                    said.append(
                        f"{code} " + (f"{len(json.loads(result[1])['reps'])} reps" if result[0] == 0 else "refused")
                    )
                print(
                    f"  {cond:18s} seed {cfg.seed}: {len(sim.truth_reps)} truth reps; {', '.join(said)}",
                    file=sys.stderr,
                )
                shutil.rmtree(rec, ignore_errors=True)
    return scores


if __name__ == "__main__":
    main()

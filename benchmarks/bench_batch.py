"""A study on one machine: `hinge analyze DIR` serial against `--jobs 2`, and one long recording.

* **batch**: 48 simulated recordings of 10 minutes (2 sensors x 200 Hz, 42 reps each),
  `hinge analyze DIR --json` with `--jobs 1` and with `--jobs 2` (subprocesses, start-up
  included); the reps must be the same either way (asserted). From the serial run: hours of
  recording analysed per minute on one core.
* **single**: `hinge analyze H --json` on one hour (2 x 200 Hz): wall time, peak memory of
  the largest process (rusage) and of all its processes together (the analysis fuses one
  sensor in a forked child: their PSS summed, sampled every 2 ms), `hinge --version` and
  `hinge --help` (bytecode cached, as after any install); baseline measured here: loading
  both CSVs (``pandas.read_csv``) and vqf's offline filter alone at 200 Hz.
* **profile**: where the single analysis spends its time (cProfile, in process) and what its
  start-up imports cost.

The machine is shared: each wall time is the best of a few runs, and the load average is
printed beside the figures. Simulated recordings are cached in ``--data``.
Run: ``uv run python benchmarks/bench_batch.py [--quick] [--data DIR] [--only SECTION]``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import vqf

from hinge import SimConfig, analyze, read_recording, simulate, write_simulation

ROOT = Path(__file__).resolve().parents[1]
ALL = ["knee-first", "simultaneous", "hips-rise-early"]
HINGE = [sys.executable, "-m", "hinge"]
#: The commands run as after any install: with their bytecode cached (an environment that
#: forbids writing it would time Python compiling pandas, not hinge).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
#: 10 minutes: 7 sets of 6 reps with 75 s of walking between them; 1 hour: as bench_reps.
STUDY = dict(patterns=ALL, reps=6, sets=7, rest_s=75.0, walk_rest=True)
STUDY_QUICK = dict(patterns=ALL, reps=4, sets=2, rest_s=40.0, walk_rest=True)
HOUR = dict(patterns=ALL, reps=8, sets=26, rest_s=120.0, walk_rest=True, seed=7)
RATES = {"thigh": 200.0, "lumbar": 200.0}


def _simulate_one(args: tuple[Path, dict]) -> None:
    path, cfg = args
    write_simulation(simulate(SimConfig(**cfg, rates_hz=RATES, truth_rate_hz=50.0)), path)


def cached(data: Path, specs: dict[str, dict]) -> list[Path]:
    """The recordings of ``specs`` (name -> SimConfig fields), simulated once into ``data``."""
    todo = [(data / name, cfg) for name, cfg in specs.items() if not (data / name / "session.json").exists()]
    if todo:
        print(f"simulating {len(todo)} recordings into {data} (cached for the next run)", file=sys.stderr)
        with ProcessPoolExecutor() as pool:
            list(pool.map(_simulate_one, todo))
    return [data / name for name in specs]


def run(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout) of one command. CPU counts the command's own
    worker processes too (it reaps them); the peak is the largest single process's."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env=CHILD_ENV)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 2):  # 2: a recording failed, which the caller judges
            raise SystemExit(f"{' '.join(map(str, cmd))}: exit {proc.returncode}: {err.read().decode()[-500:]}")
        return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.read().decode()


def tree_peak_mb(cmd: list[str]) -> float | None:
    """Peak memory of a command and its child processes together: their proportional set
    sizes (a page shared by two counts half in each) summed, sampled every 2 ms; None where
    /proc does not tell (not Linux)."""

    def pss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                return next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            return 0  # gone meanwhile

    def children(pid: int) -> list[int]:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                return [int(c) for c in f.read().split()]
        except OSError:
            return []

    if not Path("/proc/self/smaps_rollup").exists():
        return None
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=CHILD_ENV)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, sum(pss_kb(p) for p in [proc.pid, *children(proc.pid)]))
        time.sleep(0.002)
    return peak / 1024


def best(cmd: list[str], n: int) -> tuple[float, float, float, str]:
    """The run of ``n`` with the best wall time (the rest is other people's load)."""
    runs = [run(cmd) for _ in range(n)]
    return min(runs, key=lambda r: r[0])


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def reps_of(json_lines: str) -> list[tuple[str, list[dict]]]:
    return [(d["recording"]["path"], d["reps"]) for d in map(json.loads, json_lines.splitlines())]


def batch(recordings: list[Path], data: Path, repeat: int) -> float:
    minutes = sum(json.loads((r / "session.json").read_text())["duration_s"] for r in recordings) / 60
    walls, cpus, outputs = {}, {}, {}
    for _ in range(repeat):  # alternating, so that the machine's other load hits both alike
        for jobs in (1, 2):
            wall, cpu, _, out = run([*HINGE, "analyze", str(data / "study"), "--json", "--jobs", str(jobs)])
            if wall < walls.get(jobs, float("inf")):
                walls[jobs], cpus[jobs] = wall, cpu
            outputs[jobs] = out
    same = reps_of(outputs[1]) == reps_of(outputs[2])
    n_reps = sum(len(r) for _, r in reps_of(outputs[1]))
    ratio = walls[1] / walls[2]
    per_core = minutes / 60 / (cpus[1] / 60)
    print(f"\nBatch: {len(recordings)} recordings, {minutes / 60:.1f} h in all, {n_reps} reps ({load()})")
    print(f"  hinge analyze DIR --json --jobs 1   {walls[1]:7.2f} s wall {cpus[1]:7.2f} s CPU")
    print(
        f"  hinge analyze DIR --json --jobs 2   {walls[2]:7.2f} s wall {cpus[2]:7.2f} s CPU   "
        f"ratio of walls {ratio:.2f} (target >= 1.8; meaningless when the load exceeds the cores)"
    )
    print(f"  same reps either way: {'yes' if same else 'NO'}")
    print(f"  one core analyses {per_core:.1f} h of recording per minute (serial run's CPU time)")
    assert same, "--jobs 1 and --jobs 2 found different reps"
    return per_core


def vqf_alone(path: Path) -> float:
    """Baseline: both CSVs loaded by pandas and fused by vqf's offline filter at their rate."""
    t0 = time.perf_counter()
    for seg in ("thigh", "lumbar"):
        df = pd.read_csv(path / f"{seg}.csv", engine="c")
        t = df["t"].to_numpy()
        gyr = np.ascontiguousarray(df[["gx", "gy", "gz"]].to_numpy())
        acc = np.ascontiguousarray(df[["ax", "ay", "az"]].to_numpy())
        vqf.offlineVQF(gyr, acc, None, float(np.median(np.diff(t))))
    return time.perf_counter() - t0


def single(hour: Path, repeat: int) -> None:
    duration = json.loads((hour / "session.json").read_text())["duration_s"]
    wall, cpu, rss, out = best([*HINGE, "analyze", str(hour), "--json"], repeat)
    n_reps = len(json.loads(out)["reps"])
    together = [tree_peak_mb([*HINGE, "analyze", str(hour), "--json"]) for _ in range(repeat)]
    version = best([*HINGE, "--version"], 3)[0]
    helps = best([*HINGE, "--help"], 3)[0]
    base = min(vqf_alone(hour) for _ in range(repeat))
    c0 = time.process_time()
    vqf_alone(hour)
    base_cpu = time.process_time() - c0
    print(f"\nSingle: hinge analyze --json on {duration / 3600:.2f} h, 2 sensors x 200 Hz, {n_reps} reps ({load()})")
    print(f"  wall, start-up included          {wall:6.2f} s   (target <= 2.0 s); CPU {cpu:.2f} s")
    print(f"  peak memory, largest process     {rss:6.0f} MB  (target <= 300 MB)")
    if None not in together:
        print(f"  peak memory, its processes together {', '.join(f'{m:.0f}' for m in together)} MB (PSS, each run)")
    print(f"  hinge --version                  {version:6.2f} s   (target <= 0.3 s)")
    print(f"  hinge --help                     {helps:6.2f} s   (target <= 0.3 s)")
    print(
        f"  baseline: pandas.read_csv + vqf offlineVQF alone  {base:6.2f} s wall, {base_cpu:.2f} s CPU "
        f"(in process, no start-up); analyze / baseline: wall {wall / base:.2f}, CPU {cpu / base_cpu:.2f}"
    )


def profile(hour: Path) -> None:
    """Where a single analysis goes: start-up imports, then cProfile of reading + analysis."""
    code = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"
    imports = {
        m: min(float(run([sys.executable, "-c", code.format(m)])[3]) for _ in range(3))
        for m in ("numpy", "pandas", "vqf", "processing.analysis")
    }
    print(f"\nProfile ({load()})")
    print("  start-up imports (best of 3, s): " + ", ".join(f"{m} {s:.2f}" for m, s in imports.items()))
    prof = cProfile.Profile()
    prof.enable()
    result = analyze(read_recording(hour))
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in text.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    print(f"  in process: read_recording + analyze, {len(result.reps)} reps; top 12 by own time:")
    for ln in lines[start - 1 : start + 13]:
        print("   ", ln.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 recordings of 2 minutes, 10 minutes as the long one")
    ap.add_argument(
        "--data", type=Path, default=Path("/tmp/hinge-bench-batch"), help="where simulated recordings are cached"
    )
    ap.add_argument("--only", choices=["batch", "single", "profile"], help="run one section")
    args = ap.parse_args()
    n, study = (8, STUDY_QUICK) if args.quick else (48, STUDY)
    data = args.data / ("quick" if args.quick else "full")
    recordings = cached(data / "study", {f"s{i:02d}": {**study, "seed": 100 + i} for i in range(n)})
    hour = cached(data, {"hour": {**STUDY, "seed": 7} if args.quick else HOUR})[0]
    run([*HINGE, "analyze", str(recordings[0]), "--json"])  # writes the bytecode caches
    print(
        f"hinge {subprocess.run([*HINGE, '--version'], capture_output=True, text=True).stdout.split()[-1]}, "
        f"Python {sys.version.split()[0]}, {load()}"
    )
    if args.only in (None, "batch"):
        batch(recordings, data, 1 if args.quick else 2)
    if args.only in (None, "single"):
        single(hour, 2 if args.quick else 3)
    if args.only in (None, "profile"):
        profile(hour)


if __name__ == "__main__":
    main()

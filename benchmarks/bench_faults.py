"""Fault-injection benchmark: every `--fault` kind, three sensor families, the real CLI.

Each scenario runs ``hinge stream --virtual --headless --record R --duration D --fault ...``
as a user would (a subprocess: virtual sensors over bumble, bleak's front end, the client,
the pipeline, the recording writer) and checks it against the truth: the virtual lifter's
data is deterministic (``simulated_sources``), so every sensor took exactly ``len(source)``
samples at the rate its driver asked for. Printed per scenario and sensor:

* survived: exit code 0 and no traceback on stderr;
* received vs sent: rows in the recording vs samples the sensor took;
* lost counted vs true loss: ``lost_samples`` in session.json vs taken - received;
* complete: session.json has ``ended`` and per sensor ``samples`` (= the CSV's rows) and
  ``lost_samples``;
* extras: clipped / impossible counts from session.json.

Target: every scenario survives and every count is exact.

    uv run python benchmarks/bench_faults.py [--duration 15] [--speed 3] [--jobs 2]
        [--family hinge,movesense,witmotion] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: name: fault specs (times in seconds of streaming; D = --duration)
SCENARIOS: dict[str, list[str]] = {
    "none": [],
    "drop-start": ["thigh:drop@0+3"],
    "drop-middle": ["thigh:drop@5+2"],
    "drop-end": ["thigh:drop@{end_minus_2}+5"],
    "vanish": ["lumbar:vanish@5"],
    "malformed": ["thigh:malformed=5", "lumbar:malformed=7"],
    "skipped": ["thigh:skip@4x25"],
    "huge": ["thigh:huge@4x5"],
    "clock-jump": ["thigh:clockjump@6+1000"],
    "seq-jump": ["thigh:seqjump@6x30000"],
    "bad-info": ["lumbar:info.acc_scale=1e300"],  # refused in one line (exit 2), no recording
}
HINGE_ONLY = {"seq-jump", "bad-info"}  # the hinge profile's counter and info characteristic
#: the rate each family's driver asks for when hinge requests 200 Hz
FAMILY_RATE = {"hinge": 200.0, "movesense": 208.0, "witmotion": 200.0}


def taken(duration: float, seed: int) -> dict[str, dict[str, int]]:
    """Samples each virtual sensor takes, per family (its source at the driver's rate)."""
    from hinge import simulated_sources

    sources = simulated_sources(duration, seed=seed, rate_hz=200.0)
    return {fam: {seg: len(src.resampled(rate)) for seg, src in sources.items()} for fam, rate in FAMILY_RATE.items()}


def run_one(family: str, name: str, specs: list[str], args, out: Path) -> dict:
    rec = out / f"{family}-{name}"
    cmd = [
        sys.executable,
        "-m",
        "hinge",
        "stream",
        "--virtual",
        "--headless",
        "--family",
        family,
        "--record",
        str(rec),
        "--duration",
        str(args.duration),
        "--speed",
        str(args.speed),
        "--seed",
        str(args.seed),
    ]
    for spec in specs:
        cmd += ["--fault", spec.format(end_minus_2=args.duration - 2)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    result = {
        "family": family,
        "name": name,
        "code": proc.returncode,
        "seconds": time.monotonic() - t0,
        "traceback": "Traceback" in proc.stderr,
        "stderr": proc.stderr.strip().splitlines()[-1:],
        "lines": len(proc.stderr.strip().splitlines()),
        "meta": None,
        "rows": {},
    }
    meta_path = rec / "session.json"
    if meta_path.exists():
        result["meta"] = json.loads(meta_path.read_text())
        for s in result["meta"]["sensors"]:
            csv = rec / s["file"]
            result["rows"][s["segment"]] = max(0, sum(1 for _ in csv.open()) - 1) if csv.exists() else None
    return result


def report(r: dict, truth: dict[str, dict[str, int]]) -> tuple[list[str], bool]:
    if r["name"] == "bad-info":  # the sensor must be refused: exit 2, one line, no recording
        ok = (
            r["code"] == 2
            and not r["traceback"]
            and r["meta"] is None
            and r["lines"] == 1
            and "refused" in r["stderr"][0]
        )
        return [
            f"{r['family']:<9} {r['name']:<12} {'yes' if ok else 'NO':<8} refused in one line "
            f"(exit {r['code']}): {r['stderr'][0] if r['stderr'] else ''}"
        ], ok
    survived = r["code"] == 0 and not r["traceback"]
    meta = r["meta"]
    lines, ok = [], survived
    if meta is None:
        why = "; ".join(r["stderr"]) or f"exit {r['code']}"
        return [f"{r['family']:<9} {r['name']:<12} {'yes' if survived else 'NO':<8} no recording ({why})"], False
    sensors = {s["segment"]: s for s in meta["sensors"]}
    for seg in ("thigh", "lumbar"):
        s = sensors.get(seg, {})
        sent = truth[r["family"]][seg]
        rows = r["rows"].get(seg)
        complete = "ended" in meta and "samples" in s and "lost_samples" in s and rows == s.get("samples")
        lost = s.get("lost_samples")
        true_loss = None if rows is None else sent - rows
        exact = lost == true_loss
        ok &= complete and exact
        extras = []
        if s.get("clipped_samples"):
            extras.append(f"clipped {s['clipped_samples']}")
        if s.get("implausible_samples"):
            extras.append(f"impossible {s['implausible_samples']}")
        lines.append(
            f"{r['family']:<9} {r['name']:<12} {'yes' if survived else 'NO':<8} {seg:<7} "
            f"{rows!s:>5} / {sent:<5}  {lost!s:>5} / {true_loss!s:<5} {'exact' if exact else 'OFF':<6}"
            f"{'yes' if complete else 'NO':<9}{', '.join(extras)}"
        )
    return lines, ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--speed", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--family", default="hinge,movesense,witmotion")
    ap.add_argument("--only", default=None, help="comma-separated scenario names")
    args = ap.parse_args()
    families = args.family.split(",")
    names = args.only.split(",") if args.only else list(SCENARIOS)
    truth = taken(args.duration, args.seed)
    jobs = [(fam, name) for fam in families for name in names if not (name in HINGE_ONLY and fam != "hinge")]
    print(
        f"bench_faults: {len(jobs)} scenarios, `hinge stream --virtual --headless` "
        f"--duration {args.duration:g} --speed {args.speed:g}, {args.jobs} at a time"
    )
    print(
        f"{'family':<9} {'scenario':<12} {'survived':<8} {'sensor':<7} received/sent  lost/true   count complete extras"
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench_faults_") as tmp,
        concurrent.futures.ThreadPoolExecutor(args.jobs) as pool,
    ):
        futures = [pool.submit(run_one, fam, name, SCENARIOS[name], args, Path(tmp)) for fam, name in jobs]
        n_ok = 0
        for fut in futures:
            lines, ok = report(fut.result(), truth)
            n_ok += ok
            print("\n".join(lines), flush=True)
    print(f"{n_ok}/{len(jobs)} scenarios survived with exact counts and a complete recording")
    return 0 if n_ok == len(jobs) else 1


if __name__ == "__main__":
    sys.exit(main())

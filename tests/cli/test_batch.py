"""`hinge analyze DIR`: a study's recordings on disk, one table, one broken recording among
them; the CLI as real processes where a process matters (the study's table, a pool of
jobs, a warning's line), else in this process, and the library's batch API with maps of
its callers."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import hinge
from processing.batch import TABLE_COLUMNS
from processing.simulator import SimConfig, simulate, write_simulation
from tests.helpers import ROOT, hinge_in_process

BROKEN_LINE = 40  # the line of the broken recording's thigh.csv that is not a number


def hinge_here(*args) -> subprocess.CompletedProcess:
    """The command line in this process (``hinge.cli.main``)."""
    return hinge_in_process(*map(str, args))


def hinge_cli(*args) -> subprocess.CompletedProcess:
    """The command line as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "hinge", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """study/<athlete>/<session>: three simulated sessions with their truth, one whose
    thigh.csv has a broken line, and a folder of notes holding no recording."""
    root = tmp_path_factory.mktemp("study")
    truth = {}
    sessions = {
        "ana/2026-01-05": (["knee-first"], 3, 11, {"athlete": "Ana", "exercise": "deadlift", "load": {"kg": 100}}),
        "ana/2026-01-12": (["hips-rise-early"], 2, 12, {"athlete": "Ana", "exercise": "deadlift", "load": {"kg": 110}}),
        "ben/2026-01-06": (["knee-first", "simultaneous"], 4, 13, {"athlete": "Ben"}),
        "ben/2026-01-13": (["knee-first"], 2, 14, {"athlete": "Ben"}),
    }
    for name, (patterns, reps, seed, meta) in sessions.items():
        sim = simulate(
            SimConfig(patterns=patterns, reps=reps, seed=seed, noise="low", rates_hz={"thigh": 100.0, "lumbar": 100.0})
        )
        path = write_simulation(sim, root / name)
        session = json.loads((path / "session.json").read_text())
        (path / "session.json").write_text(json.dumps({**session, **meta}))
        truth[str(path)] = [r["pattern"] for r in sim.truth_reps]
    broken = root / "ben/2026-01-13"
    lines = (broken / "thigh.csv").read_text().splitlines(keepends=True)
    lines[BROKEN_LINE - 1] = "0.4,9.8,abc,0.1,0,0,0\n"
    (broken / "thigh.csv").write_text("".join(lines))
    del truth[str(broken)]
    (root / "notes").mkdir()
    (root / "notes" / "plan.txt").write_text("4 weeks\n")
    return root, truth, broken


def rows_by_recording(table: pd.DataFrame) -> dict[str, list[str]]:
    good = table[table["error"].isna()]
    return {rec: list(g["pattern"]) for rec, g in good.groupby("recording", sort=False)}


def test_a_study_in_one_table_with_its_broken_recording(study, tmp_path):
    root, truth, broken = study
    out = hinge_cli("analyze", root, "--csv", tmp_path / "reps.csv", "--parquet", tmp_path / "reps.parquet")
    # A failed recording: every other one analysed and written, then exit 2.
    assert out.returncode == 2
    error = f"{broken}/thigh.csv:{BROKEN_LINE}: ay = 'abc' is not a number"
    assert out.stderr == f"hinge: {error}\n"
    assert "4 recordings, 1 failed" in out.stdout

    table = pd.read_csv(tmp_path / "reps.csv")
    assert tuple(table.columns) == TABLE_COLUMNS
    assert rows_by_recording(table) == truth  # every rep, each with the pattern pulled
    failed = table[table["error"].notna()]
    assert list(failed["recording"]) == [str(broken)] and list(failed["error"]) == [error]
    assert failed[["index", "pattern"]].isna().all().all()
    ana = table[table["recording"].str.contains("ana/2026-01-12")]
    assert set(ana["athlete"]) == {"Ana"} and set(ana["exercise"]) == {"deadlift"}
    assert set(ana["load_kg"]) == {110} and set(ana["date"].str[:2]) == {"20"}
    assert list(ana["set"]) == [1, 1] and list(ana["index"]) == [1, 2]

    parquet = pd.read_parquet(tmp_path / "reps.parquet")
    assert tuple(parquet.columns) == TABLE_COLUMNS
    assert parquet["index"].dtype == "Int64"  # whole numbers stay whole beside the failed row
    schema = hinge.results_table([]).dtypes
    pd.testing.assert_frame_equal(parquet.astype(schema), table.astype(schema))


def test_one_job_and_two_give_the_same_rows(study, tmp_path):
    root, truth, _ = study
    for jobs in (1, 2):
        out = hinge_cli("analyze", root, "--jobs", jobs, "--csv", tmp_path / f"{jobs}.csv")
        assert out.returncode == 2, out.stderr
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()
    assert rows_by_recording(pd.read_csv(tmp_path / "2.csv")) == truth


def test_json_lines_one_document_per_recording(study):
    root, truth, broken = study
    out = hinge_here("analyze", *sorted(root.iterdir()), "--json")
    assert out.returncode == 2
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["recording"]["path"] for d in docs] == sorted([*truth, str(broken)])
    for d in docs:
        if d["recording"]["path"] == str(broken):
            assert d["error"].startswith(f"{broken}/thigh.csv:{BROKEN_LINE}: ")
        else:
            assert [r["pattern"] for r in d["reps"]] == truth[d["recording"]["path"]]


def test_a_single_recording_keeps_its_document(study):
    """One recording given: the one indented document of before, the same one batch lines hold."""
    root, truth, _ = study
    rec = sorted(truth)[0]
    single = hinge_here("analyze", rec, "--json")
    assert single.returncode == 0 and single.stdout.startswith('{\n "recording": {')
    lines = hinge_here("analyze", rec, rec, "--json").stdout.splitlines()
    assert [json.loads(line) for line in lines] == [json.loads(single.stdout)] * 2


def test_the_library_batch_takes_any_map(study):
    root, truth, broken = study
    serial = list(hinge.analyze_many([root]))
    with ThreadPoolExecutor(2) as pool:  # what a Dask or Ray map stands for: any ordered map
        pooled = list(hinge.analyze_many([root], map=pool.map))
    # ... and a pool of processes, whose workers may not start processes of their own (an
    # analysis fuses its sensors in two processes only where it may)
    with multiprocessing.get_context("fork").Pool(2) as procs:
        in_processes = list(hinge.analyze_many([root], map=procs.map))
    assert [r.path for r in serial] == [r.path for r in pooled] == sorted([*map(type(broken), truth), broken])
    pd.testing.assert_frame_equal(hinge.results_table(serial), hinge.results_table(pooled))
    pd.testing.assert_frame_equal(hinge.results_table(serial), hinge.results_table(in_processes))
    assert [r.error is not None for r in serial] == [r.path == broken for r in serial]
    assert rows_by_recording(hinge.results_table(pooled)) == truth


def test_no_recording_found_and_per_recording_outputs_are_one_line_errors(study, tmp_path):
    root, _, _ = study
    out = hinge_here("analyze", root / "notes")
    assert (
        out.returncode == 2
        and out.stderr == f"hinge: {root / 'notes'}: no recordings found (directories with session.json)\n"
    )
    out = hinge_here("analyze", root, "--angles", tmp_path / "a.csv")
    assert out.returncode == 2 and out.stderr.startswith("hinge: --angles and --report: ")
    out = hinge_here("analyze", root, "--jobs", "0")
    assert out.returncode == 2 and out.stderr.startswith("hinge: --jobs: ")


def test_an_unwritable_table_leaves_the_old_file_and_no_temp(study, tmp_path):
    root, _, _ = study
    target = tmp_path / "reps.parquet"
    target.mkdir()  # cannot be replaced by a file
    (tmp_path / "old.csv").write_text("kept\n")
    out = hinge_here("analyze", root / "ana", "--parquet", target, "--csv", tmp_path / "old.csv")
    assert out.returncode == 2
    assert out.stderr.startswith(f"hinge: {target}: cannot write: ")
    assert len(out.stderr.splitlines()) == 1 and "Traceback" not in out.stderr
    assert target.is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["old.csv", "reps.parquet"]
    assert (tmp_path / "old.csv").read_text() != "kept\n"  # the CSV, written first, was replaced whole
    shutil.rmtree(target)


def test_what_reading_repaired_is_a_warning_and_the_batch_succeeds(study, tmp_path):
    root, truth, _ = study
    for rec in sorted(truth)[:2]:
        shutil.copytree(rec, tmp_path / Path(rec).name)
    cut = tmp_path / Path(sorted(truth)[0]).name / "lumbar.csv"
    with open(cut, "a") as f:
        f.write("99999.0,9.8,0.1")  # killed while writing: the last line has no end
    out = hinge_cli("analyze", tmp_path, "--json")
    assert out.returncode == 0
    assert out.stderr.startswith(f"hinge: warning: {cut}:") and "unterminated final line" in out.stderr
    assert len(out.stderr.splitlines()) == 1
    docs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [[r["pattern"] for r in d["reps"]] for d in docs] == [truth[rec] for rec in sorted(truth)[:2]]


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_getaffinity"), reason="needs Linux's core affinity")
def test_one_job_is_one_process(study):
    """`--jobs 1` keeps to one core: no recording's thigh is fused in a second process,
    alone or in a batch; by default a single recording uses a free core for it."""
    import resource

    from processing.angles import _can_fork

    def children_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    root, truth, _ = study
    rec = sorted(truth)[0]
    for args in (("analyze", rec, "--json", "--jobs", "1"), ("analyze", root / "ana", "--json", "--jobs", "1")):
        before = children_cpu()
        out = hinge_here(*args)
        assert out.returncode == 0, out.stderr
        assert children_cpu() == before, args
    if _can_fork():
        before = children_cpu()
        assert hinge_here("analyze", rec, "--json").returncode == 0
        assert children_cpu() > before

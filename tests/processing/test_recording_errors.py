"""Every way a recording can be broken gives its own one-line error through the CLI.

Each case starts from a valid recording, breaks one thing the way a user or a crash would,
and runs ``hinge analyze REC`` through the CLI's ``main`` in this process: exit code 2, one
line on stderr starting ``hinge: `` that names the file (and line where one is to blame), no
traceback. A real ``hinge`` subprocess checks that the command prints exactly that line.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hinge.cli import main
from processing.recording import RecordingError, RecordingWarning, read_recording, write_recording
from tests.helpers_recording import two_segments


def _edit_csv(rec: Path, segment: str, edit: Callable[[list[str]], list[str]]) -> None:
    path = rec / f"{segment}.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def _set_cell(line_no: int, column: int, value: str) -> Callable[[list[str]], list[str]]:
    def edit(lines: list[str]) -> list[str]:
        cells = lines[line_no - 1].split(",")
        cells[column] = value
        lines[line_no - 1] = ",".join(cells)
        return lines

    return edit


def _edit_json(rec: Path, edit: Callable[[dict], None]) -> None:
    meta = json.loads((rec / "session.json").read_text())
    edit(meta)
    (rec / "session.json").write_text(json.dumps(meta, indent=2))


def _scale_columns(rec: Path, segment: str, columns: list[str], factor: float) -> None:
    import pandas as pd

    path = rec / f"{segment}.csv"
    df = pd.read_csv(path)
    df[columns] = df[columns] * factor
    path.unlink()
    df.to_csv(path, index=False)


def _first_fast_line(rec: Path) -> int:
    """The file line of thigh.csv where an angular rate first exceeds 35 (rad/s)."""
    import pandas as pd

    g = pd.read_csv(rec / "thigh.csv")[["gx", "gy", "gz"]].to_numpy()
    return int(np.argmax((np.abs(g) > 35).any(axis=1))) + 2


def _json_line(rec: Path, needle: str) -> int:
    lines = (rec / "session.json").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


# name: (break the recording, the file to blame, line (None: none; callable: computed), phrase).
# Each is checked through the CLI subprocess when listed in CLI_CASES (every breakage the
# issue names), otherwise through ``read_recording`` in-process (starting Python with pandas
# costs about a second per case on a shared machine).
CASES: dict[str, tuple] = {
    "no_such_path": (
        lambda rec: shutil.rmtree(rec),
        "",
        None,
        "no such recording",
    ),
    "a_csv_instead_of_the_directory": (
        lambda rec: rec / "thigh.csv",  # returns what to analyze instead of the directory
        "thigh.csv",
        None,
        "not a recording (expected a directory with session.json); give the recording directory",
    ),
    "missing_session_json": (
        lambda rec: (rec / "session.json").unlink(),
        "session.json",
        None,
        "missing",
    ),
    "unparseable_json": (
        lambda rec: (rec / "session.json").write_text(
            '{\n  "format": "hinge-recording",\n  "version": 1,\n  oops\n}\n'
        ),
        "session.json",
        4,
        "not valid JSON",
    ),
    "unknown_format": (
        lambda rec: _edit_json(rec, lambda m: m.update(format="imu-log")),
        "session.json",
        lambda rec: _json_line(rec, '"format"'),
        'unknown format "imu-log"',
    ),
    "unknown_version": (
        lambda rec: _edit_json(rec, lambda m: m.update(version=2)),
        "session.json",
        lambda rec: _json_line(rec, '"version"'),
        "unsupported version 2",
    ),
    "missing_segment_file": (
        lambda rec: (rec / "lumbar.csv").unlink(),
        "lumbar.csv",
        None,
        "missing (session.json lists it for segment 'lumbar')",
    ),
    "missing_required_segment": (
        lambda rec: _edit_json(rec, lambda m: m.update(sensors=[s for s in m["sensors"] if s["segment"] != "lumbar"])),
        "session.json",
        None,
        "no 'lumbar' sensor listed",
    ),
    "unknown_segment_name": (
        lambda rec: _edit_json(rec, lambda m: m["sensors"][0].update(segment="Thigh")),
        "session.json",
        lambda rec: _json_line(rec, '"Thigh"'),
        'unknown segment "Thigh"',
    ),
    "missing_columns": (
        lambda rec: _edit_csv(rec, "thigh", lambda lines: [",".join(c.split(",")[:5]) for c in lines]),
        "thigh.csv",
        1,
        "missing columns gy, gz",
    ),
    "semicolon_separated": (
        lambda rec: _edit_csv(rec, "thigh", lambda lines: [c.replace(",", ";") for c in lines]),
        "thigh.csv",
        1,
        "separated by commas",
    ),
    "non_numeric": (
        lambda rec: _edit_csv(rec, "lumbar", _set_cell(40, 3, "9x81")),
        "lumbar.csv",
        40,
        "az = '9x81' is not a number",
    ),
    "nan_value": (
        lambda rec: _edit_csv(rec, "thigh", _set_cell(77, 5, "nan")),
        "thigh.csv",
        77,
        "gy is missing or NaN",
    ),
    "empty_value": (
        lambda rec: _edit_csv(rec, "thigh", _set_cell(78, 2, "")),
        "thigh.csv",
        78,
        "ay is missing or NaN",
    ),
    "inf_value": (
        lambda rec: _edit_csv(rec, "thigh", _set_cell(90, 1, "-inf")),
        "thigh.csv",
        90,
        "ax is infinite",
    ),
    "decimal_comma": (
        lambda rec: _edit_csv(rec, "thigh", _set_cell(60, 3, "9,81")),
        "thigh.csv",
        60,
        "8 values, but the header has 7 columns (a decimal comma?",
    ),
    "unclosed_quote": (
        lambda rec: _edit_csv(rec, "lumbar", _set_cell(33, 2, '"0.5')),
        "lumbar.csv",
        33,
        'a quote (") is never closed',
    ),
    "duplicate_column": (
        lambda rec: _edit_csv(rec, "thigh", lambda lines: [lines[0] + ",ax"] + [x + ",0" for x in lines[1:]]),
        "thigh.csv",
        1,
        "column ax appears twice",
    ),
    "time_not_increasing": (
        lambda rec: _edit_csv(rec, "thigh", lambda lines: lines[:300] + [lines[301], lines[300]] + lines[302:]),
        "thigh.csv",
        302,
        "time must increase strictly",
    ),
    "time_repeated": (
        lambda rec: _edit_csv(rec, "lumbar", lambda lines: lines[:500] + [lines[499]] + lines[501:]),
        "lumbar.csv",
        501,
        "time must increase strictly",
    ),
    "too_short": (
        lambda rec: _edit_csv(rec, "thigh", lambda lines: lines[:80]),
        "thigh.csv",
        None,
        "only 0.39 s of data; nothing to analyse",
    ),
    "only_header": (
        lambda rec: _edit_csv(rec, "thigh", lambda lines: lines[:1]),
        "thigh.csv",
        None,
        "no samples",
    ),
    "empty_file": (
        lambda rec: (rec / "thigh.csv").write_bytes(b""),
        "thigh.csv",
        None,
        "empty file",
    ),
    "acc_in_g": (
        lambda rec: _scale_columns(rec, "lumbar", ["ax", "ay", "az"], 1 / 9.80665),
        "lumbar.csv",
        None,
        "looks like g (expected m/s^2",
    ),
    "gyro_in_deg_s": (
        lambda rec: _scale_columns(rec, "thigh", ["gx", "gy", "gz"], 180 / np.pi),
        "thigh.csv",
        _first_fast_line,
        "looks like deg/s (expected rad/s)",
    ),
}


def _link_outside(rec: Path, name: str) -> None:
    """``name`` becomes a link to a copy of itself outside the recording folder."""
    outside = rec.parent / f"{rec.name}-elsewhere"
    outside.mkdir()
    shutil.move(rec / name, outside / name)
    (rec / name).symlink_to(outside / name)


def _rewrite_bytes(rec: Path, segment: str, edit: Callable[[bytes], bytes]) -> None:
    path = rec / f"{segment}.csv"
    path.write_bytes(edit(path.read_bytes()))


def _scale_time(rec: Path, segment: str, factor: float) -> None:
    def edit(lines: list[str]) -> list[str]:
        out = [lines[0]]
        for line in lines[1:]:
            t, rest = line.split(",", 1)
            out.append(f"{float(t) * factor:.12g},{rest}")
        return out

    _edit_csv(rec, segment, edit)


# The malformed recordings of issue 11 (rows 10-13) and time units of issue 10 (item 4).
CASES.update(
    {
        "session_json_nested_deeply": (
            lambda rec: (rec / "session.json").write_text("[" * 100_000 + "]" * 100_000),
            "session.json",
            None,
            "nested too deeply",
        ),
        "csv_links_outside_the_recording": (
            lambda rec: _link_outside(rec, "thigh.csv"),
            "thigh.csv",
            None,
            "a link to a file outside the recording",
        ),
        "session_json_links_outside_the_recording": (
            lambda rec: _link_outside(rec, "session.json"),
            "session.json",
            None,
            "a link to a file outside the recording",
        ),
        "session_json_link_loop": (
            lambda rec: ((rec / "session.json").unlink(), (rec / "session.json").symlink_to("session.json")),
            "session.json",
            None,
            "a link that leads to itself",
        ),
        "two_sensors_name_one_file": (
            lambda rec: _edit_json(rec, lambda m: m["sensors"][1].update(file=m["sensors"][0]["file"])),
            "session.json",
            lambda rec: _json_line(rec, '"lumbar"'),
            'both name the file "thigh.csv"',
        ),
        "a_link_makes_two_sensors_one_file": (
            lambda rec: ((rec / "lumbar.csv").unlink(), (rec / "lumbar.csv").symlink_to("thigh.csv")),
            "lumbar.csv",
            None,
            "the same file as the thigh sensor's",
        ),
        "cr_only_line_breaks": (
            lambda rec: _rewrite_bytes(rec, "thigh", lambda b: b.replace(b"\n", b"\r")),
            "thigh.csv",
            None,
            "lines end in a lone CR",
        ),
        "utf16_text": (
            lambda rec: _rewrite_bytes(rec, "lumbar", lambda b: b.decode().encode("utf-16")),
            "lumbar.csv",
            None,
            "UTF-16 text; save it as UTF-8",
        ),
        "utf16_without_bom": (
            lambda rec: _rewrite_bytes(rec, "lumbar", lambda b: b.decode().encode("utf-16-le")[:-1]),
            "lumbar.csv",
            None,
            "UTF-16 text; save it as UTF-8",
        ),
        "binary_file": (
            lambda rec: _rewrite_bytes(rec, "thigh", lambda b: np.random.default_rng(1).bytes(5000)),
            "thigh.csv",
            None,
            "binary data, not CSV text",
        ),
        "gzipped_csv": (
            lambda rec: _rewrite_bytes(rec, "thigh", lambda b: __import__("gzip").compress(b)),
            "thigh.csv",
            None,
            "a compressed file (gzip or zip)",
        ),
        "time_in_milliseconds": (
            lambda rec: _scale_time(rec, "thigh", 1e3),
            "thigh.csv",
            None,
            "looks like milliseconds (expected seconds); divide t by 1,000",
        ),
        "time_in_microseconds": (
            lambda rec: _scale_time(rec, "lumbar", 1e6),
            "lumbar.csv",
            None,
            "looks like microseconds (expected seconds); divide t by 1,000,000",
        ),
        "time_in_no_known_unit": (
            lambda rec: _scale_time(rec, "lumbar", 1e11),
            "lumbar.csv",
            None,
            "under 2 samples a second: expected seconds",
        ),
    }
)


@dataclass(frozen=True)
class Shown:
    """What the user sees from ``hinge analyze``: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def analyze_in_process(target: Path) -> Shown:
    """``hinge analyze TARGET`` through the CLI's own ``main``, as a fresh process would run it
    (warnings shown once each, in hinge's one-line style), without starting Python anew."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("default")
        code = main(["analyze", str(target)])
    return Shown(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, tuple[Path, int | None, Shown]]:
    """Break one recording per case, then run each through the CLI in-process, giving what
    the user would see on stderr (``test_the_command_prints_the_same_line`` checks that the
    real command prints exactly that)."""
    root = tmp_path_factory.mktemp("broken")
    source = two_segments(duration_s=6.0)
    results = {}
    for name, (breaks, file, line, _) in CASES.items():
        rec = root / name
        write_recording(rec, source, {"source": "test"})
        target = breaks(rec)
        target = target if isinstance(target, Path) else rec
        if callable(line):
            line = line(rec)
        results[name] = (rec / file if file else rec, line, analyze_in_process(target))
    return results


@pytest.mark.parametrize("case", list(CASES))
def test_error_names_file_line_and_problem(case, results):
    blamed, line, out = results[case]
    phrase = CASES[case][3]
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    msg = lines[0]
    assert msg.startswith(f"hinge: {blamed}"), msg
    where = f"hinge: {blamed}:{line}: " if line is not None else f"hinge: {blamed}: "
    assert msg.startswith(where), (where, msg)
    assert phrase in msg, msg


def test_the_command_prints_the_same_line(tmp_path):
    """The real ``hinge analyze`` in a subprocess: exit 2, nothing on stdout, and on stderr
    exactly the one line the in-process run gives."""
    rec = tmp_path / "non_numeric"
    write_recording(rec, two_segments(duration_s=6.0), {"source": "test"})
    CASES["non_numeric"][0](rec)
    out = subprocess.run(
        [sys.executable, "-m", "hinge", "analyze", str(rec)], capture_output=True, text=True, timeout=120
    )
    assert (out.returncode, out.stdout) == (2, ""), out.stderr
    assert len(out.stderr.splitlines()) == 1, out.stderr
    assert out.stderr == analyze_in_process(rec).stderr


def test_every_error_is_distinct(results):
    """Each kind of breakage gets its own message, not one generic 'bad recording'."""
    problems = {name: out.stderr.strip().split(": ", 2)[-1] for name, (_, _, out) in results.items()}
    # (cases that are one breakage in two places share their phrase, and may share a message)
    phrases: dict[str, set[str]] = {}
    for name, problem in problems.items():
        phrases.setdefault(problem, set()).add(CASES[name][3])
    assert all(len(p) == 1 for p in phrases.values()), problems


def test_unterminated_final_line_is_dropped_with_a_warning(tmp_path):
    """A write cut mid-line (a crash) loses that line only; the cut number is not parsed as a
    wrong value, and the warning names file and line."""
    source = two_segments(duration_s=4.0)
    rec = write_recording(tmp_path / "rec", source)
    path = rec / "thigh.csv"
    data = path.read_bytes()
    path.write_bytes(data + b"4.005,0.01,1.2")  # a line cut off mid-write
    with pytest.warns(RecordingWarning, match=rf"{path}:{len(source['thigh']) + 2}: dropped an unterminated"):
        got = read_recording(rec)
    assert len(got.segments["thigh"]) == len(source["thigh"])
    np.testing.assert_allclose(got.segments["thigh"]["t"], source["thigh"]["t"], atol=1e-6)


def test_a_cut_header_is_an_error(tmp_path):
    rec = write_recording(tmp_path / "rec", two_segments(duration_s=4.0))
    (rec / "lumbar.csv").write_bytes(b"t,ax,ay,a")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecordingWarning)
        with pytest.raises(RecordingError, match="lumbar.csv: no complete header line"):
            read_recording(rec)


def test_what_spreadsheets_and_editors_do_is_accepted(tmp_path):
    """CRLF line ends, blank lines at the end, a BOM, spaces after commas, reordered columns."""
    source = two_segments(duration_s=4.0)
    rec = write_recording(tmp_path / "rec", source)
    path = rec / "thigh.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n") + b"\r\n\r\n")
    lumbar = source["lumbar"][["seq", "gz", "gy", "gx", "t", "az", "ay", "ax"]]
    (rec / "lumbar.csv").write_bytes(b"\xef\xbb\xbf" + lumbar.to_csv(index=False, sep=",").replace(",", ", ").encode())
    got = read_recording(rec)
    assert len(got.segments["thigh"]) == len(source["thigh"])
    assert list(got.segments["lumbar"].columns) == ["t", "ax", "ay", "az", "gx", "gy", "gz", "seq"]
    np.testing.assert_allclose(got.segments["lumbar"]["gx"], source["lumbar"]["gx"])


def test_a_recording_that_never_rests_is_not_a_unit_mistake(tmp_path):
    """Running or jumping throughout: |acc| is 2-3 g at every sample, rest included. That is
    data (a real running clip was refused as "check the units"); g, milli-g and raw counts
    are still caught."""
    source = two_segments(duration_s=4.0)
    rec = write_recording(tmp_path / "rec", source)
    _scale_columns(rec, "thigh", ["ax", "ay", "az"], 2.3)
    got = read_recording(rec)
    np.testing.assert_allclose(got.segments["thigh"]["ax"], 2.3 * source["thigh"]["ax"], rtol=1e-5, atol=1e-5)
    _scale_columns(rec, "thigh", ["ax", "ay", "az"], 16384 / 9.81 / 2.3)  # raw counts of a 2 g range
    with pytest.raises(RecordingError, match="check the units and scale"):
        read_recording(rec)


def test_extra_columns_and_optional_segments_are_accepted(tmp_path):
    source = two_segments(duration_s=4.0)
    source["thigh"]["temperature_c"] = 31.5
    source["shank"] = source["thigh"][["t", "ax", "ay", "az", "gx", "gy", "gz"]].copy()
    rec = write_recording(tmp_path / "rec", source)
    got = read_recording(rec)
    assert set(got.segments) == {"thigh", "lumbar", "shank"}
    assert (got.segments["thigh"]["temperature_c"] == 31.5).all()
    assert list(got.segments["lumbar"].columns[7:]) == ["seq", "device_t"]


def test_required_segments_can_be_relaxed(tmp_path):
    source = two_segments(duration_s=4.0)
    del source["lumbar"]
    rec = write_recording(tmp_path / "rec", source)
    with pytest.raises(RecordingError, match="no 'lumbar' sensor listed"):
        read_recording(rec)
    assert set(read_recording(rec, required=("thigh",)).segments) == {"thigh"}


def test_random_damage_never_crashes_the_reader(tmp_path):
    """Whatever happens to the bytes of a file, the user gets a RecordingError (or the data),
    never another exception: the CLI would show that as a traceback."""
    rng = np.random.default_rng(11)
    rec = write_recording(tmp_path / "rec", two_segments(duration_s=3.0))
    files = {name: (rec / name).read_bytes() for name in ("thigh.csv", "session.json")}
    junk = [b"\xff", b"\x00", b",", b"\n", b'"', b"-", b".", b"e", b"nan", b"1e999", b"\r", b";", b" "]
    for trial in range(150):
        name = ("thigh.csv", "session.json")[trial % 2]
        data = bytearray(files[name])
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(0, len(data)))
            kind = rng.integers(0, 3)
            if kind == 0:
                data[at:at] = junk[int(rng.integers(0, len(junk)))]
            elif kind == 1:
                del data[at : at + int(rng.integers(1, 40))]
            else:
                data = data[:at]
        (rec / name).write_bytes(bytes(data))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RecordingWarning)
                read_recording(rec)
        except RecordingError as err:
            msg = str(err)
            assert msg.startswith(str(rec)) and "\n" not in msg, msg
        (rec / name).write_bytes(files[name])


def test_a_header_longer_than_4096_bytes_is_read_and_lines_are_counted_right(tmp_path):
    """Extra columns are allowed, however many: a header of ~6 KB reads, and an error
    further down still names its own line."""
    source = two_segments(duration_s=4.0)
    extras = pd.DataFrame({f"extra_column_{i:03d}": float(i) for i in range(400)}, index=source["thigh"].index)
    source["thigh"] = pd.concat([source["thigh"], extras], axis=1)
    rec = write_recording(tmp_path / "rec", source)
    header = (rec / "thigh.csv").read_bytes().split(b"\n", 1)[0]
    assert len(header) > 4096
    got = read_recording(rec)
    assert got.segments["thigh"].shape == (len(source["thigh"]), 407)
    assert (got.segments["thigh"]["extra_column_399"] == 399.0).all()
    _edit_csv(rec, "thigh", _set_cell(321, 4, "oops"))
    with pytest.raises(RecordingError, match=r"thigh.csv:321: gx = 'oops' is not a number"):
        read_recording(rec)


def test_physically_impossible_values_are_dropped_with_a_warning(tmp_path):
    """A glitch (1e20 from a corrupt packet, what the writer clips to 1e8) is no reason to
    refuse a set, nor to feed the analysis: the sample is dropped like a lost one, and the
    warning says where. A single huge gyro value is a glitch, not a column in deg/s."""
    source = two_segments(duration_s=4.0)
    rec = write_recording(tmp_path / "rec", source)
    _edit_csv(rec, "thigh", _set_cell(150, 2, "1e20"))
    _edit_csv(rec, "thigh", _set_cell(151, 6, "-100000000"))
    _edit_csv(rec, "lumbar", _set_cell(500, 1, "600"))  # 61 g
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = read_recording(rec)
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        f"{rec / 'lumbar.csv'}:500: ax = 600 is physically impossible (beyond 50 g or 50 rad/s); "
        "1 such sample dropped as lost",
        f"{rec / 'thigh.csv'}:150: ay = 1e+20 is physically impossible (beyond 50 g or 50 rad/s); "
        "2 such samples dropped as lost",
    ]
    thigh = got.segments["thigh"]
    assert len(thigh) == len(source["thigh"]) - 2
    expected_t = np.delete(source["thigh"]["t"].to_numpy(), [148, 149])
    np.testing.assert_allclose(thigh["t"], expected_t, atol=1e-6)
    assert thigh.index.equals(pd.RangeIndex(len(thigh)))


def test_unreadable_files_are_one_line_errors(tmp_path, monkeypatch):
    """A file hinge may not read (permissions) is named in one line, whichever it is. As
    root, permissions do not stop reading, so the denial is injected where the file is opened."""
    import builtins
    import os

    from processing.recording import reader as recording_read

    rec = write_recording(tmp_path / "rec", two_segments(duration_s=3.0))
    for name in ("session.json", "thigh.csv"):
        denied = rec / name
        real_open = builtins.open

        def no_access(file, *args, _denied=denied, _real_open=real_open, **kw):
            if Path(file) == _denied:
                raise PermissionError(13, "Permission denied", str(file))
            return _real_open(file, *args, **kw)

        monkeypatch.setattr(recording_read, "open", no_access, raising=False)
        with pytest.raises(RecordingError, match=rf"^{denied}: cannot read \(Permission denied\)$"):
            read_recording(rec)
        monkeypatch.undo()
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading (checked by injection above)")
    for name in ("session.json", "lumbar.csv"):
        (rec / name).chmod(0)
        try:
            with pytest.raises(RecordingError, match=rf"^{rec / name}: cannot read \(Permission denied\)$"):
                read_recording(rec)
        finally:
            (rec / name).chmod(0o644)


def test_a_recording_never_closed_gets_its_counts_from_the_csvs(tmp_path):
    """After kill -9 session.json says ``"ended": null`` and no counts: the reader says the
    recording was not closed and counts what the CSVs hold, lost samples from gaps in seq."""
    from processing.recording import RecordingWriter
    from processing.samples import SampleBatch

    source = two_segments(duration_s=4.0)
    lumbar = source["lumbar"].drop(index=range(300, 340)).reset_index(drop=True)  # 40 lost
    w = RecordingWriter(tmp_path / "rec", ["thigh", "lumbar"], {"source": "test"})
    for seg, df in (("thigh", source["thigh"]), ("lumbar", lumbar)):
        extra = {c: df[c].to_numpy() for c in df.columns[7:]}
        w.append(
            SampleBatch(
                seg, df["t"].to_numpy(), df[["ax", "ay", "az"]].to_numpy(), df[["gx", "gy", "gz"]].to_numpy(), extra
            )
        )
    w.add_loss("lumbar", 40)
    w.flush()  # what the timer thread does; then the process is killed: no close()
    meta = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert meta["ended"] is None and "samples" not in meta["sensors"][0]
    with pytest.warns(RecordingWarning, match="the recording was not closed .*counts recomputed from the CSVs"):
        got = read_recording(tmp_path / "rec")
    assert not got.closed
    assert [(s["samples"], s["lost_samples"]) for s in got.meta["sensors"]] == [
        (len(source["thigh"]), 0),
        (len(lumbar), 40),
    ]
    assert got.meta["duration_s"] == pytest.approx(lumbar["t"].iloc[-1] - source["thigh"]["t"].iloc[0], abs=1e-6)
    w.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecordingWarning)
        closed = read_recording(tmp_path / "rec")
    assert closed.closed and closed.meta["ended"]
    assert [(s["samples"], s["lost_samples"]) for s in closed.meta["sensors"]] == [
        (len(source["thigh"]), 0),
        (len(lumbar), 40),
    ]


def test_a_folder_that_cannot_be_looked_into_is_a_one_line_error(tmp_path, monkeypatch):
    """Permission denied on the recording's folder itself (injected: root may look anyway)."""
    rec = write_recording(tmp_path / "rec", two_segments(duration_s=3.0))
    real_stat = Path.stat

    def denied(self, *args, **kw):
        if self.parent == rec:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kw)

    monkeypatch.setattr(Path, "stat", denied)
    with pytest.raises(RecordingError, match=rf"^{rec / 'session.json'}: cannot read \(Permission denied\)$"):
        read_recording(rec)

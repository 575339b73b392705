"""`hinge report`: one self-contained, valid HTML page, small, drawn by a real browser.

The page of a simulated 3-set session is parsed strictly (html5lib), checked for anything
that would need a network or a script, and loaded from disk by headless Chromium (the
Debian package that `.ci/run` installs) with networking off (its own network namespace
when `unshare` allows, and a resolver and proxy that lead nowhere); the screenshot must
show the plots in the patterns' colours.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from processing.reps import Pattern
from tests.helpers import hinge_in_process, require
from viewer.palette import CURVE_COLOURS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MAX_BYTES = 2 * 1024 * 1024


def hinge(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``hinge ARGS`` as a real process (the error a user sees)."""
    return subprocess.run(
        [sys.executable, "-m", "hinge", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@pytest.fixture(scope="module")
def three_sets(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "three-sets"
    r = hinge_in_process(
        "simulate",
        str(out),
        "--pattern",
        "knee-first,knee-first,simultaneous,hips-rise-early",
        "--reps",
        "6",
        "--sets",
        "3",
        "--seed",
        "8",
        "--rate",
        "200",
    )
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def report(three_sets, tmp_path_factory) -> Path:
    html = tmp_path_factory.mktemp("html") / "three-sets.html"
    r = hinge_in_process("report", str(three_sets), "-o", str(html))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"report: {html}")
    return html


def test_report_is_valid_self_contained_html_under_2_mb(report):
    import html5lib

    data = report.read_bytes()
    assert len(data) < MAX_BYTES, f"{len(data) / 1e6:.2f} MB"
    doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(data)  # raises on any parse error
    text = data.decode()
    # Nothing fetched, nothing run: no script, no external source, link, import or font.
    assert doc.find(".//script") is None
    assert not re.search(r'(src|href)\s*=\s*"(https?:|//)', text)
    assert "@import" not in text and "<link" not in text and "<iframe" not in text
    ids = re.findall(r'\sid="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "duplicate element ids"
    # What a coach reads: 18 reps in 3 sets, the sets compared, every rep with its cue and figure.
    svgs = doc.findall(".//{http://www.w3.org/2000/svg}svg")
    assert len(svgs) == 1 + 3 + 18  # compare + a coordination plot per set + one figure per rep
    assert len(doc.findall(".//article")) == 18
    assert doc.find(".//section[@id='sets']") is not None
    for cue in ("Knees first", "Hips and knees together", "Hips rose early"):
        assert cue in text
    # Colour-blind readers: every pattern badge carries its shape and its name.
    for glyph, pattern in (("●", "knee-first"), ("■", "simultaneous"), ("▲", "hips-rise-early")):
        assert f"{glyph} {pattern}" in text


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    return None


def test_report_renders_in_headless_chromium_with_the_network_off(report, tmp_path):
    browser = _browser()
    require(browser is not None, "no headless Chromium (Debian: apt-get install chromium; .ci/run installs it)")
    png = tmp_path / "shot.png"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=socks5://127.0.0.1:9",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,3000",
        f"--screenshot={png}",
        report.as_uri(),
    ]
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-rn", *cmd]  # no network at all, not even loopback
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0 and png.exists(), out.stderr[-2000:]
    from PIL import Image

    px = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert px.shape[0] >= 2900 and px.shape[1] >= 1100
    white = (px >= 250).all(axis=2).mean()
    assert 0.3 < white < 0.97, f"{white:.2f} of the page is white"
    for name, colour in {
        **{p.value: p.colour for p in Pattern},
        "knee_ext_deg_s": CURVE_COLOURS["knee_ext_deg_s"],
    }.items():
        n = int((np.abs(px - colour).sum(axis=2) <= 12).sum())
        assert n >= 150, f"{name} colour {colour} in only {n} pixels"
    # The plots are drawn, not only the table's badges: below the table (the per-set and
    # per-rep figures) the velocity curves' colours, which only plots use, are there.
    lower = px[1900:]
    for name in ("knee_ext_deg_s", "hip_ext_deg_s"):
        n = int((np.abs(lower - CURVE_COLOURS[name]).sum(axis=2) <= 12).sum())
        assert n >= 150, f"{name} curve colour in only {n} pixels"


def test_a_bad_recording_is_one_line(tmp_path):
    r = hinge("report", str(tmp_path / "missing"), "-o", str(tmp_path / "x.html"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_a_recording_without_reps_gets_a_short_valid_page(tmp_path):
    import html5lib

    rec = tmp_path / "walk"
    r = hinge_in_process("simulate", str(rec), "--reps", "0", "--rest-activities", "walk", "--seed", "2")
    assert r.returncode == 0, r.stderr
    r = hinge_in_process("report", str(rec), "-o", str(tmp_path / "walk.html"))
    assert r.returncode == 0, r.stderr
    data = (tmp_path / "walk.html").read_bytes()
    html5lib.HTMLParser(strict=True).parse(data)
    assert b"No reps found" in data and b"<article" not in data

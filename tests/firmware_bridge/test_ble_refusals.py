"""A sensor whose info characteristic hinge cannot use is refused in one clear line.

Over the virtual BLE stack with bleak's real front end: a hinge-profile board answers the
info read with a newer protocol version, text that is not Unicode, or numbers no IMU
reports. The session must not start (no unusable sensor is streamed from), must say which
sensor and why on one line, and must leave no link behind.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from firmware_bridge.client import SensorSession
from firmware_bridge.drivers import hinge_profile as hp
from firmware_bridge.virtual.backend import BumbleClient, BumbleScanner
from firmware_bridge.virtual.hinge_sensor import HingeSensor
from firmware_bridge.virtual.peripheral import SampleSource, VirtualLifter
from firmware_bridge.virtual.world import VirtualWorld
from hinge.errors import HingeUserError
from tests.helpers import in_virtual_time

BACKENDS = {"scanner_backend": BumbleScanner, "client_backend": BumbleClient}


@pytest.fixture(autouse=True)
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))


def still(seconds: float = 2.0) -> SampleSource:
    t = np.arange(0.0, seconds, 1 / 200)
    return SampleSource(t, np.tile([0.0, 0.0, 9.81], (len(t), 1)), np.zeros((len(t), 3)))


def info_text(**changes) -> str:
    d = json.loads(hp.encode_info(hp.default_info("lumbar", rate_hz=200)))
    d.update(changes)
    return json.dumps(d)


@pytest.mark.parametrize(
    "raw, why",
    [
        (info_text(v=2).encode(), "protocol version 2"),
        (info_text(placement="\ud800").encode(), "'placement' is not valid Unicode"),
        (
            info_text(acc_range_g=10**309, fw="", imu="", placement="", rates=[200], acc_scale=1, gyr_scale=1).encode(),
            "'acc_range_g' is out of range",
        ),  # 310 digits: fits the 512 bytes with short texts
        (info_text(rate_hz=5e-324).encode(), "'rate_hz' must be within"),
        (info_text(acc_scale=1e300).encode(), "'acc_scale' must be within"),
    ],
)
@in_virtual_time
async def test_unusable_info_refuses_the_sensor_in_one_line(raw, why):
    async with VirtualWorld() as world:
        lifter = VirtualLifter()
        thigh = HingeSensor("hinge-T", still(), lifter=lifter)
        lumbar = HingeSensor("hinge-L", still(), lifter=lifter)
        lumbar.raw_info = raw
        await world.add(thigh)
        await world.add(lumbar)
        with pytest.raises(HingeUserError) as caught:
            async with SensorSession(
                {"thigh": "hinge-T", "lumbar": "hinge-L"}, clock=world.now, scan_timeout=2.0, remember=False, **BACKENDS
            ):
                pytest.fail("an unusable sensor was accepted")
        message = str(caught.value)
        assert message.startswith("lumbar sensor hinge-L: refused"), message
        assert why in message and "\n" not in message and message.isprintable()
        assert caught.value.__cause__ is None  # no traceback chained in
        assert not lumbar.streaming and lumbar.connection is None and thigh.connection is None


def test_the_cli_refuses_in_one_line_without_a_traceback(tmp_path):
    """`hinge stream --virtual` with a board whose info says acc_scale 1e300: exit 2, one
    line on stderr naming the sensor and the reason, no recording left behind."""
    import subprocess
    import sys

    out = tmp_path / "rec"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hinge",
            "stream",
            "--virtual",
            "--headless",
            "--duration",
            "3",
            "--record",
            str(out),
            "--fault",
            "lumbar:info.acc_scale=1e300",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "XDG_CONFIG_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("hinge: lumbar sensor hinge-L: refused") and "acc_scale" in proc.stderr
    assert not out.exists()


def test_info_fault_specs():
    from firmware_bridge.virtual.faults import parse_faults

    faults = parse_faults(["lumbar:info.v=2", 'lumbar:info.placement="\\ud800"'])
    assert faults["lumbar"].info == (("v", 2), ("placement", "\ud800"))
    with pytest.raises(ValueError, match="must be JSON"):
        parse_faults(["lumbar:info.v=two"])


@in_virtual_time
async def test_a_sensor_unusable_on_reconnect_is_refused_and_its_loss_counted(caplog):
    """After a drop the lumbar board answers with protocol version 2: the host keeps the
    session going on the thigh, warns once, never streams from the refused board, and
    counts the lumbar's samples from the drop to the end as lost."""
    from firmware_bridge.virtual.faults import Faults
    from firmware_bridge.virtual.session import VirtualSession

    sources = {"thigh": still(3.0), "lumbar": still(3.0)}
    vs = VirtualSession(sources, faults={"lumbar": Faults(drops=((1.0, 0.3),))})
    got = {"thigh": 0, "lumbar": 0}
    with caplog.at_level("WARNING", logger="firmware_bridge.client"):
        async with vs:
            vs.sensors["lumbar"].raw_info = info_text(v=2).encode()  # read on reconnect only
            async for batch in vs:
                got[batch.segment] += len(batch)
    status = {s.segment: s for s in vs.status()}
    refusals = [r for r in caplog.records if "refused on reconnect" in r.getMessage()]
    assert len(refusals) == 1 and "protocol version 2" in refusals[0].getMessage()
    taken = len(vs.sensors["lumbar"].source)
    assert got["lumbar"] < 0.5 * taken
    assert got["lumbar"] + status["lumbar"].lost_samples == taken
    assert got["thigh"] == len(vs.sensors["thigh"].source) and status["thigh"].lost_samples == 0

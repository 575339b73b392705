"""`SensorSession` choosing devices: roles by name or address, the saved pair, refusals.

Over the virtual BLE stack with bleak's real front end; the user's config directory is a
temporary one (``XDG_CONFIG_HOME``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from bumble.core import AdvertisingData

from firmware_bridge import config
from firmware_bridge.client import SensorSession
from firmware_bridge.virtual.backend import BumbleClient, BumbleScanner
from firmware_bridge.virtual.faults import parse_faults
from firmware_bridge.virtual.hinge_sensor import HingeSensor
from firmware_bridge.virtual.peripheral import SampleSource, VirtualLifter
from firmware_bridge.virtual.world import VirtualWorld, make_device
from hinge.errors import HingeUserError
from tests.helpers import in_virtual_time

BACKENDS = {"scanner_backend": BumbleScanner, "client_backend": BumbleClient}


@pytest.fixture(autouse=True)
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path


def still(seconds: float = 3.0) -> SampleSource:
    t = np.arange(0.0, seconds, 1 / 200)
    return SampleSource(t, np.tile([0.0, 0.0, 9.81], (len(t), 1)), np.zeros((len(t), 3)))


async def two_sensors(world: VirtualWorld) -> tuple[HingeSensor, HingeSensor]:
    lifter = VirtualLifter()
    thigh = HingeSensor("hinge-T", still(), lifter=lifter)
    lumbar = HingeSensor("hinge-L", still(), lifter=lifter)
    await world.add(thigh)
    await world.add(lumbar)
    return thigh, lumbar


async def first_batches(session: SensorSession) -> set[str]:
    seen: set[str] = set()
    async for batch in session:
        seen.add(batch.segment)
        if len(seen) == 2:
            break
    return seen


@in_virtual_time
async def test_roles_by_name_and_address_then_the_saved_pair_is_used(config_home):
    async with VirtualWorld() as world:
        thigh, lumbar = await two_sensors(world)
        roles = {"thigh": "HINGE-t", "lumbar": lumbar.address.lower()}  # any case
        async with SensorSession(roles, clock=world.now, **BACKENDS) as session:
            assert await first_batches(session) == {"thigh", "lumbar"}
            by_seg = {s.segment: s for s in session.status()}
            assert by_seg["thigh"].address == thigh.address
            assert by_seg["lumbar"].name == "hinge-L"
            assert by_seg["thigh"].battery_pct == 87
        saved = json.loads(config.sensors_path().read_text())
        assert saved["thigh"] == {"address": thigh.address, "name": "hinge-T", "driver": "hinge"}
        assert config.sensors_path().is_relative_to(config_home)

        # no roles given: the saved pair, by address
        async with SensorSession(None, clock=world.now, **BACKENDS) as session:
            assert await first_batches(session) == {"thigh", "lumbar"}
            assert {s.segment: s.address for s in session.status()} == {
                "thigh": thigh.address,
                "lumbar": lumbar.address,
            }


@in_virtual_time
async def test_refuses_a_device_no_driver_recognises():
    async with VirtualWorld() as world:
        await two_sensors(world)
        keyboard = make_device(world.link, "Keyboard")
        keyboard.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.COMPLETE_LOCAL_NAME, b"Keyboard"),
                    (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, bytes([0x12, 0x18])),
                ]
            )
        )
        await keyboard.power_on()
        await keyboard.start_advertising(advertising_interval_min=100, advertising_interval_max=100)
        with pytest.raises(HingeUserError, match="no hinge driver recognises Keyboard"):
            async with SensorSession(
                {"thigh": "Keyboard", "lumbar": "hinge-L"}, clock=world.now, scan_timeout=1.0, **BACKENDS
            ):
                pass
        assert not keyboard.connections  # never connected, never paired


@in_virtual_time
async def test_missing_sensor_is_one_clear_error():
    async with VirtualWorld() as world:
        await two_sensors(world)
        with pytest.raises(HingeUserError, match="lumbar sensor 'hinge-X' not found"):
            async with SensorSession(
                {"thigh": "hinge-T", "lumbar": "hinge-X"}, clock=world.now, scan_timeout=0.5, **BACKENDS
            ):
                pass


def test_fault_specs_from_the_command_line():
    faults = parse_faults(["thigh:drop@10+2", "thigh:skip@3x20", "lumbar:vanish@5", "lumbar:ppm=-80", "lumbar:bunch=3"])
    assert faults["thigh"].drops == ((10.0, 2.0),) and faults["thigh"].skips == ((3.0, 20),)
    assert faults["lumbar"].vanish == ((5.0, None),)
    assert faults["lumbar"].clock_ppm == -80.0 and faults["lumbar"].bunch == 3
    with pytest.raises(ValueError, match="a drop needs"):
        parse_faults(["thigh:drop@10"])
    with pytest.raises(ValueError, match="bad fault"):
        parse_faults(["thigh:explode@1"])

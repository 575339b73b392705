"""A virtual board speaking the hinge open profile v1 (``docs/protocol.md``).

Data (notify), control (write) and info (read) on the hinge service, plus the standard
Battery and Device Information services; the bytes come from
``firmware_bridge.drivers.hinge_profile``'s encoders, so the real driver decodes them.
The sample counter and the device clock keep running through link drops (the board keeps
sampling), which is what lets the host count exactly what a drop cost.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
from bumble import att
from bumble.device import Connection
from bumble.gatt import Characteristic, Service

from firmware_bridge.drivers import hinge_profile as hp
from firmware_bridge.virtual.peripheral import SampleSource, VirtualSensor, dynamic, read_only


class HingeSensor(VirtualSensor):
    family = "hinge"

    def __init__(self, name: str, source: SampleSource, *, placement: str = "", batch: int = 10, **kwargs: Any) -> None:
        super().__init__(name, source, **kwargs)
        rate = int(round(source.rate_hz))
        rates = tuple(sorted({max(1, rate // 4), max(1, rate // 2), rate, rate * 2}))
        self.info = dataclasses.replace(hp.default_info(placement=placement, rate_hz=rate, batch=batch), rates=rates)
        self.samples_per_packet = batch
        #: Bytes to answer info reads with instead of ``encode_info(self.info)`` (a broken
        #: or foreign firmware, for the host's refusals).
        self.raw_info: bytes | None = None
        if self.faults.info:  # a firmware whose info the host must refuse
            d = json.loads(hp.encode_info(self.info))
            d.update(dict(self.faults.info))
            self.raw_info = json.dumps(d, separators=(",", ":")).encode("utf-8", "surrogatepass")

    def advertised_uuid(self) -> str:
        return hp.SERVICE_UUID

    def services(self) -> list[Service]:
        props = Characteristic.Properties
        self.data_char = Characteristic(hp.DATA_UUID, props.NOTIFY, Characteristic.Permissions(0), b"")
        control = dynamic(hp.CONTROL_UUID, props.WRITE, write=self._on_control)
        info = dynamic(
            hp.INFO_UUID,
            props.READ,
            read=lambda _conn: self.raw_info if self.raw_info is not None else hp.encode_info(self.info),
        )
        device_info = Service(
            hp.DEVICE_INFO_SERVICE_UUID,
            [
                read_only(hp.MANUFACTURER_UUID, b"hinge virtual"),
                read_only(hp.MODEL_UUID, b"virtual-imu"),
                read_only(hp.FIRMWARE_REV_UUID, self.info.firmware.encode()),
            ],
        )
        return [Service(hp.SERVICE_UUID, [self.data_char, control, info]), self.battery_service(), device_info]

    def _on_control(self, _connection: Connection, value: bytes) -> None:
        try:
            op, arg = hp.parse_control(bytes(value), self.info)
        except hp.ControlError as err:
            raise att.ATT_Error(err.code, message=str(err)) from None
        if op == hp.OP_START:
            self.info = dataclasses.replace(self.info, streaming=True)
            self.start_streaming()
        elif op == hp.OP_STOP:
            self.info = dataclasses.replace(self.info, streaming=False)
            self.stop_streaming()
        elif op == hp.OP_SET_RATE:
            assert isinstance(arg, int)  # parse_control: the rate in Hz
            self.source = self.source.resampled(arg)
            self.rate_hz = float(arg)
            self.info = dataclasses.replace(self.info, rate_hz=float(arg))
        elif op == hp.OP_SET_BATCH:
            assert isinstance(arg, int)  # parse_control: samples per notification
            self.samples_per_packet = arg
            self.info = dataclasses.replace(self.info, batch=arg)
        elif op == hp.OP_SET_PLACEMENT:
            assert isinstance(arg, str)  # parse_control: the placement text
            self.info = dataclasses.replace(self.info, placement=arg)

    def encode(self, k0: int, k1: int, device_t: np.ndarray) -> bytes:
        acc, gyr = self.samples(k0, k1)
        return hp.encode_data_packet(self.counter(k0), int(round(device_t[0] * 1e6)), acc, gyr, self.info)

    def malformed(self, good: bytes) -> bytes:
        """Alternately cut short (a truncated notification) and with a bad version byte."""
        if self.log.malformed % 2 == 0:
            return good[: len(good) // 2]
        return bytes([0xFF]) + good[1:]

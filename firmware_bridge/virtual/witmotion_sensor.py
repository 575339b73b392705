"""A virtual WitMotion WT901BLE: one 20-byte ``0x55 0x61`` frame per notification.

No timestamps and no sequence numbers, as on the real device: the host reconstructs sample
times from the nominal rate and arrival times. The rate is set with ``FF AA 03 <code> 00``
(after the unlock command), written without response; frames come from
``firmware_bridge.drivers.witmotion.encode_frame``.
"""

from __future__ import annotations

import numpy as np
from bumble.device import Connection
from bumble.gatt import Characteristic, Service

from firmware_bridge.drivers import witmotion as wm
from firmware_bridge.virtual.peripheral import VirtualSensor, dynamic

CODE_RATES = {code: hz for hz, code in wm.RATE_CODES.items()}


class WitMotionSensor(VirtualSensor):
    family = "witmotion"
    samples_per_packet = 1

    def advertised_uuid(self) -> str:
        return wm.SERVICE_UUID

    def services(self) -> list[Service]:
        props = Characteristic.Properties
        self.data_char = Characteristic(wm.NOTIFY_UUID, props.NOTIFY, Characteristic.Permissions(0), b"")
        command = dynamic(wm.WRITE_UUID, props.WRITE | props.WRITE_WITHOUT_RESPONSE, write=self._on_command)
        return [Service(wm.SERVICE_UUID, [self.data_char, command]), self.battery_service()]

    def _on_command(self, _connection: Connection, value: bytes) -> None:
        try:
            register, code = wm.parse_command(bytes(value))
        except ValueError:
            return  # the real module ignores what it does not understand
        if register == wm.RATE_REGISTER and code in CODE_RATES and not self.streaming:
            self.source = self.source.resampled(CODE_RATES[code])
            self.rate_hz = float(CODE_RATES[code])

    def _on_subscription(self, bearer: object, notify: bool, indicate: bool) -> None:
        super()._on_subscription(bearer, notify, indicate)
        if self.subscribed:
            self.start_streaming()  # the module streams whenever someone listens

    def encode(self, k0: int, k1: int, device_t: np.ndarray) -> bytes:
        acc, gyr = self.samples(k0, k0 + 1)
        return wm.encode_frame(acc[0], gyr[0])

    def malformed(self, good: bytes) -> bytes:
        """Alternately a cut frame and one with a wrong header byte."""
        if self.log.malformed % 2 == 0:
            return good[:11]
        return bytes([0x54]) + good[1:]

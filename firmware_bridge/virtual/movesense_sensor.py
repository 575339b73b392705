"""A virtual Movesense running the ``gatt_sensordata_app`` sample firmware.

One write characteristic takes commands (``[0x01, ref, "/Meas/IMU6/<rate>"]`` subscribes,
``[0x02, ref]`` unsubscribes); one notify characteristic carries the command result and
then IMU6 frames (``[0x02][ref][uint32 ms][N acc float32 x3][N gyro float32 x3]``, gyro in
deg/s), all built by ``firmware_bridge.drivers.movesense``'s encoders.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from bumble import att
from bumble.device import Connection
from bumble.gatt import Characteristic, Service

from firmware_bridge.drivers import movesense as ms
from firmware_bridge.virtual.peripheral import SampleSource, VirtualSensor, dynamic

#: IMU6 samples per notification: 8 x 24 bytes + 6 fit one 247-byte MTU.
SAMPLES_PER_FRAME = 8


class MovesenseSensor(VirtualSensor):
    family = "movesense"
    samples_per_packet = SAMPLES_PER_FRAME
    acc_full_scale = ms.ACC_RANGE
    gyr_full_scale = float(np.radians(ms.GYR_RANGE_DPS))

    def __init__(self, name: str, source: SampleSource, **kwargs: Any) -> None:
        super().__init__(name, source, **kwargs)
        self.ref = 0

    def advertised_uuid(self) -> str:
        return ms.SERVICE_UUID

    def services(self) -> list[Service]:
        props = Characteristic.Properties
        self.data_char = Characteristic(ms.NOTIFY_UUID, props.NOTIFY, Characteristic.Permissions(0), b"")
        command = dynamic(ms.WRITE_UUID, props.WRITE | props.WRITE_WITHOUT_RESPONSE, write=self._on_command)
        return [Service(ms.SERVICE_UUID, [command, self.data_char]), self.battery_service()]

    def _on_command(self, connection: Connection, value: bytes) -> None:
        try:
            op, ref, path = ms.parse_command(bytes(value))
        except ValueError:
            raise att.ATT_Error(att.ErrorCode.VALUE_NOT_ALLOWED, message="bad command") from None
        status = 200
        if op == ms.OP_SUBSCRIBE:
            prefix = "/Meas/IMU6/"
            rate = path[len(prefix) :] if path is not None and path.startswith(prefix) else ""
            if not rate.isdigit() or int(rate) not in ms.RATES:
                status = 404
            elif not self.streaming:
                self.ref = ref
                self.source = self.source.resampled(int(rate))
                self.rate_hz = float(rate)
                self.start_streaming()
        elif op == ms.OP_UNSUBSCRIBE:
            self.stop_streaming()
        self._spawn(self.radio.notify_subscriber(connection, self.data_char, ms.encode_command_response(ref, status)))

    def encode(self, k0: int, k1: int, device_t: np.ndarray) -> bytes:
        return ms.encode_imu6(self.ref, int(device_t[0] * 1000.0), *self.samples(k0, k1))

    def malformed(self, good: bytes) -> bytes:
        """Alternately a 1-byte notification and a frame under a reference never subscribed."""
        if self.log.malformed % 2 == 0:
            return good[:1]
        return bytes([good[0], (self.ref + 1) % 256]) + good[2:]

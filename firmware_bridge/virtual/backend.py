"""A bleak backend over a bumble central on the virtual link.

``BleakScanner(backend=BumbleScanner)`` and ``BleakClient(device, backend=BumbleClient)``
are bleak's own front ends; only the bottom layer is swapped, so hinge's client code runs
the same path against virtual sensors as against real ones (the idea of BrainFlow's
synthetic board, but with real HCI/L2CAP/ATT traffic underneath).

The virtual world is found with ``current_world()``; a ``world=`` keyword (passed through by
bleak) overrides it. Lessons from the prototype are built in: connects are serialised on a
world-wide lock, the MTU is raised to 247 right after connecting (without it bumble cuts
notifications to 20 bytes), and notification callbacks (which bumble runs synchronously in
its packet handling) are handed straight to bleak's callback, which must only queue.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from typing import Any

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import core, hci
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic

from firmware_bridge.virtual.world import VirtualWorld, current_world

log = logging.getLogger(__name__)

#: ATT MTU requested after connecting: 247 fits 244-byte notifications (about 19 samples).
REQUESTED_MTU = 247

_PROPERTY_NAMES: dict[Characteristic.Properties, CharacteristicPropertyName] = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def uuid_str(uuid: core.UUID) -> str:
    """bumble UUID -> bleak's lower-case 128-bit string."""
    return str(uuid_module.UUID(bytes=bytes(reversed(uuid.uuid_128_bytes))))


def address_str(address: hci.Address) -> str:
    return address.to_string(with_type_qualifier=False).upper()


def advertisement_data(adv: Advertisement) -> AdvertisementData:
    """bumble ``Advertisement`` -> bleak ``AdvertisementData`` (the 7-field NamedTuple)."""
    data: AdvertisingData = adv.data
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
    uuids: list[str] = []
    for ad_type in (
        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for uuid in data.get(ad_type) or []:
            uuids.append(uuid_str(uuid))
    manufacturer: dict[int, bytes] = {}
    for company, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA) or []:
        manufacturer[company] = bytes(payload)
    tx = data.get(AdvertisingData.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data={},
        service_uuids=uuids,
        tx_power=tx,
        rssi=adv.rssi,
        platform_data=(adv,),
    )


class BumbleScanner(BaseBleakScanner):
    """Scans the virtual link with the world's central; reports through bleak's callbacks."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None = None,
        service_uuids: list[str] | None = None,
        scanning_mode: str = "active",
        *,
        world: VirtualWorld | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._world = world or current_world()
        self._central: Device | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        central = self._central = await self._world.central()
        central.on("advertisement", self._on_advertisement)
        await central.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        if self._central is None:
            return
        self._central.remove_listener("advertisement", self._on_advertisement)
        if self._central.is_scanning:
            await self._central.stop_scanning()

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = advertisement_data(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = address_str(adv.address)
        device = self.create_or_update_device(address, address, data.local_name, adv, data)
        self.call_detection_callbacks(device, data)


class BumbleClient(BaseBleakClient):
    """A GATT client on the world's central: connect, discover, read, write, notify."""

    def __init__(
        self, address_or_ble_device: BLEDevice | str, *, world: VirtualWorld | None = None, **kwargs: Any
    ) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        self._world = world or current_world()
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._closing = False

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect (one connect at a time on the central), raise the MTU, discover services."""
        central = await self._world.central()
        address = hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS)
        async with self._world.connect_lock:
            try:
                connection = await central.connect(address, timeout=self._timeout)
            except core.TimeoutError as err:
                raise BleakDeviceNotFoundError(self.address, f"{self.address}: connect timed out") from err
            except core.ConnectionError as err:
                raise BleakError(f"{self.address}: connect failed: {err}") from err
        self._connection = connection
        self._closing = False
        connection.on("disconnection", self._on_disconnection)
        try:
            self._peer = Peer(connection)
            await self._peer.request_mtu(REQUESTED_MTU)
            await self._peer.discover_services()
            for service in self._peer.services:
                await service.discover_characteristics()
                for characteristic in service.characteristics:
                    await characteristic.discover_descriptors()
            self.services = self._service_collection()
        except Exception:
            await self.disconnect()
            raise

    def _service_collection(self) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        mtu = self.mtu_size
        for service in self._require_peer().services:
            bservice = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bservice)
            for ch in service.characteristics:
                props: list[CharacteristicPropertyName] = [
                    name for flag, name in _PROPERTY_NAMES.items() if ch.properties & flag
                ]
                bchar = BleakGATTCharacteristic(ch, ch.handle, uuid_str(ch.uuid), props, lambda: mtu - 3, bservice)
                collection.add_characteristic(bchar)
                for d in ch.descriptors:
                    collection.add_descriptor(BleakGATTDescriptor(d, d.handle, uuid_str(d.type), bchar))
        return collection

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            await connection.disconnect()
        except (TimeoutError, core.BaseBumbleError, hci.HCI_Error) as err:
            log.debug("%s: disconnect: %s", self.address, err)
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("hinge never pairs with sensors")

    async def unpair(self) -> None:
        raise BleakError("hinge never pairs with sensors")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"{self.address}: not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._require_peer().read_value(characteristic.obj))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._require_peer().read_value(descriptor.obj))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool) -> None:
        await self._require_peer().write_value(characteristic.obj, bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        await self._require_peer().write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        characteristic.obj._hinge_subscriber = on_value
        await self._require_peer().subscribe(characteristic.obj, on_value)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        subscriber = getattr(characteristic.obj, "_hinge_subscriber", None)
        await self._require_peer().unsubscribe(characteristic.obj, subscriber)

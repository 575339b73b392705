"""Virtual BLE controllers on a shared ``LocalLink``, fixed where bumble's emulation is thin.

bumble's ``LocalLink`` joins in-process virtual controllers into one radio medium, so the
host stacks above them (a bumble central under our bleak backend, bumble peripherals for
the virtual sensors) exchange real HCI, L2CAP, ATT and GATT traffic. Two gaps of the
emulation matter to hinge and are closed here:

* **Connect cancel**: a connect that times out sends ``LE Create Connection Cancel``; a real
  controller answers with an ``LE Connection Complete`` carrying status
  ``UNKNOWN_CONNECTION_IDENTIFIER``; bumble's virtual one does not, which leaves the host
  waiting forever. ``VirtualController`` reports the cancelled connection.
* **Cost**: bumble formats a coloured debug string of every HCI packet even with logging
  off (an f-string inside ``logger.debug``), which was most of the CPU per notification.
  ``VirtualController`` and ``QuietHost`` pass packets on exactly as bumble 0.0.236 does
  (the version is pinned), minus that formatting.
* **Supervision timeout**: the link layer of a real connection exchanges packets every
  connection interval and drops the link when nothing is heard for the supervision timeout
  the central asked for. ``VirtualLink`` emulates that: a controller can go silent
  (``set_radio(controller, False)``: a vanished sensor) and both ends of each of its
  connections see a ``CONNECTION_TIMEOUT`` disconnection once the timeout has passed,
  on the event loop's clock (virtual time on a ``VirtualTimeLoop``, as the world's).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bumble import core, hci, ll
from bumble.controller import Connection, Controller
from bumble.host import Host
from bumble.link import LocalLink
from bumble.snoop import Snooper

log = logging.getLogger(__name__)

#: How often the link checks supervision timeouts (a fraction of any realistic timeout).
SUPERVISION_TICK_S = 0.05


class VirtualController(Controller):
    """bumble's virtual controller plus connect-cancel and per-connection supervision timeout."""

    def __init__(self, name: str, link: VirtualLink) -> None:
        super().__init__(name, link=link)
        #: Supervision timeout (s) of each LE connection, by peer address.
        self.supervision_s: dict[hci.Address, float] = {}

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        match packet:
            case hci.HCI_Command():
                self.on_hci_command_packet(packet)
            case hci.HCI_AclDataPacket():
                self.on_hci_acl_data_packet(packet)
            case _:
                super().on_hci_packet(packet)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))

    def create_le_connection(self, peer_address: hci.Address) -> None:
        pending = self.pending_le_connection
        if pending is not None:
            if isinstance(pending, hci.HCI_LE_Extended_Create_Connection_Command):
                timeout = pending.supervision_timeouts[0]
            else:
                timeout = pending.supervision_timeout
            self.supervision_s[pending.peer_address] = timeout * 0.010
        super().create_le_connection(peer_address)

    def on_le_connect_ind(self, packet: ll.ConnectInd) -> None:
        self.supervision_s[packet.initiator_address] = packet.timeout * 0.010
        super().on_le_connect_ind(packet)

    def on_le_disconnected(self, connection: Connection, reason: int) -> None:
        self.supervision_s.pop(connection.peer_address, None)
        super().on_le_disconnected(connection, reason)

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        """Cancel a pending connect the way a real controller reports it (Vol 4 Part E 7.8.13)."""
        pending = self.pending_le_connection
        self.pending_le_connection = None
        if pending is not None:
            event = hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=pending.peer_address.address_type,
                peer_address=pending.peer_address,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
            # After the Command Complete of the cancel itself, as a real controller orders them.
            asyncio.get_running_loop().call_soon(self.send_hci_packet, event)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)


class QuietHost(Host):
    """bumble's ``Host`` without the per-packet debug formatting (see the module doc)."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.HOST_TO_CONTROLLER)
        if self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.snooper:
            self.snooper.snoop(bytes(packet), Snooper.Direction.CONTROLLER_TO_HOST)
        match packet:
            case hci.HCI_Event():
                self.on_hci_event_packet(packet)
            case hci.HCI_AclDataPacket():
                self.on_hci_acl_data_packet(packet)
            case _:
                super().on_hci_packet(packet)

    def on_command_processed(self, event: hci.HCI_Command_Complete_Event[Any] | hci.HCI_Command_Status_Event) -> None:
        """A command whose waiter was cancelled (a sensor switched off mid-command) still
        gets its response; bumble would raise InvalidStateError on the cancelled future."""
        if self.pending_response is not None and self.pending_response.done():
            return
        super().on_command_processed(event)


class VirtualLink(LocalLink):
    """A ``LocalLink`` whose controllers can go silent, with emulated supervision timeouts."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # bumble's LocalLink.__init__ has no annotation
        self._silent_since: dict[Controller, float] = {}
        self._supervisor: asyncio.Task[None] | None = None

    # -- radio on/off -----------------------------------------------------------------
    def set_radio(self, controller: Controller, on: bool) -> None:
        """Turn a controller's radio off (it neither sends nor hears anything) or back on."""
        if on:
            self._silent_since.pop(controller, None)
        else:
            self._silent_since.setdefault(controller, asyncio.get_running_loop().time())

    def is_silent(self, controller: Controller | None) -> bool:
        return controller is None or controller in self._silent_since

    def add_controller(self, controller: Controller) -> None:
        super().add_controller(controller)
        if self._supervisor is None:
            self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    def close(self) -> None:
        """Stop the supervision task (the link is unusable afterwards)."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            self._supervisor = None

    # -- traffic, dropped when either end is silent ------------------------------------
    def send_acl_data(
        self,
        sender_controller: Controller,
        destination_address: hci.Address,
        transport: core.PhysicalTransport,
        data: bytes,
    ) -> None:
        if self.is_silent(sender_controller):
            return
        if self.is_silent(self.find_le_controller(destination_address)):
            return
        super().send_acl_data(sender_controller, destination_address, transport, data)

    def send_advertising_pdu(self, sender_controller: Controller, packet: ll.AdvertisingPdu) -> None:
        if self.is_silent(sender_controller):
            return
        loop = asyncio.get_running_loop()
        for c in list(self.controllers):
            if c is not sender_controller and not self.is_silent(c):
                loop.call_soon(c.on_ll_advertising_pdu, packet)

    def send_ll_control_pdu(
        self, sender_address: hci.Address, receiver_address: hci.Address, packet: ll.ControlPdu
    ) -> None:
        sender = self.find_le_controller(sender_address)
        receiver = self.find_le_controller(receiver_address)
        if self.is_silent(sender) or self.is_silent(receiver):
            return
        super().send_ll_control_pdu(sender_address, receiver_address, packet)

    # -- supervision timeout -------------------------------------------------------------
    async def _supervise(self) -> None:
        """Drop every connection that has heard nothing for its supervision timeout."""
        unheard_since: dict[tuple[int, hci.Address], float] = {}
        while True:
            await asyncio.sleep(SUPERVISION_TICK_S)
            now = asyncio.get_running_loop().time()
            live: set[tuple[int, hci.Address]] = set()
            for c in list(self.controllers):
                for peer_address, connection in list(c.le_connections.items()):
                    peer = self.find_le_controller(peer_address)
                    since = [self._silent_since[x] for x in (c, peer) if x in self._silent_since]
                    key = (id(c), peer_address)
                    if peer is None:
                        since.append(unheard_since.setdefault(key, now))
                    if not since:
                        continue
                    live.add(key)
                    timeout = getattr(c, "supervision_s", {}).get(peer_address, 0.72)
                    if now - min(since) >= timeout:
                        log.debug("%s: supervision timeout to %s", c.name, peer_address)
                        live.discard(key)
                        c.on_le_disconnected(connection, hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
            for key in set(unheard_since) - live:
                del unheard_since[key]

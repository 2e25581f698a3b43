"""A simulated Modbus device (one or several units) served by pymodbus over TCP or RTU.

Why: the program, the demo and the tests need a peer that speaks the real wire protocol, stays
silent for units it does not have (as an RS485 bus does), and misbehaves on request (no answer,
slow answer, exception replies, bad CRC, dropped connection) so failure paths get exercised too.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.pdu import ExceptionResponse
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler

from solartui.links.pymodbus_log import quiet_pymodbus
from solartui.sim.register_bank import RegisterBank

WRITE_FUNCTIONS = (6, 16)
_log = logging.getLogger("solartui.sim")


@dataclass
class Faults:
    """Misbehaviour switched on while the server runs (tests flip these between requests)."""

    silent: bool = False             # no reply at all
    delay: float = 0.0               # seconds before replying
    exception: int | None = None     # answer every request with this exception code
    corrupt_crc: bool = False        # RTU only: replies go out with a broken CRC
    drop_after: int | None = None    # TCP: close a connection after N requests; RTU: go silent
    extra_register: bool = False     # register reads answer one register more than asked


class _Context(ModbusServerContext):
    """Plugs our banks into pymodbus as an async datastore (no SimCore, no deprecated blocks)."""

    def __init__(self, sim: ModbusSimulator):  # pylint: disable=super-init-not-called
        self.old_simulator = True        # tells the base server to use us as we are
        self.simdevices = []
        self._sim = sim
        self._echo: dict[int, list[int]] = {}

    def device_ids(self) -> list[int]:
        return list(self._sim.banks)

    def _bank(self, device_id: int) -> RegisterBank:
        bank = self._sim.banks.get(device_id)
        if bank is None:
            raise NoSuchIdException(f"unit {device_id} is not on this simulator")
        return bank

    async def async_getValues(self, device_id, func_code, address, count=1):
        bank = self._bank(device_id)
        if func_code == 6:              # FC06 echoes what was written (the clock reads 2026)
            return self._echo.pop(device_id, bank.get_raw("holding", address, count))
        if func_code not in (3, 4) or func_code not in bank.map.link.functions:
            return ExcCodes.ILLEGAL_FUNCTION
        res = bank.read("input" if func_code == 4 else "holding", address, count)
        if isinstance(res, int):
            return ExcCodes(res)
        return list(res) + [0] if self._sim.faults.extra_register else res

    async def async_setValues(self, device_id, func_code, address, values):
        bank = self._bank(device_id)
        if func_code not in WRITE_FUNCTIONS or func_code not in bank.map.link.functions:
            return ExcCodes.ILLEGAL_FUNCTION
        res = bank.write(address, [int(v) for v in values])
        if res:
            return ExcCodes(res)
        if func_code == 6:
            self._echo[device_id] = [int(v) for v in values]
        return None


class _Handler(ServerRequestHandler):
    """One connection (TCP) or the port (RTU): routes each request through the simulator."""

    def __init__(self, owner):
        super().__init__(owner, owner.trace_packet, owner.trace_pdu, owner.trace_connect)
        self.count = 0

    async def handle_request(self):
        pdu, addr = self.last_pdu, self.last_addr
        if pdu is not None:
            await self.server.sim.serve(self, pdu, addr)


class _TcpServer(ModbusTcpServer):
    def callback_new_connection(self):
        return _Handler(self)


class _SerialServer(ModbusSerialServer):
    def callback_new_connection(self):
        return _Handler(self)


class ModbusSimulator:
    """Serves RegisterBanks (one per unit) with optional faults, over TCP and/or RTU."""

    def __init__(self, banks: list[RegisterBank] | RegisterBank, faults: Faults | None = None,
                 tick_interval: float = 1.0, *, log_handler: logging.Handler | None = None):
        banks = [banks] if isinstance(banks, RegisterBank) else list(banks)
        self.banks: dict[int, RegisterBank] = {}
        for b in banks:
            if b.unit in self.banks:
                raise ValueError(f"two banks answer unit {b.unit}")
            self.banks[b.unit] = b
        self.faults = faults if faults is not None else Faults()
        self.tick_interval = tick_interval
        self.requests = 0
        self.context = _Context(self)
        self._servers: list = []
        self._tasks: set[asyncio.Task] = set()
        self._last_tick = time.monotonic()
        self._log_handler = log_handler

    # --- lifecycle -----------------------------------------------------------------------------

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen for Modbus TCP; returns the bound port (pass 0 to get a free one). An address
        in use or not ours is an OSError with its reason (pymodbus only says RuntimeError)."""
        quiet_pymodbus(self._log_handler)
        if port:
            with socket.socket() as probe:           # the reason, before pymodbus hides it
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
        server = _TcpServer(self.context, framer=FramerType.SOCKET, address=(host, port),
                            ignore_missing_devices=True, trace_packet=self._trace_tcp)
        server.sim = self
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            raise OSError(errno.EADDRNOTAVAIL, f"cannot listen ({exc})") from None
        self._servers.append(server)
        return server.transport.sockets[0].getsockname()[1]

    async def start_serial(self, port_path: str, baud: int = 9600, parity: str = "N") -> None:
        """Serve Modbus RTU on a serial device (a real port or a SerialWire device path)."""
        quiet_pymodbus(self._log_handler)
        server = _SerialServer(self.context, framer=FramerType.RTU, port=port_path,
                               baudrate=baud, parity=parity, ignore_missing_devices=True,
                               trace_packet=self._trace_rtu)
        server.sim = self
        await server.serve_forever(background=True)
        self._servers.append(server)

    async def stop(self) -> None:
        """Stop every server and any reply still waiting out a delay."""
        for task in list(self._tasks):
            task.cancel()
        servers, self._servers = self._servers, []
        for server in servers:
            await server.shutdown()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- requests ------------------------------------------------------------------------------

    def _trace_tcp(self, sending: bool, data: bytes) -> bytes:
        return data

    def _trace_rtu(self, sending: bool, data: bytes) -> bytes:
        if sending and self.faults.corrupt_crc and data:
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._last_tick >= self.tick_interval:
            self._last_tick = now
            for bank in self.banks.values():
                bank.tick()

    async def serve(self, handler: _Handler, pdu, addr) -> None:
        """Answer one request as the addressed unit would, faults included."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(handler, pdu, addr)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, handler: _Handler, pdu, addr) -> None:
        unit, fc = pdu.dev_id, pdu.function_code
        if unit == 0:                   # broadcast: writes reach every unit, nobody answers
            if fc in WRITE_FUNCTIONS and not self.faults.silent:
                for u in self.banks:
                    await pdu.datastore_update(self.context, u)
            return
        if unit not in self.banks:
            return                      # not ours: a bus stays silent
        self.requests += 1
        handler.count += 1
        f = self.faults
        if f.drop_after is not None:
            if isinstance(handler.server, _TcpServer) and handler.count > f.drop_after:
                handler.close()
                return
            if not isinstance(handler.server, _TcpServer) and self.requests > f.drop_after:
                return
        if f.silent:
            return
        self._tick()
        if f.delay > 0:
            await asyncio.sleep(f.delay)
        if f.exception is not None:
            response = ExceptionResponse(fc, f.exception)
        else:
            try:
                response = await pdu.datastore_update(self.context, unit)
            except NoSuchIdException:
                return
            except Exception:  # pylint: disable=broad-except  # a bug must not kill the port
                _log.exception("simulated unit %s failed on FC%02d", unit, fc)
                response = ExceptionResponse(fc, ExcCodes.DEVICE_FAILURE)
        response.transaction_id = pdu.transaction_id
        response.dev_id = unit
        if handler.transport is not None:
            handler.server_send(response, addr)

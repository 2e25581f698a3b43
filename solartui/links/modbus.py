"""Modbus RTU (serial) and Modbus TCP transports, through pymodbus.

pymodbus is used for framing and I/O only; the scheduler owns pacing and retries. Its traps, each
handled here:
  * client calls are keyword-only (`device_id=`);
  * an exception reply is a response with isError(), not a Python exception;
  * it turns a task's CancelledError into ModbusIOException: we re-raise the cancellation;
  * it closes the connection after several unanswered requests: we raise that limit out of reach
    and reconnect ourselves, so a silent unit on a bus does not take the port down;
  * it logs frames to stderr: the `pymodbus` logger is routed away (see quiet_pymodbus).
"""

from __future__ import annotations

import asyncio
from typing import Callable

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from solartui.errors import ConnectionFailed, DeviceException, LinkError, NoAnswer
from solartui.links.pymodbus_log import quiet_pymodbus
from solartui.links.target import Target

class MalformedReply(LinkError):
    """A reply that cannot be decoded (its byte count does not match its length, say)."""


class _Malformed(Exception):
    """Carries a decoding failure from pymodbus's data_received to the waiting request."""

    def __init__(self, exc: Exception, data: bytes):
        text = " ".join(str(exc).split())
        self.why = text.removeprefix("Modbus Error: ").removeprefix("[Input/Output] ")[:80] \
            or type(exc).__name__
        self.shown = data[:32].hex(" ") + (" ..." if len(data) > 32 else "")
        super().__init__(self.why)


class ModbusTransport:
    """One pymodbus client for one physical link; several unit addresses may share it."""

    def __init__(self, target: Target, baud: int = 9600, parity: str = "N",
                 timeout: float = 1.0):
        quiet_pymodbus()
        self.target = target
        self.timeout = timeout
        self._sink: Callable[[str, bytes], None] | None = None
        common = dict(timeout=timeout, retries=0, reconnect_delay=0,
                      trace_packet=self._trace)
        if target.scheme == "tcp":
            self.description = target.link_key      # tcp://HOST:PORT, IPv6 bracketed
            self.client = AsyncModbusTcpClient(target.host, port=target.port,
                                               framer=FramerType.SOCKET, **common)
        else:
            self.baud = target.baud or baud
            self.parity = target.parity or parity
            self.description = f"{target.path} {self.baud} 8{self.parity}{target.stopbits}"
            self.client = AsyncModbusSerialClient(
                target.path, framer=FramerType.RTU, baudrate=self.baud, bytesize=8,
                parity=self.parity, stopbits=target.stopbits, **common)
        self.client.set_max_no_responses(1 << 30)
        self._catch_malformed_replies()

    def _catch_malformed_replies(self) -> None:
        """pymodbus decodes replies inside the socket's data_received; a reply whose byte count
        does not match its length raises there, asyncio logs a 17-line traceback to stderr, and
        the request then looks like a lost connection. Instead, the bytes are dropped and the
        waiting request fails with a MalformedReply naming them, one line."""
        ctx = self.client.ctx
        decode = ctx.callback_data

        def callback_data(data: bytes, addr=None) -> int:
            try:
                return decode(data, addr=addr)
            except Exception as exc:  # pymodbus raises ModbusIOException, or worse
                future = getattr(ctx, "response_future", None)
                if future is not None and not future.done():
                    future.set_exception(_Malformed(exc, bytes(data)))
                return len(data)

        ctx.callback_data = callback_data

    def set_frame_sink(self, sink: Callable[[str, bytes], None] | None) -> None:
        self._sink = sink

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if self._sink is not None and data:
            self._sink("tx" if sending else "rx", data)
        return data

    async def connect(self) -> None:
        if self.client.connected:
            return
        try:
            ok = await self.client.connect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # pymodbus/pyserial raise many kinds here
            raise ConnectionFailed(f"cannot open {self.description}: {exc}") from None
        if not ok:
            raise ConnectionFailed(f"cannot open {self.description}: "
                                   + ("no such port or no permission" if self.target.scheme == "rtu"
                                      else "connection refused or unreachable"))

    async def close(self) -> None:
        self.client.close()

    async def _call(self, what: str, coro_factory, timeout: float | None):
        await self.connect()
        t = timeout or self.timeout
        # pymodbus takes its response timeout from comm_params at each request
        self.client.ctx.comm_params.timeout_connect = t
        task = asyncio.current_task()
        try:
            response = await asyncio.wait_for(coro_factory(), timeout=t + 2.0)
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            raise NoAnswer(f"no answer to {what} within {t * 1000:.0f} ms") from None
        except _Malformed as exc:
            raise MalformedReply(f"{what}: malformed reply ({exc.why}): {exc.shown}") from None
        except ConnectionException as exc:
            self.client.close()
            raise ConnectionFailed(f"{self.description}: connection lost ({exc})") from None
        except ModbusIOException:
            if task is not None and getattr(task, "cancelling", lambda: 0)():
                raise asyncio.CancelledError() from None
            if not self.client.connected:
                raise ConnectionFailed(f"{self.description}: connection lost") from None
            raise NoAnswer(f"no answer to {what} within {t * 1000:.0f} ms") from None
        except ModbusException as exc:
            raise LinkError(f"{what}: {exc}") from None
        if response.isError():
            raise DeviceException(response.function_code & 0x7F,
                                  getattr(response, "exception_code", 0))
        return response

    async def read(self, function: int, unit: int, address: int, count: int,
                   timeout: float | None = None) -> list[int]:
        what = f"FC{function:02d} unit {unit} {address}+{count}"
        if function == 3:
            call = lambda: self.client.read_holding_registers(address, count=count, device_id=unit)  # noqa: E731
        elif function == 4:
            call = lambda: self.client.read_input_registers(address, count=count, device_id=unit)  # noqa: E731
        else:
            raise LinkError(f"function {function} is not a register read")
        response = await self._call(what, call, timeout)
        regs = list(response.registers)
        if len(regs) != count:      # one too many is as wrong as one too few: never trimmed
            raise LinkError(f"{what}: reply carried {len(regs)} registers, not {count}")
        return regs

    async def write(self, function: int, unit: int, address: int, words: list[int],
                    timeout: float | None = None) -> None:
        what = f"FC{function:02d} unit {unit} {address}={words}"
        if function == 6:
            if len(words) != 1:
                raise LinkError("FC06 writes exactly one register")
            call = lambda: self.client.write_register(address, words[0], device_id=unit)  # noqa: E731
        elif function == 16:
            call = lambda: self.client.write_registers(address, list(words), device_id=unit)  # noqa: E731
        else:
            raise LinkError(f"function {function} is not a register write")
        await self._call(what, call, timeout)

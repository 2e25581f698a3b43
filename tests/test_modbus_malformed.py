"""A Modbus TCP reply whose byte count does not match its length: pymodbus raised inside the
socket's data_received, asyncio printed its 17-line traceback, and the read then claimed the
connection was lost. Now it is one line naming the request and the bytes, and the link goes on."""

from __future__ import annotations

import asyncio
import logging
import struct

import pytest

from solartui.links.modbus import MalformedReply, ModbusTransport
from solartui.links.target import parse_target

from procs import one_line_error, run_cli


class LyingServer:
    """Answers FC03/FC04 on loopback; `lie` claims ten more data bytes than it sends."""

    def __init__(self):
        self.lie = True
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _client(self, reader, writer):
        try:
            while True:
                req = await reader.readexactly(12)
                tid, _, _, unit, fc, _addr, count = struct.unpack(">HHHBBHH", req)
                data = b"\x00\x07" * count
                pdu = bytes([fc, 2 * count + (10 if self.lie else 0)]) + data
                writer.write(struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def liar():
    server = LyingServer()
    await server.start()
    yield server
    await server.stop()


async def test_a_byte_count_mismatch_is_one_error_and_the_link_goes_on(liar, caplog):
    transport = ModbusTransport(parse_target(f"tcp://127.0.0.1:{liar.port}"), timeout=0.8)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(MalformedReply) as info:
            await transport.read(3, 1, 0, 2)
        message = str(info.value)
        assert "\n" not in message and "malformed reply" in message and "FC03" in message
        assert "00 01 00 00 00 07 01 03 0e 00 07 00 07" in message
        liar.lie = False                                   # the same connection still works
        assert await transport.read(4, 1, 0, 2) == [7, 7]
    finally:
        await transport.close()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_read_says_it_in_one_line(liar):
    url = f"tcp://127.0.0.1:{liar.port}?unit=1&timeout=800&period=0"
    code, out, err = await run_cli("read", url,
                                   "--map", "growatt-protocol-ii", "vpv1")
    line = one_line_error(code, err)
    assert "malformed reply" in line and "connection lost" not in line

"""The Growatt server under the attacks of issue 21 (parts 2 and 3), over real loopback TCP:
simulated dataloggers and raw sockets playing the impostor, the flooder and the caller who leaves.
Each test is the attack, and the assertion that it now fails."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import tracemalloc

import aiohttp
import pytest

from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.devices.writes import NOT_SENT, VERIFIED
from solartui.errors import SolartuiError
from solartui.registers import catalog
from solartui.shine import frame as F
from solartui.shine import records as R
from solartui.shine.http_api import HttpApi
from solartui.shine.limits import Allow, ServerLimits
from solartui.shine.server import ShineServer
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import LoggerFaults, SimulatedDatalogger
from solartui.tui.screens import server_tables as T

MAP = catalog.resolve("growatt-protocol-ii")
TOKEN = "attack-token"


async def until(cond, timeout=5.0, step=0.01):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


class Rig:
    def __init__(self, server: ShineServer):
        self.server = server
        self.sims: list[SimulatedDatalogger] = []
        self.socks: list[asyncio.StreamWriter] = []
        self.api: HttpApi | None = None

    async def sim(self, logger: str, inverter: str, **kw) -> SimulatedDatalogger:
        kw.setdefault("interval", 30.0)
        bank = RegisterBank(MAP, seed=len(self.sims), identity={"serial": inverter})
        bank.set_raw("holding", 3, [100])
        sim = SimulatedDatalogger(bank, datalogger=logger, inverter=inverter, **kw)
        self.sims.append(sim)
        await sim.start("127.0.0.1", self.server.port)
        await until(lambda: logger in self.server.loggers
                    and inverter in self.server.loggers[logger].inverters)
        return sim

    async def raw(self, source: str = "127.0.0.1"):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port,
                                                       local_addr=(source, 0))
        self.socks.append(writer)
        return reader, writer

    async def http(self, token: str | None = None) -> str:
        self.api = HttpApi(self.server, token=token)
        port = await self.api.start("127.0.0.1", 0)
        return f"http://127.0.0.1:{port}"


@pytest.fixture
async def make():
    rigs: list[Rig] = []

    async def factory(**limits) -> Rig:
        server = ShineServer(MAP, tz="UTC", command_gap=0.0, logger_timeout=0.3,
                             inverter_timeout=0.3, sync_on_announce=False,
                             limits=ServerLimits(**limits))
        await server.start("127.0.0.1", 0)
        rig = Rig(server)
        rigs.append(rig)
        return rig

    yield factory
    for rig in rigs:
        for sim in rig.sims:
            await sim.stop()
        for w in rig.socks:
            w.close()
        if rig.api is not None:
            await rig.api.stop()
        await rig.server.stop()


def data_record(logger: str, inverter: str) -> bytes:
    return R.encode(R.InverterRecord(F.DATA, logger, inverter, None, (R.Group(0, (1,)),)), 1, 6)


async def nothing_arrives(reader: asyncio.StreamReader) -> bool:
    try:
        got = await asyncio.wait_for(reader.read(100), 0.05)
    except asyncio.TimeoutError:
        return True
    return got == b""


# --- part 2: datalogger identity -----------------------------------------------------------------

async def test_hijack_ping_is_ignored_while_the_real_datalogger_lives(make, caplog):
    caplog.set_level(logging.INFO, logger="solartui.shine")
    rig = await make()
    server = rig.server
    sim = await rig.sim("REAL000001", "REALINV001")
    real = server.loggers["REAL000001"].connection
    reader, writer = await rig.raw()
    for _ in range(5):                                       # the impostor insists
        writer.write(R.encode(R.Ping("REAL000001"), 1, 6))
    await until(lambda: server.counters["claims_refused"] == 5)
    await until(lambda: server.counters["holders_answered"] == 1)   # the real one answered
    assert server.loggers["REAL000001"].connection is real
    assert await nothing_arrives(reader)                     # no echo for the impostor
    claims = [r for r in caplog.records if "claims datalogger REAL000001" in r.getMessage()]
    assert len(claims) == 1                                  # logged once, counted five times
    # the write goes to the real inverter, and reads back from it
    device = server.inverter_device("REALINV001")
    [outcome] = await gate.run(device, WriteRequest.raw(3, [77]), gate.confirmed, "http")
    assert outcome.status == VERIFIED
    assert sim.bank.get_raw("holding", 3, 1) == [77]


async def test_move_needs_the_old_connection_gone_and_refuses_a_write_planned_before(make, caplog):
    caplog.set_level(logging.INFO, logger="solartui.shine")
    rig = await make()
    server = rig.server
    _r_old, w_old = await rig.raw("127.0.0.1")
    w_old.write(data_record("MOVE000001", "MOVEINV001"))
    await until(lambda: "MOVEINV001" in getattr(server.loggers.get("MOVE000001"), "inverters", {}))
    device = server.inverter_device("MOVEINV001")            # planned on the old connection
    plans = [await device.plan_raw_write(3, [55])]            # (the old socket never answers)
    r_new, w_new = await rig.raw("127.0.0.2")                # the datalogger, from elsewhere
    w_new.write(R.encode(R.Ping("MOVE000001"), 1, 6))
    await until(lambda: server.counters["claims_refused"] == 1)
    await until(lambda: "MOVE000001" not in server.loggers)  # liveness check failed: closed
    w_new.write(R.encode(R.Ping("MOVE000001"), 1, 6) + data_record("MOVE000001", "MOVEINV001"))
    await until(lambda: "MOVEINV001" in getattr(server.loggers.get("MOVE000001"), "inverters", {}))
    state = server.loggers["MOVE000001"]
    assert state.ip == "127.0.0.2" and state.moved and state.previous.startswith("127.0.0.1:")
    assert state.history.startswith("moved from 127.0.0.1:")
    assert any("moved from 127.0.0.1:" in r.getMessage() for r in caplog.records)
    sent_before = await r_new.read(4096)                      # the echo and the ack
    [outcome] = await gate.execute(device, plans, "http")
    assert outcome.status == NOT_SENT and "127.0.0.2" in outcome.detail
    assert sent_before and await nothing_arrives(r_new)      # nothing went to the new socket
    base = await rig.http()
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/datalogger?command=status&datalogger=MOVE000001") as r:
            shown = await r.json()
    assert shown["ip"] == "127.0.0.2" and shown["moved"] and shown["history"] == state.history
    row = dict(T.device_rows(server))["L:MOVE000001"]          # the server pane's row
    assert "moved from 127.0.0.1:" in row[-1]
    assert "1 claims refused" in T.refusals_text(server)
    # a device made now is read through the new connection and may write
    assert server.inverter_device("MOVEINV001").link.connection is state.connection


async def test_allow_lists_serials_and_networks(make):
    rig = await make(allow=Allow.parse(["ALLOW00001,127.0.0.2/32"]))
    server = rig.server
    r1, _w1 = await rig.raw("127.0.0.1")                     # not an allowed network: closed
    assert await asyncio.wait_for(r1.read(), 2) == b""
    assert server.counters["addresses_refused"] == 1
    _r2, w2 = await rig.raw("127.0.0.2")
    w2.write(R.encode(R.Ping("OTHER00001"), 1, 6) + R.encode(R.Ping("ALLOW00001"), 1, 6))
    await until(lambda: "ALLOW00001" in server.loggers)
    assert "OTHER00001" not in server.loggers and server.counters["serials_not_allowed"] == 1
    with pytest.raises(SolartuiError, match="neither a network"):
        Allow.parse(["10.0.0.0/33"])
    assert str(Allow.parse([])) == "anyone"


async def test_listing_dataloggers_needs_the_token(make):
    rig = await make()
    await rig.sim("LIST000001", "LISTINV001")
    base = await rig.http(token=TOKEN)
    async with aiohttp.ClientSession() as session:
        for path in ("/datalogger", "/inverter", "/datalogger?command=regall&datalogger=LIST000001",
                     "/inverter?command=register&inverter=LISTINV001&register=3"):
            async with session.get(base + path) as r:
                assert r.status == 401 and "LIST000001" not in await r.text()
        async with session.get(base + "/datalogger",
                               headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200 and "LIST000001" in await r.json()
        async with session.get(base + "/") as r:
            assert r.status == 200                           # the welcome page stays open


# --- part 3: bounded everything ------------------------------------------------------------------

async def test_param_dump_flood_stays_within_its_budget(make):
    rig = await make(registers_per_datalogger=64, register_bytes_per_datalogger=16 * 1024,
                     total_bytes=128 * 1024)
    server = rig.server
    sim = await rig.sim("GOOD000001", "GOODINV001")
    _r, w = await rig.raw()
    value = b"x" * 180
    sent = 0
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for batch in range(150):                             # 150 dumps x 20 new registers
            params = {batch * 20 + i: value for i in range(20)}
            wire = R.encode(R.ParamDump("FLOOD00001", params), 1, 6)
            sent += len(wire)
            w.write(wire)
            await w.drain()
        await until(lambda: server.budget.dropped >= 150 * 20 - 64)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    flood = server.loggers["FLOOD00001"].registers
    assert len(flood) <= 64 and flood.used <= 16 * 1024
    assert max(flood) == 149 * 20 + 19                       # the newest kept, oldest dropped
    assert server.budget.used <= 128 * 1024
    assert sent > 500_000 and grown < 300_000                # ~560 KB sent, far less kept
    # the legitimate datalogger beside it still answers
    assert await server.read_logger_register(sim.datalogger, 31)


async def test_distinct_serial_pings_on_one_connection_are_capped(make, caplog):
    caplog.set_level(logging.INFO, logger="solartui.shine")
    rig = await make(serials_per_connection=4)
    server = rig.server
    reader, w = await rig.raw()
    w.write(b"".join(R.encode(R.Ping(f"SER{i:07d}"), 1, 6) for i in range(300)))
    await until(lambda: server.counters["serials_refused"] == 296)
    assert sorted(server.loggers) == [f"SER{i:07d}" for i in range(4)]
    echoes = await reader.read(65536)
    assert len(echoes) == 4 * len(R.encode(R.Ping("SER0000000"), 1, 6))
    refused = [r for r in caplog.records if "serial 5 on one connection" in r.getMessage()]
    assert len(refused) == 1 and len(caplog.records) < 20


async def test_abandoned_api_reads_are_not_sent_and_a_real_read_gets_through(make):
    rig = await make()
    server = rig.server
    sim = await rig.sim("SLOW000001", "SLOWINV001", faults=LoggerFaults(delay=0.2))
    server.inverter_timeout = 2.0
    base = await rig.http()
    url = base + "/inverter?command=register&inverter=SLOWINV001&register=3"
    sched = server.loggers["SLOW000001"].connection.scheduler

    async def leave_early():
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.1)) as s:
                async with s.get(url) as r:
                    await r.read()
        except asyncio.TimeoutError:
            pass

    await asyncio.gather(*(leave_early() for _ in range(30)))
    await until(lambda: sched.pending <= 1)                  # their reads left the queue
    started = time.monotonic()
    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            assert r.status == 200 and await r.json() == {"value": 100}
    assert time.monotonic() - started < 1.5                  # 30 reads would take 6 s
    assert sim.stats["commands"] <= 3                        # abandoned reads never sent


async def test_full_command_queue_answers_503(make):
    rig = await make(commands_per_datalogger=3)
    server = rig.server
    await rig.sim("FULL000001", "FULLINV001", faults=LoggerFaults(silent=True))
    base = await rig.http()
    read = base + "/inverter?command=register&inverter=FULLINV001&register=3"
    sched = server.loggers["FULL000001"].connection.scheduler
    async with aiohttp.ClientSession() as s:
        async def get(url):
            async with s.get(url) as r:
                return r.status, r.headers.get("Retry-After")
        held = [asyncio.create_task(get(read)) for _ in range(3)]
        await until(lambda: sched.pending == 3)
        assert await get(read) == (503, "2")
        async with s.put(base + "/inverter?command=register&inverter=FULLINV001&register=3"
                         "&value=5") as r:
            assert r.status == 503
        assert server.counters["commands_refused"] == 2
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
    await until(lambda: sched.pending == 0)


async def test_a_peer_that_does_not_read_its_echoes_is_dropped(make):
    rig = await make(write_buffer=8 * 1024)
    server = rig.server
    _reader, writer = await rig.raw()
    ping = R.encode(R.Ping("DEAF000001"), 1, 6)
    writer.write(ping)
    await until(lambda: "DEAF000001" in server.loggers)
    for end in (writer.get_extra_info("socket"),               # small kernel buffers both ways,
                server.loggers["DEAF000001"].connection.writer.get_extra_info("socket")):
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # so the server's own
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)   # buffer is what fills
    try:
        for _ in range(400):                               # never reads a byte of the echoes
            writer.write(ping * 200)
            await writer.drain()
            if server.counters["overflowed"]:
                break
    except ConnectionError:
        pass
    await until(lambda: server.counters["overflowed"] == 1)
    assert "DEAF000001" not in server.loggers

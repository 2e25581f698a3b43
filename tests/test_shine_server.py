"""The Shine server end to end: simulated dataloggers connect over loopback TCP and the server
learns, acks, decodes, syncs clocks and sends commands that only the right datalogger answers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from solartui.errors import CommandRejected, ConnectionFailed, NoAnswer, RegisterUnavailable, ShineError, UnknownDevice
from solartui.journal import Journal
from solartui.registers import catalog
from solartui.shine import frame as F
from solartui.shine import records as R
from solartui.shine.server import ShineServer
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import LoggerFaults, SimulatedDatalogger

MAP = catalog.resolve("growatt-protocol-ii")


async def until(cond, timeout=5.0, step=0.01):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)


@pytest.fixture
async def rig(tmp_path):
    """A server on loopback and a factory for simulated dataloggers; everything stopped after."""
    server = ShineServer(MAP, tz="Europe/Amsterdam", command_gap=0.0, logger_timeout=1.0,
                         inverter_timeout=1.0, journal=Journal(tmp_path / "journal.jsonl"))
    port = await server.start("127.0.0.1", 0)
    sims: list[SimulatedDatalogger] = []

    async def add(n=1, **kw):
        seed = len(sims)
        kw.setdefault("interval", 0.2)
        logger = kw.pop("datalogger", f"LOG{seed:07d}")
        inverter = kw.pop("inverter", f"INV{seed:07d}")
        sim = SimulatedDatalogger(RegisterBank(MAP, seed=seed, identity={"serial": inverter}),
                                  datalogger=logger, inverter=inverter, **kw)
        sims.append(sim)
        await sim.start("127.0.0.1", port)
        return sim

    server.add = add
    server.sims = sims
    try:
        yield server
    finally:
        for sim in sims:
            await sim.stop()
        await server.stop()


@pytest.mark.parametrize("protocol", [2, 5, 6])
async def test_datalogger_end_to_end(rig, protocol):
    sim = await rig.add(protocol=protocol)
    await asyncio.wait_for(sim.announced.wait(), 5)
    await until(lambda: sim.datalogger in rig.loggers
                and rig.loggers[sim.datalogger].inverters.get(sim.inverter) is not None
                and rig.loggers[sim.datalogger].inverters[sim.inverter].latest is not None)
    logger = rig.loggers[sim.datalogger]
    assert logger.protocol == protocol
    assert rig.registry_json()[sim.datalogger] == {
        "ip": "127.0.0.1", "port": logger.port, "protocol": f"{protocol:02d}",
        sim.inverter: {"inverterno": "01", "power": 0}}
    inv = logger.inverters[sim.inverter]
    assert inv.identity.get("serial") == sim.inverter
    values = {r.point.name: r for r in inv.latest.readings}
    assert values["ppv"].point.unit == "W" and values["ppv"].decoded is not None
    assert inv.latest.buffered is False
    # clock synced on announce, in the configured zone, and the datalogger took it
    await until(lambda: logger.clock_sent is not None)
    sent = datetime.strptime(logger.clock_sent, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert abs((sent - datetime.now(ZoneInfo("Europe/Amsterdam"))).total_seconds()) < 5
    assert "Europe/Amsterdam" in logger.clock_status
    # datalogger registers, inverter holding registers, writes with read-back
    assert await rig.read_logger_register(sim.datalogger, 21) == sim.registers[21]
    await rig.write_logger_register(sim.datalogger, 18, "5781")
    assert sim.registers[18] == b"5781"
    words = await rig.read_inverter_registers(sim.inverter, 0, 3)
    assert words == sim.bank.get_raw("holding", 0, 4)
    point = MAP.point("active_power_rate")
    relay = rig.inverter_device(sim.inverter).link         # what the write gate sends through
    await relay.write(6, 1, point.address, [50])
    assert sim.bank.get_raw("holding", point.address, 1) == [50]


async def test_nack_silence_and_empty_reply_are_failures(rig):
    nacker = await rig.add(faults=LoggerFaults(nack=True))
    silent = await rig.add(faults=LoggerFaults(silent=True))
    plain = await rig.add()
    await until(lambda: all(s.datalogger in rig.loggers and rig.loggers[s.datalogger].inverters
                            for s in (nacker, silent, plain)))
    with pytest.raises(CommandRejected, match="status"):
        await rig.write_logger_register(nacker.datalogger, 4, "1")
    with pytest.raises(CommandRejected):
        await rig.inverter_device(nacker.inverter).link.write(6, 1, 3, [10])
    t0 = time.monotonic()
    with pytest.raises(NoAnswer):
        await rig.read_inverter_registers(silent.inverter, 3)
    assert 0.9 < time.monotonic() - t0 < 3
    with pytest.raises(RegisterUnavailable):
        await rig.read_inverter_registers(plain.inverter, 4000)
    with pytest.raises(CommandRejected):
        await rig.write_logger_register(plain.datalogger, 8, "STOLEN")     # read-only: NACK
    with pytest.raises(UnknownDevice):
        await rig.read_inverter_registers("NOSUCHINV", 3)
    with pytest.raises(ShineError):
        await rig.read_inverter_registers(plain.inverter, 5000)
    outcomes = [c for c in rig.commands if not c.ok]
    assert len(outcomes) >= 5
    journal = Journal(rig.journal.path).entries()
    # datalogger registers are journalled here (31: the clock sync on announce); inverter
    # registers are journalled by the write gate, which every door calls (test_write_gate_doors)
    assert sorted((e["register"], e["outcome"]) for e in journal if e["datalogger"] == nacker.datalogger) == \
        [(4, "rejected"), (31, "rejected")]


async def test_two_dataloggers_same_register_get_their_own_answers(rig):
    a = await rig.add(faults=LoggerFaults(delay=0.2))
    b = await rig.add()
    await until(lambda: all(s.datalogger in rig.loggers and rig.loggers[s.datalogger].inverters for s in (a, b)))
    a.bank.set_raw("holding", 3, [111])
    b.bank.set_raw("holding", 3, [222])
    a.registers[19] = b"host-a"
    b.registers[19] = b"host-b"
    got = await asyncio.gather(rig.read_inverter_registers(a.inverter, 3),
                               rig.read_inverter_registers(b.inverter, 3),
                               rig.read_logger_register(a.datalogger, 19),
                               rig.read_logger_register(b.datalogger, 19))
    assert got == [[111], [222], b"host-a", b"host-b"]


async def test_reply_from_another_datalogger_cannot_answer(rig):
    """A rogue client sends a 0x05 reply carrying the victim's serial: it must not complete the
    victim's pending read (that reply did not come on the victim's connection)."""
    victim = await rig.add(faults=LoggerFaults(delay=0.5))
    await until(lambda: victim.datalogger in rig.loggers and rig.loggers[victim.datalogger].inverters)
    victim.bank.set_raw("holding", 3, [42])
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    try:
        writer.write(R.encode(R.Ping("ROGUE00001"), 1, 6))
        task = asyncio.create_task(rig.read_inverter_registers(victim.inverter, 3))
        await asyncio.sleep(0.1)
        writer.write(R.encode(R.HoldingValues(victim.datalogger, 3, 3, (666,)), 1, 6))
        await writer.drain()
        assert await task == [42]
    finally:
        writer.close()


async def test_inverter_learned_from_data_records_without_announce(rig):
    sim = await rig.add(faults=LoggerFaults(no_announce=True), buffered=2)
    await until(lambda: sim.datalogger in rig.loggers
                and sim.inverter in rig.loggers[sim.datalogger].inverters
                and rig.loggers[sim.datalogger].inverters[sim.inverter].records >= 3)
    inv = rig.loggers[sim.datalogger].inverters[sim.inverter]
    assert inv.announced is False
    assert inv.buffered == 2
    assert inv.latest is not None and inv.latest.buffered is False
    assert await rig.read_inverter_registers(sim.inverter, 0) == sim.bank.get_raw("holding", 0, 1)


async def test_bad_frames_from_one_client_while_others_keep_working(rig):
    good = [await rig.add() for _ in range(3)]
    await until(lambda: all(s.datalogger in rig.loggers and rig.loggers[s.datalogger].inverters for s in good))
    ping = R.encode(R.Ping("BADLOG0001"), 7, 6)
    junk = [b"\xff" * 50,                                   # garbage
            ping[:-1] + bytes((ping[-1] ^ 0x55,)),          # wrong CRC
            bytes.fromhex("0001000620000116") + bytes(64),  # oversized length
            bytes.fromhex("0001000603000116") + bytes(8),   # a length that promises more than comes
            R.encode(R.Ping("BADLOG0001"), 8, 2)[:-3],      # truncated, then the socket closes
            ]
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    before = rig.counters["rejected"]
    for chunk in junk[:4]:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(0.02)
    writer.write(ping)                       # still a working connection after all that
    await writer.drain()
    echo = await asyncio.wait_for(reader.readexactly(len(ping)), 2)
    assert echo == ping
    results = await asyncio.gather(*(rig.read_inverter_registers(s.inverter, 0) for s in good))
    assert all(len(r) == 1 for r in results)
    writer.write(junk[4])
    await writer.drain()
    writer.close()
    await until(lambda: "BADLOG0001" not in rig.loggers)
    assert rig.counters["rejected"] - before >= 5
    assert all(s.datalogger in rig.loggers for s in good)


async def test_disconnect_removes_logger_and_fails_pending(rig):
    sim = await rig.add(faults=LoggerFaults(delay=0.5))
    await until(lambda: sim.datalogger in rig.loggers and rig.loggers[sim.datalogger].inverters)
    task = asyncio.create_task(rig.read_inverter_registers(sim.inverter, 0))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    await sim.stop()
    with pytest.raises(ConnectionFailed, match="disconnected"):
        await task
    assert time.monotonic() - t0 < 0.9 * rig.inverter_timeout    # at once, not after the timeout
    await until(lambda: sim.datalogger not in rig.loggers)
    with pytest.raises(UnknownDevice):
        await rig.read_inverter_registers(sim.inverter, 0)


async def test_idle_connection_is_closed(rig):
    rig.idle_timeout = 0.2
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    writer.write(R.encode(R.Ping("IDLE000001"), 1, 6))
    await writer.drain()
    await reader.readexactly(40)
    await until(lambda: "IDLE000001" in rig.loggers)
    await asyncio.sleep(0.3)
    rig.housekeep()
    assert await asyncio.wait_for(reader.read(), 2) == b""
    await until(lambda: "IDLE000001" not in rig.loggers)
    writer.close()


async def test_reconnecting_datalogger_gets_its_serial_once_the_silent_old_socket_is_closed(rig):
    """A rebooted datalogger's old socket stays half-open: the new connection's ping is ignored
    until the old one fails a liveness check, then the next one registers it (issue 21)."""
    r1, w1 = await asyncio.open_connection("127.0.0.1", rig.port)
    w1.write(R.encode(R.InverterRecord(F.DATA, "TAKE000001", "TAKEINV001", None, (R.Group(0, (1,)),)), 1, 6))
    await until(lambda: "TAKE000001" in rig.loggers)
    old_port = rig.loggers["TAKE000001"].port
    r2, w2 = await asyncio.open_connection("127.0.0.1", rig.port)
    w2.write(R.encode(R.Ping("TAKE000001"), 1, 6))
    await until(lambda: rig.counters["claims_refused"] == 1)
    assert rig.loggers["TAKE000001"].port == old_port                  # not taken by a ping
    await until(lambda: "TAKE000001" not in rig.loggers, timeout=5)     # silent: closed
    assert rig.counters["holders_closed"] == 1
    w2.write(R.encode(R.Ping("TAKE000001"), 1, 6))
    await until(lambda: rig.loggers.get("TAKE000001") is not None
                and rig.loggers["TAKE000001"].port == w2.get_extra_info("sockname")[1])
    state = rig.loggers["TAKE000001"]
    assert state.previous == f"127.0.0.1:{old_port}" and not state.moved
    assert state.history.startswith(f"reconnected (was port {old_port})")
    await asyncio.wait_for(r1.read(), 2)                                # the ACK, then EOF:
    assert r1.at_eof()                                                  # old socket closed
    w1.close()
    w2.close()


async def test_commands_to_one_datalogger_are_paced(rig):
    rig.command_gap = 0.1
    sim = await rig.add()
    await until(lambda: sim.datalogger in rig.loggers and rig.loggers[sim.datalogger].inverters)
    conn = rig.loggers[sim.datalogger].connection
    conn.scheduler.min_period = 0.1
    await asyncio.gather(*(rig.read_inverter_registers(sim.inverter, i) for i in range(5)))
    assert conn.scheduler.stats.min_gap() >= 0.099


async def test_hundred_dataloggers_with_concurrent_api_calls(rig):
    """100 dataloggers connected; 100 register reads through the HTTP API at once, each answered
    by its own datalogger, while the registry keeps answering."""
    import aiohttp

    from solartui.shine.http_api import HttpApi

    api = HttpApi(rig)
    http_port = await api.start("127.0.0.1", 0)
    rig.limits.connections_per_address = 200     # all 100 come from 127.0.0.1 here
    try:
        sims = [await rig.add(interval=1.0) for _ in range(100)]
        await until(lambda: sum(1 for s in sims if s.datalogger in rig.loggers
                                and rig.loggers[s.datalogger].inverters) == 100, timeout=20)
        for i, s in enumerate(sims):
            s.bank.set_raw("holding", 3, [i])
        base = f"http://127.0.0.1:{http_port}"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:
            async def get(url):
                async with session.get(url) as r:
                    return r.status, await r.json()

            calls = [get(f"{base}/inverter?command=register&inverter={s.inverter}&register=3")
                     for s in sims] + [get(f"{base}/datalogger") for _ in range(10)]
            got = await asyncio.gather(*calls)
        assert got[:100] == [(200, {"value": i}) for i in range(100)]
        assert all(status == 200 and len(body) == 100 for status, body in got[100:])
    finally:
        await api.stop()


async def test_clock_resynced_when_zone_offset_changes(rig):
    sim = await rig.add()
    await until(lambda: sim.datalogger in rig.loggers and rig.loggers[sim.datalogger].clock_sent)
    logger = rig.loggers[sim.datalogger]
    first = logger.clock_synced_at
    logger.clock_offset_sent = -1.0             # as if the zone had another offset at that sync
    rig.housekeep()
    await until(lambda: logger.clock_synced_at != first)
    assert logger.clock_offset_sent == datetime.now(ZoneInfo("Europe/Amsterdam")).utcoffset().total_seconds()


async def test_listen_failure_is_one_line():
    a = ShineServer(MAP)
    port = await a.start("127.0.0.1", 0)
    b = ShineServer(MAP)
    try:
        with pytest.raises(ShineError, match="cannot listen"):
            await b.start("127.0.0.1", port)
    finally:
        await a.stop()
        with contextlib.suppress(Exception):
            await b.stop()

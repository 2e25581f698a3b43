"""The one write gate, door by door: grottserver's HTTP PUTs, the relay link under the register
device, the Modbus limits and the journal's origin. Real peers: a ShineServer with simulated
dataloggers over loopback TCP, called over real HTTP; a pymodbus simulator for the CLI."""

from __future__ import annotations

import asyncio

import pytest

from procs import one_line_error, run_cli, simulator
from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.errors import NoAnswer, ValueRejected, WriteForbidden
from solartui.journal import Journal
from solartui.registers import catalog
from solartui.registers.write_rules import check_raw_words
from solartui.shine import frame as F
from solartui.sim.shine_logger import LoggerFaults
from test_shine_http import close_rig, make_rig

GROWATT = "growatt-protocol-ii"


@pytest.fixture
async def rig(tmp_path):
    rig = await make_rig()
    rig.server.journal = Journal(tmp_path / "journal.jsonl")
    try:
        await rig.add("SIMLOG0001", "SIMINV0001", holding={3: 100})
        yield rig
    finally:
        await close_rig(rig)


def bank(rig):
    return rig.sims["SIMLOG0001"].bank


def inverter_commands(rig) -> list[str]:
    return [c.what for c in rig.server.commands if c.inverter == "SIMINV0001"]


# --- the HTTP door -------------------------------------------------------------------------------

async def test_http_guarded_register_is_403_and_never_sent(rig):
    before = bank(rig).writes
    status, body, _ = await rig.put("/inverter?command=register&inverter=SIMINV0001"
                                    "&register=31&value=1")
    assert status == 403
    assert "flash_start" in body and "guarded" in body and "nothing sent" in body
    # a multiregister write that covers the guarded register is refused whole
    status, body, _ = await rig.put("/inverter?command=multiregister&inverter=SIMINV0001"
                                    "&startregister=30&endregister=31&value=00010001")
    assert status == 403 and "flash_start" in body
    assert bank(rig).writes == before
    assert not any(w.startswith("write") for w in inverter_commands(rig))
    assert rig.server.journal.entries() == []        # refused: no write, nothing to journal


async def test_http_out_of_range_is_400_and_never_sent(rig):
    before = bank(rig).writes
    for value, why in (("150", "outside 0..100"),):
        status, body, _ = await rig.put("/inverter?command=register&inverter=SIMINV0001"
                                        f"&register=3&value={value}")
        assert status == 400 and why in body and "active_power_rate" in body, body
    assert bank(rig).writes == before and bank(rig).get_raw("holding", 3) == [100]
    assert not any(w.startswith("write") for w in inverter_commands(rig))


async def test_http_good_value_written_read_back_and_journalled_with_its_origin(rig):
    status, body, _ = await rig.put("/inverter?command=register&inverter=SIMINV0001"
                                    "&register=3&value=80")
    assert (status, body) == (200, "OK")
    assert bank(rig).get_raw("holding", 3) == [80]
    [entry] = rig.server.journal.entries()
    assert (entry["origin"], entry["outcome"], entry["address"], entry["words"]) == \
        ("http", "verified", 3, [80])
    assert entry["mapped"] == ["active_power_rate"] and entry["unmapped"] is False
    assert entry["device"]["serial"] == "SIMINV0001"


async def test_http_unmapped_register_stays_writable_and_is_journalled_as_unmapped(rig):
    m = catalog.resolve(GROWATT)
    free = next(a for a in range(200, 4000)
                if not any(p.table == "holding" and p.address <= a <= p.end for p in m.points))
    status, body, _ = await rig.put("/inverter?command=register&inverter=SIMINV0001"
                                    f"&register={free}&value=1234")
    assert status in (200, 502), body          # the simulator may refuse an unknown register
    [entry] = rig.server.journal.entries()
    assert entry["origin"] == "http" and entry["unmapped"] is True and entry["mapped"] == []


async def test_datalogger_register_writes_stay_and_are_journalled(rig):
    status, body, _ = await rig.put("/datalogger?command=register&datalogger=SIMLOG0001"
                                    "&register=4&value=5")
    assert (status, body) == (200, "OK")
    [entry] = rig.server.journal.entries()
    assert (entry["space"], entry["register"], entry["origin"], entry["outcome"]) == \
        ("datalogger", 4, "http", "acknowledged")


# --- the MQTT door -------------------------------------------------------------------------------

async def _mqtt(rig, point: str, payload: bytes) -> dict:
    import json
    from solartui.mqtt import commands
    from solartui.mqtt.topics import Topics, device_id
    devices = {device_id("SIMINV0001"): rig.server.inverter_device("SIMINV0001")}
    msg = await commands.handle(Topics().command(device_id("SIMINV0001"), point), payload,
                                Topics(), devices.get)
    return json.loads(msg.payload)


async def test_mqtt_guarded_and_out_of_range_are_refused_and_never_sent(rig):
    before = bank(rig).writes
    body = await _mqtt(rig, "flash_start", b"1")
    assert body["status"] == "refused" and "not remote-safe" in body["reason"]
    body = await _mqtt(rig, "active_power_rate", b"150")
    assert body["status"] == "refused" and "outside 0..100" in body["reason"]
    assert bank(rig).writes == before and bank(rig).get_raw("holding", 3) == [100]
    assert not any(w.startswith("write") for w in inverter_commands(rig))
    assert rig.server.journal.entries() == []


async def test_mqtt_good_value_goes_through_the_relay_and_is_journalled_as_mqtt(rig):
    body = await _mqtt(rig, "active_power_rate", b"80")
    assert body["status"] == "verified", body
    assert bank(rig).get_raw("holding", 3) == [80]
    [entry] = rig.server.journal.entries()
    assert (entry["origin"], entry["outcome"], entry["point"]) == \
        ("mqtt", "verified", "active_power_rate")


# --- the relay link: the inverter behind a datalogger is a register device ----------------------

async def test_relay_device_identifies_polls_and_writes_through_the_gate(rig):
    dev = rig.server.inverter_device("SIMINV0001")
    assert dev.identity.serial == "SIMINV0001"
    assert str(dev.link.target) == "shine://SIMLOG0001/SIMINV0001"
    point = dev.map.point("active_power_rate")
    assert (await dev.read_point(point)).decoded.text == "100 %"
    with pytest.raises(WriteForbidden):
        await gate.plan(dev, WriteRequest.point("flash_start", "1"))
    with pytest.raises(ValueRejected, match="outside"):
        await gate.plan(dev, WriteRequest.point("active_power_rate", "101"))
    [outcome] = await gate.run(dev, WriteRequest.point("active_power_rate", "42"),
                               gate.confirmed, "tui")
    assert outcome.status == "verified" and bank(rig).get_raw("holding", 3) == [42]
    assert rig.server.journal.entries()[-1]["origin"] == "tui"


async def test_relay_input_registers_come_from_the_latest_record(rig):
    dev = rig.server.inverter_device("SIMINV0001")
    sim = rig.sims["SIMLOG0001"]
    await sim._send_data(F.DATA)                     # one live record now
    await asyncio.wait_for(_until(lambda: rig.server.find_inverter("SIMINV0001")[1].input_at),
                           5)
    readings = await dev.poll([dev.map.point("vpv1")])
    assert readings[0].ok, readings[0].error


async def _until(cond):
    while not cond():
        await asyncio.sleep(0.02)


async def test_late_reply_never_answers_the_next_request(tmp_path):
    """A reply that arrives after its request timed out is discarded and counted: the next
    request for the same register never gets the old value."""
    rig = await make_rig()
    rig.server.inverter_timeout = 0.4
    try:
        sim = await rig.add("SLOWLOG001", "SLOWINV001", holding={3: 11},
                            faults=LoggerFaults(delay=0.7))
        with pytest.raises(NoAnswer):
            await rig.server.read_inverter_registers("SLOWINV001", 3)
        sim.bank.set_raw("holding", 3, [22])
        got = []
        for _ in range(3):
            try:
                got.append(await rig.server.read_inverter_registers("SLOWINV001", 3))
            except NoAnswer:
                got.append(None)
        assert [11] not in got, got                     # never the stale value
        assert rig.server.counters["late_replies"] >= 1
    finally:
        await close_rig(rig)


# --- limits --------------------------------------------------------------------------------------

def test_fc16_is_at_most_123_registers():
    m = catalog.resolve(GROWATT)
    with pytest.raises(ValueRejected, match="1-123"):
        check_raw_words(m, 2000, [0] * 124)


async def test_relay_refuses_more_than_123_registers_before_the_wire(rig):
    dev = rig.server.inverter_device("SIMINV0001")
    sent = inverter_commands(rig)
    with pytest.raises(ValueRejected, match="1-123"):
        await gate.plan(dev, WriteRequest.raw(3000, [0] * 124))
    assert inverter_commands(rig) == sent


# --- the CLI door --------------------------------------------------------------------------------

async def test_cli_write_journal_says_cli():
    async with simulator(GROWATT) as url:
        code, out, err = await run_cli("write", url, "active_power_rate=70", "--yes")
        assert code == 0, err
        code, out, err = await run_cli("write", url, "flash_start=1", "--yes")
        assert "guarded" in one_line_error(code, err)
    entries = Journal().entries()
    assert [(e["point"], e["origin"]) for e in entries] == [("active_power_rate", "cli")]


async def test_modbus_link_never_sends_more_than_the_protocol_allows():
    """The last line of defence under every planner: FC16 > 123 or FC03/04 > 125 never leave."""
    from solartui.links.pool import ModbusLink
    from solartui.links.target import parse_target
    m = catalog.resolve(GROWATT)
    link = ModbusLink(parse_target("tcp://127.0.0.1:9?unit=1"), m.link)   # nothing listens
    try:
        with pytest.raises(ValueRejected, match="1-123"):
            await link.write(16, 1, 0, [0] * 124)
        with pytest.raises(ValueRejected, match="1-125"):
            await link.read(3, 1, 0, 126)
        assert link.stats.requests == 0
    finally:
        await link.close()

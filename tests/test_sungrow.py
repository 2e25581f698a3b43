"""Sungrow hybrid and string inverters: the maps' conventions (document number − 1, low word
first, device-type codes naming the model), the simulator over loopback TCP and a pty, the one
write gate (an out-of-range export limit never reaches the wire), identification picking the
right map and model, and `solartui check` on the CT sign."""

from __future__ import annotations

import asyncio
import json

import pytest

from procs import one_line_error, run_cli, simulator
from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.errors import MapError, ValueRejected
from solartui.registers import catalog
from solartui.registers.codec import decode
from solartui.registers.loader import parse_map
from solartui.session import Session
from solartui.sim import ModbusSimulator, serve_on_pty
from solartui.sim.sungrow import make_bank

FAST = "period=0&timeout=1000"


async def yes(plans) -> bool:
    return True


async def tcp_sim(bank):
    sim = ModbusSimulator([bank], tick_interval=0.05)
    port = await sim.start_tcp("127.0.0.1", 0)
    return sim, f"tcp://127.0.0.1:{port}?unit={bank.unit}&{FAST}"


# --- the maps ------------------------------------------------------------------------------------

def test_document_test_vector_decodes_low_word_first():
    """[HYB] §4.2: ten registers from wire 4999 = SH25T, 25.0 kW, 3P4L, 86.0 kWh, 73215.0 kWh,
    42.5 °C. Wire 4999 is the document's register 5000 (number − 1)."""
    m = catalog.resolve_register_map("sungrow-hybrid")
    words = [0x0E28, 0x00FA, 0x0001, 0x035C, 0x2BF6, 0x000B, 0x0000, 0x0000, 0x01A9, 0x0000]
    at = {a: words[a - 4999] for a in range(4999, 5009)}
    assert m.identify["device_type"].address == 4999
    assert m.models["device_type"][at[4999]] == "SH25T"
    for name, want in (("nominal_power", 25.0), ("output_type", "3P4L"),
                       ("daily_output_energy", 86.0), ("total_output_energy", 73215.0),
                       ("inside_temperature", 42.5)):
        p = m.point(name)
        d = decode(p, [at[a] for a in range(p.address, p.end + 1)])
        assert want in (d.value, d.text), name
    p = m.point("total_output_energy")
    assert p.words == "little" and decode(p, [0x000B, 0x2BF6]).value != 73215.0


def test_every_32_bit_point_is_low_word_first_and_sources_give_document_numbers():
    for map_id in ("sungrow-hybrid", "sungrow-string"):
        m = catalog.resolve_register_map(map_id)
        for p in m.points:
            if p.count == 2:
                assert p.words == "little", p.name
            doc = int(p.source.split("doc ")[1].split("-")[0].split(" ")[0].split(",")[0])
            assert doc == p.address + 1, p.name            # document number = wire + 1


def test_string_grid_power_is_the_meter_register_with_the_sign_turned():
    m = catalog.resolve_register_map("sungrow-string")
    meter, grid = m.point("meter_power"), m.point("grid_power")
    assert (grid.address, grid.alias_of) == (meter.address, "meter_power")
    words = [0xF060, 0xFFFF]                       # −4000 W on the meter: exporting
    assert decode(meter, words).value == -4000 and decode(grid, words).value == 4000


def test_models_table_is_checked_by_the_loader():
    base = ("schema: 1\ndevice: {id: t, vendor: t, name: t, families: [t], source: {}, "
            "trust: generated}\nprotocol: modbus\nlink: {}\npoints: []\nidentify:\n")
    ok = parse_map(base + "  device_type: {table: input, address: 4999, type: u16, "
                          "models: {0x0E03: SH10RT}}\n")
    assert ok.models == {"device_type": {0x0E03: "SH10RT"}}
    for bad, needle in (
            ("  serial: {table: input, address: 4989, type: ascii, count: 10, models: {1: X}}\n",
             "needs an integer type"),
            ("  device_type: {table: input, address: 4999, type: u16, models: {abc: X}}\n",
             "is not a non-negative integer"),
            ("  device_type: {table: input, address: 4999, type: u16, models: [1, 2]}\n",
             "must map codes to model names")):
        with pytest.raises(MapError, match=needle):
            parse_map(base + bad)


def test_hybrid_and_string_codes_do_not_overlap():
    hyb = catalog.resolve_register_map("sungrow-hybrid")
    st = catalog.resolve_register_map("sungrow-string")
    from solartui.devices.identify import expect_fails
    for code in hyb.models["device_type"]:
        assert expect_fails(hyb.probe, {"device_type": code}) is None
        assert expect_fails(st.probe, {"device_type": code}) is not None
    for code in st.models["device_type"]:
        assert expect_fails(st.probe, {"device_type": code}) is None
        assert expect_fails(hyb.probe, {"device_type": code}) is not None
    assert expect_fails(st.probe, {"device_type": 0}) is not None      # 0 is nobody's


# --- identification over loopback TCP -------------------------------------------------------------

@pytest.mark.parametrize("family,map_id,model", [("hybrid", "sungrow-hybrid", "SH10RT"),
                                                 ("string", "sungrow-string", "SG10RT")])
async def test_identification_picks_map_and_model(family, map_id, model):
    sim, url = await tcp_sim(make_bank(family, serial="A2251234567"))
    session = Session()
    try:
        dev = await session.connect(url)
        assert dev.map.id == map_id
        ident = dev.identity
        assert ident.values["model"] == model and ident.serial == "A2251234567"
        assert ident.reason.startswith(f"{map_id}:") and "input 4999" in ident.reason
    finally:
        await session.close()
        await sim.stop()


async def test_unknown_hybrid_code_still_picks_the_hybrid_map_and_says_unknown():
    sim, url = await tcp_sim(make_bank("hybrid", device_type=0x0E3F))
    session = Session()
    try:
        dev = await session.connect(url)
        assert dev.map.id == "sungrow-hybrid"
        assert dev.identity.values["model"] == "unknown (0x0E3F)"
    finally:
        await session.close()
        await sim.stop()


# --- reading and writing through the gate over TCP ------------------------------------------------

async def test_hybrid_reads_signs_and_writes_through_the_gate():
    bank = make_bank("hybrid")
    bank.sun = 1.0
    bank.tick()
    sim, url = await tcp_sim(bank)
    session = Session()
    try:
        dev = await session.connect(url, "sungrow-hybrid")
        r = {x.point.name: x for x in await dev.poll()}
        assert r["mppt3_voltage"].decoded.text == "not available"
        export, meter = r["export_power"].decoded.value, r["meter_active_power"].decoded.value
        assert export == -meter and export > 0          # sunny: + export (13010), − on the meter
        # installer settings, each through the one gate
        for name, value, raw in (("export_limit", "4000", [4000]),
                                 ("export_limit_enable", "enabled", [0xAA]),
                                 ("ems_mode", "forced mode", [2]),
                                 ("charge_discharge_command", "discharge", [0xBB]),
                                 ("backup_reserved_soc", "25", [25]),
                                 ("min_soc", "12.5", [125])):
            [out] = await gate.run(dev, WriteRequest.point(name, value), yes, "cli")
            assert out.status == "verified", (name, out)
            p = dev.map.point(name)
            assert bank.get_raw("holding", p.address) == raw
        # refused before the wire: out of range, not an enum value, read-only, twice in a row
        writes = bank.writes
        for name, value in (("export_limit", "30000"), ("export_limit", "-5"),
                            ("export_limit", "30000"), ("ems_mode", "8"), ("max_soc", "40")):
            with pytest.raises(ValueRejected):
                await gate.run(dev, WriteRequest.point(name, value), yes, "cli")
        with pytest.raises(Exception, match="read-only"):
            await gate.run(dev, WriteRequest.point("start_stop", "stop"), yes, "cli")
        assert bank.writes == writes
        assert bank.get_raw("holding", 13073) == [4000]
        # the 4-digit year clock (holding 4999-5004) is set and read back
        r = await dev.read_clock()
        assert r.device is not None and r.device.year >= 2024
    finally:
        await session.close()
        await sim.stop()


async def test_export_limit_the_sim_honours_is_off_at_0x55():
    bank = make_bank("hybrid")
    assert bank.export_limit() is None                 # 0x55 = disabled
    p = bank.map.point("export_limit_enable")
    bank.write(p.address, [0xAA])
    assert bank.export_limit() == 10000


# --- RS485: Modbus RTU on a pty -------------------------------------------------------------------

async def test_string_inverter_on_a_pty_identifies_reads_and_writes():
    bank = make_bank("string", serial="PTY0000001")
    wire, sim = await serve_on_pty([bank], 9600)
    session = Session()
    try:
        dev = await session.connect(f"rtu://{wire.client_path}?baud=9600&unit=1&{FAST}")
        assert dev.map.id == "sungrow-string" and dev.identity.values["model"] == "SG10RT"
        [r] = await dev.poll([dev.map.point("work_state")])
        assert r.decoded.text == "run"
        [out] = await gate.run(dev, WriteRequest.point("export_limit", "3500"), yes, "cli")
        assert out.status == "verified" and bank.get_raw("holding", 5010) == [3500]
        writes = bank.writes
        with pytest.raises(ValueRejected, match="outside"):
            await gate.run(dev, WriteRequest.point("export_limit", "25000"), yes, "cli")
        assert bank.writes == writes and bank.get_raw("holding", 5010) == [3500]
    finally:
        await session.close()
        await sim.stop()
        await wire.stop()


# --- the command line ----------------------------------------------------------------------------

async def test_cli_simulate_sungrow_read_and_check():
    async with simulator("sungrow", "--family", "string", "--tcp", "127.0.0.1:0",
                         "--sun", "0.9") as url:
        code, out, err = await run_cli("read", url, "--json")
        assert code == 0, err
        rows = {r["name"]: r for r in json.loads(out)}
        assert rows["work_state"]["text"] == "run" and rows["mppt3_voltage"]["text"] == "not available"
        assert rows["grid_power"]["value"] == -rows["meter_power"]["value"]
        code, out, err = await run_cli("read", url)
        assert code == 0 and "model SG10RT" in out and "sungrow-string at" in out, out + err
        code, out, err = await run_cli("check", url, "--window", "0.2", "--samples", "3",
                                       "--only", "identity,clock,ct_direction")
        assert code == 0, out + err
    async with simulator("sungrow", "--tcp", "127.0.0.1:0", "--sun", "0.9",
                         "--fault", "reversed-ct") as url:
        code, out, err = await run_cli("check", url, "--window", "0.2", "--samples", "3",
                                       "--only", "ct_direction")
        assert code == 1 and "reversed CT" in out, out + err


async def test_cli_family_only_with_sungrow():
    code, out, err = await run_cli("simulate", "growatt-protocol-ii", "--family", "string")
    assert "--family is only for" in one_line_error(code, err)
    code, out, err = await run_cli("simulate", "sungrow", "--family", "tower")
    assert code == 2 and "Traceback" not in err

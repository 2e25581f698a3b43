"""SunSpec against real peers: the SunSpec simulator over loopback TCP and over a pty, the CLI as
a person runs it, writes through the one gate, site logging, and the decoder fed random words."""

from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given, strategies as st

from solartui.devices.sunspec_device import (
    SunSpecByName, SunSpecDevice, walk_chain,
)
from solartui.errors import ValueRejected
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import sunspec as S
from solartui.registers.model import LinkSpec
from solartui.registers.sunspec_codec import NOT_IMPLEMENTED, decode
from solartui.session import Session
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.serial_wire import serve_on_pty
from solartui.sim.sunspec_bank import SunSpecBank

from gate_help import write_one
from procs import one_line_error, run_cli

MODELS = [1, 103, 120, 121, 122, 123]


@pytest.fixture
async def tcp_sim():
    bank = SunSpecBank(sun=0.5)
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    yield bank, sim, f"tcp://127.0.0.1:{port}?unit=1"
    await sim.stop()


# --- the definitions become a map ------------------------------------------------------------

def test_layout_from_definitions_matches_the_spec_addresses():
    """Model 103 at 40070 after a 66-long common model: the addresses sunspec.md §4 lists."""
    bank = SunSpecBank()
    m = bank.map
    assert [h.id for h in bank.ssmap.models] == MODELS
    assert m.point("m1_Mn").address == 40004 and m.point("m1_SN").address == 40052
    assert m.point("m103_A").address == 40072 and m.point("m103_W").address == 40084
    assert m.point("m103_WH").address == 40094 and m.point("m103_WH").count == 2
    assert m.point("m103_St").enum[4] == "MPPT"
    assert m.point("m103_Evt1").bits[0] == "GROUND_FAULT"
    assert bank.ssmap.points["m103_W"].sf == "m103_W_SF"
    # model 121's and 123's scale factors sit after the values that use them
    assert bank.ssmap.points["m123_WMaxLimPct"].sf == "m123_WMaxLimPct_SF"


def test_repeating_group_fills_the_model_length():
    sm = S.build_map([S.ModelHeader(160, 40002, 8 + 3 * 20)], 40000)
    names = {p.name for p in sm.device_map.points}
    assert {"m160_module1_DCA", "m160_module3_DCEvt"} <= names
    assert "m160_module4_DCA" not in names
    assert sm.points["m160_module2_DCA"].sf == "m160_DCA_SF"


def test_unknown_and_short_models_are_said_not_guessed():
    sm = S.build_map([S.ModelHeader(1, 40002, 15), S.ModelHeader(64999, 40019, 4)], 40000)
    assert any("non-standard length 15" in n for n in sm.notes)
    assert any("64999" in n and "not in the SunSpec definitions" in n for n in sm.notes)
    assert all(p.end <= 40018 for p in sm.device_map.points)


def test_writable_points_have_ranges_or_are_guarded():
    m = SunSpecBank().map
    assert m.point("m123_WMaxLimPct").range == (0, 100) and m.point("m123_WMaxLimPct").writable
    assert m.point("m123_Conn").enum == {0: "DISCONNECT", 1: "CONNECT"}
    assert m.point("m123_Conn").writable
    assert not m.point("m121_WMax").writable          # RW in SunSpec, but no range known
    assert not m.point("m103_W").writable


# --- the decoder fed random words -------------------------------------------------------------

TYPES = sorted(set(S.TYPES) - {"pad"})
SIZES = {"string": 8, "int64": 4, "uint64": 4, "acc64": 4, "float64": 4, "ipv6addr": 8,
         "eui48": 4, "int32": 2, "uint32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2,
         "ipaddr": 2, "float32": 2}


@given(st.sampled_from(TYPES), st.data(), st.one_of(st.none(), st.integers(-10, 10),
                                                     st.just("missing")))
def test_decoder_takes_any_words(sstype, data, sf):
    size = SIZES.get(sstype, 1)
    words = data.draw(st.lists(st.integers(0, 0xFFFF), min_size=size, max_size=size))
    bank_map = S.build_map([S.ModelHeader(1, 40002, 66)], 40000).device_map
    point = bank_map.point("m1_Mn")
    d = decode(point, sstype, words, sf)
    assert isinstance(d.text, str) and d.text
    assert d.words == tuple(words)
    if d.value is None:
        assert d.text == NOT_IMPLEMENTED or "scale factor" in d.text or "invalid" in d.text
    elif isinstance(d.value, float):
        assert math.isfinite(d.value)


@pytest.mark.parametrize("sstype,words", [
    ("int16", [0x8000]), ("uint16", [0xFFFF]), ("acc16", [0]), ("enum16", [0xFFFF]),
    ("bitfield16", [0xFFFF]), ("sunssf", [0x8000]), ("int32", [0x8000, 0]),
    ("uint32", [0xFFFF, 0xFFFF]), ("acc32", [0, 0]), ("bitfield32", [0xFFFF, 0xFFFF]),
    ("float32", [0x7FC0, 0]), ("float32", [0xFFC0, 1]), ("string", [0] * 8),
    ("uint64", [0xFFFF] * 4), ("int64", [0x8000, 0, 0, 0]), ("acc64", [0] * 4),
])
def test_sentinels_read_not_implemented(sstype, words):
    point = S.build_map([S.ModelHeader(1, 40002, 66)], 40000).device_map.point("m1_DA")
    assert decode(point, sstype, words, -2).text == NOT_IMPLEMENTED


def test_scale_factor_sign_and_missing_sf():
    m = SunSpecBank().map
    p = m.point("m103_W")
    assert decode(p, "int16", [0xFF9C], 1).text == "-1000 W"       # -100 × 10
    assert decode(p, "int16", [1234], -2).value == 12.34
    assert "scale factor not implemented" in decode(p, "int16", [1234], "missing").text
    f = m.point("m1_DA")
    assert decode(f, "float32", list(divmod(int.from_bytes(struct.pack(">f", 49.5), "big"),
                                            0x10000)), None).value == 49.5


# --- over loopback TCP ------------------------------------------------------------------------

async def test_identified_without_a_map_and_read_with_scale_factors(tcp_sim):
    bank, _sim, url = tcp_sim
    s = Session()
    try:
        dev = await s.connect(url + "&period=0")
        assert isinstance(dev, SunSpecDevice)
        assert dev.identity.reason.startswith("sunspec: SunS at 40000, models 1,103,120,121,122,123")
        assert dev.identity.serial == "SIM0000001"
        assert dev.identity.values["manufacturer"] == "SunSim"
        assert dev.map.vendor == "SunSim (SunSpec)"
        readings = {r.point.name: r for r in await dev.poll()}
        assert all(r.ok for r in readings.values())
        assert readings["m103_Hz"].decoded.text == "50.01 Hz"
        assert readings["m103_PhVphA"].decoded.value == 230.1
        assert readings["m103_VAr"].decoded.text == NOT_IMPLEMENTED
        assert readings["m103_St"].decoded.text == "MPPT"
        assert readings["m122_PVConn"].decoded.text == "CONNECTED, AVAILABLE, OPERATING"
        assert readings["m1_SN"].decoded.value == "SIM0000001"
    finally:
        await s.close()


async def test_a_poll_reads_each_model_in_one_request(tcp_sim):
    """Values and their scale factors from one instant: six models, six reads."""
    bank, sim, url = tcp_sim
    s = Session()
    try:
        dev = await s.connect(url + "&period=0", "sunspec")
        before = sim.requests
        await dev.poll()
        assert sim.requests - before == len(MODELS)
    finally:
        await s.close()


async def test_power_limit_through_the_gate(tcp_sim):
    bank, _sim, url = tcp_sim
    s = Session()
    try:
        dev = await s.connect(url + "&period=0", "sunspec")
        out = await write_one(dev, await dev.plan_write("m123_WMaxLimPct", "40"))
        assert out.status == "verified", out.detail
        assert bank.point_words(123, "WMaxLimPct") == [400]          # SF -1
        out = await write_one(dev, await dev.plan_write("m123_WMaxLim_Ena", "ENABLED"))
        assert out.status == "verified"
        bank.tick()
        assert bank.point_words(103, "W")[0] <= 2000 + 20
        for bad in ("101", "40.05", "-1"):
            with pytest.raises(ValueRejected):
                await dev.plan_write("m123_WMaxLimPct", bad)
        with pytest.raises(ValueRejected):
            await dev.plan_write("m123_Conn", "2")
        # twice in a hurry: the same value, the same outcome
        for _ in range(2):
            assert (await write_one(dev, await dev.plan_write("m123_Conn", "DISCONNECT"))
                    ).status == "verified"
    finally:
        await s.close()


async def test_a_scale_factor_not_implemented_refuses_the_write(tcp_sim):
    bank, _sim, url = tcp_sim
    p = bank.map.point("m123_WMaxLimPct_SF")
    bank.words[p.address] = 0x8000
    s = Session()
    try:
        dev = await s.connect(url + "&period=0", "sunspec")
        with pytest.raises(ValueRejected, match="not implemented"):
            await dev.plan_write("m123_WMaxLimPct", "50")
        r = (await dev.poll([dev.map.point("m123_WMaxLimPct")]))[0]
        assert "scale factor not implemented" in r.decoded.text
    finally:
        await s.close()


async def test_chain_without_end_marker_and_model_id_zero():
    bank = SunSpecBank(models=(1, 103))
    del bank.words[bank.end], bank.words[bank.end + 1]          # SMA STP: no end model
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    try:
        link = pool.get(parse_target(f"tcp://127.0.0.1:{port}?unit=1&period=0"), LinkSpec())
        models, notes = await walk_chain(link, 1, 40000)
        assert [m.id for m in models] == [1, 103] and "no end marker" in notes[0]
        bank.words[bank.end], bank.words[bank.end + 1] = 0, 0       # Kostal: id 0
        models, notes = await walk_chain(link, 1, 40000)
        assert [m.id for m in models] == [1, 103] and "model id 0" in notes[0]
    finally:
        await pool.close()
        await sim.stop()


async def test_marker_at_base_0_is_found_first():
    bank = SunSpecBank(models=(1, 101), base=0)
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    s = Session()
    try:
        dev = await s.connect(f"tcp://127.0.0.1:{port}?unit=1&period=0")
        assert dev.identity.reason.startswith("sunspec: SunS at 0, models 1,101")
    finally:
        await s.close()
        await sim.stop()


async def test_a_growatt_is_never_read_at_30000_or_above(growatt_map):
    """growatt-modbus.md §4.10: the SunSpec probes at 40000/50000 run only if nothing low fits."""
    from solartui.sim.register_bank import RegisterBank
    bank = RegisterBank(growatt_map, unit=1)
    seen = []
    read = bank.read

    def spy(table, address, count):
        seen.append(address)
        return read(table, address, count)
    bank.read = spy
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    s = Session()
    try:
        dev = await s.connect(f"tcp://127.0.0.1:{port}?unit=1&period=0")
        assert dev.map.id == "growatt-protocol-ii"
        assert dev.identity.reason.startswith("growatt-protocol-ii: ")
        assert seen and max(seen) < 30000
    finally:
        await s.close()
        await sim.stop()


async def test_faults_give_one_clear_line():
    sim = ModbusSimulator([SunSpecBank()], faults=Faults(exception=4))
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        code, out, err = await run_cli("read", f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300",
                                       "--map", "sunspec")
        line = one_line_error(code, err)
        assert "no SunSpec device" in line and "exception 4" in line
    finally:
        await sim.stop()


# --- over a pty at 9600 ------------------------------------------------------------------------

async def test_over_a_pty_at_9600():
    bank = SunSpecBank(sun=0.4)
    wire, sim = await serve_on_pty([bank], baud=9600)
    s = Session()
    try:
        dev = await s.connect(f"rtu://{wire.client_path}?baud=9600&unit=1&period=0")
        assert isinstance(dev, SunSpecDevice)
        assert "SunS at 40000" in dev.identity.reason
        readings = await dev.poll()
        assert all(r.ok for r in readings)
        out = await write_one(dev, await dev.plan_write("m123_WMaxLimPct", "75.5"))
        assert out.status == "verified"
    finally:
        await s.close()
        await sim.stop()
        await wire.stop()


# --- the CLI as a person runs it ---------------------------------------------------------------

async def test_cli_read_names_what_it_picked_and_scan_says_the_same(tcp_sim):
    _bank, _sim, url = tcp_sim
    code, out, err = await run_cli("read", url + "&period=0", "m103_W", "m103_VAr")
    assert code == 0, err
    assert "identified sunspec: SunS at 40000, models 1,103,120,121,122,123" in out
    assert "not implemented" in out
    code, out, err = await run_cli("read", url + "&period=0", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["m103_VAr"]["text"] == NOT_IMPLEMENTED and rows["m103_VAr"]["value"] is None


async def test_scan_reports_the_reason(tcp_sim):
    from solartui.discovery.network import identify_modbus_tcp
    _bank, _sim, url = tcp_sim
    port = int(url.split(":")[2].split("?")[0])
    found = await identify_modbus_tcp("127.0.0.1", port, timeout=1.0)
    assert found.map_id == "sunspec" and found.serial == "SIM0000001"
    assert found.why.startswith("sunspec: SunS at 40000")
    assert found.as_json()["why"] == found.why


async def test_maps_list_shows_the_sunspec_models():
    code, out, _err = await run_cli("maps", "list")
    assert code == 0 and "sunspec" in out and "103" in out
    code, out, _err = await run_cli("maps", "list", "--sunspec")
    assert code == 0 and any(line.split()[:2] == ["123", "controls"] for line in out.splitlines())


async def test_site_logging_a_sunspec_device(tcp_sim, tmp_path):
    from solartui.site.logger import SiteLogger
    from solartui.site.site_file import load_site
    _bank, _sim, url = tcp_sim
    site = tmp_path / "site.yaml"
    site.write_text(f"""schema: 1
site: ss
period: 5
devices:
  - name: inv
    target: "{url}&period=0"
    map: sunspec
    points: [m103_W, m103_Hz, m103_VAr, m160_module1_DCA]
""")
    logger = SiteLogger(load_site(site), echo=False)
    logger.open()
    try:
        run = logger.runs[0]
        assert isinstance(run.device, SunSpecByName)
        cells, note, _status = await run.read()
    finally:
        await logger.close()
    assert cells[1] == "50.01" or cells[1].startswith("50.01")
    assert "not offered by this device (model 160" in note


async def test_simulate_sunspec_cli_over_a_pty_with_a_fault():
    from procs import simulator
    async with simulator("sunspec", "--pty", "--serial", "PTY0000042") as url:
        code, out, err = await run_cli("read", url + "&period=0", "m1_SN", "m103_St")
        assert code == 0, err
        assert "PTY0000042" in out and "identified sunspec: SunS at 40000" in out
    async with simulator("sunspec", "--tcp", "127.0.0.1:0", "--fault", "silent") as url:
        code, _out, err = await run_cli("read", url + "&period=0&timeout=200")
        assert "no answer" in one_line_error(code, err)
    code, _out, err = await run_cli("simulate", "sunspec", "--fault", "reversed-ct")
    assert "not for 'simulate sunspec'" in one_line_error(code, err)


async def test_identification_drops_the_growatt_pacing_once_the_marker_answers(tcp_sim):
    """Unknown device, default pacing: the safe single reads before the marker are 850 ms apart
    (a Growatt may be listening), the chain walk after "SunS" is not (no Growatt says SunS)."""
    from solartui.traffic import TrafficLog
    _bank, _sim, url = tcp_sim
    traffic = TrafficLog()
    s = Session(traffic=traffic)
    try:
        dev = await s.connect(url)
    finally:
        await s.close()
    assert dev.kind == "sunspec"
    sent = [f for f in traffic.entries if getattr(f, "direction", "") == "tx"]
    # Modbus TCP: function 3 at byte 7, start address at 8-9
    starts = [int.from_bytes(f.data[8:10], "big") for f in sent]
    marker = starts.index(40000)
    before = [b.time - a.time for a, b in zip(sent[:marker], sent[1:marker + 1])]
    after = [b.time - a.time for a, b in zip(sent[marker:], sent[marker + 1:])]
    assert len(after) >= 7 and before
    assert min(before) >= 0.8                       # paced: the period is a floor
    assert sorted(after)[len(after) // 2] < 0.4     # the walk: back to back (generous)

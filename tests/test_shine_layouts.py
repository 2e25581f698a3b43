"""Each datalogger's records are decoded with its own generation's map (shine/layouts.py).

The references are real records: grott's grotttest record and the sciurius protocol-02 capture
(legacy V3.15 inverters, shared/vectors/shine.json) and grott's SPF test record. Measured against
grott's own decode: Pac 505.1 W, Fac 50.01 Hz, 26.9 °C. Before this, `serve` decoded the legacy
records with the Protocol II map and showed Pac as "ipv3 505.1 A".
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import aiohttp
import pytest

from solartui.registers import catalog
from solartui.shine import frame as F
from solartui.shine import layouts as L
from solartui.shine import records as R
from solartui.shine.http_api import HttpApi
from solartui.shine.server import ShineServer
from solartui.shine.values import record_values
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import SimulatedDatalogger

VECTORS = {v["name"]: v for v in json.loads(
    (Path(__file__).parent / "vectors" / "shine.json").read_text())}

# grott tests/test_grottdata (layout T06NNNNSPF): a real protocol-06 record of SPF GYH2BLL080,
# with grott's decode in that file (op_watt 48.0, bat_Volt 53.1, batterySoc 100, BatWatt 59.0)
SPF_RECORD = bytes.fromhex(
    "00a10006015f010403362b47223536764b5e7761747447726f7761747447726f776174744772282e2946360b3e5f4f51"
    "747447726f7761747447726f7761747447726f7776707e4b6670746174746b726d7761747447726f7761747447726f77"
    "61747446926f7765967447726f7761747453cc6f1361747447726f7f4167fc47726e776077745c66d17761747447726f"
    "7761747443726b7761747447726f7761747447726f77613a51475f6f2e61747447726f776174554772306e6174744772"
    "6f7761747447726f7763c5744772647761323c47726f7761747447726f7761747447726f77617475e3726f76c5747445"
    "3c6f7761747447726f7761747447726f7c6174320f726f773b74f2b88f6f769ebf7447726e7761747447726f7761742b"
    "5e724e10ba13af20a908ac06af7447726f7761747447726f7761747447726f7761747447726f7761747447726f776174"
    "7447726f7761747447726f7761747447726f7761744b2f")


def record(name: str):
    return R.parse_from_logger(F.decode_frame(bytes.fromhex(VECTORS[name]["hex"])))


def decoded(rec, layout) -> dict:
    return {k: v["value"] for k, v in record_values(layout.device_map, rec).as_json()["values"].items()}


# --- the choice, from records alone ---------------------------------------------------------------

def test_grotttest_record_decodes_with_the_legacy_map():
    rec = record("p06_0x04_data_grotttest")
    layout = L.choose(rec.groups)
    assert layout.known and layout.device_map.id == "growatt-legacy"
    v = decoded(rec, layout)
    assert (v["pac"], v["fac"], v["temperature"]) == (505.1, 50.01, 26.9)
    assert (v["vpv1"], v["ppv"], v["eac_total"], v["epv_total"]) == (230.9, 549.0, 4293.6, 4511.0)
    # what the Protocol II map made of the same words: the bug this replaces
    wrong = decoded(rec, L.Layout("x", catalog.resolve("growatt-protocol-ii"), ""))
    assert wrong["ipv3"] == 505.1 and wrong["pac"] != 505.1


def test_sciurius_capture_decodes_with_the_legacy_map_and_its_announce_agrees():
    ann = record("p02_0x03_announce")
    announced = L.from_announce(ann.groups)
    assert announced[0] == L.LEGACY
    rec = record("p02_0x04_data")
    layout = L.choose(rec.groups, announced)
    assert layout.device_map.id == "growatt-legacy" and "announce" in layout.why
    expect = VECTORS["p02_0x04_data"]["decoded"]["values_legacy_v315_input"]
    v = decoded(rec, layout)
    assert v["pac"] == expect["input_11_12_pac_W"] == 211.6
    assert v["fac"] == expect["input_13_fac_Hz"]
    assert v["temperature"] == expect["input_32_temperature_C"]
    assert v["epv2_total"] == expect["input_54_55_epv2_total_kWh"]


def test_spf_record_decodes_with_the_spf_map_as_grott_does():
    rec = R.parse_from_logger(F.decode_frame(SPF_RECORD))
    assert [(g.start, g.end) for g in rec.groups] == [(0, 44), (45, 89), (90, 134)]
    layout = L.choose(rec.groups)
    assert layout.device_map.id == "growatt-spf"
    v = decoded(rec, layout)
    assert v["output_active_power"] == 48.0 and v["battery_voltage"] == 53.1
    assert v["battery_soc"] == 100 and v["output_voltage"] == 208.0
    assert v["output_frequency"] == 50.0 and v["inverter_temperature"] == 25.6
    assert v["pv_energy_total"] == 2434.5 and v["battery_discharge_energy_total"] == 1799.2
    assert v["battery_power"] == 59.0


@pytest.mark.parametrize("groups, announced, says", [
    ([R.Group(3000, (0,) * 125)], None, "3000+"),
    ([R.Group(7, (0,) * 30)], None, "match no known"),
    ([R.Group(0, (0,) * 125)], (L.SPF, "announce: holding 43 device type 3400 (SPF)"), "but"),
    ([R.Group(0, (0,) * 45), R.Group(45, (0,) * 45)], (L.PROTOCOL_II, "announce: 207"), "but"),
])
def test_records_that_fit_no_family_are_unknown_not_guessed(groups, announced, says):
    layout = L.choose(groups, announced)
    assert not layout.known and layout.device_map is None
    assert layout.text.startswith("unknown layout: ") and says in layout.text


def test_an_spf_announce_wins_over_a_two_group_record():
    groups = [R.Group(0, (0,) * 45), R.Group(45, (0,) * 45)]
    layout = L.choose(groups, (L.SPF, "announce: holding 43 device type 3401 (SPF)"))
    assert layout.device_map.id == "growatt-spf"


# --- the server, end to end over loopback ---------------------------------------------------------

@pytest.fixture
async def server():
    srv = ShineServer(tz="UTC", command_gap=0.0, logger_timeout=1.0, sync_on_announce=False)
    port = await srv.start("127.0.0.1", 0)
    srv.port = port
    try:
        yield srv
    finally:
        await srv.stop()


async def until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def send_frames(port: int, *frames: bytes):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for wire in frames:
        writer.write(wire)
        await writer.drain()
        await asyncio.wait_for(reader.read(64), 5)           # the server's ACK
    return reader, writer


def latest(srv, inverter):
    for lg in srv.loggers.values():
        inv = lg.inverters.get(inverter)
        if inv is not None and inv.latest is not None:
            return inv
    return None


async def test_server_decodes_the_real_legacy_records_right(server):
    _r, w = await send_frames(server.port, bytes.fromhex(VECTORS["p06_0x04_data_grotttest"]["hex"]))
    await until(lambda: latest(server, "QMB2823261"))
    inv = latest(server, "QMB2823261")
    j = inv.as_json()
    assert j["layout"].startswith("growatt-legacy")
    vals = j["latest"]["values"]
    assert (vals["pac"]["value"], vals["pac"]["unit"]) == (505.1, "W")
    assert (vals["fac"]["value"], vals["fac"]["unit"]) == (50.01, "Hz")
    assert (vals["temperature"]["value"], vals["temperature"]["unit"]) == (26.9, "°C")
    assert "ipv3" not in vals and "ipv8" not in vals
    w.close()
    # protocol 02: the announce first (it says legacy), then the data
    _r, w = await send_frames(server.port, bytes.fromhex(VECTORS["p02_0x03_announce"]["hex"]),
                              bytes.fromhex(VECTORS["p02_0x04_data"]["hex"]))
    await until(lambda: latest(server, "OP24510017"))
    inv = latest(server, "OP24510017")
    assert inv.announced_family[0] == L.LEGACY
    assert inv.identity["serial"] == "OP24510017"
    assert {r.point.name: r.decoded.value for r in inv.latest.readings}["pac"] == 211.6
    assert server.inverter_device("OP24510017").map.id == "growatt-legacy"
    w.close()


async def test_unknown_layout_is_said_in_the_json_the_api_and_the_log(server, caplog):
    api = HttpApi(server)
    http_port = await api.start("127.0.0.1", 0)
    rec = R.InverterRecord(F.DATA, "LOGX000001", "INVX000001", None, (R.Group(3000, tuple(range(125))),))
    caplog.set_level(logging.WARNING, logger="solartui.shine")
    try:
        r, w = await send_frames(server.port, R.encode(rec, 5, 6))
        await until(lambda: latest(server, "INVX000001"))
        j = latest(server, "INVX000001").as_json()["latest"]
        assert j["layout"].startswith("unknown layout:") and j["values"] == {}
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{http_port}/inverter",
                             params={"command": "values", "inverter": "INVX000001"}) as resp:
                assert resp.status == 200
                body = await resp.json(content_type=None)
        assert body["layout"].startswith("unknown layout:")
        assert body["latest"]["values"] == {}
        assert any("unknown layout" in r.getMessage() for r in caplog.records)
        # said once, not once per record
        w.write(R.encode(rec, 6, 6))
        await w.drain()
        await asyncio.wait_for(r.read(64), 5)
        await until(lambda: latest(server, "INVX000001").records == 2)
        assert sum("unknown layout" in r.getMessage() for r in caplog.records) == 1
        w.close()
    finally:
        await api.stop()


# --- the simulated datalogger sends each family's real record shape ------------------------------

def grott_offset(record_groups, register: int, protocol: int = 6) -> int:
    """Where a grottserver-style consumer finds an input register in the frame: after the
    header, serials, time stamp and group count, each group's [start][end] then its words."""
    pos = 8 + 2 * (30 if protocol == 6 else 10) + 6 + 1
    for start, end in record_groups:
        pos += 4
        if start <= register <= end:
            return pos + 2 * (register - start)
        pos += 2 * (end - start + 1)
    raise AssertionError(f"register {register} not in the record")


@pytest.mark.parametrize("family, map_id, point, groups", [
    ("legacy", "growatt-legacy", "pac", [(0, 44), (45, 89)]),
    ("spf", "growatt-spf", "battery_voltage", [(0, 44), (45, 89), (90, 134)]),
    ("sph", "growatt-protocol-ii", "soc", [(0, 124), (1000, 1124)]),
])
async def test_simulated_datalogger_families_are_decoded_right(server, family, map_id, point, groups):
    m = catalog.resolve(map_id)
    bank = RegisterBank(m, identity={"serial": f"INV{family[:3].upper()}0001"})
    frames: list[bytes] = []
    sim = SimulatedDatalogger(bank, datalogger=f"LOG{family[:3].upper()}0001", interval=0.2,
                              family=family)
    real_send = sim._send

    async def spy(wire: bytes):
        frames.append(wire)
        await real_send(wire)
    sim._send = spy
    await sim.start("127.0.0.1", server.port)
    try:
        await until(lambda: latest(server, sim.inverter))
        inv = latest(server, sim.inverter)
        assert inv.layout_text.startswith(map_id)
        assert [(g.start, g.start + len(g.words) - 1) for g in inv.latest.groups] == groups
        got = {r.point.name: r.decoded.value for r in inv.latest.readings if r.decoded}
        p = m.point(point)
        data = next(F.decode_frame(f) for f in frames if f[7] == F.DATA)
        assert data.type == F.DATA
        # a grottserver-style consumer: fixed byte offsets from the group structure
        plain = data.payload
        off = grott_offset(groups, p.address) - 8
        raw = int.from_bytes(plain[off:off + 2 * p.count], "big")
        value = round(raw * p.scale, 6)
        assert got[point] == pytest.approx(value)
    finally:
        await sim.stop()


async def test_cli_simulate_shine_family_legacy_is_decoded_with_the_legacy_map(server):
    import sys
    root = Path(__file__).resolve().parent.parent
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "simulate", "shine", "--family", "legacy",
        "--server", f"127.0.0.1:{server.port}", "--interval", "0.2", "--inverter", "CLILEGACY1",
        cwd=root, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert "growatt-legacy" in line and "0-44, 45-89" in line
        await until(lambda: latest(server, "CLILEGACY1"), timeout=20)
        inv = latest(server, "CLILEGACY1")
        assert inv.announced_family[0] == L.LEGACY
        assert inv.layout_text.startswith("growatt-legacy")
        assert "pac" in {r.point.name for r in inv.latest.readings}
    finally:
        proc.terminate()
        await proc.wait()


async def test_server_pane_reads_a_legacy_inverters_own_holding_groups(server):
    from solartui.tui.screens import server_reads
    bank = RegisterBank(catalog.resolve("growatt-legacy"), identity={"serial": "INVLEG0002"})
    sim = SimulatedDatalogger(bank, datalogger="LOGLEG0002", interval=5, family="legacy")
    await sim.start("127.0.0.1", server.port)
    try:
        await asyncio.wait_for(sim.announced.wait(), 5)
        await until(lambda: any("INVLEG0002" in lg.inverters for lg in server.loggers.values()))
        text = await asyncio.wait_for(server_reads.holding_all(server, "INVLEG0002"), 20)
        assert text.startswith("90 holding registers")          # 0-44 and 45-89, not 0-249
    finally:
        await sim.stop()


def test_a_server_map_stands_in_for_protocol_ii_only():
    legacy = catalog.resolve("growatt-legacy")
    groups = [R.Group(0, (0,) * 125), R.Group(1000, (0,) * 125)]
    assert L.choose(groups, None, legacy).device_map.id == "growatt-protocol-ii"
    rec = record("p06_0x04_data_grotttest")
    assert L.choose(rec.groups, None, catalog.resolve("growatt-protocol-ii")).device_map.id == \
        "growatt-legacy"

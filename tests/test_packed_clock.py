"""A clock packed two fields a register (Deye/Sunsynk: year-2000/month, day/hour, minute/second):
the words, the map's rules for them, and a sync of the simulated Deye over a Solarman logger —
the way these inverters are reached on a LAN — with the words on the wire checked byte by byte."""

from __future__ import annotations

from datetime import datetime

import pytest

from solartui.devices.clock import decode_clock, encode_clock
from solartui.errors import CodecError, MapError
from solartui.links import solarman_frame as F
from solartui.registers import catalog
from solartui.registers.clock_words import fields_problem, pack, unpack
from solartui.registers.loader import parse_map
from solartui.sim.register_bank import RegisterBank
from solartui.sim.solarman_logger import SolarmanLogger

from procs import run_cli as cli

PACKED = ["year/month", "day/hour", "minute/second"]
SERIAL = 1234567890


def test_words_pack_high_byte_first_and_back():
    values = {"year": 26, "month": 12, "day": 4, "hour": 18, "minute": 7, "second": 59}
    words = pack(PACKED, values)
    assert words == [26 << 8 | 12, 4 << 8 | 18, 7 << 8 | 59]
    assert unpack(PACKED, words) == values
    with pytest.raises(CodecError, match="does not fit a byte"):
        pack(PACKED, {**values, "year": 2026})


def test_the_deye_maps_declare_their_packed_clock():
    for map_id, address in (("deye-hybrid", 22), ("deye-hybrid-3p-lv", 62)):
        spec = catalog.resolve(map_id).clock
        assert spec.address == address and list(spec.fields) == PACKED
        when = datetime(2026, 12, 4, 18, 7, 59)
        words = encode_clock(spec, when)
        assert words == [0x1A0C, 0x0412, 0x073B] and decode_clock(spec, words) == when


@pytest.mark.parametrize("fields,words", [
    (["year/month", "day/hour", "minute/sec"], "'minute/sec' is not one of"),
    (["year/month/day"], "nor two of them packed"),
    (["year/month", "month/day"], "at most once"),
    ([], "must list"),
])
def test_bad_clock_fields_say_why(fields, words):
    assert words in fields_problem(fields)


BASE = """schema: 1
device: {id: tiny, vendor: Test, name: Tiny}
protocol: modbus
link: {unit: 1}
clock: CLOCK
points:
  - {name: rate, doc: Rate, table: holding, address: 3, type: u16, unit: "%", access: rw, range: [0, 100]}
"""


@pytest.mark.parametrize("clock,words", [
    ("{table: holding, address: 22, fields: [year/month, day/hour, minute/second], year: full}",
     "m.yaml:5: clock: a packed year holds one byte"),
    ("{table: holding, address: 22, fields: [year/month, day/hour, minute/secs]}",
     "m.yaml:5: clock: fields: 'minute/secs' is not one of"),
])
def test_a_map_with_a_bad_packed_clock_is_refused_on_its_line(clock, words):
    with pytest.raises(MapError) as info:
        parse_map(BASE.replace("CLOCK", clock), "m.yaml")
    assert any(words in f for f in info.value.findings), info.value.findings


def test_a_good_packed_clock_loads():
    m = parse_map(BASE.replace("CLOCK", "{table: holding, address: 22, fields: [year/month, "
                               "day/hour, minute/second], year: offset2000}"), "m.yaml")
    assert m.clock.fields == tuple(PACKED)


@pytest.fixture
async def deye_logger():
    bank = RegisterBank(catalog.resolve("deye-hybrid"), unit=1, clock_offset=-754.3,
                        identity={"serial": "2305136043"})
    lg = SolarmanLogger(bank, serial=SERIAL)
    await lg.start()
    lg.bank = bank
    lg.url = f"solarman://127.0.0.1:{lg.port}?serial={SERIAL}&unit=1&period=0&timeout=1000"
    yield lg
    await lg.stop()


async def test_the_simulated_deye_reads_its_clock_packed(deye_logger):
    code, out, err = await cli("time", deye_logger.url, "--map", "deye-hybrid")
    assert code == 0, err
    assert "drift" in out and "-75" in out                 # about −754 s behind the host


async def test_a_deye_clock_sync_over_a_solarman_logger(deye_logger):
    code, out, err = await cli("time", deye_logger.url, "--map", "deye-hybrid", "--sync", "--yes")
    assert code == 0 and "clock: verified" in out, out + err
    [(arrival, written)] = deye_logger.bank.clock_sets
    assert abs((written - datetime.fromtimestamp(arrival)).total_seconds()) <= 0.75
    writes = [r for r in (F.parse_rtu_request(F.parse_request(f)) for f in deye_logger.frames)
              if r[1] in (6, 16)]
    assert len(writes) == 1
    unit, fn, address, words = writes[0]
    assert (unit, fn, address) == (1, 16, 22)
    assert words == [(written.year - 2000) << 8 | written.month, written.day << 8 | written.hour,
                     written.minute << 8 | written.second]

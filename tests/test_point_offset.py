"""A point's `offset` (raw units, taken before the scale: Deye's temperatures, ha-solarman's
`offset`): read, written through the codec's checks in engineering units, refused where it has no
meaning, and its range checked against the type after the offset."""

from __future__ import annotations

import pytest

from solartui.errors import MapError, ValueRejected
from solartui.registers.codec import decode, encode_value
from solartui.registers.loader import parse_map
from solartui.sim.register_bank import RegisterBank

MAP = """schema: 1
device: {id: tiny, vendor: Test, name: Tiny}
protocol: modbus
link: {unit: 1}
points:
  - {name: temp, doc: Temp, table: holding, address: 3, type: u16, scale: 0.1, offset: 1000, unit: °C, access: rw, range: [-20, 60]}
  - {name: plain, doc: Plain, table: holding, address: 4, type: s16, unit: W}
EXTRA"""


def tiny(extra: str = ""):
    return parse_map(MAP.replace("EXTRA", extra), "m.yaml")


def test_read_and_write_in_engineering_units():
    p = tiny().point("temp")
    assert decode(p, [1254]).value == 25.4 and decode(p, [1254]).text == "25.4 °C"
    assert decode(p, [946]).value == -5.4
    assert encode_value(p, 25.4) == [1254] and encode_value(p, "-5.4") == [946]
    with pytest.raises(ValueRejected, match="outside -20..60"):
        encode_value(p, 61)
    with pytest.raises(ValueRejected, match="not a multiple of 0.1"):
        encode_value(p, 20.05)


def test_the_simulator_checks_a_write_against_the_range_after_the_offset():
    bank = RegisterBank(tiny(), unit=1)
    assert bank.write(3, [1254]) is None and bank.value("temp") == 25.4
    assert bank.write(3, [1700]) == 3               # 70.0 °C: outside the range, exception 3
    assert bank.value("temp") == 25.4


@pytest.mark.parametrize("point,words", [
    ("{name: bad, doc: Bad, table: holding, address: 9, type: u16, offset: 2.5}",
     "offset must be a whole number of raw units"),
    ("{name: bad, doc: Bad, table: holding, address: 9, type: ascii, count: 2, offset: 3}",
     "on a numeric integer type"),
    ("{name: bad, doc: Bad, table: holding, address: 9, type: u16, offset: 1, enum: {0: off, 1: on}}",
     "without enum, bits or special"),
    ("{name: bad, doc: Bad, table: holding, address: 9, type: u16, scale: 0.1, offset: 1000, access: rw, range: [0, 6500]}",
     "does not fit type u16"),
])
def test_an_offset_without_meaning_is_refused_on_its_line(point, words):
    with pytest.raises(MapError) as info:
        tiny(f"  - {point}\n")
    assert any(f.startswith("m.yaml:8:") and words in f for f in info.value.findings), \
        info.value.findings

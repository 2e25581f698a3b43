"""Identification order as data: a map's `identify.probe` hint (order, first, expect, exclusive,
why), the low tier before any probe at 30000+, and the reason line naming what was picked."""

from __future__ import annotations

import pytest

from solartui.devices.identify import candidates, choose_map, expect_fails
from solartui.devices.register_device import RegisterDevice
from solartui.errors import MapError, Unidentified
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers.loader import parse_map
from solartui.registers.model import LinkSpec
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank

from conftest import GROWATT_MAP

HINT = """identify:
  probe:
{hint}
"""


def variant(map_id: str, hint: str):
    """The Growatt map under another id with a probe hint in its identify section."""
    text = GROWATT_MAP.read_text()
    text = text.replace("id: growatt-protocol-ii", f"id: {map_id}", 1)
    text = text.replace("identify:\n", HINT.format(hint=hint), 1)
    return parse_map(text, f"<{map_id}>")


def test_probe_hint_parses():
    m = variant("hinted", "    order: 40\n    first: device_type\n"
                          "    expect: {device_type: [5100, [0x2000, 0x20FF]]}\n"
                          "    exclusive: true\n    why: holding 43 device type")
    assert m.probe.order == 40 and m.probe.first == "device_type" and m.probe.exclusive
    assert m.probe.expect == {"device_type": (5100, (0x2000, 0x20FF))}
    assert "probe" not in m.identify
    assert expect_fails(m.probe, {"device_type": 0x2001}) is None
    assert "0x1234" in expect_fails(m.probe, {"device_type": 0x1234})


@pytest.mark.parametrize("hint,said", [
    ("    order: 5000", "order must be an integer 0-999"),
    ("    first: nothing", "first names no identify field"),
    ("    expect: {nothing: [1]}", "expect names no identify field"),
    ("    exclusive: maybe", "exclusive must be true or false"),
    ("    speed: 3", "unknown key 'speed'"),
])
def test_bad_probe_hints_are_findings(hint, said):
    with pytest.raises(MapError) as exc:
        variant("bad", hint)
    assert any(said in str(f) for f in exc.value.findings)


def test_order_low_tier_first_then_high(growatt_map):
    hinted = variant("hinted", "    order: 5")
    cs = candidates([growatt_map, hinted], lambda m: None, link=object(), unit=1)
    keys = [c.key for c in cs]
    assert keys == ["hinted", "sunspec@0", "growatt-protocol-ii", "sunspec@40000",
                    "sunspec@50000"]
    assert [c.high for c in cs] == [False, False, False, True, True]


@pytest.fixture
async def growatt_link(growatt_map):
    bank = RegisterBank(growatt_map, unit=1)
    seen = []
    read = bank.read

    def spy(table, address, count):
        seen.append((table, address, count))
        return read(table, address, count)
    bank.read = spy
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    link = pool.get(parse_target(f"tcp://127.0.0.1:{port}?unit=1&period=0"), LinkSpec())
    yield link, seen
    await pool.close()
    await sim.stop()


async def test_expect_rules_a_map_out_after_its_first_single_read(growatt_map, growatt_link):
    link, seen = growatt_link
    wrong = variant("wrong-family", "    order: 1\n    first: device_type\n"
                                    "    expect: {device_type: [9999]}")
    dev, ident = await choose_map([wrong, growatt_map],
                                  lambda m: RegisterDevice(m, link, 1), link=link, unit=1)
    assert dev.map.id == "growatt-protocol-ii"
    assert ident.reason.startswith("growatt-protocol-ii: serial")
    assert seen[0] == ("holding", 43, 1)            # the hinted map's one first read, alone
    assert all(a < 30000 for _t, a, _c in seen)


async def test_exclusive_fit_ends_the_search(growatt_map, growatt_link):
    link, seen = growatt_link
    sure = variant("sure", "    order: 1\n    exclusive: true\n    why: test")
    dev, ident = await choose_map([sure, growatt_map],
                                  lambda m: RegisterDevice(m, link, 1), link=link, unit=1)
    assert dev.map.id == "sure" and ident.reason.endswith("(test)")
    assert len(seen) == 1                            # nothing after the exclusive fit


async def test_nothing_fits_lists_every_try(growatt_map, growatt_link):
    link, _seen = growatt_link
    wrong = variant("wrong-family", "    first: device_type\n    expect: {device_type: [1]}")
    with pytest.raises(Unidentified) as exc:
        await choose_map([wrong], lambda m: RegisterDevice(m, link, 1), link=link, unit=1)
    text = str(exc.value)
    assert "wrong-family: device_type" in text and "sunspec" in text

"""Growatt families told apart by identification, safely: single reads, cheapest first, and never
a read at 30000+ on an SPF (growatt-modbus.md §4.10: it power-cycled SPF units). Real peers: the
Modbus simulator over loopback TCP and over a pty pair, each serving one family's map."""

from __future__ import annotations

import pytest

from solartui.devices.identify import HIGH_ADDRESS, choose_map
from solartui.devices.register_device import RegisterDevice
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import catalog
from solartui.session import merged_spec
from solartui.sim import ModbusSimulator, RegisterBank
from solartui.sim.serial_wire import serve_on_pty

FAMILIES = [("growatt-protocol-ii", "protocol version set"), ("growatt-legacy", "holding 88"),
            ("growatt-spf", "34xx")]


def modbus_maps():
    return [m for m in catalog.all_maps("modbus") if m.identify]


class Recording(RegisterBank):
    """A bank that remembers every read it was asked for, and counts the hazardous ones."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.asked: list[tuple[str, int, int]] = []

    def read(self, table, address, count):
        self.asked.append((table, address, count))
        return super().read(table, address, count)


async def identify_over(url: str):
    maps = modbus_maps()
    pool = LinkPool()
    link = pool.get(parse_target(url), merged_spec(maps))
    try:
        return await choose_map(maps, lambda m: RegisterDevice(m, link, 1))
    finally:
        await pool.close()


@pytest.mark.parametrize("map_id, why", FAMILIES)
async def test_each_family_identified_over_tcp(map_id, why):
    bank = Recording(catalog.resolve(map_id), identity={"serial": "FAM0000001"})
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        dev, ident = await identify_over(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=500")
    finally:
        await sim.stop()
    assert dev.map.id == map_id
    assert ident.reason.startswith(map_id) and why in ident.reason
    assert ident.values["serial"] == "FAM0000001"
    # one read at a time (the identification fields of one map, batched inside a Modbus read),
    # holding registers only, none in the risky tier
    assert all(t == "holding" and count <= 125 for t, _a, count in bank.asked), bank.asked
    assert all(a < HIGH_ADDRESS for _t, a, _c in bank.asked), bank.asked


async def test_spf_is_never_read_at_30000_or_above_even_when_its_device_type_is_odd():
    """An SPF whose holding 43 is not 34xx is not recognised as one: the Protocol II map fits
    it instead, and that fit still keeps the 30000+ tier (SunSpec at 40000/50000) unread."""
    bank = Recording(catalog.resolve("growatt-spf"), identity={"serial": "SPF0000001",
                                                               "device_type": 20005})
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        dev, ident = await identify_over(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=500")
    finally:
        await sim.stop()
    assert all(a < HIGH_ADDRESS for _t, a, _c in bank.asked), bank.asked
    assert dev.map.id != "growatt-spf"


async def test_spf_probe_is_alone_and_ends_the_search():
    """On an SPF the SPF probe is holding 43 alone; the fit ends the search (exclusive): the
    legacy probe after it is never read, nor anything at 30000+."""
    bank = Recording(catalog.resolve("growatt-spf"), identity={"serial": "SPF0000002"})
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        dev, _ident = await identify_over(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=500")
    finally:
        await sim.stop()
    assert dev.map.id == "growatt-spf"
    assert ("holding", 43, 1) in bank.asked
    assert ("holding", 88, 1) not in bank.asked                   # legacy's probe never ran
    assert all(a < HIGH_ADDRESS for _t, a, _c in bank.asked)


@pytest.mark.parametrize("map_id, why", FAMILIES)
async def test_each_family_identified_over_a_pty(map_id, why):
    bank = Recording(catalog.resolve(map_id), identity={"serial": "PTY0000001"})
    wire, sim = await serve_on_pty([bank], baud=9600)
    try:
        dev, ident = await identify_over(f"rtu://{wire.client_path}?unit=1&period=0&timeout=500")
    finally:
        await sim.stop()
        await wire.stop()
    assert dev.map.id == map_id and why in ident.reason
    assert all(a < HIGH_ADDRESS for _t, a, _c in bank.asked)


@pytest.mark.parametrize("map_id", ["growatt-legacy", "growatt-spf"])
async def test_live_poll_of_each_family_reads_inside_its_45_register_groups(map_id):
    m = catalog.resolve(map_id)
    bank = Recording(m)
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    try:
        link = pool.get(parse_target(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=500"), m.link)
        readings = await RegisterDevice(m, link, 1).poll()
    finally:
        await pool.close()
        await sim.stop()
    assert readings and all(r.error is None for r in readings)
    assert all(c <= 45 for _t, _a, c in bank.asked)


# --- the command line ---------------------------------------------------------------------------

def test_simulate_family_options_pick_map_and_record_shape():
    from solartui.cli.simulate_shine import check_options
    base = dict(server=None, protocol=None, datalogger=None, inverter=None, interval=None,
                map_name=None)
    assert check_options(**base)["family"] is None                      # map default: SPH shape
    for family, map_id, shape in [("legacy", "growatt-legacy", "legacy"),
                                  ("spf", "growatt-spf", "spf"),
                                  ("protocol-ii", "growatt-protocol-ii", "sph"),
                                  ("tl3", "growatt-protocol-ii", "tl3")]:
        opts = check_options(**base, family=family)
        assert (opts["map"].id, opts["family"]) == (map_id, shape)


@pytest.mark.parametrize("args, fragment", [
    (["growatt-legacy", "--family", "spf"], "--family is only for"),
    (["growatt", "--family", "spf", "--server", "127.0.0.1:1"], "only for 'simulate shine'"),
    (["growatt", "--family", "nope"], "is not a Growatt family"),
])
def test_simulate_family_mistakes_are_one_line(args, fragment):
    from click.testing import CliRunner
    from solartui.cli.main import cli
    result = CliRunner().invoke(cli, ["simulate", *args])
    assert result.exit_code != 0
    assert fragment in result.output + (result.stderr or "")

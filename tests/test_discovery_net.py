"""Network discovery on loopback only: every scan here is of 127.0.0.0/24 (or a smaller part of
it), with simulated Growatt inverters on 127.0.0.2 and 127.0.0.7 and plain listeners on other
127.0.0.x addresses. Nothing is sent outside 127.0.0.0/8; the default range (the machine's own
subnets) is computed, never scanned."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address, IPv4Network

import pytest

from solartui.discovery import network
from solartui.discovery.network import (
    LOGGER_DETAIL, NO_MAP, NO_MODBUS, local_subnets, parse_cidr, scan_hosts, scan_network,
    subnets_from_ip_json, subnets_from_proc_route,
)
from solartui.errors import SolartuiError
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank

LOOPBACK_24 = "127.0.0.0/24"
#: on loopback a closed port refuses at once, so a generous connect timeout costs nothing; the
#: default 0.3 s (for LAN hosts that drop the SYN) can lose an open port on a loaded machine
CONNECT = 5.0


def _port_free_everywhere() -> int:
    """A port nothing is bound to on any address (checked by binding the wildcard, without
    listening: nothing is sent), so a scan of 127.0.0.0/24 sees only our listeners on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


async def _start_sims(banks_by_host: dict[str, RegisterBank | list[RegisterBank]],
                      faults: dict[str, Faults] | None = None):
    """Simulators on the given 127.0.0.x addresses, all on one port; returns (port, sims)."""
    for _attempt in range(20):
        port = _port_free_everywhere()
        sims = []
        try:
            for host, banks in banks_by_host.items():
                sim = ModbusSimulator(banks, (faults or {}).get(host))
                sims.append(sim)
                await sim.start_tcp(host, port)
            return port, sims
        except OSError:
            for sim in sims:
                await sim.stop()
    raise RuntimeError("no port free on all the loopback addresses")


async def _listen(host: str, port: int, handler):
    return await asyncio.start_server(handler, host, port)


async def _silent(reader, writer):
    try:
        await reader.read()              # accepts, never answers
    finally:
        writer.close()


async def _closer(reader, writer):
    writer.close()                       # accepts and hangs up at once


@pytest.fixture
def growatt_bank(growatt_map):
    def make(serial: str, unit: int = 1) -> RegisterBank:
        return RegisterBank(growatt_map, unit=unit, identity={"serial": serial})
    return make


async def test_scan_finds_and_identifies_the_simulators(growatt_bank):
    port, sims = await _start_sims({"127.0.0.2": growatt_bank("GRW0000002"),
                                    "127.0.0.7": growatt_bank("GRW0000007")})
    logger_port = _port_free_everywhere()
    silent = await _listen("127.0.0.9", port, _silent)
    logger = await _listen("127.0.0.9", logger_port, _silent)
    seen, progress = [], []
    try:
        found = await scan_network(LOOPBACK_24, ports=(port, logger_port),
                                   logger_ports=(logger_port,), connect_timeout=CONNECT,
                                   on_found=seen.append, on_progress=progress.append)
    finally:
        for server in (silent, logger):
            server.close()
        for sim in sims:
            await sim.stop()

    assert sorted(seen, key=lambda f: f.link) == sorted(found, key=lambda f: f.link)
    on_9 = sorted([("tcp-port", f"127.0.0.9:{port}"), ("tcp-port", f"127.0.0.9:{logger_port}")],
                  key=lambda kl: int(kl[1].rpartition(":")[2]))     # by address, then port
    assert [(f.kind, f.link) for f in found] == [
        ("modbus-tcp", f"127.0.0.2:{port} unit 1"),
        ("modbus-tcp", f"127.0.0.7:{port} unit 1"),
        *on_9,
    ]                                    # nothing else in 127.0.0.0/24 on these ports
    g2, g7 = found[:2]
    plain = next(f for f in found if f.link == f"127.0.0.9:{port}")
    dongle = next(f for f in found if f.link == f"127.0.0.9:{logger_port}")
    assert g2.target == f"tcp://127.0.0.2:{port}?unit=1"
    assert g7.target == f"tcp://127.0.0.7:{port}?unit=1"
    for f, serial in ((g2, "GRW0000002"), (g7, "GRW0000007")):
        assert (f.map_id, f.vendor, f.serial) == ("growatt-protocol-ii", "Growatt", serial)
        assert f.firmware == "DH1.0" and f.model == "0x00102231"
    assert (plain.target, plain.map_id, plain.detail) == ("", None, NO_MODBUS)
    assert (dongle.target, dongle.detail) == ("", LOGGER_DETAIL)
    assert "8899" in LOGGER_DETAIL and "GivEnergy" in LOGGER_DETAIL

    assert all(p.scan == LOOPBACK_24 and p.total == 254 * 2 for p in progress)
    dones = [p.done for p in progress]
    assert dones == sorted(dones) and dones[0] == 0 and dones[-1] == 254 * 2
    assert progress[-1].fraction == 1.0


async def test_odd_peers_gateway_unit_exceptions_and_hang_ups(growatt_bank):
    port, sims = await _start_sims(
        {"127.0.0.17": growatt_bank("GRW0000017"),          # answers every read with exception 2
         "127.0.0.18": growatt_bank("GRW0000255", unit=255)},  # a gateway: unit 1 stays silent
        faults={"127.0.0.17": Faults(exception=2)})
    closer = await _listen("127.0.0.19", port, _closer)
    try:
        found = await scan_network("127.0.0.16/28", ports=(port,), connect_timeout=CONNECT)
    finally:
        closer.close()
        for sim in sims:
            await sim.stop()
    by_host = {f.link.split(":")[0]: f for f in found}
    assert sorted(by_host) == ["127.0.0.17", "127.0.0.18", "127.0.0.19"]
    exc = by_host["127.0.0.17"]
    assert (exc.kind, exc.target, exc.map_id, exc.detail) == (
        "modbus-tcp", f"tcp://127.0.0.17:{port}?unit=1", None, NO_MAP)
    assert exc.title().startswith("unknown Modbus TCP device at 127.0.0.17")
    gw = by_host["127.0.0.18"]
    assert (gw.target, gw.serial, gw.map_id) == (f"tcp://127.0.0.18:{port}?unit=255",
                                                 "GRW0000255", "growatt-protocol-ii")
    hung_up = by_host["127.0.0.19"]
    assert (hung_up.kind, hung_up.detail) == ("tcp-port", NO_MODBUS)


async def test_sweep_without_identification(growatt_bank):
    port, sims = await _start_sims({"127.0.0.2": growatt_bank("GRW0000002")})
    try:
        found = await scan_network("127.0.0.0/29", ports=[port], identify=False,
                                   connect_timeout=CONNECT)
    finally:
        for sim in sims:
            await sim.stop()
    assert [(f.kind, f.link, f.detail) for f in found] == [
        ("tcp-port", f"127.0.0.2:{port}", "port open (not identified)")]
    assert sims[0].requests == 0         # connected and closed: not one Modbus request


async def test_concurrency_is_bounded(monkeypatch):
    real = network.probe_port
    in_flight = peak = calls = 0

    async def counting(host, port, timeout):
        nonlocal in_flight, peak, calls
        calls += 1
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)    # hold the slot, so overlaps show
            return await real(host, port, timeout)
        finally:
            in_flight -= 1

    monkeypatch.setattr(network, "probe_port", counting)
    port = _port_free_everywhere()
    found = await scan_network("127.0.0.0/25", ports=(port, port), concurrency=8)
    assert found == []
    assert calls == 126                  # .1-.126, the repeated port swept once
    assert peak == 8


async def test_cancel_stops_every_task(growatt_bank):
    port = _port_free_everywhere()
    silent = await _listen("127.0.0.9", port, _silent)
    started, progress = asyncio.Event(), []

    def on_progress(p):
        progress.append(p)
        if p.done:
            started.set()
    scan = asyncio.create_task(scan_network(LOOPBACK_24, ports=(port,), identify_timeout=5.0,
                                            connect_timeout=CONNECT,
                                            on_progress=on_progress))
    try:
        await asyncio.wait_for(started.wait(), 5)
        # the count shown is not left stale: it reaches all but the silent host, which is
        # being identified (5 s timeout) when the scan is cancelled
        for _ in range(60):
            if progress[-1].done == 253:
                break
            await asyncio.sleep(0.05)
        assert (progress[-1].done, progress[-1].total) == (253, 254)
        assert not scan.done()
        scan.cancel()
        with pytest.raises(asyncio.CancelledError):
            await scan
    finally:
        silent.close()
    left = [t for t in asyncio.all_tasks() if not t.done() and t is not asyncio.current_task()
            and ("scan_network" in t.get_coro().__qualname__ or t.get_name() == "link-worker")]
    assert left == []


# --- ranges --------------------------------------------------------------------------------------

def test_parse_cidr_accepts():
    assert parse_cidr("127.0.0.0/24") == IPv4Network("127.0.0.0/24")
    assert parse_cidr(" 192.168.1.17/24 ") == IPv4Network("192.168.1.0/24")
    assert parse_cidr("10.1.2.3") == IPv4Network("10.1.2.3/32")
    assert parse_cidr("172.16.0.0/16").num_addresses == 65536


@pytest.mark.parametrize("text, words", [
    ("", "no network range"),
    ("not-a-range", "is not an IPv4 range"),
    ("192.168.1.0/33", "is not an IPv4 range"),
    ("300.1.1.1/24", "is not an IPv4 range"),
    ("fe80::/64", "is IPv6"),
    ("10.0.0.0/15", "at most a /16"),
    ("0.0.0.0/0", "at most a /16"),
    ("224.0.0.0/24", "not a range of hosts"),
    ("0.0.0.0/24", "not a range of hosts"),
])
def test_parse_cidr_refuses(text, words):
    with pytest.raises(SolartuiError) as err:
        parse_cidr(text)
    msg = str(err.value)
    assert words in msg and "\n" not in msg


def test_parse_cidr_refusal_says_the_size():
    with pytest.raises(SolartuiError, match=r"131,072 addresses.*65,536"):
        parse_cidr("10.0.0.0/15")


async def test_scan_refuses_bad_input():
    with pytest.raises(SolartuiError, match="at most a /16"):
        await scan_network("10.0.0.0/8")
    with pytest.raises(SolartuiError, match="ports"):
        await scan_network("127.0.0.0/30", ports=(0,))
    with pytest.raises(SolartuiError, match="ports"):
        await scan_network("127.0.0.0/30", ports=())


def test_scan_hosts_skips_network_and_broadcast():
    hosts = scan_hosts(IPv4Network("127.0.0.0/24"))
    assert len(hosts) == 254 and hosts[0] == IPv4Address("127.0.0.1")
    assert hosts[-1] == IPv4Address("127.0.0.254")
    assert scan_hosts(IPv4Network("127.0.0.4/31")) == [IPv4Address("127.0.0.4"),
                                                       IPv4Address("127.0.0.5")]
    assert scan_hosts(IPv4Network("127.0.0.9/32")) == [IPv4Address("127.0.0.9")]


IP_JSON = """[
 {"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],
  "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"}]},
 {"ifindex":2,"ifname":"eth0","flags":["BROADCAST","UP"],
  "addr_info":[{"family":"inet","local":"192.168.1.23","prefixlen":24},
               {"family":"inet","local":"169.254.7.7","prefixlen":16}]},
 {"ifindex":3,"ifname":"wlan0","flags":["BROADCAST","UP"],
  "addr_info":[{"family":"inet","local":"10.20.30.40","prefixlen":16},
               {"family":"inet","local":"10.20.30.41","prefixlen":16}]},
 {"ifindex":4,"ifname":"tun0","flags":["POINTOPOINT","UP"],
  "addr_info":[{"family":"inet","local":"10.8.0.6","prefixlen":32}]},
 {"ifindex":5,"ifname":"eth1","flags":["UP"],
  "addr_info":[{"family":"inet","local":"172.16.5.9","prefixlen":28}]}
]"""


def test_subnets_from_ip_json():
    assert subnets_from_ip_json(IP_JSON) == [
        IPv4Network("192.168.1.0/24"),
        IPv4Network("10.20.30.0/24"),    # a /16 office network: only the host's /24
        IPv4Network("172.16.5.0/28"),    # narrower than /24: kept as it is
    ]                                    # loopback, link-local and the /32 tunnel skipped
    assert subnets_from_ip_json("not json") == []
    assert subnets_from_ip_json("{}") == []


PROC_ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"      # default route
    "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"      # 192.168.1.0/24
    "wlan0\t0000140A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"     # 10.20.0.0/16
    "eth9\t0000FEA9\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"      # 169.254.0.0/16
    "eth1\t000010AC\t00000000\t0000\t0\t0\t0\t0000FFFF\t0\t0\t0\n"      # down: skipped
)


def test_subnets_from_proc_route():
    addrs = {"eth0": IPv4Address("192.168.1.23"), "wlan0": IPv4Address("10.20.30.40")}
    assert subnets_from_proc_route(PROC_ROUTE, addrs.get) == [
        IPv4Network("192.168.1.0/24"), IPv4Network("10.20.30.0/24")]
    # without the interface address: the network's first /24
    assert subnets_from_proc_route(PROC_ROUTE, lambda name: None) == [
        IPv4Network("192.168.1.0/24"), IPv4Network("10.20.0.0/24")]


def test_local_subnets_is_computed_without_connecting():
    nets = local_subnets()               # computed only: never scanned here
    assert isinstance(nets, list)
    for net in nets:
        assert isinstance(net, IPv4Network)
        assert net.prefixlen >= 24 and net.prefixlen < 32
        assert not net.is_loopback and not net.is_link_local


async def test_a_givenergy_dongle_on_the_logger_port_is_identified():
    """The simulated dongle on 127.0.0.11: read through the envelope at device 0x11; a silent
    listener on the same port elsewhere stays an unidentified logger port."""
    from solartui.sim.givenergy_dongle import GivEnergyDongle

    port = _port_free_everywhere()
    dongle = GivEnergyDongle("127.0.0.11", port, inverter_serial="SA2203G123")
    await dongle.start()
    silent = await _listen("127.0.0.12", port, _silent)
    try:
        found = await scan_network("127.0.0.8/29", ports=(port,), logger_ports=(port,),
                                   connect_timeout=CONNECT)
    finally:
        silent.close()
        await dongle.stop()
    by_link = {f.link: f for f in found}
    g = by_link[f"127.0.0.11:{port}"]
    assert (g.kind, g.target, g.map_id, g.vendor, g.serial) == (
        "givenergy", f"givenergy://127.0.0.11:{port}", "givenergy-hybrid", "GivEnergy",
        "SA2203G123")
    assert g.model == "2001 single-phase hybrid Gen1" and g.firmware == "D0.449-A0.449"
    assert g.title().startswith("GivEnergy SA2203G123 at 127.0.0.11:")
    other = by_link[f"127.0.0.12:{port}"]
    assert (other.target, other.detail) == ("", LOGGER_DETAIL)


def test_model_text():
    from solartui.givenergy.models import model_text
    assert model_text(0x2001, 449) == "2001 single-phase hybrid Gen1"
    assert model_text(0x2003, 920) == "2003 single-phase hybrid Gen2"
    assert model_text(0x8102) == "8102 HV Gen3 hybrid"
    assert model_text(0x3001) == "3001 AC-coupled"
    assert model_text(0x9999) == "9999 unknown family"


def test_firmware_and_model():
    from solartui.givenergy.models import firmware_and_model
    assert firmware_and_model({"dsp_firmware": 449, "arm_firmware": 449, "device_type": 0x2001}) \
        == ("D0.449-A0.449", "2001 single-phase hybrid Gen1")
    assert firmware_and_model({"serial": "x"}) == (None, None)

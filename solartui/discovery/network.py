"""Network discovery: sweep an IPv4 range for Modbus TCP (502) and logger ports (8899), then
identify what answered.

Why it is shaped this way:
  * The sweep is a plain TCP connect per (host, port), a bounded number at a time (a semaphore)
    with a short connect timeout (0.3 s): on a LAN an absent host drops the SYN, and pymodbus's
    defaults (3 s timeout, 3 retries) would make a /24 take many minutes.
  * Only what the person asked for is swept. The default range is the machine's own subnets,
    each capped to a /24 around the host address, so an office /16 is not swept unasked;
    `parse_cidr` refuses anything larger than a /16.
  * Identification goes through the same link code as everything else (LinkPool -> ModbusLink ->
    scheduler), with a short timeout and no pacing: one FC03 probe per unit address (1, then the
    gateway addresses 255 and 0 if 1 is silent), then `choose_map` over the catalog's maps.
  * Port 8899 (GivEnergy dongles, Solarman-style loggers) speaks a proprietary envelope: it is
    identified through the GivEnergy link (identity registers at device 0x11); a port that does
    not answer that way is reported as an unidentified logger.

No I/O at import time; `local_subnets()` only reads local interface data and never connects.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import shutil
import socket
import struct
import subprocess
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from typing import Callable, Iterable

from solartui.discovery.results import Found, OnFound, OnProgress, Progress
from solartui.errors import DeviceException, LinkError, NoAnswer, SolartuiError
from solartui.links.target import url_host

MODBUS_PORT = 502
LOGGER_PORT = 8899
DEFAULT_PORTS = (MODBUS_PORT, LOGGER_PORT)
LOGGER_PORTS = (LOGGER_PORT,)
MAX_PREFIX = 16                      # the largest range scanned: a /16, 65,536 addresses
DEFAULT_CAP = 24                     # own subnets wider than this are cut to the host's /24
PROBE_UNITS = (1, 255)               # unit 1, then the usual gateway address (a target URL
                                     # takes units 1-255, so unit 0 is not offered)
IDENTIFY_TIMEOUT = 0.5               # seconds per Modbus request while identifying
IDENTIFY_CONCURRENCY = 32            # hosts identified at once
PROGRESS_INTERVAL = 0.05             # seconds between progress callbacks (plus the last one)

NO_MODBUS = "port open, no Modbus answer"
NO_MAP = "no map fits"
LOGGER_DETAIL = ("GivEnergy dongle or Solarman-style logger (port 8899); "
                 "no GivEnergy answer")


# --- ranges --------------------------------------------------------------------------------------

def parse_cidr(text: str) -> IPv4Network:
    """`192.168.1.0/24` (host bits allowed: `192.168.1.17/24` means the same /24; a bare address
    is a /32). Raises SolartuiError with one line for anything else or a range over a /16."""
    raw = str(text).strip()
    if not raw:
        raise SolartuiError("no network range given: use a CIDR like 192.168.1.0/24")
    try:
        net = ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise SolartuiError(f"{raw!r} is not an IPv4 range: use a CIDR like 192.168.1.0/24") from None
    if not isinstance(net, IPv4Network):
        raise SolartuiError(f"{raw!r} is IPv6: network scans take an IPv4 range like 192.168.1.0/24")
    if net.prefixlen < MAX_PREFIX:
        raise SolartuiError(
            f"{net} has {net.num_addresses:,} addresses; solartui scans at most a /{MAX_PREFIX} "
            f"({2 ** (32 - MAX_PREFIX):,} addresses): give a smaller range, e.g. "
            f"{IPv4Network((int(net.network_address), 24))}")
    if net.is_multicast or net.overlaps(IPv4Network("0.0.0.0/8")) or \
            net.overlaps(IPv4Network("255.255.255.255/32")):
        raise SolartuiError(f"{net} is not a range of hosts (multicast, 0.0.0.0/8 or broadcast)")
    return net


def scan_hosts(net: IPv4Network) -> list[IPv4Address]:
    """The addresses swept: every address but the network and broadcast ones below a /31."""
    if net.prefixlen >= 31:
        return list(net)
    return list(net.hosts())


def _cap(addr: IPv4Address, prefixlen: int) -> IPv4Network | None:
    if addr.is_loopback or addr.is_link_local or addr.is_multicast or addr.is_unspecified:
        return None
    if prefixlen >= 32:
        return None                  # a point-to-point /32 has no neighbours to find
    return ipaddress.ip_network(f"{addr}/{max(prefixlen, DEFAULT_CAP)}", strict=False)


def _dedupe(nets: Iterable[IPv4Network | None]) -> list[IPv4Network]:
    out: list[IPv4Network] = []
    for n in nets:
        if n is not None and n not in out:
            out.append(n)
    return out


def subnets_from_ip_json(text: str) -> list[IPv4Network]:
    """Own subnets from `ip -j -4 addr` output (loopback and link-local skipped, capped to /24)."""
    try:
        links = json.loads(text)
    except ValueError:
        return []
    nets = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or "LOOPBACK" in link.get("flags", ()):
            continue
        for a in link.get("addr_info", ()):
            if not isinstance(a, dict) or a.get("family", "inet") != "inet":
                continue
            try:
                addr = IPv4Address(a["local"])
                prefixlen = int(a["prefixlen"])
            except (KeyError, ValueError, TypeError):
                continue
            nets.append(_cap(addr, prefixlen))
    return _dedupe(nets)


def subnets_from_proc_route(text: str, address_of: Callable[[str], IPv4Address | None]
                            ) -> list[IPv4Network]:
    """Own subnets from /proc/net/route: the directly connected routes (no gateway), each capped
    to a /24 around the interface's address (`address_of(ifname)`), or its first /24."""
    nets = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 8:
            continue
        try:
            dest, gateway, flags, mask = (int(f[1], 16), int(f[2], 16), int(f[3], 16),
                                          int(f[7], 16))
        except ValueError:
            continue
        if not flags & 0x1 or gateway != 0 or mask == 0:      # RTF_UP; no default route
            continue
        # the kernel writes these words in host (little-endian) order
        dest_a = IPv4Address(struct.pack("<I", dest))
        mask_a = IPv4Address(struct.pack("<I", mask))
        try:
            net = IPv4Network(f"{dest_a}/{mask_a}")
        except ValueError:
            continue
        host = address_of(f[0])
        if host is not None and host in net:
            nets.append(_cap(host, net.prefixlen))
        elif not (net.is_loopback or net.is_link_local or net.is_multicast):
            nets.append(_cap(net.network_address, net.prefixlen) if net.prefixlen < 32 else None)
    return _dedupe(nets)


def _ifaddr(ifname: str) -> IPv4Address | None:
    """An interface's IPv4 address via SIOCGIFADDR (a local ioctl: nothing is sent)."""
    try:
        import fcntl
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", ifname.encode()[:15]))
        return IPv4Address(packed[20:24])
    except (OSError, ImportError, ValueError):
        return None


def local_subnets() -> list[IPv4Network]:
    """The machine's own IPv4 subnets, each at most a /24 around the host address; loopback and
    link-local skipped. Reads `ip -j -4 addr`, else /proc/net/route. Never connects anywhere."""
    ip = shutil.which("ip")
    if ip:
        try:
            out = subprocess.run([ip, "-j", "-4", "addr"], capture_output=True, text=True,
                                 timeout=3, check=False)
            if out.returncode == 0:
                nets = subnets_from_ip_json(out.stdout)
                if nets:
                    return nets
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        with open("/proc/net/route", encoding="ascii", errors="replace") as fh:
            return subnets_from_proc_route(fh.read(), _ifaddr)
    except OSError:
        return []


# --- sweep ---------------------------------------------------------------------------------------

async def probe_port(host: str, port: int, timeout: float) -> bool:
    """One TCP connect, closed at once: True when something accepted it."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), timeout)
    except (OSError, asyncio.TimeoutError):
        pass
    return True


def _candidate_maps(maps):
    if maps is None:
        from solartui.registers import catalog
        maps = catalog.all_maps()
    return [m for m in maps if m.identify]


async def identify_modbus_tcp(host: str, port: int, maps=None, *,
                              timeout: float = IDENTIFY_TIMEOUT,
                              units: Iterable[int] = PROBE_UNITS) -> Found:
    """What speaks on an open TCP port: an identified Modbus device, an unknown one, or nothing
    Modbus at all. One FC03 read of holding 0 per unit decides whether it speaks Modbus (an
    exception reply counts); then each candidate map's identification registers are read."""
    from solartui.devices.identify import choose_map
    from solartui.devices.register_device import RegisterDevice
    from solartui.links.pool import LinkPool
    from solartui.links.target import Target
    from solartui.registers.model import LinkSpec
    from solartui.session import merged_spec

    candidates = _candidate_maps(maps)
    spec = merged_spec(candidates) if candidates else LinkSpec()
    where = f"{host}:{port}"
    target = Target("tcp", host=host, port=port, timeout_ms=max(1, round(timeout * 1000)),
                    period_ms=0)
    pool = LinkPool()
    try:
        link = pool.get(target, spec)
        unit = None
        for u in units:
            try:
                await link.read(3, u, 0, 1)
            except DeviceException:
                pass                 # an exception reply: it speaks Modbus at this unit
            except NoAnswer:
                continue
            except LinkError:
                break                # refused or dropped the connection: not Modbus
            unit = u
            break
        if unit is None:
            return Found(kind="tcp-port", target="", link=where, detail=NO_MODBUS)
        url = f"tcp://{url_host(host)}:{port}?unit={unit}"
        link_text = f"{where} unit {unit}"
        if candidates:
            try:
                dev, ident = await choose_map(candidates,
                                              lambda m: RegisterDevice(m, link, unit))
            except SolartuiError:
                pass
            else:
                def text(name):
                    v = ident.values.get(name)
                    return None if v is None else (str(v).strip(" \x00") or None)
                return Found(kind="modbus-tcp", target=url, link=link_text,
                             vendor=dev.map.vendor, model=text("model"), serial=text("serial"),
                             firmware=text("firmware"), map_id=dev.map.id, detail=dev.map.name, why=ident.reason)
        return Found(kind="modbus-tcp", target=url, link=link_text, detail=NO_MAP)
    finally:
        await pool.close()


async def identify_givenergy(host: str, port: int, *, timeout: float = 2.0) -> Found:
    """A GivEnergy dongle: the identity registers of the inverter at 0x11 through the envelope.
    Anything else on the port (a Solarman logger, silence) is an unidentified logger port."""
    from solartui.devices.register_device import RegisterDevice
    from solartui.givenergy.models import firmware_and_model
    from solartui.links.givenergy import GivEnergyLink
    from solartui.links.target import Target
    from solartui.registers import catalog

    where = f"{host}:{port}"
    maps = catalog.all_maps("givenergy")
    if not maps:
        return Found(kind="tcp-port", target="", link=where, detail=LOGGER_DETAIL)
    m = maps[0]
    target = Target("givenergy", host=host, port=port, timeout_ms=max(1, round(timeout * 1000)),
                    period_ms=0)
    link = GivEnergyLink(target, m.link)
    try:
        ident = await RegisterDevice(m, link, m.link.unit).identify()
    finally:
        await link.close()
    v = ident.values
    serial = str(v.get("serial", "")).strip(" \x00")
    if not serial or not isinstance(v.get("device_type"), int):
        return Found(kind="tcp-port", target="", link=where, detail=LOGGER_DETAIL)
    firmware, model = firmware_and_model(v)
    return Found(kind="givenergy", target=f"givenergy://{url_host(host)}:{port}", link=where,
                 vendor=m.vendor, model=model, serial=serial, firmware=firmware, map_id=m.id,
                 detail=m.name)


async def scan_network(cidr: str | IPv4Network, ports: Iterable[int] = DEFAULT_PORTS, *,
                       concurrency: int = 256, connect_timeout: float = 0.3,
                       identify: bool = True, maps=None,
                       on_found: OnFound | None = None, on_progress: OnProgress | None = None,
                       logger_ports: Iterable[int] = LOGGER_PORTS,
                       identify_timeout: float = IDENTIFY_TIMEOUT) -> list[Found]:
    """Sweep `cidr` × `ports` with at most `concurrency` connects at a time, then identify each
    open port (ports in `logger_ports` are reported as GivEnergy/Solarman loggers; any other is
    tried as Modbus TCP). Returns what was found, by address and port; `on_found` hears each
    result as it comes, `on_progress` the count of (host, port) pairs finished (identification
    included). Cancelling the calling task stops every connect and identification."""
    net = parse_cidr(str(cidr))          # a network object gets the same size check
    ports = tuple(dict.fromkeys(int(p) for p in ports))
    if not ports or any(not 1 <= p <= 65535 for p in ports):
        raise SolartuiError(f"ports must be 1-65535, got {ports or 'none'}")
    if concurrency < 1:
        raise SolartuiError("concurrency must be at least 1")
    logger_ports = set(logger_ports)
    candidates = _candidate_maps(maps) if identify else []
    hosts = scan_hosts(net)
    pairs = iter([(str(h), p) for h in hosts for p in ports])
    progress = Progress(scan=str(net), total=len(hosts) * len(ports))
    found: list[Found] = []
    connect_gate = asyncio.Semaphore(concurrency)
    identify_gate = asyncio.Semaphore(min(concurrency, IDENTIFY_CONCURRENCY))
    identifying: set[asyncio.Task] = set()
    loop = asyncio.get_running_loop()
    last_emit = [-PROGRESS_INTERVAL]
    trailing: list[asyncio.TimerHandle | None] = [None]

    def emit(force: bool = False) -> None:
        """At most one progress callback per PROGRESS_INTERVAL, and a trailing one, so the last
        count shown is never stale while a slow identification runs."""
        if on_progress is None:
            return
        wait = last_emit[0] + PROGRESS_INTERVAL - loop.time()
        if force or wait <= 0 or progress.done >= progress.total:
            if trailing[0] is not None:
                trailing[0].cancel()
                trailing[0] = None
            last_emit[0] = loop.time()
            on_progress(replace(progress))
        elif trailing[0] is None:
            trailing[0] = loop.call_later(wait, flush)

    def flush() -> None:
        trailing[0] = None
        emit(force=True)

    def report(item: Found) -> None:
        found.append(item)
        if on_found is not None:
            on_found(item)

    def finished(host: str, port: int) -> None:
        progress.done += 1
        progress.note = f"{host}:{port}"
        emit()

    async def examine(host: str, port: int) -> None:
        async with identify_gate:
            report(await identify_modbus_tcp(host, port, candidates, timeout=identify_timeout))
        finished(host, port)

    async def examine_logger(host: str, port: int) -> None:
        async with identify_gate:
            report(await identify_givenergy(host, port, timeout=max(identify_timeout, 1.0)))
        finished(host, port)

    async def sweeper() -> None:
        for host, port in pairs:     # one shared iterator: each pair goes to one sweeper
            async with connect_gate:
                is_open = await probe_port(host, port, connect_timeout)
            if not is_open:
                finished(host, port)
            elif port in logger_ports and not identify:
                report(Found(kind="tcp-port", target="", link=f"{host}:{port}",
                             detail=LOGGER_DETAIL))
                finished(host, port)
            elif port in logger_ports:
                task = asyncio.get_running_loop().create_task(examine_logger(host, port))
                identifying.add(task)
                task.add_done_callback(identifying.discard)
            elif not identify:
                report(Found(kind="tcp-port", target="", link=f"{host}:{port}",
                             detail="port open (not identified)"))
                finished(host, port)
            else:
                task = asyncio.get_running_loop().create_task(examine(host, port))
                identifying.add(task)
                task.add_done_callback(identifying.discard)

    emit(force=True)
    sweepers = [asyncio.get_running_loop().create_task(sweeper())
                for _ in range(min(concurrency, progress.total))]
    try:
        await asyncio.gather(*sweepers)
        while identifying:
            await asyncio.gather(*list(identifying))
    finally:
        if trailing[0] is not None:
            trailing[0].cancel()
        rest = [t for t in (*sweepers, *identifying) if not t.done()]
        for t in rest:
            t.cancel()
        if rest:
            await asyncio.gather(*rest, return_exceptions=True)

    def order(item: Found):
        host, _, port = item.link.split(" ")[0].rpartition(":")
        return (int(IPv4Address(host)), int(port))
    return sorted(found, key=order)

"""`solartui simulate --site SITE`: every device of a site file simulated where the file says.

Why: the logger can then be tried, and a site file checked end to end, without any hardware
(as pysungrow's `-e` did). One simulator per physical channel holds every device the site puts
there: an RS485 bus becomes one pty wire with one Modbus simulator answering each unit, and the
site's port path becomes a symlink to the wire's pty; tcp://, givenergy:// and solarman:// (a
logger with that serial, every unit of the channel behind it) listen on exactly the host:port
named (loopback only); pi30:// gets a PI30 inverter on a pty. Nothing is started
until every channel is known to be possible; symlinks are removed on exit.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
from dataclasses import replace
from pathlib import Path

import click

from solartui.errors import SolartuiError

PLACE_RULE = "simulate --site can only create a port where nothing is (or a symlink)"


def _loopback_host(host: str, key: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        ok = ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        ok = False
    if not ok:
        raise SolartuiError(f"{key}: simulate --site only listens on loopback addresses "
                            f"(127.0.0.0/8), not on {host}")
    return host


def _check_free(host: str, port: int) -> None:
    """Bind and let go: a port in use is said now, before anything else has started."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise SolartuiError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _check_place(path: str) -> None:
    """The site's port path may be created here: nothing there, or a symlink left dangling by
    an earlier simulation. A symlink to a live pty is another simulation's: left alone."""
    p = Path(path)
    if Path(os.path.abspath(p)).is_relative_to("/dev"):
        raise SolartuiError(f"{PLACE_RULE}: {path} is under /dev, where real ports live; name "
                            "a path such as /tmp/solartui-bus0 in the site file")
    if p.is_symlink():
        dest = os.path.realpath(p)
        if os.path.exists(dest):
            why = ("a pty in use (is another simulation running?)"
                   if dest.startswith("/dev/pts/") else "which is not a simulator's pty")
            raise SolartuiError(f"{PLACE_RULE}: {path} is a symlink to {dest}, {why}")
    elif os.path.lexists(p):
        kind = "a character device (a real port)" if p.is_char_device() else \
            "a directory" if p.is_dir() else "a file"
        raise SolartuiError(f"{PLACE_RULE}: {path} exists and is {kind}")
    if not p.parent.is_dir():
        raise SolartuiError(f"{PLACE_RULE}: the folder {p.parent} does not exist")


def check_site(site) -> None:
    """Refuse, in one line, a channel that cannot be simulated; before anything starts."""
    for ch in site.channels:
        t = ch.target
        names = ", ".join(d.name for d in ch.devices)
        if t.scheme in ("hid", "hidraw"):
            raise SolartuiError(f"{ch.key} (device {names}): {t.scheme}:// cannot be emulated "
                                "as a path; use 'solartui simulate pi30 --hidraw' and a "
                                "hidraw:// target to its pty")
        if t.scheme in ("tcp", "givenergy", "solarman"):
            _check_free(_loopback_host(t.host, ch.key), t.port)
        else:
            _check_place(t.path)


class SiteSimulation:
    """The running simulators of one site; `lines` says what runs where."""

    def __init__(self, site):
        self.site = site
        self.lines: list[str] = []
        self._stops: list = []
        self._links: list[tuple[str, str]] = []     # (site path, pty path) symlinks we made

    def _link(self, path: str, pty: str) -> None:
        if os.path.islink(path):
            os.unlink(path)
        try:
            os.symlink(pty, path)
        except OSError as exc:
            raise SolartuiError(f"cannot create {path}: {exc.strerror}") from None
        self._links.append((path, pty))

    async def start(self) -> None:
        try:
            for i, ch in enumerate(self.site.channels):
                scheme = ch.target.scheme
                if scheme == "rtu":
                    await self._rtu(ch, i)
                elif scheme == "tcp":
                    await self._tcp(ch, i)
                elif scheme == "givenergy":
                    await self._givenergy(ch)
                elif scheme == "solarman":
                    await self._solarman(ch, i)
                elif scheme == "broadcast":
                    await self._broadcast(ch)
                else:
                    await self._pi30(ch)
        except BaseException:
            await self.stop()
            raise

    async def _rtu(self, ch, seed: int) -> None:
        from solartui.sim.modbus_server import ModbusSimulator
        from solartui.sim.register_bank import RegisterBank
        from solartui.sim.serial_wire import SerialWire
        t = ch.target
        wire = SerialWire()
        self._stops.append(wire.stop)
        sim = ModbusSimulator([RegisterBank(d.map, unit=d.unit, seed=seed) for d in ch.devices])
        await wire.serve(sim, t.baud, t.parity or "N")
        self._link(t.path, wire.client_path)
        for d in ch.devices:
            self.lines.append(f"simulating {d.name}: {d.map.id} unit {d.unit} on {t.path} "
                              f"(pty {wire.client_path}, {t.baud} 8{t.parity}{t.stopbits})")
            self.lines.append(f"target: {replace(d.target, baud=t.baud, parity=t.parity)}")

    async def _tcp(self, ch, seed: int) -> None:
        from solartui.sim.modbus_server import ModbusSimulator
        from solartui.sim.register_bank import RegisterBank
        t = ch.target
        host = _loopback_host(t.host, ch.key)
        sim = ModbusSimulator([RegisterBank(d.map, unit=d.unit, seed=seed) for d in ch.devices])
        try:
            await sim.start_tcp(host, t.port)
        except OSError as exc:
            raise SolartuiError(f"cannot listen on {host}:{t.port}: {exc.strerror}") from None
        self._stops.append(sim.stop)
        for d in ch.devices:
            self.lines.append(f"simulating {d.name}: {d.map.id} unit {d.unit} on "
                              f"tcp://{host}:{t.port}")
            self.lines.append(f"target: {d.target}")

    async def _givenergy(self, ch) -> None:
        from solartui.sim.givenergy_dongle import GivEnergyDongle
        t = ch.target
        host = _loopback_host(t.host, ch.key)
        dongle = GivEnergyDongle(host, t.port, heartbeat_interval=180.0,
                                 unsolicited_interval=None)
        try:
            await dongle.start()
        except OSError as exc:
            raise SolartuiError(f"cannot listen on {host}:{t.port}: {exc.strerror}") from None
        self._stops.append(dongle.stop)
        for d in ch.devices:
            self.lines.append(f"simulating {d.name}: a GivEnergy hybrid behind a dongle on "
                              f"{host}:{t.port}")
            self.lines.append(f"target: {d.target}")

    async def _solarman(self, ch, seed: int) -> None:
        from solartui.sim.register_bank import RegisterBank
        from solartui.sim.solarman_logger import SolarmanLogger
        t = ch.target
        host = _loopback_host(t.host, ch.key)
        logger = SolarmanLogger([RegisterBank(d.map, unit=d.unit, seed=seed) for d in ch.devices],
                                host, t.port, serial=t.serial or 1)
        try:
            await logger.start()
        except OSError as exc:
            raise SolartuiError(f"cannot listen on {host}:{t.port}: {exc.strerror}") from None
        self._stops.append(logger.stop)
        for d in ch.devices:
            self.lines.append(f"simulating {d.name}: {d.map.id} unit {d.unit} behind a Solarman "
                              f"logger (serial {t.serial}) on {host}:{t.port}")
            self.lines.append(f"target: {d.target}")

    async def _pi30(self, ch) -> None:
        from solartui.sim.pi30_inverter import Pi30Inverter
        from solartui.sim.pi30_pty import serve_pi30_on_pty
        d = ch.devices[0]
        t = ch.target
        baud = t.baud or d.map.link.baudrates[0]
        server = await serve_pi30_on_pty(Pi30Inverter(), baud=baud, pace=True)
        self._stops.append(server.stop)
        assert server.client_path is not None
        self._link(t.path, server.client_path)
        self.lines.append(f"simulating {d.name}: a PI30 inverter on {t.path} "
                          f"(pty {server.client_path}, {baud} 8N1)")
        self.lines.append(f"target: pi30://{t.path}?baud={baud}")

    async def _broadcast(self, ch) -> None:
        from solartui.sim.flexmax_pty import FlexmaxPtyServer
        d = ch.devices[0]
        t = ch.target
        if d.map.id != "outback-flexmax":
            raise SolartuiError(f"{d.name}: no simulator for the broadcast map {d.map.id}")
        server = FlexmaxPtyServer(page_map=d.map)
        await server.start()
        self._stops.append(server.stop)
        assert server.client_path is not None
        self._link(t.path, server.client_path)
        self.lines.append(f"simulating {d.name}: an OutBack FLEXmax broadcasting on {t.path} "
                          f"(pty {server.client_path}, {d.map.link.baud} 8N1, a page a second)")
        self.lines.append(f"target: {t}")

    async def stop(self) -> None:
        for path, pty in self._links:
            try:
                if os.readlink(path) == pty:
                    os.unlink(path)
            except OSError:
                pass
        self._links.clear()
        for stop in reversed(self._stops):
            await stop()
        self._stops.clear()


async def simulate_site(site_file: str) -> None:
    """Start every simulator of the site, print where, run until Ctrl+C or SIGTERM."""
    from solartui.site.site_file import load_site
    site = load_site(site_file)
    check_site(site)
    simulation = SiteSimulation(site)
    await simulation.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        click.echo(f"simulating {site.summary()} from {site.path}")
        for line in simulation.lines:
            click.echo(line)
        click.echo(f"ready: try 'solartui log {site.path} --once' (Ctrl+C to stop)")
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await simulation.stop()

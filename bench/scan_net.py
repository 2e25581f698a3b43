#!/usr/bin/env python3
"""Benchmark: a network sweep of 127.0.0.0/24 × 2 ports, against pymodbus's defaults.

Loopback only: every address touched is in 127.0.0.0/8. Two simulated Growatt inverters listen on
127.0.0.2 and 127.0.0.7 (port P, standing in for 502); port Q (standing in for 8899) is closed
everywhere. Two populations of "absent" hosts are measured:

  * loopback: every other address refuses the connection at once (what loopback does);
  * LAN-like: every other address drops the SYN, as an absent host on a LAN does (emulated on
    loopback by listening sockets whose accept queue is full: Linux then drops new SYNs).

Figures:
  * our sweep (`scan_network` with its defaults: 256 connects at a time, 0.3 s connect timeout,
    identification with 0.5 s Modbus timeouts), measured for both populations;
  * single-host probes, ours and a pymodbus client at its defaults (timeout 3 s, retries 3):
    refused, SYN dropped, open-but-silent port, the simulator;
  * a sweep the pymodbus-default way (one client per host and port, one after another): measured
    on the loopback population (refusals are instant), estimated for the LAN-like one as
    (number of pairs) × (measured single-host time), since running it would take ~25 minutes.

Run: .venv/bin/python bench/scan_net.py [--runs 5] [--no-lan] [--no-silent]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymodbus.client import AsyncModbusTcpClient  # noqa: E402
from pymodbus.exceptions import ModbusException  # noqa: E402

from solartui.discovery.network import (  # noqa: E402
    IDENTIFY_TIMEOUT, PROBE_UNITS, identify_modbus_tcp, probe_port, scan_hosts, scan_network,
)
from solartui.links.pymodbus_log import quiet_pymodbus  # noqa: E402
from solartui.registers import catalog  # noqa: E402
from solartui.sim.modbus_server import ModbusSimulator  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402

NET = "127.0.0.0/24"
SIM_HOSTS = ("127.0.0.2", "127.0.0.7")


def free_port() -> int:
    """A port nothing is bound to on any address (bind without listen: nothing is sent)."""
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


async def start_sims():
    m = next(m for m in catalog.all_maps() if m.id == "growatt-protocol-ii")
    for _ in range(20):
        port, sims = free_port(), []
        try:
            for i, host in enumerate(SIM_HOSTS):
                sim = ModbusSimulator(RegisterBank(m, unit=1, identity={"serial": f"BENCH{i:05d}"}))
                sims.append(sim)
                await sim.start_tcp(host, port)
            return port, sims
        except OSError:
            for sim in sims:
                await sim.stop()
    raise SystemExit("no port free on the loopback addresses")


class Blackholes:
    """Listening sockets with a full accept queue: a connect to them gets no SYN-ACK."""

    def __init__(self):
        self.socks: list[socket.socket] = []

    def add(self, host: str, port: int) -> None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(0)
        self.socks.append(ls)
        for _ in range(2):               # fill the queue; later SYNs are dropped
            c = socket.socket()
            c.setblocking(False)
            try:
                c.connect((host, port))
            except BlockingIOError:
                pass
            self.socks.append(c)

    def close(self) -> None:
        for s in self.socks:
            s.close()
        self.socks.clear()


async def pymodbus_default_probe(host: str, port: int) -> str:
    """What a scanner built on pymodbus's defaults does per host and port."""
    client = AsyncModbusTcpClient(host, port=port)          # timeout 3 s, retries 3
    try:
        if not await client.connect():
            return "closed"
        try:
            r = await client.read_holding_registers(0, count=1, device_id=1)
        except ModbusException:
            return "silent"
        return "modbus" if not r.isError() else "modbus (exception)"
    finally:
        client.close()


async def timed(coro_factory):
    t = time.perf_counter()
    result = await coro_factory()
    return time.perf_counter() - t, result


def fmt(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s" if s < 120 else f"{s / 60:.1f} min"


async def our_sweep(port: int, port2: int, runs: int):
    times, found = [], []
    for _ in range(runs):
        dt, found = await timed(lambda: scan_network(NET, ports=(port, port2), logger_ports=()))
        times.append(dt)
    return times, found


async def main(args) -> None:
    quiet_pymodbus()
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    port, sims = await start_sims()
    port2 = free_port()
    pairs = len(scan_hosts(__import__("ipaddress").ip_network(NET))) * 2
    rows: list[tuple[str, str, str]] = []
    sweep_rows: list[tuple[str, str, str]] = []
    try:
        # --- our sweep, loopback population ----------------------------------------------------
        times, found = await our_sweep(port, port2, args.runs)
        ids = sorted((f.link, f.serial, f.map_id) for f in found)
        assert [f.link.split(":")[0] for f in found] == list(SIM_HOSTS), found
        dt_noid = statistics.median([(await timed(lambda: scan_network(
            NET, ports=(port, port2), identify=False)))[0] for _ in range(args.runs)])

        # --- single-host probes ----------------------------------------------------------------
        closed = free_port()
        ours_ref = statistics.median([(await timed(lambda: probe_port("127.0.0.3", closed, 0.3)))[0]
                                      for _ in range(20)])
        pm_ref = statistics.median([(await timed(lambda: pymodbus_default_probe("127.0.0.3", closed)))[0]
                                    for _ in range(20)])
        rows.append(("closed port (refused)", fmt(ours_ref), fmt(pm_ref)))

        bh = Blackholes()
        bh.add("127.0.0.50", closed)
        await asyncio.sleep(0.1)
        ours_bh, r1 = await timed(lambda: probe_port("127.0.0.50", closed, 0.3))
        pm_bh, r2 = await timed(lambda: pymodbus_default_probe("127.0.0.50", closed))
        bh.close()
        assert not r1 and r2 == "closed", (r1, r2)
        rows.append(("absent host (SYN dropped)", fmt(ours_bh), fmt(pm_bh)))

        ours_sil = pm_sil = None
        if args.silent:
            async def silent(reader, writer):
                try:
                    await reader.read()
                finally:
                    writer.close()
            srv = await asyncio.start_server(silent, "127.0.0.9", closed)
            ours_sil, f = await timed(lambda: identify_modbus_tcp("127.0.0.9", closed))
            assert f.kind == "tcp-port", f
            pm_sil, r = await timed(lambda: pymodbus_default_probe("127.0.0.9", closed))
            assert r == "silent", r
            srv.close()
            rows.append(("open port, no Modbus answer",
                         f"{fmt(ours_sil)} (units {'/'.join(map(str, PROBE_UNITS))} × "
                         f"{IDENTIFY_TIMEOUT} s)", f"{fmt(pm_sil)} (unit 1 only)"))

        ours_sim, f = await timed(lambda: identify_modbus_tcp(SIM_HOSTS[0], port))
        assert f.map_id, f
        pm_sim, r = await timed(lambda: pymodbus_default_probe(SIM_HOSTS[0], port))
        rows.append(("simulator (ours: identified; pymodbus: 1 register)", fmt(ours_sim),
                     fmt(pm_sim)))

        # --- pymodbus-default sweep, loopback population: measured ------------------------------
        t = time.perf_counter()
        for host in scan_hosts(__import__("ipaddress").ip_network(NET)):
            for p in (port, port2):
                await pymodbus_default_probe(str(host), p)
        pm_loop = time.perf_counter() - t

        sweep_rows.append(("loopback: 506 refused + 2 simulators",
                           f"{fmt(statistics.median(times))} (min {fmt(min(times))}, "
                           f"max {fmt(max(times))}; sweep only {fmt(dt_noid)})",
                           f"{fmt(pm_loop)} measured"))

        # --- LAN-like population ----------------------------------------------------------------
        if args.lan:
            bh = Blackholes()
            for host in scan_hosts(__import__("ipaddress").ip_network(NET)):
                for p in (port, port2):
                    if not (str(host) in SIM_HOSTS and p == port):
                        bh.add(str(host), p)
            await asyncio.sleep(0.3)
            lan_times, lan_found = await our_sweep(port, port2, args.runs)
            bh.close()
            assert [f.link.split(":")[0] for f in lan_found] == list(SIM_HOSTS), lan_found
            est = (pairs - 2) * pm_bh + 2 * pm_sim
            est_par = -(-pairs // 256) * pm_bh
            sweep_rows.append(("LAN-like: 506 dropping SYNs + 2 simulators",
                               f"{fmt(statistics.median(lan_times))} (min {fmt(min(lan_times))}, "
                               f"max {fmt(max(lan_times))})",
                               f"≈{fmt(est)} estimated sequential (506 × {pm_bh:.2f} s); "
                               f"≈{fmt(est_par)} even at 256 at a time"))
    finally:
        for sim in sims:
            await sim.stop()

    print(f"network sweep: {NET} × 2 ports ({pairs} host/port pairs); simulators on "
          f"{', '.join(SIM_HOSTS)}:{port}, second port {port2} closed; {args.runs} runs each")
    print("found:", "; ".join(f"{link} serial {serial} map {m}" for link, serial, m in ids))
    print()
    print("| sweep | solartui scan_network (defaults) | pymodbus defaults, one host at a time |")
    print("|---|---|---|")
    for r in sweep_rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print()
    print("| single host and port | solartui | pymodbus defaults (timeout 3 s, retries 3) |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print()
    print("target for the sweep: under 3 s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-lan", dest="lan", action="store_false",
                    help="skip the LAN-like population (504 SYN-dropping listeners)")
    ap.add_argument("--no-silent", dest="silent", action="store_false",
                    help="skip the open-but-silent probe (pymodbus takes ~12 s on it)")
    asyncio.run(main(ap.parse_args()))

"""`solartui demo`: simulated Growatt inverters in this process, read live at the paced rate.

One inverter sits on a pseudo-terminal (Modbus RTU, the real 850 ms pacing), one on loopback TCP.
Until the TUI lands this prints the live values with units, refreshed as fast as the link allows,
until Ctrl+C; `--cycles N` stops after N refreshes (tests, screenshots).
"""

from __future__ import annotations

import time

import click
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from solartui.cli.read import readings_table
from solartui.cli.session import run
from solartui.devices.register_device import RegisterDevice
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import catalog

DEMO_MAP = "growatt-protocol-ii"
LIVE_POINTS = ("inverter_status", "ppv", "vpv1", "ipv1", "ppv1", "vpv2", "ipv2", "ppv2", "pac",
               "fac", "vac1", "iac1", "eac_today", "eac_total", "temp_inverter", "temp_ipm",
               "sys_work_mode", "vbat", "soc", "battery_charge_power", "battery_discharge_power",
               "grid_import_power", "grid_export_power", "local_load_power")


@click.command("demo")
@click.option("--cycles", type=click.IntRange(1), default=None, help="Stop after N refreshes.")
def command(cycles):
    """Run simulated inverters and show their live values (Ctrl+C to stop)."""
    run(_demo(cycles))


async def _demo(cycles):
    from solartui.sim.modbus_server import ModbusSimulator
    from solartui.sim.register_bank import RegisterBank
    from solartui.sim.serial_wire import serve_on_pty

    m = catalog.resolve(DEMO_MAP)
    points = [m.point(n) for n in LIVE_POINTS if m.has_point(n)]
    wire, pty_sim = await serve_on_pty([RegisterBank(m, unit=1, identity={"serial": "DEMO000RTU"})],
                                       baud=m.link.baudrates[0])
    tcp_sim = ModbusSimulator([RegisterBank(m, unit=1, seed=7, identity={"serial": "DEMO000TCP"})])
    port = await tcp_sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    devices = []
    for url in (f"rtu://{wire.client_path}?unit=1", f"tcp://127.0.0.1:{port}?unit=1"):
        target = parse_target(url)
        dev = RegisterDevice(m, pool.get(target, m.link), target.unit)
        await dev.identify()
        devices.append(dev)
    console = Console(highlight=False)
    try:
        with Live(console=console, auto_refresh=False, transient=False) as live:
            n = 0
            while cycles is None or n < cycles:
                started = time.monotonic()
                tables = []
                for dev in devices:
                    readings = await dev.poll(points)
                    st = dev.link.stats
                    title = (f"{m.vendor} {dev.identity.serial} via {dev.link.description} unit "
                             f"{dev.unit}, {dev.link.min_period * 1000:.0f} ms pacing\n"
                             f"{st.requests} requests, {st.timeouts} timeouts, "
                             f"{st.errors} errors")
                    tables.append(readings_table(readings, title, compact=True))
                took = time.monotonic() - started
                footer = Text(f"refresh {n + 1}: {took:.1f} s for both devices. Ctrl+C to stop.",
                              style="dim")
                live.update(Group(*tables, footer), refresh=True)
                n += 1
    finally:
        await pool.close()
        await pty_sim.stop()
        await wire.stop()
        await tcp_sim.stop()

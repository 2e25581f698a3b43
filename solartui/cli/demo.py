"""`solartui demo`: simulated inverters in this process, and the TUI connected to them.

One Growatt inverter sits on a pseudo-terminal (Modbus RTU, the real 850 ms pacing), one on
loopback TCP, a Voltronic PI30 inverter on a pseudo-terminal at 2400 baud, and a GivEnergy hybrid
behind a simulated dongle on loopback TCP (its envelope, 300 ms pacing).
`--plain` prints the live values instead of opening the TUI, refreshed as fast as the link
allows, until Ctrl+C; `--cycles N` stops after N refreshes (tests, headless machines).
"""

from __future__ import annotations

import time

import click
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from solartui.cli.read import fields_table, readings_table
from solartui.cli.session import run
from solartui.devices.pi30_device import Pi30Device
from solartui.devices.register_device import RegisterDevice
from solartui.links.pi30_open import open_pi30_link
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import catalog

GIVENERGY_POINTS = ("inverter_status", "p_pv1", "p_pv2", "v_ac1", "f_ac1", "p_grid_out",
                    "p_load_demand", "p_battery", "v_battery", "battery_soc", "e_pv_generation_today",
                    "t_inverter_heatsink")
LIVE_POINTS = ("inverter_status", "ppv", "vpv1", "ipv1", "ppv1", "vpv2", "ipv2", "ppv2", "pac",
               "fac", "vac1", "iac1", "eac_today", "eac_total", "temp_inverter", "temp_ipm",
               "sys_work_mode", "vbat", "soc", "battery_charge_power", "battery_discharge_power",
               "grid_import_power", "grid_export_power", "local_load_power")


@click.command("demo")
@click.option("--plain", is_flag=True, help="Print live values instead of opening the TUI.")
@click.option("--cycles", type=click.IntRange(1), default=None,
              help="With --plain: stop after N refreshes.")
@click.option("--fault", "faults", multiple=True, type=click.Choice(["reversed-ct",
              "ignore-export-limit"]), help="Give the simulated site a commissioning fault "
              "(the Growatt and GivEnergy inverters): a reversed CT, an ignored export limit.")
def command(plain, cycles, faults):
    """Simulated inverters, shown live (Ctrl+C or ctrl+q to stop)."""
    from solartui.sim.demo_rig import DemoRig
    DemoRig.site_fault_names = tuple(faults)
    if plain or cycles:
        run(_demo(cycles))
    else:
        from solartui.cli.ui import open_tui
        open_tui(demo=True)


async def _demo(cycles):
    from solartui.sim.demo_rig import DEMO_MAP, DemoRig

    m = catalog.resolve(DEMO_MAP)
    points = [m.point(n) for n in LIVE_POINTS if m.has_point(n)]
    rig = DemoRig(shine=False)          # the plain view shows the Modbus inverters only
    pool = LinkPool()
    devices = []
    for url in await rig.start():
        target = parse_target(url)
        if target.is_pi30:
            pm = catalog.resolve_command_map(None)
            dev = Pi30Device(pm, open_pi30_link(target, pm.link))
        elif target.scheme == "givenergy":
            gm = catalog.resolve_register_map("givenergy-hybrid")     # the demo's hybrid
            dev = RegisterDevice(gm, pool.get(target, gm.link), gm.link.unit)
        else:
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
                    st = dev.link.stats
                    unit = f" unit {dev.unit}" if dev.unit is not None else ""
                    title = (f"{dev.map.vendor} {dev.identity.serial} via {dev.link.description}"
                             f"{unit}, {dev.link.min_period * 1000:.0f} ms pacing\n"
                             f"{st.requests} requests, {st.timeouts} timeouts, "
                             f"{st.errors} errors")
                    if isinstance(dev, Pi30Device):
                        readings = [r for r in await dev.poll(dev.fields(("live",)))
                                    if not r.absent]
                        tables.append(fields_table(readings, title, compact=True))
                    else:
                        wanted = points if dev.map is m else \
                            [p for p in dev.map.points if p.name in GIVENERGY_POINTS]
                        tables.append(readings_table(await dev.poll(wanted), title, compact=True))
                took = time.monotonic() - started
                footer = Text(f"refresh {n + 1}: {took:.1f} s for {len(devices)} devices. "
                              "Ctrl+C to stop.",
                              style="dim")
                live.update(Group(*tables, footer), refresh=True)
                n += 1
    finally:
        await pool.close()
        for dev in devices:
            if isinstance(dev, Pi30Device):
                await dev.link.close()
        await rig.stop()

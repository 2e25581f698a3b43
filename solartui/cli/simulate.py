"""`solartui simulate MAP`: a simulated device on loopback TCP or a pseudo-terminal, until Ctrl+C;
`solartui simulate shine`: a simulated Growatt datalogger connecting to a Shine server."""

from __future__ import annotations

import asyncio

import click

from solartui.cli.session import run
from solartui.cli.simulate_flexmax import FLEXMAX_NAMES, simulate_flexmax
from solartui.cli.simulate_givenergy import GIVENERGY_NAMES, simulate_givenergy
from solartui.cli.simulate_pi30 import PI30_NAMES, parse_pi30_faults, simulate_pi30
from solartui.cli.simulate_solarman import SOLARMAN_NAMES, simulate_solarman
from solartui.cli.simulate_sunspec import SUNSPEC_NAMES, simulate_sunspec
from solartui.errors import SolartuiError
from solartui.registers import catalog


def split_plant_faults(specs: tuple[str, ...]):
    """The site faults (reversed-ct, ignore-export-limit) apart from the link's own."""
    from solartui.sim.power_flow import PlantFaults, apply_fault
    plant = PlantFaults()
    rest = tuple(s for s in specs if not apply_fault(plant, s))
    return plant, rest


def parse_faults(specs: tuple[str, ...]):
    from solartui.sim.modbus_server import Faults
    faults = Faults()
    for spec in specs:
        key, _, value = spec.partition("=")
        key = key.strip().replace("-", "_")
        try:
            if key == "silent" and not value:
                faults.silent = True
            elif key == "corrupt_crc" and not value:
                faults.corrupt_crc = True
            elif key == "delay":
                faults.delay = float(value)
            elif key == "exception":
                faults.exception = int(value)
            elif key == "drop_after":
                faults.drop_after = int(value)
            else:
                raise ValueError
        except ValueError:
            raise SolartuiError(f"unknown fault '{spec}' (silent, delay=SECONDS, exception=CODE, "
                                "corrupt-crc, drop-after=N, reversed-ct, "
                                "ignore-export-limit)") from None
    return faults


def parse_hostport(text: str, option: str = "--tcp", lowest: int = 0) -> tuple[str, int]:
    """HOST:PORT for a listening (--tcp, port 0 = any) or connecting (--server) option."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host:
        raise SolartuiError(f"{option} wants HOST:PORT, got '{text}'")
    try:
        p = int(port)
    except ValueError:
        raise SolartuiError(f"{option} port '{port}' is not a number") from None
    if not lowest <= p <= 65535:
        raise SolartuiError(f"{option} port {p} is outside {lowest}-65535")
    return host, p


SHINE = "shine"
GROWATT = "growatt"
# --family: the Growatt generation -> its map (shine/layouts.py keeps the record shapes)
GROWATT_MAPS = {"legacy": "growatt-legacy", "spf": "growatt-spf", "sph": "growatt-protocol-ii",
                "tl3": "growatt-protocol-ii", "protocol-ii": "growatt-protocol-ii"}
GROWATT_FAMILIES = list(GROWATT_MAPS)
GIVENERGY_FAMILIES = ["hybrid", "ac", "aio", "three-phase", "ems", "gateway"]
SUNGROW = "sungrow"         # `simulate sungrow --family hybrid|string`: sim/sungrow.py
SUNGROW_FAMILIES = ["hybrid", "string"]


@click.command("simulate")
@click.argument("map_name", metavar="[MAP]", required=False)
@click.option("--site", "site_file", metavar="SITE",
              help="Simulate every device of a site file where it says (ptys, loopback TCP).")
@click.option("--tcp", "tcp", metavar="HOST:PORT", help="Serve Modbus TCP here (default 127.0.0.1:5020).")
@click.option("--pty", is_flag=True, help="Serve Modbus RTU on a new pseudo-terminal (pi30: always).")
@click.option("--hidraw", is_flag=True, help="pi30: speak HID reports on the pty, as /dev/hidrawN does.")
@click.option("--unit", type=click.IntRange(1, 255), default=None, help="Unit address (default: the map's).")
@click.option("--baud", type=int, default=None, help="Baud rate on the pty (default: the map's).")
@click.option("--serial", "serial_no", default=None, help="Serial number to report (default SIM0000001).")
@click.option("--fault", "faults", multiple=True,
              help="Misbehave: silent, delay=S, exception=CODE, corrupt-crc, drop-after=N; "
                   "for shine: silent, nack, delay=S, no-announce, garbage; "
                   "for pi30: nak, silent, junk, truncate=N, delay=S, bad-crc; for solarman: "
                   "silent, inverter-silent, wrong-serial=error|silent, bad-checksum, bad-crc, "
                   "drop-after=N, delay=S, garbage, heartbeat=S; for flexmax: "
                   "garbage, bad-checksum, partial, silent; the site "
                   "(Modbus maps, givenergy): reversed-ct, ignore-export-limit.")
@click.option("--sun", type=click.FloatRange(0, 1), default=None, metavar="0..1",
              help="Pin the daylight (0 night, 1 full sun) instead of following the clock "
                   "(Modbus maps, givenergy): a CT or export-limit check sees power by night.")
@click.option("--server", metavar="HOST:PORT",
              help="shine: the Shine server to connect to (default 127.0.0.1:5781).")
@click.option("--protocol", metavar="02|05|06", help="shine: Shine protocol (default 06).")
@click.option("--datalogger", metavar="SERIAL", help="shine: datalogger serial (default SIMLOG0001).")
@click.option("--inverter", metavar="SERIAL", help="shine: inverter serial (default SIMINV0001).")
@click.option("--interval", type=float, default=None, metavar="SECONDS",
              help="shine: seconds between data records (default: logger register 4, 5 minutes); "
                   "flexmax: seconds between status pages (default 1).")
@click.option("--map", "shine_map", metavar="MAP",
              help="shine, solarman: the inverter's register map (default growatt-protocol-ii).")
@click.option("--family", default=None, metavar="FAMILY",
              help="givenergy: the family the dongle presents (HR0 and its register banks): "
                   "hybrid (default, 0x2001), ac (0x3001), aio (0x8001), three-phase (0x4004), "
                   "ems (0x5001), gateway (0x7001). growatt and shine: the Growatt generation "
                   "(legacy V3.15, spf off-grid, sph storage, tl3 grid-tie; protocol-ii = sph): "
                   "its map and, for shine, the record shapes its datalogger sends. sungrow: "
                   "hybrid (an SH10RT, default) or string (an SG10RT).")
@click.option("--model", type=click.Choice(["hybrid", "aio"]), default=None,
              help="givenergy: the same as --family hybrid|aio (kept for older scripts).")
def command(map_name, site_file, tcp, pty, hidraw, unit, baud, serial_no, faults, server,
            protocol, datalogger, inverter, interval, shine_map, model, sun, family):
    """Run a simulated device for MAP (id or file) until Ctrl+C.

    MAP `shine` simulates a Growatt datalogger (ShineWiFi-X) with an inverter behind it that
    connects out to a Shine server: `simulate shine --server HOST:PORT`. MAP `pi30` simulates a
    Voltronic/Axpert inverter on a pseudo-terminal (`--hidraw`: as a USB HID node). MAP
    `givenergy` simulates a GivEnergy dongle and inverter (`--tcp`, default 127.0.0.1:8899).
    MAP `solarman` simulates a Solarman V5 logger with a Modbus inverter behind it (`--map`,
    `--serial` for the logger's serial, `--tcp`, default 127.0.0.1:8899).
    MAP `sunspec` simulates a SunSpec inverter (models 1, 103, 120-123 at 40000). MAP
    `growatt --family legacy|spf|sph|tl3` serves that Growatt generation's map.
    MAP `sungrow` simulates a Sungrow SH10RT hybrid (`--family string`: an SG10RT) on Modbus
    TCP (`--tcp`, as through a WiNet-S on port 502) or RTU (`--pty`, as on RS485).
    MAP `flexmax` simulates an OutBack FLEXmax broadcasting status pages on a pseudo-terminal.
    `--site SITE` (no MAP) simulates every device of a site file at the targets it names.
    """
    if site_file is not None:
        _run_site(site_file, map_name, {
            "--tcp": tcp, "--pty": pty, "--hidraw": hidraw, "--unit": unit, "--baud": baud,
            "--serial": serial_no, "--fault": faults, "--server": server,
            "--protocol": protocol, "--datalogger": datalogger, "--inverter": inverter,
            "--interval": interval, "--map": shine_map, "--model": model, "--family": family})
        return
    if map_name is None:
        raise SolartuiError("name a MAP to simulate (a map id, pi30, givenergy, solarman or "
                            "shine), or give --site SITE")
    shine_only = {"--server": server, "--protocol": protocol, "--datalogger": datalogger,
                  "--inverter": inverter, "--interval": interval, "--map": shine_map}
    if map_name in FLEXMAX_NAMES:
        from solartui.sim.flexmax_pty import FlexmaxFaults
        not_here = {k: v for k, v in shine_only.items() if k != "--interval"}
        used = [name for name, value in {**not_here, "--tcp": tcp, "--unit": unit,
                                         "--baud": baud, "--serial": serial_no,
                                         "--model": model, "--sun": sun}.items()
                if value is not None] + (["--hidraw"] if hidraw else [])
        if used:
            raise SolartuiError(f"{used[0]} is not for 'simulate flexmax' (it broadcasts on a pty)")
        if interval is not None and not 0 < interval <= 3600:
            raise SolartuiError(f"--interval must be 0-3600 seconds (above 0), not {interval}")
        run(simulate_flexmax(interval, FlexmaxFaults.parse(faults)))
        return
    if map_name in PI30_NAMES:
        used = [name for name, value in {**shine_only, "--tcp": tcp, "--unit": unit,
                                         "--baud": baud}.items() if value is not None]
        if used:
            raise SolartuiError(f"{used[0]} is not for 'simulate pi30' (it runs on a pty)")
        run(simulate_pi30(hidraw, serial_no, parse_pi30_faults(faults)))
        return
    if hidraw:
        raise SolartuiError("--hidraw is only for 'simulate pi30'")
    if map_name in GIVENERGY_NAMES:
        plant_faults, other = split_plant_faults(faults)
        used = [name for name, value in {**shine_only, "--unit": unit, "--baud": baud}.items()
                if value is not None] + (["--pty"] if pty else [])
        if used:
            raise SolartuiError(f"{used[0]} is not for 'simulate givenergy'")
        if other:
            raise SolartuiError(f"fault '{other[0]}' is not for 'simulate givenergy' "
                                "(reversed-ct, ignore-export-limit)")
        chosen = family or model or "hybrid"
        if chosen not in GIVENERGY_FAMILIES:
            raise click.UsageError(f"--family {chosen} is not a GivEnergy family "
                                f"({', '.join(GIVENERGY_FAMILIES)})")
        run(simulate_givenergy(parse_hostport(tcp or "127.0.0.1:8899"), chosen,
                               serial_no, 180.0, None, plant_faults, sun))
        return
    if model is not None:
        raise SolartuiError("--model is only for 'simulate givenergy'")
    if family is not None and family not in GROWATT_FAMILIES and map_name in (SHINE, GROWATT):
        raise click.UsageError(f"--family {family} is not a Growatt family "
                            f"({', '.join(GROWATT_FAMILIES)})")
    if map_name in SOLARMAN_NAMES:
        plant_faults, other = split_plant_faults(faults)
        used = [name for name, value in {**shine_only, "--map": None, "--baud": baud}.items()
                if value is not None] + (["--pty"] if pty else [])
        if used:
            raise SolartuiError(f"{used[0]} is not for 'simulate solarman'")
        run(simulate_solarman(parse_hostport(tcp or "127.0.0.1:8899"), shine_map, unit,
                              serial_no, other, plant_faults, sun))
        return
    if family is not None and map_name == SUNGROW and family not in SUNGROW_FAMILIES:
        raise click.UsageError(f"--family {family} is not a Sungrow family "
                            f"({', '.join(SUNGROW_FAMILIES)})")
    if map_name == SHINE:
        modbus_only = {"--tcp": tcp, "--pty": pty, "--serial": serial_no, "--baud": baud}
        used = [name for name, value in modbus_only.items() if value]
        if used:
            raise SolartuiError(f"{used[0]} is for Modbus simulators, not for 'simulate shine'")
        _run_shine(faults, unit, {**shine_only, "--family": family})
        return
    if map_name == GROWATT:
        map_name = GROWATT_MAPS[family or "protocol-ii"]
    elif family is not None and map_name != SUNGROW:
        raise SolartuiError("--family is only for 'simulate growatt', 'simulate shine', "
                            "'simulate givenergy' and 'simulate sungrow'")
    used = [name for name, value in shine_only.items() if value is not None]
    if used:
        raise SolartuiError(f"{used[0]} is only for 'simulate shine', not for a Modbus map")
    if tcp and pty:
        raise SolartuiError("choose one of --tcp and --pty")
    if map_name in SUNSPEC_NAMES:
        if tcp and pty:
            raise SolartuiError("choose one of --tcp and --pty")
        plant_faults, other = split_plant_faults(faults)
        if plant_faults != type(plant_faults)():
            raise SolartuiError("the site faults (reversed-ct, ignore-export-limit) are not for "
                                "'simulate sunspec'")
        run(simulate_sunspec(None if pty else parse_hostport(tcp or "127.0.0.1:5020"),
                             unit or 1, baud or 9600, serial_no or "SIM0000001",
                             parse_faults(other), sun))
        return
    plant_faults, other = split_plant_faults(faults)
    fault_set = parse_faults(other)
    bank = None
    if map_name == SUNGROW:
        from solartui.sim.sungrow import make_bank
        bank = make_bank(family or "hybrid", unit=unit, serial=serial_no or "SIM0000001",
                         faults=plant_faults)
        m = bank.map
    else:
        m = catalog.resolve_register_map(map_name)
    run(_simulate(m, tcp or ("" if pty else "127.0.0.1:5020"), pty, unit or m.link.unit,
                  baud or m.link.baudrates[0], serial_no or "SIM0000001", fault_set,
                  plant_faults, sun, bank))


def _run_site(site_file: str, map_name, options: dict) -> None:
    if map_name is not None:
        raise SolartuiError(f"give either MAP ('{map_name}') or --site, not both")
    used = [name for name, value in options.items() if value not in (None, False, ())]
    if used:
        raise SolartuiError(f"{used[0]} does not go with --site (the site file says where "
                            "and what to simulate)")
    from solartui.cli.simulate_site import simulate_site
    run(simulate_site(site_file))


def _run_shine(faults, unit, options) -> None:
    from solartui.cli import simulate_shine as S
    fault_set = S.parse_shine_faults(faults)
    opts = S.check_options(server=options["--server"], protocol=options["--protocol"],
                           datalogger=options["--datalogger"], inverter=options["--inverter"],
                           interval=options["--interval"], map_name=options["--map"],
                           family=options["--family"])
    run(S.simulate_shine(opts, unit or 1, fault_set))


async def _simulate(m, tcp, pty, unit, baud, serial_no, faults, plant_faults=None, sun=None,
                    bank=None):
    from solartui.sim.modbus_server import ModbusSimulator
    from solartui.sim.register_bank import RegisterBank
    from solartui.sim.serial_wire import serve_on_pty

    if bank is None:
        bank = RegisterBank(m, unit=unit, identity={"serial": serial_no}, faults=plant_faults)
    bank.sun = sun
    bank.tick()                 # pinned sun from the first request, not the first tick 1 s on
    if pty:
        wire, sim = await serve_on_pty([bank], baud=baud, faults=faults)
        click.echo(f"simulating {m.id} unit {unit} on {wire.client_path} at {baud} baud")
        click.echo(f"target: rtu://{wire.client_path}?baud={baud}&unit={unit}", nl=True)
    else:
        host, port = parse_hostport(tcp)
        sim = ModbusSimulator([bank], faults=faults)
        try:
            port = await sim.start_tcp(host, port)
        except OSError as exc:
            raise SolartuiError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        wire = None
        click.echo(f"simulating {m.id} unit {unit} on tcp://{host}:{port}")
        click.echo(f"target: tcp://{host}:{port}?unit={unit}")
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
        if wire is not None:
            await wire.stop()

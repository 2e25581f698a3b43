"""`solartui simulate shine`: a simulated Growatt datalogger with an inverter behind it, connecting
out to a Shine server (ours or grottserver) until Ctrl+C.

Why a module of its own: the Modbus simulator listens, this one connects; they share only the
`simulate` command's name and its --fault option.
"""

from __future__ import annotations

import click

from solartui.cli.simulate import parse_hostport
from solartui.errors import SolartuiError
from solartui.registers import catalog

DEFAULT_SERVER = "127.0.0.1:5781"
DEFAULT_MAP = "growatt-protocol-ii"
DEFAULT_DATALOGGER = "SIMLOG0001"
DEFAULT_INVERTER = "SIMINV0001"
PROTOCOLS = {"2": 2, "02": 2, "5": 5, "05": 5, "6": 6, "06": 6}


def parse_server(text: str) -> tuple[str, int]:
    return parse_hostport(text, "--server", lowest=1)


def parse_protocol(text: str | None) -> int:
    if text is None:
        return 6
    try:
        return PROTOCOLS[text.strip()]
    except KeyError:
        raise SolartuiError(f"--protocol must be 02, 05 or 06, not '{text}'") from None


def parse_serial(text: str | None, default: str, option: str) -> str:
    if text is None:
        return default
    if not text or len(text) > 10 or not text.isascii() or not text.isprintable():
        raise SolartuiError(f"{option} wants 1-10 printable ASCII characters, got '{text}'")
    return text


def parse_shine_faults(specs: tuple[str, ...]):
    from solartui.sim.shine_logger import LoggerFaults
    faults = LoggerFaults()
    for spec in specs:
        key, _, value = spec.partition("=")
        key = key.strip().replace("-", "_")
        try:
            if key in ("silent", "nack", "no_announce", "garbage") and not value:
                setattr(faults, key, True)
            elif key == "delay":
                faults.delay = float(value)
                if not 0 <= faults.delay <= 3600:
                    raise ValueError
            else:
                raise ValueError
        except ValueError:
            raise SolartuiError(f"unknown fault '{spec}' for shine (silent, nack, delay=SECONDS, "
                                "no-announce, garbage)") from None
    return faults


def check_options(*, server, protocol, datalogger, inverter, interval, map_name,
                  family=None) -> dict:
    """Everything the person typed, validated before anything starts. `family` (legacy, spf,
    sph, tl3) picks the map and the record shapes a real datalogger of that family sends."""
    from solartui.cli.simulate import GROWATT_MAPS
    if interval is not None and not interval > 0:
        raise SolartuiError(f"--interval must be a positive number of seconds, not {interval}")
    host, port = parse_server(server or DEFAULT_SERVER)
    shape = "sph" if family == "protocol-ii" else family
    m = resolve_map(map_name or (GROWATT_MAPS[family] if family else DEFAULT_MAP))
    return {"host": host, "port": port, "protocol": parse_protocol(protocol),
            "datalogger": parse_serial(datalogger, DEFAULT_DATALOGGER, "--datalogger"),
            "inverter": parse_serial(inverter, DEFAULT_INVERTER, "--inverter"),
            "interval": interval, "map": m, "family": shape}


def resolve_map(name: str):
    """A map id or file; `growatt_protocol_ii` (the file's stem) finds `growatt-protocol-ii` too."""
    try:
        return catalog.resolve_register_map(name)
    except SolartuiError:
        alt = name.replace("_", "-")
        if alt == name:
            raise
        try:
            return catalog.resolve_register_map(alt)
        except SolartuiError:
            pass
        raise


async def simulate_shine(opts: dict, unit: int, faults) -> None:
    from solartui.sim.register_bank import RegisterBank
    from solartui.sim.shine_logger import SimulatedDatalogger

    m = opts["map"]
    bank = RegisterBank(m, unit=unit, identity={"serial": opts["inverter"]})
    logger = SimulatedDatalogger(bank, datalogger=opts["datalogger"], inverter=opts["inverter"],
                                 protocol=opts["protocol"], unit=unit, interval=opts["interval"],
                                 faults=faults, reconnect=2.0, family=opts.get("family"))
    every = f"every {logger.interval:g} s"
    click.echo(f"simulating datalogger {logger.datalogger} (protocol {logger.protocol:02d}) with "
               f"inverter {logger.inverter} ({m.id}, unit {unit}), data {every} as groups "
               f"{', '.join(f'{a}-{b}' for a, b in logger.record_groups('input'))}, "
               f"connecting to {opts['host']}:{opts['port']}")
    try:
        await logger.run(opts["host"], opts["port"])     # reconnects until Ctrl+C
    finally:
        await logger.stop()

"""`solartui serve`: the embedded Growatt server, headless, for a Pi left on site.

Dataloggers connect to --device-host:--port (default 0.0.0.0:5781: they are on the LAN); the
grottserver-compatible HTTP API listens on --host:--http-port (default 127.0.0.1:5782). Binding
the API to any other address needs --token, which every PUT must then carry. Everything is
logged to stderr (systemd's journal picks it up); SIGTERM and Ctrl+C stop it within 2 s
(shine/shutdown.py): pending API calls get 503, a write on the wire gets up to --stop-grace to
journal its outcome (a second signal skips that wait), every socket is closed.

--allow limits who may use the datalogger port: items separated by commas, the option repeatable
(or SOLARTUI_ALLOW, space separated); an address or CIDR network (192.168.1.0/24) admits
connections from there only, anything else is a datalogger serial, and then only the serials
listed may register. With a token, listing and reading devices over HTTP needs it too.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from solartui import log_redact
from solartui.cli.mqtt_options import config_from, mqtt_options, pop_options
from solartui.cli.serve_limits import limit_options, limits_from
from solartui.cli.session import run
from solartui.errors import SolartuiError
from solartui.journal import Journal
from solartui.registers import catalog


def _port(value: int, what: str) -> int:
    if not 0 <= value <= 65535:
        raise SolartuiError(f"{what} {value} is outside 0-65535")
    return value


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the HTTP API (anything but loopback needs --token).")
@click.option("--http-port", type=int, default=5782, show_default=True, help="HTTP API port.")
@click.option("--device-host", default="0.0.0.0", show_default=True,
              help="Address dataloggers connect to.")
@click.option("--port", type=int, default=5781, show_default=True, help="Datalogger port.")
@click.option("--token", default=None, envvar="SOLARTUI_TOKEN", show_envvar=True,
              help="Token every PUT must carry (?token= or Authorization: Bearer). Prefer the "
                   "SOLARTUI_TOKEN environment variable: an argument shows in `ps`.")
@click.option("--tz", "tz", default=None,
              help="IANA time zone whose local time is sent to dataloggers (default: the host's).")
@click.option("--map", "map_name", default="growatt-protocol-ii", show_default=True,
              help="Map that decodes data records.")
@click.option("--command-gap", type=float, default=0.85, show_default=True,
              help="Seconds between commands to one datalogger (the inverter's RS485 period).")
@click.option("--idle-timeout", type=float, default=600.0, show_default=True,
              help="Close a datalogger connection silent for this many seconds.")
@click.option("--allow", "allow", multiple=True, envvar="SOLARTUI_ALLOW", metavar="SERIAL|CIDR,...",
              help="Only these datalogger serials may register / only these networks may connect "
                   "(comma-separated, repeatable; env SOLARTUI_ALLOW).")
@click.option("--max-dataloggers", type=int, default=None,
              help="Distinct dataloggers known at once [default: 4096]; a fleet server needs more.")
@limit_options
@click.option("-v", "--verbose", is_flag=True, help="Log every frame-level event (DEBUG).")
@mqtt_options
def command(host, http_port, device_host, port, token, tz, map_name, command_gap, idle_timeout,
            allow, max_dataloggers, verbose, **options):
    """Be the server Growatt dataloggers report to, with grottserver's HTTP API."""
    mqtt_config = config_from(pop_options(options))     # a bad URL is one line before anything
    _port(port, "--port")
    _port(http_port, "--http-port")
    if command_gap < 0 or idle_timeout <= 0:
        raise SolartuiError("--command-gap must be >= 0 and --idle-timeout > 0")
    device_map = catalog.resolve_register_map(map_name)
    from solartui.shine.http_api import is_loopback
    from solartui.shine.server import load_zone
    from solartui.shine.limits import Allow, ServerLimits
    load_zone(tz)                       # a bad zone is one line before anything listens
    limits = ServerLimits(allow=Allow.parse(allow), **limits_from(options))
    if max_dataloggers is not None:
        if max_dataloggers < 1:
            raise SolartuiError(f"--max-dataloggers must be positive, not {max_dataloggers}")
        limits.dataloggers = max_dataloggers
    if not token and not is_loopback(host):
        raise SolartuiError(f"binding the HTTP API to {host} needs a token (--token)")
    log_redact.install(token)           # the token is masked in every log line, whoever logs
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run(_serve(device_map, host, http_port, device_host, port, token, tz, command_gap,
               idle_timeout, limits, mqtt_config))


async def _serve(device_map, host, http_port, device_host, port, token, tz, command_gap,
                 idle_timeout, limits, mqtt_config=None):
    from solartui.shine.http_api import HttpApi
    from solartui.shine.server import ShineServer
    from solartui.shine.shutdown import Stopper, shut_down

    server = ShineServer(device_map, tz=tz, command_gap=command_gap, idle_timeout=idle_timeout,
                         journal=Journal(), limits=limits)
    api = HttpApi(server, token=token)
    publisher = None
    if mqtt_config is not None:
        from solartui.mqtt.publisher import MqttPublisher
        from solartui.mqtt.serve_bridge import ServeBridge
        publisher = MqttPublisher(mqtt_config)
        ServeBridge(server, publisher).attach()
    stopper = Stopper()
    stopper.install(asyncio.get_running_loop())
    try:
        device_port = await server.start(device_host, port)
        api_port = await api.start(host, http_port)
    except SolartuiError:
        await server.stop()
        raise
    if publisher is not None:
        publisher.start()           # connects in the background: a broker down is no reason to wait
    mqtt_note = f"  mqtt: {mqtt_config.shown()} base {mqtt_config.base}" if mqtt_config else ""
    click.echo(f"dataloggers: {device_host}:{device_port}  http: http://{host}:{api_port}/"
               f"  clock: {server.zone_description()}  allow: {limits.allow}{mqtt_note}", err=True)
    try:
        await stopper.wait()
    finally:
        logging.getLogger("solartui.shine").info("stopping (%s)", stopper.signal_name or "ended")
        await shut_down(server, api, abandon=stopper.abandon)
        if publisher is not None:
            await publisher.stop(flush=0.3)      # serve ends within 2 s

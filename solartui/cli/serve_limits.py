"""`serve`'s options for the connection limits (issue 17), kept apart from serve.py's own.

Each maps to a ServerLimits field (solartui/shine/limits.py, where the defaults and their reasons
live); an option left out keeps the default. Values are checked here, in one line each.
"""

from __future__ import annotations

import click

from solartui.errors import SolartuiError
from solartui.shine.limits import ServerLimits

_D = ServerLimits()

# (option, field, type, help)
OPTIONS = (
    ("--max-connections", "connections", int,
     "Datalogger-port connections open at once [default: the descriptor limit less a reserve]."),
    ("--max-per-address", "connections_per_address", int,
     f"Connections open at once from one source address [default: {_D.connections_per_address}]."),
    ("--garbage-budget", "garbage_bytes", int,
     "Bytes a connection may send that form no valid frame (since connecting or since its last "
     f"valid frame) before it is closed [default: {_D.garbage_bytes}]."),
    ("--garbage-cooldown", "garbage_cooldown", float,
     "Seconds an address closed for garbage is refused before anything is read from it "
     f"(0: never) [default: {_D.garbage_cooldown:g}]."),
    ("--first-frame-timeout", "first_frame_timeout", float,
     "Seconds a new connection has to send its first valid frame "
     f"[default: {_D.first_frame_timeout:g}]."),
    ("--max-frame-rate", "frames_per_second", float,
     "Frames a second one connection may send (after a burst of "
     f"{_D.frame_burst}); beyond it its reading pauses [default: {_D.frames_per_second:g}]."),
    ("--http-header-timeout", "http_header_timeout", float,
     "Seconds an HTTP client has to complete a request (slow clients are closed) "
     f"[default: {_D.http_header_timeout:g}]."),
    ("--max-http-connections", "http_connections", int,
     f"HTTP connections open at once [default: {_D.http_connections}]."),
    ("--stop-grace", "stop_grace", float,
     "On SIGTERM/ctrl+c, seconds a write on the wire may take to reach its outcome (at most "
     f"1.5, so that serve ends within 2 s) [default: {_D.stop_grace:g}]."),
)


def limit_options(f):
    for name, field, kind, text in reversed(OPTIONS):
        f = click.option(name, field, type=kind, default=None, help=text)(f)
    return f


def limits_from(values: dict) -> dict:
    """The ServerLimits fields given on the command line, checked."""
    out = {}
    for name, field, _kind, _text in OPTIONS:
        value = values.get(field)
        if value is None:
            continue
        zero_ok = field in ("stop_grace", "garbage_cooldown")
        if value != value or value < 0 or (value == 0 and not zero_ok):
            raise SolartuiError(f"{name} must be positive, not {value}")
        if field == "stop_grace" and value > 1.5:
            raise SolartuiError(f"{name} {value} is over 1.5 s: serve must end within 2 s")
        out[field] = value
    return out

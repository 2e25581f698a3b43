"""The broker URL and its options: `mqtt://[user[:password]@]host[:1883]`, `mqtts://` (8883).

Why its own parser: a URL is typed by a person (on the command line, in a site file, in a systemd
unit), so anything else — another scheme, a path, a bad port, an empty host — is one MqttUrlError
line, never a traceback from the client library. The password is best kept out of the URL: it
shows in `ps` and sits in site files. `SOLARTUI_MQTT_PASSWORD` (or the variable named by
`--mqtt-password-env` / `password_env:`) supplies it instead; a password in the URL wins. The
password is registered with log redaction, and `MqttConfig.shown()` never contains it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote

from solartui import log_redact
from solartui.errors import SolartuiError

PASSWORD_ENV = "SOLARTUI_MQTT_PASSWORD"
PORTS = {"mqtt": 1883, "mqtts": 8883}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]{1,253})$")


class MqttUrlError(SolartuiError):
    """A broker URL or one of its options is unusable."""


@dataclass(frozen=True)
class MqttConfig:
    """Everything the publisher needs to reach a broker, and what it publishes there."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None          # CA bundle to verify the broker (default: the system's)
    cert_file: str | None = None        # client certificate (with key_file)
    key_file: str | None = None
    base: str = "solartui"
    discovery_prefix: str = "homeassistant"
    writes: bool = False
    discovery: bool = True              # Home Assistant discovery configs (off for big fleets)
    client_id: str | None = None
    queue_size: int = 10_000

    @property
    def scheme(self) -> str:
        return "mqtts" if self.tls else "mqtt"

    def shown(self) -> str:
        """The URL for people and logs: the user, never the password."""
        user = f"{self.username}@" if self.username else ""
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"{self.scheme}://{user}{host}:{self.port}"

    def __str__(self) -> str:
        return self.shown()


def parse_url(text: str) -> tuple[str, int, bool, str | None, str | None]:
    """(host, port, tls, user, password) of a broker URL; MqttUrlError for anything else."""
    if not isinstance(text, str) or not text.strip():
        raise MqttUrlError("no MQTT broker URL given (mqtt://host[:1883] or mqtts://host[:8883])")
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in PORTS:
        raise MqttUrlError(f"MQTT broker URL {_safe(text)!r} must start with mqtt:// or mqtts:// "
                           "(e.g. mqtt://user@broker.lan:1883)")
    userinfo, at, hostport = rest.rpartition("@")
    if not at:
        userinfo, hostport = "", rest
    if hostport.endswith("/"):
        hostport = hostport[:-1]
    if any(c in hostport for c in "/?#"):
        raise MqttUrlError(f"MQTT broker URL {_safe(text)!r}: no path or query allowed "
                           "(the base topic is --mqtt-base)")
    host, port = _host_port(hostport, PORTS[scheme], text)
    user = password = None
    if at:
        u, colon, p = userinfo.partition(":")
        user = unquote(u)
        if not user:
            raise MqttUrlError(f"MQTT broker URL {_safe(text)!r}: empty user name before '@'")
        if colon:
            password = unquote(p)
    return host, port, scheme == "mqtts", user, password


def _host_port(hostport: str, default: int, text: str) -> tuple[str, int]:
    if hostport.startswith("["):
        end = hostport.find("]")
        host, rest = hostport[:end + 1], hostport[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            raise MqttUrlError(f"MQTT broker URL {_safe(text)!r}: bad IPv6 address")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text = hostport.partition(":")
        port_text = port_text if colon else None
    if not host or not _HOST.match(host):
        raise MqttUrlError(f"MQTT broker URL {_safe(text)!r}: missing or invalid host name")
    port = default
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise MqttUrlError(f"MQTT broker URL {_safe(text)!r}: port {port_text!r} is not "
                               "1-65535")
        port = int(port_text)
    return host.strip("[]"), port


def _safe(text: str) -> str:
    """The URL as typed, with any password masked (for an error message)."""
    return re.sub(r"(://[^:@/]*:)[^@/]*@", r"\1***@", text)[:200]


def _file(value: str | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    path = Path(os.path.expanduser(str(value)))
    if not path.is_file():
        raise MqttUrlError(f"{what} {value!r}: no such file")
    return str(path)


def _topic_part(value: str, what: str) -> str:
    value = (value or "").strip().strip("/")
    if not value or any(c in value for c in "+#\0") or any(not c.isprintable() for c in value):
        raise MqttUrlError(f"{what} {value!r} must be a topic without +, # or control characters")
    return value


def make_config(url: str, *, base: str = "solartui", discovery_prefix: str = "homeassistant",
                writes: bool = False, discovery: bool = True, ca_file: str | None = None, cert_file: str | None = None,
                key_file: str | None = None, password_env: str | None = None,
                client_id: str | None = None, queue_size: int = 10_000,
                environ=None) -> MqttConfig:
    """Validate the URL and every option together; one MqttUrlError for the first problem."""
    environ = os.environ if environ is None else environ
    host, port, tls, user, password = parse_url(url)
    env_name = password_env or PASSWORD_ENV
    if not _ENV_NAME.match(env_name):
        raise MqttUrlError(f"password environment variable name {env_name!r} is not a variable "
                           "name")
    if password is None and user is not None and environ.get(env_name):
        password = environ[env_name]
    elif password_env and password is None and not environ.get(env_name):
        raise MqttUrlError(f"the MQTT password variable {env_name} is not set")
    if password_env and user is None:
        raise MqttUrlError("an MQTT password needs a user name (mqtt://USER@host)")
    if (cert_file is None) != (key_file is None):
        raise MqttUrlError("a client certificate needs both --mqtt-cert and --mqtt-key")
    if (ca_file or cert_file) and not tls:
        raise MqttUrlError("CA and client certificate files need an mqtts:// URL")
    if not isinstance(queue_size, int) or queue_size < 1:
        raise MqttUrlError(f"MQTT queue size {queue_size!r} must be a positive whole number")
    log_redact.install(password)          # masked in every log line from now on
    return MqttConfig(host=host, port=port, tls=tls, username=user, password=password,
                      ca_file=_file(ca_file, "MQTT CA file"),
                      cert_file=_file(cert_file, "MQTT client certificate"),
                      key_file=_file(key_file, "MQTT client key"),
                      base=_topic_part(base, "MQTT base topic"),
                      discovery_prefix=_topic_part(discovery_prefix, "discovery prefix"),
                      writes=bool(writes), discovery=bool(discovery), client_id=client_id, queue_size=queue_size)


def with_client_id(config: MqttConfig, client_id: str) -> MqttConfig:
    return replace(config, client_id=client_id)

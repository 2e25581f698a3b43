"""The `--mqtt ...` options `serve` and `log` share, and turning them into one MqttConfig.

The password never needs to be on the command line: SOLARTUI_MQTT_PASSWORD (or the variable
--mqtt-password-env names) supplies it, so it stays out of `ps` and of site files.
"""

from __future__ import annotations

import click

from solartui.mqtt.url import PASSWORD_ENV, MqttConfig, MqttUrlError, make_config

OPTIONS = ("mqtt", "mqtt_base", "mqtt_discovery_prefix", "mqtt_no_discovery", "mqtt_writes",
           "mqtt_ca", "mqtt_cert", "mqtt_key", "mqtt_password_env", "mqtt_queue")


def mqtt_options(fn):
    opts = [
        click.option("--mqtt", "mqtt", default=None, metavar="URL", envvar="SOLARTUI_MQTT",
                     help="Publish to this MQTT broker: mqtt://[user@]host[:1883] or "
                          f"mqtts://... (:8883); the password from {PASSWORD_ENV}."),
        click.option("--mqtt-base", default=None, metavar="TOPIC",
                     help="Base topic (default solartui)."),
        click.option("--mqtt-discovery-prefix", default=None, metavar="TOPIC",
                     help="Home Assistant discovery prefix (default homeassistant)."),
        click.option("--mqtt-no-discovery", is_flag=True, default=None,
                     help="No Home Assistant discovery configs (state topics only: a fleet "
                          "server feeding Node-RED or InfluxDB)."),
        click.option("--mqtt-writes", is_flag=True, default=None,
                     help="Let Home Assistant change the settings the map marks remote-safe "
                          "(through the write gate; off by default)."),
        click.option("--mqtt-ca", default=None, metavar="FILE",
                     help="CA file that signed the broker's certificate (mqtts://)."),
        click.option("--mqtt-cert", default=None, metavar="FILE",
                     help="Client certificate for the broker (with --mqtt-key)."),
        click.option("--mqtt-key", default=None, metavar="FILE", help="Client certificate key."),
        click.option("--mqtt-password-env", default=None, metavar="NAME",
                     help=f"Environment variable holding the broker password "
                          f"(default {PASSWORD_ENV})."),
        click.option("--mqtt-queue", type=int, default=None, metavar="N",
                     help="Messages kept while the broker is away; the oldest are dropped "
                          "(default 10000)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def config_from(options: dict, site: dict | None = None) -> MqttConfig | None:
    """The broker config from the command line over a site file's `mqtt:` section (either may
    be absent); None when neither names a broker. A bad URL or option is a usage mistake: one
    line, exit 2."""
    try:
        return _config(options, site)
    except MqttUrlError as exc:
        raise click.UsageError(str(exc)) from None


def _config(options: dict, site: dict | None) -> MqttConfig | None:
    site = dict(site or {})
    url = options.get("mqtt") or site.get("url")
    if not url:
        return None
    pick = lambda opt, key, default=None: (options.get(opt) if options.get(opt) is not None  # noqa: E731
                                           else site.get(key, default))
    return make_config(url, base=pick("mqtt_base", "base", "solartui"),
                       discovery_prefix=pick("mqtt_discovery_prefix", "discovery_prefix",
                                             "homeassistant"),
                       writes=bool(options.get("mqtt_writes") or site.get("writes")),
                       discovery=not (options.get("mqtt_no_discovery")
                                      or site.get("discovery") is False),
                       ca_file=pick("mqtt_ca", "ca_file"), cert_file=pick("mqtt_cert", "cert_file"),
                       key_file=pick("mqtt_key", "key_file"),
                       password_env=pick("mqtt_password_env", "password_env"),
                       queue_size=pick("mqtt_queue", "queue_size", 10_000))


def pop_options(kwargs: dict) -> dict:
    return {k: kwargs.pop(k, None) for k in OPTIONS}

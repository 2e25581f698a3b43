"""Broker URLs and options: what is accepted, the one line for what is not, and the password
never shown (not in the printed URL, not in repr, not in a log line)."""

from __future__ import annotations

import logging

import pytest

from solartui import log_redact
from solartui.mqtt.state import engineering, group_values, values_of
from solartui.mqtt.url import MqttUrlError, make_config, parse_url
from solartui.registers import catalog


@pytest.mark.parametrize("url, expected", [
    ("mqtt://broker.lan", ("broker.lan", 1883, False, None, None)),
    ("mqtt://broker.lan:1884", ("broker.lan", 1884, False, None, None)),
    ("mqtts://broker.lan", ("broker.lan", 8883, True, None, None)),
    ("MQTTS://pi@10.0.0.2:8884/", ("10.0.0.2", 8884, True, "pi", None)),
    ("mqtt://pi:p%40ss@h", ("h", 1883, False, "pi", "p@ss")),
    ("mqtt://pi:a@b@h", ("h", 1883, False, "pi", "a@b")),
    ("mqtt://[::1]:1883", ("::1", 1883, False, None, None)),
])
def test_urls_accepted(url, expected):
    assert parse_url(url) == expected


@pytest.mark.parametrize("url, words", [
    ("", "no MQTT broker URL"),
    ("broker.lan", "must start with mqtt:// or mqtts://"),
    ("http://broker.lan", "must start with mqtt:// or mqtts://"),
    ("ws://broker.lan", "must start with mqtt:// or mqtts://"),
    ("mqtt://", "missing or invalid host"),
    ("mqtt://:1883", "missing or invalid host"),
    ("mqtt://bro ker", "missing or invalid host"),
    ("mqtt://h:0", "port '0' is not 1-65535"),
    ("mqtt://h:65536", "is not 1-65535"),
    ("mqtt://h:abc", "is not 1-65535"),
    ("mqtt://h/solar", "no path or query"),
    ("mqtt://h?x=1", "no path or query"),
    ("mqtt://:pw@h", "empty user name"),
    ("mqtt://[::1", "bad IPv6"),
])
def test_urls_refused_in_one_line(url, words):
    with pytest.raises(MqttUrlError) as err:
        make_config(url, environ={})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_password_from_the_environment_and_never_shown(caplog):
    cfg = make_config("mqtts://pi@broker.lan", environ={"SOLARTUI_MQTT_PASSWORD": "Pw-from-env-1"})
    assert cfg.password == "Pw-from-env-1" and cfg.username == "pi"
    assert cfg.shown() == "mqtts://pi@broker.lan:8883" and "Pw-from" not in repr(cfg)
    other = make_config("mqtt://pi@h", password_env="BROKER_PW", environ={"BROKER_PW": "xyz-123456"})
    assert other.password == "xyz-123456"
    url_pw = make_config("mqtt://pi:In-url-secret9@h", environ={"SOLARTUI_MQTT_PASSWORD": "env"})
    assert url_pw.password == "In-url-secret9" and "In-url" not in url_pw.shown()
    with pytest.raises(MqttUrlError, match="BROKER_PW is not set"):
        make_config("mqtt://pi@h", password_env="BROKER_PW", environ={})
    with pytest.raises(MqttUrlError, match="not a variable name"):
        make_config("mqtt://pi@h", password_env="1 bad", environ={})
    assert make_config("mqtt://h", environ={"SOLARTUI_MQTT_PASSWORD": "x"}).password is None
    # the literal passwords and any URL password are masked in every log line
    log_redact.install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("solartui.test").info("pw Pw-from-env-1 url mqtt://u:whatever@h:1883")
    text = caplog.text
    assert "Pw-from-env-1" not in text and "whatever" not in text and "mqtt://u:***@h" in text


def test_options_checked(tmp_path):
    with pytest.raises(MqttUrlError, match="both --mqtt-cert and --mqtt-key"):
        make_config("mqtts://h", cert_file=str(tmp_path), environ={})
    with pytest.raises(MqttUrlError, match="need an mqtts:// URL"):
        make_config("mqtt://h", ca_file=__file__, environ={})
    with pytest.raises(MqttUrlError, match="no such file"):
        make_config("mqtts://h", ca_file=str(tmp_path / "nope.pem"), environ={})
    with pytest.raises(MqttUrlError, match="base topic"):
        make_config("mqtt://h", base="solar/#", environ={})
    with pytest.raises(MqttUrlError, match="queue size"):
        make_config("mqtt://h", queue_size=0, environ={})
    cfg = make_config("mqtt://h", base="/site/pi1/", environ={})
    assert cfg.base == "site/pi1"


def test_group_values_decode_like_the_readings(growatt_map):
    """The serve path's subset decoder gives the same values as the full decode."""
    from datetime import datetime
    from solartui.shine import frame as F
    from solartui.shine.values import record_values
    from solartui.sim.register_bank import RegisterBank
    from solartui.sim.shine_logger import SimulatedDatalogger
    m = catalog.resolve("growatt-protocol-ii")
    sim = SimulatedDatalogger(RegisterBank(m, seed=3, identity={"serial": "X1"}),
                              datalogger="L1", inverter="X1")
    [rec] = sim._records(F.DATA, "input", datetime.now())
    full = values_of(record_values(m, rec).readings)
    assert group_values(m, rec.groups) == full
    some = group_values(m, rec.groups, ("ppv", "inverter_status", "eac_today"))
    assert some == {k: full[k] for k in ("ppv", "inverter_status", "eac_today")}
    assert isinstance(some["inverter_status"], str)          # labels, not codes
    assert engineering(object()) is None

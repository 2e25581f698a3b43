"""Target URLs: tcp://HOST[:PORT]?unit=N and rtu:///dev/PATH?baud=&parity=&unit=."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solartui.errors import SolartuiError, TargetError
from solartui.links.target import Target, parse_target


def test_tcp_with_port_and_unit():
    t = parse_target("tcp://127.0.0.1:5020?unit=3")
    assert (t.scheme, t.host, t.port, t.unit) == ("tcp", "127.0.0.1", 5020, 3)
    assert t.path == "" and t.baud is None and t.parity is None
    assert t.link_key == "tcp://127.0.0.1:5020"
    assert str(t) == "tcp://127.0.0.1:5020?unit=3"


def test_tcp_default_port_and_unit():
    t = parse_target("tcp://inverter.local")
    assert (t.host, t.port, t.unit) == ("inverter.local", 502, None)
    assert parse_target("tcp://10.0.0.7/").port == 502


def test_tcp_options():
    t = parse_target("  TCP://10.0.0.7:502?unit=247&timeout=500&period=850  ")
    assert (t.scheme, t.unit, t.timeout_ms, t.period_ms) == ("tcp", 247, 500, 850)


def test_tcp_ipv6():
    t = parse_target("tcp://[::1]:1502?unit=1")
    assert (t.host, t.port) == ("::1", 1502)


def test_rtu():
    t = parse_target("rtu:///dev/ttyUSB0?baud=9600&parity=E&unit=2")
    assert (t.scheme, t.path, t.baud, t.parity, t.unit) == ("rtu", "/dev/ttyUSB0", 9600, "E", 2)
    assert t.host == "" and t.stopbits == 1
    assert t.link_key == "rtu:///dev/ttyUSB0"


def test_rtu_defaults_and_lower_case_parity():
    t = parse_target("rtu:///dev/ttyACM1")
    assert (t.baud, t.parity, t.unit, t.stopbits) == (None, None, None, 1)
    assert parse_target("rtu:///dev/ttyS0?parity=o&stopbits=2").parity == "O"
    assert parse_target("rtu:///dev/ttyS0?stopbits=2").stopbits == 2


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:5020?unit=3", "tcp://h", "tcp://h:1502",
                                 "rtu:///dev/ttyUSB0?baud=9600&parity=E&unit=2",
                                 "rtu:///dev/ttyUSB0"])
def test_str_parses_back(url):
    t = parse_target(url)
    assert parse_target(str(t)) == t


def test_with_unit():
    t = parse_target("tcp://h?unit=3").with_unit(7)
    assert t.unit == 7 and t.host == "h"
    assert isinstance(t, Target)


@pytest.mark.parametrize("url,words", [
    ("127.0.0.1:502", ["not a target URL", "tcp://"]),                 # no scheme
    ("/dev/ttyUSB0", ["not a target URL"]),
    ("", ["not a target URL"]),
    ("inverter", ["not a target URL"]),
    ("udp://10.0.0.1", ["unknown scheme", "udp"]),                      # unknown scheme
    ("http://10.0.0.1", ["unknown scheme", "http"]),
    ("tcp://", ["names no host"]),                                      # tcp without host
    ("tcp://:502", ["names no host"]),
    ("tcp://?unit=1", ["names no host"]),
    ("tcp://h/modbus", ["takes no path"]),
    ("rtu://dev/ttyUSB0", ["three slashes"]),                           # rtu with a host
    ("rtu://localhost/dev/ttyUSB0", ["three slashes"]),
    ("rtu:///", ["no serial device"]),
    ("rtu://", ["no serial device"]),
    ("tcp://h?speed=9", ["unknown option", "speed"]),                   # unknown option
    ("tcp://h?baud=9600", ["unknown option", "baud"]),                  # rtu-only option
    ("rtu:///dev/ttyUSB0?Unit=1", ["unknown option", "Unit"]),
    ("tcp://h?unit=0", ["unit=0", "1-255"]),                            # unit out of range
    ("tcp://h?unit=256", ["unit=256", "1-255"]),
    ("tcp://h?unit=abc", ["unit='abc'", "whole number"]),
    ("tcp://h?unit=", ["unit=''", "whole number"]),
    ("tcp://h?unit=1.5", ["whole number"]),
    ("rtu:///dev/ttyUSB0?baud=1234", ["baud=1234", "standard"]),         # odd baud rate
    ("rtu:///dev/ttyUSB0?baud=fast", ["baud", "whole number"]),
    ("rtu:///dev/ttyUSB0?parity=X", ["parity", "N, E or O"]),
    ("rtu:///dev/ttyUSB0?parity=", ["parity", "N, E or O"]),
    ("rtu:///dev/ttyUSB0?stopbits=3", ["stopbits"]),
    ("tcp://h?unit=1&unit=2", ["'unit' is given twice"]),               # duplicate option
    ("rtu:///dev/ttyUSB0?baud=9600&baud=9600", ["'baud' is given twice"]),
    ("tcp://h:99999", ["port", "out of range"]),                         # bad ports
    ("tcp://h:0", ["port 0"]),
    ("tcp://h:abc", ["port"]),
    ("tcp://h:-1", ["port"]),
    ("tcp://h?timeout=0", ["timeout=0"]),
    ("tcp://[::1", ["IPv6"]),
    ("tcp://h?%0A=1", ["unknown option", "'\\n'"]),                   # still one line
    ("tcp://h?%0A=1&%0A=2", ["given twice"]),
])
def test_bad_targets(url, words):
    with pytest.raises(TargetError) as info:
        parse_target(url)
    message = str(info.value)
    assert message and "\n" not in message
    for w in words:
        assert w.lower() in message.lower(), (w, message)
    assert isinstance(info.value, SolartuiError)


def _only_target_error(url: str) -> None:
    try:
        t = parse_target(url)
    except TargetError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert t.scheme in ("tcp", "rtu")
    if t.scheme == "tcp":
        assert t.host and 1 <= t.port <= 65535
    else:
        assert t.path and not t.host
    assert t.unit is None or 1 <= t.unit <= 255


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=60))
def test_random_text_only_raises_target_error(url):
    _only_target_error(url)


PIECES = st.sampled_from(["tcp", "rtu", "TCP", "udp", "", "://", ":///", "/", "//", "?", "&",
                          "=", ":", "[", "]", "::1", "@", "#", "%", "%zz", "h", "127.0.0.1",
                          "dev", "ttyUSB0", "unit", "baud", "parity", "stopbits", "timeout",
                          "period", "0", "1", "247", "9600", "E", "x", "-", "99999", " ", "\n",
                          "\x00", "٣", "é", "+", "%0A", "%0d", "%00"])


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(PIECES, max_size=14))
def test_url_like_text_only_raises_target_error(pieces):
    _only_target_error("".join(pieces))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(scheme=st.sampled_from(["tcp://h", "tcp://10.0.0.1:1502", "rtu:///dev/ttyUSB0"]),
       query=st.lists(st.tuples(st.sampled_from(["unit", "baud", "parity", "stopbits",
                                                 "timeout", "period", "x"]),
                                st.text(max_size=6)), max_size=4))
def test_random_options_only_raise_target_error(scheme, query):
    _only_target_error(scheme + "?" + "&".join(f"{k}={v}" for k, v in query))

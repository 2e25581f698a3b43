"""Target URLs print in a form that parses back (IPv6 stays bracketed), refuse '#' and take
only ASCII digits in numeric options; the Shine HTTP API's numeric parameters likewise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solartui.errors import TargetError
from solartui.links.target import parse_target
from solartui.shine import http_params as H
from solartui.shine.http_params import ApiError


@pytest.mark.parametrize("url", ["tcp://[::1]:502", "tcp://[::1]:1502?unit=3",
                                 "givenergy://[fe80::1:2]:8899", "tcp://127.0.0.1:502?unit=1"])
def test_ipv6_targets_print_bracketed_and_parse_back(url):
    t = parse_target(url)
    assert str(t) == url and parse_target(str(t)) == t


_HOSTS = st.one_of(st.ip_addresses().map(lambda a: f"[{a}]" if a.version == 6 else str(a)),
                   st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,2}", fullmatch=True))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["tcp", "givenergy"]), _HOSTS, st.integers(1, 65535),
       st.none() | st.integers(1, 255))
def test_network_targets_round_trip(scheme, host, port, unit):
    url = f"{scheme}://{host}:{port}" + ("" if unit is None else f"?unit={unit}")
    t = parse_target(url)
    assert parse_target(str(t)) == t


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["rtu", "pi30"]), st.from_regex(r"/dev/tty[A-Za-z0-9_.-]{1,12}", fullmatch=True),
       st.sampled_from([None, 2400, 9600]), st.sampled_from([None, "N", "E"]), st.sampled_from([1, 2]))
def test_serial_targets_round_trip(scheme, path, baud, parity, stopbits):
    q = [f"baud={baud}"] if baud else []
    if scheme == "rtu":
        q += [f"parity={parity}"] if parity else []
        q += [f"stopbits={stopbits}", "unit=4"]
    t = parse_target(f"{scheme}://{path}" + ("?" + "&".join(q) if q else ""))
    assert parse_target(str(t)) == t


@pytest.mark.parametrize("url", ["tcp://host:502?unit=1#x", "tcp://host#:503", "rtu:///dev/ttyUSB0#1"])
def test_a_hash_is_refused_not_silently_dropped(url):
    with pytest.raises(TargetError, match="'#' cannot appear"):
        parse_target(url)


@pytest.mark.parametrize("query", ["unit=1_0", "unit=%D9%A1", "unit=\u0661", "unit=\uff11",
                                   "unit=+1", "unit= 1", "timeout=1_000", "period=\u0663"])
def test_numeric_options_take_ascii_digits_only(query):
    with pytest.raises(TargetError, match="ASCII digits"):
        parse_target(f"tcp://127.0.0.1:502?{query}")


@pytest.mark.parametrize("ident", ["0x66:5161", "06_5:5161", "\uff10665:5161"])
def test_hid_ids_are_ascii_hex(ident):
    with pytest.raises(TargetError, match="VID:PID in hex"):
        parse_target(f"hid://{ident}")


@pytest.mark.parametrize("text", ["1_0", "\u0661\u0660", "\uff11", " 10", "+10", "10 ", ""])
def test_http_register_takes_ascii_digits_only(text):
    with pytest.raises(ApiError):
        H.register({"register": text})
    with pytest.raises(ApiError):
        H.inverter_value(text or "-", "dec")


def test_http_values_still_take_what_grottserver_took():
    assert H.register({"register": "0042"}) == 42
    assert H.inverter_value("100", "dec") == 100
    assert H.inverter_value("0x64", "hex") == H.inverter_value("64", "hex") == 100
    for bad in ("1_f", "\uff11", "0x"):
        with pytest.raises(ApiError):
            H.inverter_value(bad, "hex")


async def test_links_describe_ipv6_targets_in_a_form_that_parses_back():
    from solartui.links.givenergy import GivEnergyTransport
    from solartui.links.modbus import ModbusTransport
    link = ModbusTransport(parse_target("tcp://[::1]:1502?unit=1"))
    assert link.description == "tcp://[::1]:1502" and parse_target(link.description).host == "::1"
    assert GivEnergyTransport("::1", 8899).description == "givenergy://[::1]:8899"


@pytest.mark.parametrize("url", ["rtu:///dev/ttyUSB0\x00x?unit=1", "tcp://127.0.0.1:502?unit=1\x01"])
def test_control_characters_are_refused(url):
    with pytest.raises(TargetError, match="control characters"):
        parse_target(url)

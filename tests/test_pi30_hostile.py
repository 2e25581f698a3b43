"""A PI30 device that sends numbers no inverter sends: a 5,000-digit field once reached int() and
ended `read` with "internal error" (and `solartui log` for every device of the site). Now the
reply's length and each numeric field's length are bounded, each a one-line error of its own."""

from __future__ import annotations

import csv

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solartui.pi30.codec import MAX_REPLY, encode_response, parse_response
from solartui.pi30.errors import Pi30FrameError, Pi30TooLong
from solartui.registers import catalog
from solartui.registers.command_codec import MAX_NUMBER, decode_fields
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.sim.register_bank import RegisterBank
from solartui.site.logger import SiteLogger
from solartui.site.site_file import load_site

from procs import one_line_error, run_cli

HUGE = "9" * 5000


@pytest.fixture(scope="module")
def pi30_map():
    return catalog.resolve_command_map(None)


def test_a_frame_longer_than_any_reply_is_refused():
    frame = encode_response("1" * (MAX_REPLY + 10))
    with pytest.raises(Pi30TooLong) as info:
        parse_response(frame, "QPIGS")
    assert "longer than any PI30 reply" in str(info.value) and len(str(info.value)) < 200


@pytest.mark.parametrize("token", [HUGE, "1" * (MAX_NUMBER + 1), "0." + "5" * 4400])
def test_an_over_long_number_is_a_field_error(pi30_map, token):
    qpigs = next(c for c in pi30_map.commands if c.command == "QPIGS")
    tokens = tuple([token] * (max(f.index for f in qpigs.fields) + 1))
    got = decode_fields(qpigs, tokens)
    numeric = [d for d in got.values() if d.field.type in ("int", "float", "enum")]
    assert numeric and not any(d.ok for d in numeric)
    assert all("too long" in d.error and len(d.error) < 160 for d in numeric)
    assert all(len(d.error) < 200 for d in got.values() if d.error)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.text("0123456789.-+", max_size=60),
                          st.integers(4290, 4400).map(lambda n: "7" * n)), max_size=30))
def test_any_tokens_decode_to_values_or_field_errors(pi30_map, tokens):
    for command in pi30_map.commands:
        for d in decode_fields(command, tuple(tokens)).values():
            assert d.ok or isinstance(d.error, str)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=40), st.integers(0, 3000))
def test_parse_response_only_raises_its_own_errors(head, digits):
    raw = encode_response("(" + "1" * digits)[:-1] + head + b"\r"
    try:
        parse_response(raw, "QPIGS")
    except Pi30FrameError:
        pass


async def test_read_of_a_device_sending_5000_digits_is_one_line(tmp_path):
    inverter = Pi30Inverter()
    tokens = ["000.0"] * 21
    server = await serve_pi30_on_pty(inverter, mode="serial")
    url = f"pi30://{server.client_path}?period=0&timeout=800"
    try:
        for token, why in ((HUGE, "longer than any PI30 reply"), ("9" * 50, "too long")):
            tokens[5] = token                       # ac_output_active_power, an int field
            inverter.canned["QPIGS"] = " ".join(tokens)
            code, out, err = await run_cli("read", url, "ac_output_active_power")
            assert why in one_line_error(code, err)
    finally:
        await server.stop()


async def test_log_keeps_logging_the_other_devices(tmp_path, growatt_map):
    """A hostile PI30 device on one port, a Modbus inverter on TCP: both rows are written."""
    inverter = Pi30Inverter()
    inverter.canned["QPIGS"] = " ".join([HUGE] * 21)
    server = await serve_pi30_on_pty(inverter, mode="serial")
    sim = ModbusSimulator([RegisterBank(growatt_map, unit=1)])
    port = await sim.start_tcp("127.0.0.1", 0)
    site = tmp_path / "site.yaml"
    site.write_text(f"""schema: 1
site: hostile
period: 60
devices:
  - name: offgrid
    target: "pi30://{server.client_path}?period=0&timeout=800"
    map: voltronic-pi30
    points: [ac_input_voltage, battery_voltage]
  - name: garage
    target: "tcp://127.0.0.1:{port}?period=0&timeout=800"
    map: growatt-protocol-ii
    unit: 1
    points: [ppv, pac]
""")
    logger = SiteLogger(load_site(site), echo=False)
    logger.open()
    try:
        await logger.once()
    finally:
        await logger.close()
        await server.stop()
        await sim.stop()
    with open(tmp_path / "offgrid.csv", newline="") as fh:
        offgrid = list(csv.reader(fh))
    with open(tmp_path / "garage.csv", newline="") as fh:
        garage = list(csv.reader(fh))
    assert len(offgrid) == 2 and len(garage) == 2
    assert offgrid[1][1:-1] == ["", ""] and "longer than any PI30 reply" in offgrid[1][-1]
    assert all(garage[1][1:-1]) and garage[1][-1] == ""

"""PI30 codec: every frame in tests/vectors/pi30.json, CRC and reserved-byte bump, error types
that carry their frame, and random bytes that only ever give our own errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solartui.errors import LinkError, SolartuiError
from solartui.pi30 import (
    Pi30BadCrc,
    Pi30CommandError,
    Pi30EmptyFrame,
    Pi30Error,
    Pi30FrameError,
    Pi30Garbled,
    Pi30NoStart,
    Pi30NotSupported,
    Pi30OtherProtocol,
    Pi30Truncated,
    Response,
    bump_crc,
    crc_bytes,
    crc_status,
    crc_xmodem,
    cut_at_cr,
    decode_request,
    encode_request,
    encode_response,
    hid_chunks,
    parse_response,
    read_until_cr,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "pi30.json").read_text())
REQUESTS = [v for v in VECTORS if v["decoded"].get("frame") == "request"]
RESPONSES = [v for v in VECTORS if v["response_hex"]]

# field order of QPIGS (7.4) and QPIRI (7.6): the vectors' decoded keys by token index
QPIGS_KEYS = [
    "ac_input_voltage_v", "ac_input_frequency_hz", "ac_output_voltage_v",
    "ac_output_frequency_hz", "ac_output_apparent_power_va", "ac_output_active_power_w",
    "output_load_percent", "bus_voltage_v", "battery_voltage_v", "battery_charging_current_a",
    "battery_capacity_percent", "heatsink_temperature_c", "pv_input_current_a",
    "pv_input_voltage_v", "battery_voltage_from_scc_v", "battery_discharge_current_a",
    "device_status", "battery_voltage_offset_fans_on_10mv", "eeprom_version",
    "pv_charging_power_w", "device_status2", "solar_feed_to_grid", "country_code",
    "solar_feed_to_grid_power_w"]
QPIRI_KEYS = [
    "grid_rating_voltage_v", "grid_rating_current_a", "ac_output_rating_voltage_v",
    "ac_output_rating_frequency_hz", "ac_output_rating_current_a",
    "ac_output_rating_apparent_power_va", "ac_output_rating_active_power_w",
    "battery_rating_voltage_v", "battery_recharge_voltage_v", "battery_under_voltage_v",
    "battery_bulk_voltage_v", "battery_float_voltage_v", "battery_type",
    "max_ac_charging_current_a", "max_charging_current_a", "input_voltage_range",
    "output_source_priority", "charger_source_priority", "parallel_max_num", "machine_type",
    "topology", "output_mode", "battery_redischarge_voltage_v", "pv_ok_condition",
    "pv_power_balance", "max_cv_charging_time_min", "operation_logic",
    "max_discharging_current_a"]


def _ids(vs):
    return [v["name"] for v in vs]


def test_vector_file_is_complete():
    assert len(VECTORS) == 91
    assert len(REQUESTS) + len(RESPONSES) == 91


# --- requests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("v", REQUESTS, ids=_ids(REQUESTS))
def test_request_vector(v):
    expected = bytes.fromhex(v["request_hex"])
    d = v["decoded"]
    if v["crc"] == "absent":                        # PI17 probe: no CRC at all, not PI30 framing
        assert expected == v["command"].encode() + b"\r"
        return
    frame = encode_request(v["command"])
    assert frame == expected
    cmd = v["command"].encode()
    assert f"{crc_xmodem(cmd):04x}" == d["crc_xmodem"]
    assert crc_bytes(cmd).hex() == d["crc_sent"]
    assert crc_status(cmd, frame[-3:-1]) == v["crc"]
    if "length" in d:
        assert len(frame) == d["length"]
    if "hid_chunks_8byte" in d:
        chunks = hid_chunks(frame)
        assert len(chunks) == d["hid_chunks_8byte"]
        assert all(len(c) == 8 for c in chunks)
        assert b"".join(chunks).rstrip(b"\x00") == frame
        assert all(c[0] != 0 for c in chunks)      # the 0x00 bump keeps hidraw writes whole
    assert decode_request(frame) == v["command"]


# --- responses -----------------------------------------------------------------------------------

def _command_for(v) -> str | None:
    c = v["command"]
    return c if c and c.isalnum() else None         # "(setter)", "(any)" ... name no command


@pytest.mark.parametrize("v", RESPONSES, ids=_ids(RESPONSES))
def test_response_vector(v):
    raw = bytes.fromhex(v["response_hex"])
    d = v["decoded"]
    command = _command_for(v)
    if d.get("failure") == "echo":
        with pytest.raises(Pi30NotSupported) as err:
            parse_response(raw, command)
        assert err.value.frame == raw and err.value.command == command
        return
    if str(d.get("payload", "")).startswith("^"):
        with pytest.raises(Pi30OtherProtocol) as err:
            parse_response(raw, command)
        assert err.value.frame == raw
        assert err.value.accepted is (d["result"] == "PI18 accept")
        return
    if v["crc"] == "invalid":
        with pytest.raises(Pi30BadCrc) as err:
            parse_response(raw, command)
        assert err.value.frame == raw
        assert f"{crc_xmodem(raw[:-3]):04x}" == d["crc_xmodem"]
        return

    r = parse_response(raw, command)
    assert r.crc == {"ok": "ok", "bumped": "bumped", "absent": "none"}[v["crc"]]
    assert "(" + r.payload == d["payload"]
    assert r.fields == tuple(d["payload"][1:].split())
    assert r.frame == raw
    if d.get("crc_wire"):
        assert raw[-3:-1].hex() == d["crc_wire"]
        assert f"{crc_xmodem(raw[:-3]):04x}" == d["crc_xmodem"]
    assert r.is_ack == (d.get("result") == "ACK")
    assert r.is_nak == (d.get("result") == "NAK")
    if "token_count" in d:
        assert len(r.fields) == d["token_count"]
    # the tokens land where the protocol notes put them
    keys = {"QPIGS": QPIGS_KEYS, "QPIRI": QPIRI_KEYS}.get(command or "", [])
    for i, key in enumerate(keys[:len(r.fields)]):
        if key not in d:
            continue
        want, token = d[key], r.fields[i]
        if isinstance(want, str):
            assert token == want, key
        elif want is None:
            assert token == "-", key
        else:
            assert float(token) == pytest.approx(want), key
    if "bit_string" in d:
        assert r.payload == d["bit_string"]
    if "raw" in d:
        assert r.payload == d["raw"]
    if "selectable_a" in d:
        assert [int(x) for x in r.fields] == d["selectable_a"]
    if "serial_number" in d and command == "QSID":
        n = int(r.payload[:2])
        assert r.payload[2:2 + n] == d["serial_number"]


def test_every_vector_is_exercised():
    assert {v["name"] for v in REQUESTS} | {v["name"] for v in RESPONSES} == \
        {v["name"] for v in VECTORS}


# --- CRC and the reserved-byte bump --------------------------------------------------------------

def test_crc_check_value():
    assert crc_xmodem(b"123456789") == 0x31C3
    assert crc_xmodem(b"") == 0


@pytest.mark.parametrize("raw, sent", [
    (0x2828, 0x2929), (0x0D0D, 0x0E0E), (0x0A0A, 0x0B0B), (0x0000, 0x0101),
    (0x0D8F, 0x0E8F), (0xE20A, 0xE20B), (0x4928, 0x4929), (0x004E, 0x014E), (0x1500, 0x1501),
    (0x940D, 0x940E), (0x2929, 0x2929), (0xFFFF, 0xFFFF), (0x0E0B, 0x0E0B),
])
def test_bump(raw, sent):
    assert bump_crc(raw) == sent


def test_bump_never_leaves_a_reserved_byte():
    for crc in range(0x10000):
        b = bump_crc(crc).to_bytes(2, "big")
        assert b[0] not in (0x28, 0x0D, 0x0A, 0x00) and b[1] not in (0x28, 0x0D, 0x0A, 0x00)


def test_receive_accepts_raw_and_bumped_crc():
    body = b"(1492932105105335005535"                   # XMODEM 94 0d
    assert parse_response(body + b"\x94\x0e\r").crc == "bumped"
    # a device that does not bump would have to send 94 0d, and the frame would end there:
    # the first CR wins, leaving a CRC-less body that does not fit any CRC-less shape
    with pytest.raises(Pi30BadCrc):
        parse_response(body + b"\x94\x0d\r")
    qgmn = b"QGMN"                                      # XMODEM 49 28: '(' is bumped
    assert crc_status(qgmn, b"\x49\x28") == "ok"
    assert crc_status(qgmn, b"\x49\x29") == "bumped"
    assert crc_status(qgmn, b"\x49\x2a") is None
    assert crc_status(qgmn, b"\x49") is None


def test_request_crc_may_be_raw_or_bumped():
    assert decode_request(b"QGMN\x49\x29\r") == "QGMN"
    assert decode_request(b"QGMN\x49\x28\r") == "QGMN"
    with pytest.raises(Pi30BadCrc) as err:
        decode_request(b"QGMN\x49\x2a\r")
    assert err.value.frame == b"QGMN\x49\x2a\r"
    with pytest.raises(Pi30Truncated):
        decode_request(b"QGMN\x49\x29")
    with pytest.raises(Pi30EmptyFrame):
        decode_request(b"\r")
    with pytest.raises(Pi30Truncated):
        decode_request(b"Q\r")


# --- tolerated deviations ------------------------------------------------------------------------

ACK_FRAME = bytes.fromhex("2841434b39200d")


@pytest.mark.parametrize("tail", [b"\n", b"\x00" * 7, b"\n\x00\x00", b"junk(ACK\r", b"\r\r"])
def test_anything_after_the_first_cr_is_dropped(tail):
    r = parse_response(ACK_FRAME + tail)
    assert r.is_ack and r.frame == ACK_FRAME


def test_leading_lf_and_nul_are_skipped():
    assert parse_response(b"\n" + ACK_FRAME).is_ack
    assert parse_response(b"\x00\x00" + ACK_FRAME).is_ack


def test_trailing_space_before_crc_gives_no_empty_token():
    r = parse_response(encode_response("03.1 327.3 01026 "))
    assert r.fields == ("03.1", "327.3", "01026")
    assert r.payload == "03.1 327.3 01026 "


def test_crcless_shapes():
    assert parse_response(b"(NAK\r").is_nak
    assert parse_response(b"(ACK\r").crc == "none"
    assert parse_response(b"(20180101111120\r", "QT").payload == "20180101111120"
    assert parse_response(b"(20180101111120\r").crc == "none"
    # 14 digits without CRC are only QT's shape: for another command it is a bad frame
    with pytest.raises(Pi30BadCrc):
        parse_response(b"(20180101111120\r", "QID")
    with pytest.raises(Pi30BadCrc):
        parse_response(b"(PI30\r", "QPI")


def test_empty_payload_with_crc():
    r = parse_response(encode_response(""))
    assert (r.payload, r.fields, r.crc) == ("", (), "ok")


def test_echo_forms():
    frame = encode_request("QPGS0")
    with pytest.raises(Pi30NotSupported):
        parse_response(frame, "QPGS0")
    with pytest.raises(Pi30NotSupported):                # echoed without its CRC
        parse_response(b"QPGS0\r", "QPGS0")
    with pytest.raises(Pi30NoStart):                     # without the command: just noise
        parse_response(frame)
    with pytest.raises(Pi30NoStart):                     # another command's echo is not ours
        parse_response(encode_request("QPIGS"), "QPGS0")


# --- errors carry their frame --------------------------------------------------------------------

@pytest.mark.parametrize("raw, kind, frame", [
    (b"", Pi30EmptyFrame, b""),
    (b"\r", Pi30EmptyFrame, b"\r"),
    (b"\n\x00\r", Pi30EmptyFrame, b"\n\x00\r"),
    (b"(\rtail", Pi30EmptyFrame, b"(\r"),
    (b"(PI30\x9a", Pi30Truncated, b"(PI30\x9a"),
    (b"(P\r", Pi30Truncated, b"(P\r"),
    (b"PI30\x9a\x0b\r", Pi30NoStart, b"PI30\x9a\x0b\r"),
    (b"(Sd9\rjunk", Pi30BadCrc, b"(Sd9\r"),
    (b"^0\x1b\xe3\r", Pi30OtherProtocol, b"^0\x1b\xe3\r"),
    (b"^D00518xx\r", Pi30OtherProtocol, b"^D00518xx\r"),
])
def test_error_types_carry_the_frame(raw, kind, frame):
    with pytest.raises(kind) as err:
        parse_response(raw)
    e = err.value
    assert type(e) is kind
    assert e.frame == frame
    assert isinstance(e, Pi30FrameError) and isinstance(e, LinkError)
    assert "\n" not in str(e)                            # one line for the person
    if kind is not Pi30OtherProtocol:
        assert isinstance(e, Pi30Garbled)


def test_error_hierarchy():
    for kind in (Pi30EmptyFrame, Pi30Truncated, Pi30NoStart, Pi30BadCrc):
        assert issubclass(kind, Pi30Garbled)
    for kind in (Pi30NotSupported, Pi30OtherProtocol):
        assert issubclass(kind, Pi30FrameError) and not issubclass(kind, Pi30Garbled)
    assert issubclass(Pi30Error, LinkError)


@pytest.mark.parametrize("command", ["", "QP\rI", "QPIé", "Q\x00", None, 5])
def test_bad_commands_are_refused_before_framing(command):
    with pytest.raises(Pi30CommandError):
        encode_request(command)


# --- chunking and reading ------------------------------------------------------------------------

def test_hid_chunks():
    assert hid_chunks(encode_request("QPIGS")) == [b"QPIGS\xb7\xa9\r"]
    assert hid_chunks(encode_request("QPIGS2")) == [b"QPIGS2h-", b"\r" + b"\x00" * 7]
    assert hid_chunks(encode_request("PBCV48.0")) == [b"PBCV48.0", b"\x93\x8a\r" + b"\x00" * 5]
    assert len(hid_chunks(encode_request("DAT20250101120000"))) == 3
    assert hid_chunks(b"") == [b"\x00" * 8]


def test_cut_at_cr():
    assert cut_at_cr(b"(ACK9 \r\n\x00") == b"(ACK9 \r"
    assert cut_at_cr(b"(ACK") is None


def test_read_until_cr_over_reports():
    reports = [b"", b"(ACK", None, b"9 \r\x00\x00\x00\x00", b"never read"]
    asked = []

    def read(remaining):
        asked.append(remaining)
        return reports.pop(0)

    assert read_until_cr(read, 5.0) == b"(ACK9 \r\x00\x00\x00\x00"
    assert len(asked) == 4 and all(0 < r <= 5.0 for r in asked)


def test_read_until_cr_deadline():
    now = [0.0]

    def clock():
        return now[0]

    def read(remaining):
        now[0] += 0.4
        return b"(PI"

    assert read_until_cr(read, 1.0, clock=clock) == b"(PI" * 3


# --- property tests ------------------------------------------------------------------------------

commands = st.one_of(st.none(), st.sampled_from(["QPI", "QT", "QPGS0", "QPIGS2", "POP02"]),
                     st.text(max_size=12))


@settings(max_examples=600, deadline=None)
@given(raw=st.binary(max_size=160), command=commands)
def test_random_bytes_give_a_response_or_our_error(raw, command):
    try:
        r = parse_response(raw, command)
    except Pi30FrameError as exc:
        assert isinstance(exc.frame, bytes)
        return
    assert isinstance(r, Response)
    assert r.crc in ("ok", "bumped", "none")
    assert b"\r" in raw and r.frame.endswith(b"\r")


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=80).map(lambda b: b"(" + b), command=commands)
def test_random_frames_starting_with_paren(raw, command):
    try:
        parse_response(raw + b"\r", command)
    except Pi30FrameError:
        pass


@settings(max_examples=300, deadline=None)
@given(payload=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120),
       tail=st.binary(max_size=16))
def test_response_round_trip(payload, tail):
    frame = encode_response(payload)
    r = parse_response(frame + tail)
    assert r.payload == payload
    assert r.fields == tuple(payload.split())
    assert r.crc in ("ok", "bumped")
    unbumped = encode_response(payload, bump=False)
    if b"\r" not in unbumped[:-1]:                      # a raw CRC byte 0x0D would end the frame
        assert parse_response(unbumped).payload == payload


@settings(max_examples=300, deadline=None)
@given(command=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1,
                       max_size=30))
def test_request_round_trip(command):
    frame = encode_request(command)
    assert frame.endswith(b"\r") and frame.count(b"\r") == 1
    assert decode_request(frame) == command
    assert all(b != 0 for b in frame)
    chunks = hid_chunks(frame)
    assert all(len(c) == 8 and c[0] != 0 for c in chunks)


@settings(max_examples=300, deadline=None)
@given(command=st.one_of(st.text(max_size=20), st.binary(max_size=5)))
def test_random_commands_give_a_frame_or_our_error(command):
    try:
        encode_request(command)
    except SolartuiError as exc:
        assert isinstance(exc, Pi30CommandError)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=60))
def test_random_requests_give_a_command_or_our_error(raw):
    try:
        assert isinstance(decode_request(raw), str)
    except Pi30FrameError:
        pass

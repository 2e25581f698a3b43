"""The GivEnergy frame codec and stream cutter against every vector and every capture file, plus
property tests: decode() raises only GivFrameError, FrameStream.feed never raises, and every
message we can build survives encode -> decode."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solartui.givenergy import frame as F
from solartui.givenergy.capture import (
    STREAM_DIRECTION,
    chunks,
    parse_capture,
    parse_capture_text,
)
from solartui.givenergy.errors import (
    GivCaptureError,
    GivCrcError,
    GivEncodeError,
    GivFrameError,
)
from solartui.givenergy.stream import FrameStream
from solartui.links.crc import crc16_modbus
from tests.conftest import ROOT

VECTORS = json.loads((ROOT / "tests" / "vectors" / "givenergy.json").read_text())
CAPTURES = sorted(p for p in (ROOT / "tests" / "vectors" / "givenergy-captures").iterdir()
                  if p.suffix in (".log", ".txt"))
DIRECTION = {"client_to_dongle": "to_dongle", "dongle_to_client": "to_client"}

# what the stream must reject in each capture, by (file, direction): (CRC failures, other)
KNOWN_REJECTIONS = {
    ("aio_arm612_5min.log", "rx"): (1, 0),          # first frame split across two reads
    ("ems_arm1036_30min.log", "rx"): (7, 0),        # three carry CRC 00 00
    ("giv3hy11_da011_10min.log", "rx"): (0, 1),     # the stray 00 byte at the end
    ("hybrid_gen1_arm449_givbat82_givbat95gen3_60min.log", "rx"): (10, 0),
}


def _ids(vs):
    return [v["name"] for v in vs]


def _word_text(words):
    return " ".join(f"{w:04x}" for w in words)


def _s16(w):
    return w - 0x10000 if w & 0x8000 else w


# --- vectors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("v", VECTORS, ids=_ids(VECTORS))
def test_vector(v):
    wire = bytes.fromhex(v["hex"])
    d = v["decoded"]
    direction = DIRECTION[v["direction"]]
    null = d.get("kind") == "null response"
    if v["crc"] in ("legacy", "invalid") and not null:
        with pytest.raises(GivCrcError) as err:
            F.decode(wire, direction)
        assert err.value.frame == wire
        assert d["crc_wire"] in str(err.value)
        return
    msg = F.decode(wire, direction)
    assert F.encode(msg) == wire                      # every vector re-encodes byte-exact
    assert msg.uid == d["unit_id"]
    assert msg.adapter_serial == d["adapter_serial"]
    if d["function_id"] == 1:
        assert msg == F.Heartbeat(d["adapter_serial"], d["adapter_type"], d["unit_id"])
        return
    if v["crc"] == "unverifiable":
        assert isinstance(msg, F.LanBroadcast)
        text = d["ascii_after_padding"].replace("\\r", "\r").replace("\\n", "\n")
        assert msg.text == text and len(msg.fields) == 3
        assert msg.padding == d["bytes_after_padding_field"]
        return
    assert msg.device == int(d["device_address"], 16)
    if null:
        # captured null frames may carry CRC 00 00 (§2.5): still a null frame, to be ignored
        assert isinstance(msg, F.NullResponse)
        assert msg.zero_crc == (v["crc"] == "invalid")
        return
    fn = int(d["function_code"], 16)
    if direction == "to_dongle":
        assert int(d["padding_field"], 16) == F.REQUEST_PADDING
        if fn == 6:
            assert msg == F.WriteRequest(msg.device, d["register"], d["value"],
                                         d["adapter_serial"], d["unit_id"])
        else:
            assert msg == F.ReadRequest(msg.device, fn, d["base_register"], d["register_count"],
                                        d["adapter_serial"], d["unit_id"])
        return
    assert msg.padding == int(d["padding_field"], 16)
    assert msg.inverter_serial == d["inverter_serial"]
    if d.get("error"):
        assert msg == F.ErrorResponse(msg.device, fn & 0x7F, d["inverter_serial"],
                                      d["base_register"], d["register_count"],
                                      d["adapter_serial"], msg.padding)
    elif fn == 6:
        assert (msg.register, msg.value) == (d["register"], d["value"])
    else:
        assert (msg.function, msg.base, msg.count) == (fn, d["base_register"], d["register_count"])
        assert _word_text(msg.values) == d["register_values_hex"]


def test_hr_block_identity_firmware_and_clock():
    v = next(v for v in VECTORS if v["name"].startswith("read HR(0,60) @0x11 response, 164"))
    msg = F.decode(bytes.fromhex(v["hex"]), "to_client")
    hr = msg.values
    assert f"{hr[0]:04x}" == v["decoded"]["identity"]["device_type_code"]
    serial = b"".join(w.to_bytes(2, "big") for w in hr[13:18]).decode()
    assert serial == v["decoded"]["identity"]["serial_number_hr13_17"]
    assert f"D0.{hr[19]}-A0.{hr[21]}" == v["decoded"]["firmware"]["display"]
    assert hr[34] / 100 == v["decoded"]["firmware"]["modbus_version_hr34"]
    assert list(hr[35:41]) == v["decoded"]["clock"]["hr35_40"]


def test_ir_block_live_values():
    v = next(v for v in VECTORS if v["name"].startswith("read IR(0,60) @0x11 response"))
    ir = F.decode(bytes.fromhex(v["hex"]), "to_client").values
    live = v["decoded"]["live"]
    assert _s16(ir[30]) == live["p_grid_out_w"]
    assert _s16(ir[52]) == live["p_battery_w"]
    assert ir[59] == live["battery_soc_percent"]
    assert ir[18] + ir[20] == live["p_pv_total_w"]
    assert ir[42] == live["p_load_demand_w"]


def test_requests_we_emit_are_the_vectors():
    by_name = {v["name"]: bytes.fromhex(v["hex"]) for v in VECTORS}
    assert F.encode(F.ReadRequest(0x11, 3, 0, 60)) == by_name["read HR(0,60) @0x11, uid 0x01 (library)"]
    assert F.encode(F.WriteRequest(0x11, 96, 1)) == by_name[
        "write HR96 = 1 @0x11 (enable_charge (charge schedule on))"]
    assert F.encode(F.Heartbeat("AB1234G567")) == by_name[
        "heartbeat reply with library placeholder serial"]
    legacy = by_name["legacy-CRC request IR(0,6) @0x32 (do not emit)"]
    assert F.encode(F.ReadRequest(0x32, 4, 0, 6)) != legacy
    assert F.encode(F.ReadRequest(0x32, 4, 0, 6))[-2:] == bytes.fromhex("75cb")


def test_crc_is_modbus_low_byte_first():
    assert crc16_modbus(b"123456789") == 0x4B37
    wire = F.encode(F.ReadRequest(0x11, 3, 0, 60))
    assert wire[26:].hex() == "1103" "0000" "003c" "474b"


def test_match_keys():
    assert F.match_key(F.ReadRequest(0x11, 4, 0, 60)) == (0x11, 4, 0, 60)
    assert F.match_key(F.ReadResponse(0x11, 4, "S", 0, 1, (5,), "A")) == (0x11, 4, 0, 1)
    assert F.match_key(F.WriteRequest(0x11, 96, 1)) == (0x11, 6, 96)
    assert F.match_key(F.WriteResponse(0x11, "S", 96, 1, "A")) == (0x11, 6, 96)
    assert F.match_key(F.ErrorResponse(0x11, 3, "S", 1100, 60, "A")) == (0x11, 3, 1100, 60)
    assert F.match_key(F.ErrorResponse(0x11, 6, "S", 313, 0, "A")) == (0x11, 6, 313)
    assert F.match_key(F.NullResponse("A")) is None


def test_simulator_paddings_are_bytes_following():
    err = F.encode(F.ErrorResponse(0x11, 3, "SA2114G000", 1100, 60, "WF2125G000"))
    assert err[18:26] == (0x12).to_bytes(8, "big") and len(err) == 44
    echo = F.encode(F.WriteResponse(0x11, "SA2114G000", 96, 1, "WF2125G000"))
    assert echo[18:26] == (0x12).to_bytes(8, "big")
    read = F.encode(F.ReadResponse(0x11, 4, "SA2114G000", 0, 60, (0,) * 60, "WF2125G000"))
    assert read[18:26] == (0x8a).to_bytes(8, "big") and len(read) == 164


@pytest.mark.parametrize("bad", [
    F.ReadRequest(0x11, 5, 0, 60), F.ReadRequest(0x100, 3, 0, 1), F.WriteRequest(0x11, 1, 0x10000),
    F.ReadRequest(0x11, 3, 0, 1, adapter_serial="ELEVENCHARS"),
    F.ReadResponse(0x11, 3, "S", 0, 2, (1,), "A"), F.ReadResponse(0x11, 3, "S", 0, 200, (0,) * 200, "A"),
    F.LanBroadcast("no commas here\r\n", "A"),
])
def test_encode_refuses_what_does_not_fit(bad):
    with pytest.raises(GivEncodeError):
        F.encode(bad)


@pytest.mark.parametrize("wire,kind", [
    (b"", "truncated header"), (b"YY\x00\x02" + bytes(30), "marker"),
    (F.encode(F.ReadRequest(0x11, 3, 0, 60))[:-1], "length field"),
    (F.encode(F.ReadRequest(0x11, 3, 0, 60))[:-1] + b"\x00", "CRC"),
    (F.encode(F.Heartbeat("A"))[:6] + b"\x02\x01" + bytes(11), "unit id"),
])
def test_decode_errors_name_the_problem(wire, kind):
    with pytest.raises(GivFrameError) as err:
        F.decode(wire, "to_dongle")
    assert kind in str(err.value) and err.value.frame == wire
    assert "\n" not in str(err.value)


def test_unknown_request_function_is_its_own_error():
    body = b"\x11\x10\x00\x01\x00\x01"
    wire = F.encode(F.WriteRequest(0x11, 1, 1))[:26] + body + crc16_modbus(body).to_bytes(2, "little")
    with pytest.raises(GivFrameError, match="unknown function 0x10"):
        F.decode(wire, "to_dongle")


# --- captures ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_capture_reframes_cleanly(path):
    lines = parse_capture(path)
    rng = random.Random(path.name)
    for direction in ("rx", "tx"):
        parts = chunks(lines, direction)
        if not parts:
            continue
        by_line = FrameStream(STREAM_DIRECTION[direction])
        msgs = [m for c in parts for m in by_line.feed(c)]
        by_line.finish()
        data = b"".join(parts)
        by_chunk = FrameStream(STREAM_DIRECTION[direction])
        msgs2, pos = [], 0
        while pos < len(data):
            n = rng.randint(1, 500)
            msgs2 += by_chunk.feed(data[pos:pos + n])
            pos += n
        by_chunk.finish()
        assert msgs2 == msgs
        crc, other = KNOWN_REJECTIONS.get((path.name, direction), (0, 0))
        for s in (by_line, by_chunk):
            assert (s.crc_failures, s.rejected - s.crc_failures) == (crc, other), \
                [str(r) for r in s.rejections]
        assert len(msgs) > 0
        if direction == "tx":
            assert all(isinstance(m, (F.ReadRequest, F.Heartbeat)) for m in msgs)


def test_capture_kinds_in_the_long_hybrid_log():
    path = next(p for p in CAPTURES if p.name.startswith("hybrid_gen1_arm449_givbat82"))
    s = FrameStream("to_client")
    msgs = [m for c in chunks(parse_capture(path), "rx") for m in s.feed(c)]
    kinds = {k: sum(isinstance(m, k) for m in msgs) for k in
             (F.ReadResponse, F.Heartbeat, F.ErrorResponse, F.NullResponse)}
    assert kinds == {F.ReadResponse: 1786, F.Heartbeat: 21, F.ErrorResponse: 4, F.NullResponse: 1}
    zero_count = [m for m in msgs if isinstance(m, F.ErrorResponse) and m.count == 0]
    assert (0x31, 4, 180) in [(m.device, m.function, m.base) for m in zero_count]


def test_lan_broadcasts_in_the_wo_dongle_log():
    path = next(p for p in CAPTURES if p.name.startswith("ac_arm282_1x"))
    s = FrameStream("to_client")
    msgs = [m for c in chunks(parse_capture(path), "rx") for m in s.feed(c)]
    assert sum(isinstance(m, F.LanBroadcast) for m in msgs) == 10


def test_capture_parser_formats_and_errors():
    lines = parse_capture_text("# comment\n\n2026-06-05T11:09:54.267655+00:00 tx 5959\n"
                               "rx: 0001\n", "x.log")
    assert [(c.direction, c.data, c.line) for c in lines] == [("tx", b"YY", 3), ("rx", b"\0\1", 4)]
    assert lines[0].time is not None and lines[1].time is None
    for bad in ("2026 rx 59", "2026-06-05T11:09:54 xx 59", "rx: 5g"):
        with pytest.raises(GivCaptureError, match="x.log:1"):
            parse_capture_text(bad, "x.log")


# --- stream --------------------------------------------------------------------------------------

def test_stream_cuts_concatenated_split_and_garbage():
    hb = F.encode(F.Heartbeat("WF2125G000"))
    rd = F.encode(F.ReadResponse(0x11, 4, "SA2114G000", 0, 60, tuple(range(60)), "WF2125G000"))
    s = FrameStream("to_client")
    got = s.feed(b"\x00junk" + hb + rd[:50])
    got += s.feed(rd[50:] + hb + b"\x00")
    assert [type(m) for m in got] == [F.Heartbeat, F.ReadResponse, F.Heartbeat]
    assert s.rejected == 2 and s.crc_failures == 0


def test_heartbeat_behind_a_truncated_frame_is_not_held_back():
    hb = F.encode(F.Heartbeat("WF2125G000"))
    rd = F.encode(F.ReadResponse(0x11, 4, "SA2114G000", 0, 60, (0,) * 60, "WF2125G000"))
    s = FrameStream("to_client")
    assert s.feed(rd[:80] + hb) == [F.Heartbeat("WF2125G000")]
    assert s.rejected == 1 and s.buffered == 0


def test_stream_bad_crc_is_counted_and_the_next_frame_survives():
    rd = bytearray(F.encode(F.ReadResponse(0x11, 3, "S", 0, 1, (7,), "A")))
    rd[-1] ^= 0xFF
    s = FrameStream("to_client")
    out = s.feed(bytes(rd) + F.encode(F.Heartbeat("A")))
    assert out == [F.Heartbeat("A")] and s.crc_failures == 1


# --- properties ----------------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=320), st.sampled_from(F.DIRECTIONS))
def test_decode_random_bytes_raises_only_frame_errors(data, direction):
    try:
        F.decode(data, direction)
    except GivFrameError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 1), st.integers(1, 2), st.sampled_from(F.DIRECTIONS))
def test_decode_framed_random_bodies_raises_only_frame_errors(body, uid, fid, direction):
    wire = F.MARKER + (2 + len(body)).to_bytes(2, "big") + bytes((uid, fid)) + body
    try:
        F.decode(wire, direction)
    except GivFrameError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=20), st.sampled_from(F.DIRECTIONS))
def test_stream_random_chunks_never_raise(parts, direction):
    s = FrameStream(direction)
    for p in parts:
        s.feed(F.MARKER + p if p[:1] == b"\x01" else p)
        assert s.buffered <= 306
    s.finish()
    assert s.buffered == 0


_u16 = st.integers(0, 0xFFFF)
_serial = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10)
_device = st.integers(0, 255)
MESSAGES = st.one_of(
    st.builds(F.Heartbeat, _serial, st.integers(0, 255), st.integers(0, 1)),
    st.builds(F.ReadRequest, _device, st.sampled_from(F.READ_FUNCTIONS), _u16, _u16, _serial,
              st.integers(0, 1)),
    st.builds(F.WriteRequest, _device, _u16, _u16, _serial, st.integers(0, 1)),
    st.integers(0, 60).flatmap(lambda n: st.builds(
        F.ReadResponse, _device, st.sampled_from(F.READ_FUNCTIONS), _serial, _u16, st.just(n),
        st.tuples(*[_u16] * n), _serial)),
    st.builds(F.WriteResponse, _device, _serial, _u16, _u16, _serial),
    st.builds(F.ErrorResponse, _device, st.sampled_from((3, 4, 6, 0x16)), _serial, _u16, _u16,
              _serial),
    st.builds(F.NullResponse, _serial, _device, zero_crc=st.booleans()),
)


@settings(max_examples=400, deadline=None)
@given(MESSAGES)
def test_round_trip(msg):
    wire = F.encode(msg)
    direction = "to_dongle" if isinstance(msg, (F.ReadRequest, F.WriteRequest)) else "to_client"
    back = F.decode(wire, direction)
    assert F.encode(back) == wire
    if getattr(msg, "padding", 0) is None:
        back = type(back)(**{**back.__dict__, "padding": None})
    assert back == msg


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(MESSAGES, st.binary(max_size=8)), min_size=1, max_size=6),
       st.integers(1, 64))
def test_stream_finds_every_frame_among_garbage(items, step):
    items = [(m, g.replace(b"Y", b"")) for m, g in items
             if not isinstance(m, (F.ReadRequest, F.WriteRequest))]
    wire = b"".join(g + F.encode(m) for m, g in items)
    s = FrameStream("to_client")
    out = []
    for i in range(0, len(wire), step):
        out += s.feed(wire[i:i + step])
    assert [F.encode(m) for m in out] == [F.encode(m) for m, _ in items]

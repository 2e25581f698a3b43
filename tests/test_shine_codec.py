"""The Shine frame codec against every frame in vectors/shine.json, plus property tests."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from crccheck.crc import Crc16Modbus
from hypothesis import given, settings
from hypothesis import strategies as st

from solartui.errors import FrameError, RecordError
from solartui.shine import frame as F
from solartui.shine import records as R
from solartui.shine.stream import FrameStream
from tests.conftest import ROOT

VECTORS = json.loads((ROOT / "tests" / "vectors" / "shine.json").read_text())
SINGLE = [v for v in VECTORS if not v["type"].startswith("stream")]
STREAMS = [v for v in VECTORS if v["type"].startswith("stream")]


def _ids(vs):
    return [v["name"] for v in vs]


def _parse(v, frame):
    if v["direction"] == "logger->server":
        return R.parse_from_logger(frame)
    return R.parse_from_server(frame)


def test_crc_matches_crccheck_and_check_value():
    assert F.crc16_modbus(b"123456789") == 0x4B37
    for v in SINGLE:
        wire = bytes.fromhex(v["hex"])
        assert F.crc16_modbus(wire) == Crc16Modbus.calc(wire)


def test_mask_is_its_own_inverse_and_zero_reads_growatt():
    assert F.mask(bytes(10)) == b"GrowattGro"
    data = bytes(range(50))
    assert F.mask(F.mask(data)) == data


@pytest.mark.parametrize("v", SINGLE, ids=_ids(SINGLE))
def test_vector_decodes_and_reencodes(v):
    wire = bytes.fromhex(v["hex"])
    d = v["decoded"]
    frame = F.decode_frame(wire)
    assert frame.tid == int(d["tid"], 16)
    assert frame.protocol == int(d["protocol"], 16)
    assert frame.unit == int(d["unit"], 16)
    assert frame.type == int(d["type"], 16)
    assert frame.payload.hex() == d["plain_payload_hex"]
    assert F.encode_frame(frame) == wire
    record = _parse(v, frame)
    # re-encoding the parsed record gives the same bytes
    assert R.encode(record, frame.tid, frame.protocol, frame.unit) == wire
    if "datalogger_serial" in d:
        assert record.datalogger == d["datalogger_serial"]
    if d.get("ack"):
        assert isinstance(record, R.Ack)
    for key, attr in (("register", "register"), ("first_register", "first"),
                      ("last_register", "last")):
        if key in d:
            assert getattr(record, attr) == d[key]
    if "value" in d:
        value = record.value
        assert (value.decode("latin-1") if isinstance(value, bytes) else value) == d["value"]
    if "values" in d:
        assert list(record.values) == d["values"]
    for key in ("status", "result"):
        if key in d:
            assert getattr(record, key) == int(d[key], 16)
    if "groups" in d:
        assert record.inverter == d["inverter_serial"]
        assert [(g.start, g.end, list(g.words)) for g in record.groups] == \
            [(g["start"], g["end"], g["words"]) for g in d["groups"]]
        want_ts = d["timestamp"] and datetime.fromisoformat(d["timestamp"])
        assert record.timestamp == (want_ts or None)


def test_grotttest_record_ack():
    v = next(v for v in VECTORS if v["name"] == "p06_0x04_data_grotttest")
    frame = F.decode_frame(bytes.fromhex(v["hex"]))
    ack = R.encode(R.Ack(frame.type), frame.tid, frame.protocol, frame.unit)
    assert ack.hex() == "0032000600030104472d9b"


@pytest.mark.parametrize("v", STREAMS, ids=_ids(STREAMS))
def test_stream_vectors_split_into_frames(v):
    wire = bytes.fromhex(v["hex"])
    frames = FrameStream().feed(wire)
    assert [F.encode_frame(f).hex() for f in frames] == [f["frame_hex"] for f in v["decoded"]["frames"]]


@pytest.mark.parametrize("v", SINGLE + STREAMS, ids=_ids(SINGLE + STREAMS))
def test_every_split_position_joins_back(v):
    wire = bytes.fromhex(v["hex"]) * 2
    whole = [F.encode_frame(f) for f in FrameStream().feed(wire)]
    for cut in range(1, len(wire)):
        s = FrameStream()
        got = s.feed(wire[:cut]) + s.feed(wire[cut:])
        assert [F.encode_frame(f) for f in got] == whole
        assert s.rejected == 0


def test_bad_frames_are_counted_and_the_stream_goes_on():
    good = bytes.fromhex(next(v for v in SINGLE if v["name"] == "p06_0x16_ping")["hex"])
    bad_crc = good[:-1] + bytes((good[-1] ^ 1,))
    oversized = bytes.fromhex("0001000620000116") + bytes(20)
    s = FrameStream()
    frames = s.feed(b"garbage!" + good + bad_crc + good + oversized + good)
    assert len(frames) == 3
    assert s.rejected >= 3
    reasons = " / ".join(r.reason for r in s.rejections)
    assert "wrong CRC" in reasons and "do not start a frame" in reasons
    s.feed(good[:20])
    s.finish()
    assert "truncated" in s.rejections[-1].reason


def test_decode_frame_errors():
    good = bytes.fromhex(next(v for v in SINGLE if v["name"] == "p06_0x16_ping")["hex"])
    with pytest.raises(FrameError, match="truncated"):
        F.decode_frame(good[:-3])
    with pytest.raises(FrameError, match="bad length"):
        F.decode_frame(good + b"\0")
    with pytest.raises(FrameError, match="CRC"):
        F.decode_frame(good[:-1] + b"\0")
    with pytest.raises(FrameError, match="protocol"):
        F.decode_frame(b"\0\1\0\7\0\3\1\x16\0")


def test_record_round_trips_for_every_protocol():
    for p in (2, 5, 6):
        recs = [R.Ping("LOGGER0001"), R.LoggerValue("LOGGER0001", 4, b"5"),
                R.InverterRecord(F.BUFFERED, "LOGGER0001", "INV0000001", datetime(2026, 11, 21, 10, 0, 5),
                                 (R.Group(0, (1, 2, 3)), R.Group(45, (9,)))),
                R.HoldingValues("LOGGER0001", 3, 3, ()), R.HoldingWriteReply("LOGGER0001", 3, 0, 50),
                R.MultipleWriteReply("LOGGER0001", 3, 4, 3), R.LoggerWriteReply("LOGGER0001", 31, 3),
                R.ParamDump("LOGGER0001", {31: b"2020-11-14 16:03:13", 30: b"GMT+8"})]
        for rec in recs:
            back = R.parse_from_logger(F.decode_frame(R.encode(rec, 7, p, 1)))
            assert back == rec
        cmds = [R.ReadLogger("LOGGER0001", 4, 21), R.WriteLogger("LOGGER0001", 31, b"2026-01-01 00:00:00"),
                R.ReadHolding("LOGGER0001", 0, 124), R.WriteHolding("LOGGER0001", 3, 65535),
                R.WriteMultiple("LOGGER0001", 3, (1, 2)), R.Ack(F.DATA)]
        for cmd in cmds:
            assert R.parse_from_server(F.decode_frame(R.encode(cmd, 9, p, 1))) == cmd


def test_encoder_refuses_what_cannot_be_sent():
    with pytest.raises(RecordError):
        R.encode(R.WriteHolding("L", 3, 70000), 1, 6)
    with pytest.raises(RecordError):
        R.encode(R.Ping("X" * 11), 1, 5)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_our_errors(data):
    s = FrameStream()
    for frame in s.feed(data):
        for parse in (R.parse_from_logger, R.parse_from_server):
            try:
                parse(frame)
            except RecordError:
                pass
    s.finish()
    try:
        F.decode_frame(data)
    except FrameError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(F.KNOWN_TYPES)), st.sampled_from([2, 5, 6]), st.binary(max_size=120))
def test_random_payloads_parse_or_raise_record_error(t, p, payload):
    frame = F.Frame(1, p, 1, t, payload)
    for parse in (R.parse_from_logger, R.parse_from_server):
        try:
            parse(frame)
        except RecordError:
            pass

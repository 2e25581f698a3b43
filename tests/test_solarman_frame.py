"""The Solarman V5 framer and stream cutter: the notes' captured frames (protocols/solarman-v5.md
§2.6, §4, §5), round trips, and random bytes: every decoder returns a value or raises its own
SolarmanFrameError; the stream never raises, stays bounded and finds every frame again after
garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solartui.links import solarman_frame as F
from solartui.links.solarman_errors import (
    SolarmanChecksumError, SolarmanCrcError, SolarmanError, SolarmanFrameError,
)
from solartui.links.solarman_stream import V5Stream

H = bytes.fromhex
REQUEST = H("a5170010459700aa4c2c8e020000000000000000000000000000010300aa0001a42a3215")
REPLY = H("a51500101597" "6caa4c2c8e0201b6a60f001b27000053760763010302010a39d3ed15")
NO_REPLY = H("a5100010150b1ee47cc3a10201c20f0100581300" "00bbed846505" "00f815")
HEARTBEAT = H("a5010010478d69b5b50aa2006415")
HEARTBEAT_REPLY = H("a50a0010178e69b5b50aa2000100f15365000000" "00e815")


def test_the_worked_example_request_is_built_byte_for_byte():
    assert F.request_frame(2385267882, 0x97, F.rtu_read(1, 3, 0xAA, 1)) == REQUEST
    assert len(REQUEST) == 36 and REQUEST[:5] == H("a517001045")


def test_the_worked_example_reply_decodes():
    frame = F.decode(REPLY)
    assert (frame.control, frame.seq, frame.logger_seq, frame.serial) == (
        F.RESPONSE, 0x97, 0x6C, 2385267882)
    resp = F.parse_response(frame)
    assert (resp.frame_type, resp.status, resp.total_working, resp.power_on, resp.offset) == (
        2, 1, 1025718, 10011, 1661433427)
    assert F.parse_rtu_reply(resp.rtu) == F.RtuReply(1, 3, words=(266,))


def test_the_no_data_frame_and_the_heartbeat():
    resp = F.parse_response(F.decode(NO_REPLY))
    assert resp.no_data and resp.rtu == b"\x05\x00"
    hb = F.decode(HEARTBEAT)
    assert (hb.control, hb.serial, hb.payload) == (F.HEARTBEAT, 2718610869, b"\0")
    assert F.heartbeat_reply(hb, 1_700_000_000) == HEARTBEAT_REPLY


def test_checksum_and_crc_failures_have_their_own_types():
    bad = bytearray(REPLY)
    bad[-2] ^= 1
    with pytest.raises(SolarmanChecksumError):
        F.decode(bytes(bad))
    resp = F.parse_response(F.decode(REPLY))
    with pytest.raises(SolarmanCrcError):
        F.parse_rtu_reply(resp.rtu[:-1] + b"\x00")


def test_the_double_crc_some_deye_loggers_send_is_accepted():
    rtu = F.with_crc(H("01030200ff")) + b"\0\0"
    assert F.parse_rtu_reply(rtu).words == (255,)


def test_exception_and_write_replies():
    assert F.parse_rtu_reply(F.with_crc(H("018302"))) == F.RtuReply(1, 3, exception=2)
    assert F.parse_rtu_reply(F.with_crc(H("0106000a0005"))).words == (10, 5)
    assert F.parse_rtu_request(F.rtu_write(1, 16, 100, [1, 2, 3])) == (1, 16, 100, [1, 2, 3])
    assert F.parse_rtu_request(F.rtu_write(2, 6, 7, [9])) == (2, 6, 7, [9])


_frames = st.builds(F.V5Frame, st.sampled_from(sorted(F.CONTROL_CODES)), st.integers(0, 255),
                    st.integers(0, 255), st.integers(0, F.SERIAL_MAX),
                    st.binary(max_size=F.MAX_PAYLOAD))


@given(_frames)
def test_encode_decode_round_trip(frame):
    assert F.decode(F.encode(frame)) == frame


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_decoders_return_a_value_or_raise_their_own_error(data):
    for parse in (F.decode, F.parse_rtu_reply, F.parse_rtu_request,
                  lambda d: F.parse_response(F.V5Frame(F.RESPONSE, 0, 0, 0, d)),
                  lambda d: F.parse_request(F.V5Frame(F.REQUEST, 0, 0, 0, d))):
        try:
            parse(data)
        except SolarmanFrameError:
            pass
    assert issubclass(SolarmanFrameError, SolarmanError)


@settings(max_examples=200)
@given(st.binary(max_size=40).map(lambda b: b"\xa5" + b[:4] + b[4:]))
def test_headers_that_start_right_still_fail_cleanly(data):
    try:
        F.decode(data)
    except SolarmanFrameError:
        pass


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in points + [len(data)]:
        out.append(data[last:p])
        last = p
    return out


_garbage = st.binary(max_size=60).map(lambda b: b.replace(b"\xa5", b"\x5a"))


@settings(max_examples=300)
@given(st.lists(st.tuples(_garbage, _frames), max_size=6), _garbage,
       st.lists(st.integers(0, 10_000), max_size=8))
def test_the_stream_finds_every_frame_among_garbage_however_it_is_cut(parts, tail, cuts):
    wire = b"".join(g + F.encode(f) for g, f in parts) + tail
    s = V5Stream()
    got = []
    for chunk in _chunks(wire, cuts):
        got += s.feed(chunk)
    assert got == [f for _, f in parts]
    assert s.buffered <= F.OVERHEAD + F.MAX_PAYLOAD


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_the_stream_never_raises_and_stays_bounded_on_random_bytes(chunks):
    s = V5Stream()
    for c in chunks:
        for frame in s.feed(c):
            assert isinstance(frame, F.V5Frame)
        assert s.buffered <= F.OVERHEAD + F.MAX_PAYLOAD


def test_a_truncated_frame_does_not_swallow_the_next():
    s = V5Stream()
    assert s.feed(REPLY[:20] + REPLY[:15]) == []
    assert s.feed(REPLY[15:]) == [F.decode(REPLY)]
    assert s.rejected == 1


def test_a_fake_long_header_does_not_hold_a_real_reply_back():
    fake = H("a5f00110150000")                  # L = 0x1f0 = 496: plausible, never completed
    s = V5Stream()
    assert s.feed(fake + REPLY + HEARTBEAT) == [F.decode(REPLY), F.decode(HEARTBEAT)]


def test_text_before_a_reply_is_skipped():
    s = V5Stream()
    assert s.feed(b"AT+YZCMPVER=MW3_16U_5406_2.32-D1\r\n\r\n" + REPLY) == [F.decode(REPLY)]
    assert s.rejected == 1 and "do not start a frame" in s.rejections[0][0]

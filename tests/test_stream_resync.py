"""Resync keeps good frames (issue 21 part 6): in the Shine and GivEnergy streams a truncated or
CRC-failing frame costs only itself, never a valid frame that starts inside its span. Fuzzed
with valid frames spliced between garbage, truncated frames and frames with a flipped byte."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from solartui.givenergy import frame as G
from solartui.givenergy.stream import MAX_BUFFER, FrameStream as GivStream
from solartui.shine import frame as S
from solartui.shine.stream import FrameStream as ShineStream


def _feed(stream, wire: bytes, chunks) -> list:
    out, i, k = [], 0, 0
    while i < len(wire):
        step = chunks[k % len(chunks)] if chunks else len(wire)
        out += stream.feed(wire[i:i + step])
        i, k = i + step, k + 1
    stream.finish()
    return out


def _subsequence(want: list[bytes], got: list[bytes]) -> bool:
    it = iter(got)
    return all(any(w == g for g in it) for w in want)


# --- Shine ---------------------------------------------------------------------------------------

def _shine(tid: int, kind: int, size: int, protocol: int = 6) -> bytes:
    return S.encode_frame(S.Frame(tid, protocol, 1, kind, bytes((tid + n) & 0xFF for n in range(size))))


def test_shine_truncated_record_then_complete_one_and_a_command_reply():
    data, reply = _shine(1, S.DATA, 300), _shine(2, S.READ_HOLDING, 20)
    for bad in (data[:100], data[:8], data[:-1], data[:-3] + b"\0\0\0"):
        for chunks in ([], [1], [7, 13]):
            s = ShineStream()
            got = [S.encode_frame(f) for f in _feed(s, bad + data + reply, chunks)]
            assert got == [data, reply], (len(bad), chunks)
            assert s.rejected >= 1


def test_shine_truncated_record_whatever_the_reads():
    """Every split into two reads of: a truncated record, a complete one, a command reply."""
    ping, data, reply = _shine(0, S.PING, 10), _shine(1, S.DATA, 200), _shine(2, S.READ_HOLDING, 20)
    for cut in (data[:100], data[:7], data[:-1]):
        wire = cut + data + reply
        for at in range(1, len(wire)):
            s = ShineStream()
            s.feed(ping)
            got = [S.encode_frame(f) for f in s.feed(wire[:at]) + s.feed(wire[at:])]
            assert got == [data, reply], (len(cut), at)


def test_shine_good_frame_hidden_in_a_crc_failing_span_is_found():
    """A header that claims exactly the span a good frame ends in: its CRC fails, and the good
    frame inside is still found (the old cutter dropped the whole span)."""
    inner = _shine(7, S.READ_HOLDING, 20)
    outer = bytearray(_shine(6, S.DATA, 40))
    outer[4:6] = (len(outer) + len(inner) - 8).to_bytes(2, "big")  # span ends 2 bytes after inner
    s = ShineStream()
    got = s.feed(bytes(outer[:-2]) + inner + b"\x01\x02")
    assert [S.encode_frame(f) for f in got] == [inner] and s.crc_failures == 1


def test_shine_failing_span_ending_inside_a_header_still_arriving():
    data, reply = _shine(1, S.DATA, 300), _shine(2, S.READ_HOLDING, 20)
    for k in range(1, 8):               # the span ends k bytes into the reply's header
        s = ShineStream()
        assert s.feed(data[:-k] + reply[:k]) == []
        assert [S.encode_frame(f) for f in s.feed(reply[k:])] == [reply], k


def test_givenergy_failing_span_ending_inside_a_marker_still_arriving():
    for k in range(1, 4):
        s = GivStream("to_client")
        assert s.feed(READ[:-k] + WRITE[:k]) == []
        assert [G.encode(m) for m in s.feed(WRITE[k:])] == [WRITE], k


def test_shine_protocol_02_frames_are_not_held_back():
    """No CRC: in sequence, or after junk with no CRC-checked frame inside, they come at once."""
    ping, data = _shine(1, S.PING, 10, protocol=2), _shine(2, S.DATA, 100, protocol=2)
    s = ShineStream()
    assert [S.encode_frame(f) for f in s.feed(ping + data)] == [ping, data]
    assert [S.encode_frame(f) for f in s.feed(b"\xde\xad\xff\xff" + data)] == [data]
    assert s.buffered == 0 and not s.checked
    # (a truncated 02 frame followed by a complete one cannot be told apart: no CRC says so)


def test_shine_unchecked_headers_are_garbage_once_crc_frames_came():
    ping = _shine(1, S.PING, 10)
    fake = bytes.fromhex("0001000200400116")        # a protocol-02 header claiming 70 bytes
    s = ShineStream()
    got = s.feed(ping + fake + ping + ping)
    assert [S.encode_frame(f) for f in got] == [ping] * 3


_SHINE_KINDS = st.sampled_from([S.DATA, S.PING, S.READ_HOLDING, S.WRITE_HOLDING, S.BUFFERED])


@st.composite
def _shine_pieces(draw):
    """(wire, intact frames): frames among garbage, truncated and byte-flipped frames."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    first = _shine(0, S.PING, 10)       # protocol 05/06 from the start, as a real logger
    wire, want = bytearray(first), [first]
    for n in range(draw(st.integers(1, 8))):
        frame = _shine(n + 1, draw(_SHINE_KINDS), draw(st.integers(0, 400)),
                       draw(st.sampled_from([5, 6])))
        what = draw(st.sampled_from(["good", "good", "garbage", "truncated", "flipped"]))
        if what == "garbage":
            wire += rng.randbytes(draw(st.integers(1, 300)))
        elif what == "truncated":
            wire += frame[:rng.randrange(1, len(frame))]
            continue
        elif what == "flipped":
            bad = bytearray(frame)
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
            wire += bad
            continue
        wire += frame
        want.append(frame)
    return bytes(wire), want


@settings(max_examples=150, deadline=None)
@given(_shine_pieces(), st.lists(st.integers(1, 200), max_size=5))
def test_shine_every_intact_frame_is_found(pieces, chunks):
    wire, want = pieces
    s = ShineStream()
    got = [S.encode_frame(f) for f in _feed(s, wire, chunks)]
    assert _subsequence(want, got), (len(want), len(got))
    assert s.buffered == 0


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(1, 100), max_size=4))
def test_shine_random_bytes_then_a_frame(junk, chunks):
    frame = _shine(3, S.READ_HOLDING, 20)
    got = [S.encode_frame(f) for f in _feed(ShineStream(), junk + frame + frame, chunks)]
    assert got[-2:] == [frame, frame]   # at worst the first is eaten by a header in the junk


# --- GivEnergy -----------------------------------------------------------------------------------

HB = G.encode(G.Heartbeat("WF1234G567"))
READ = G.encode(G.ReadResponse(0x11, 3, "SA1234G567", 0, 60, tuple(range(60)), "WF1234G567"))
WRITE = G.encode(G.WriteResponse(0x11, "SA1234G567", 50, 1, "WF1234G567"))


def test_givenergy_truncated_heartbeat_or_response_then_a_good_response():
    for bad in (HB[:-3], HB[:-1], HB[:10], READ[:50], READ[:-1], WRITE[:30]):
        for chunks in ([], [1], [5, 11]):
            s = GivStream("to_client")
            got = [G.encode(m) for m in _feed(s, bad + READ + WRITE, chunks)]
            assert got == [READ, WRITE], (bad.hex(), chunks)
            assert 1 <= s.rejected <= 2


def test_givenergy_a_real_heartbeat_is_not_held_back():
    s = GivStream("to_client")
    assert s.feed(HB) == [G.Heartbeat("WF1234G567")] and s.buffered == 0


def test_givenergy_heartbeat_waits_only_while_a_whole_header_says_a_frame_is_coming():
    s = GivStream("to_client")
    assert s.feed(HB[:-3] + READ[:8]) == []           # a plausible header inside: wait
    assert [G.encode(m) for m in s.feed(READ[8:])] == [READ]
    s = GivStream("to_client")
    assert s.feed(HB[:-3] + READ[:3] + b"\x07" + READ[4:8]) == [G.Heartbeat("WF1234G5YY", 0)]
    for serial in ("ABCDEFGYY", "WF1234G5YY"):        # a real heartbeat ending in a marker
        for kind in (1, 2):                           # (or its start) is never held
            s = GivStream("to_client")
            assert s.feed(G.encode(G.Heartbeat(serial, kind))) == [G.Heartbeat(serial, kind)]
    s = GivStream("to_client")                        # type 0 is no real heartbeat: its end
    assert s.feed(HB[:-3] + READ[:3]) == []           # may be a marker still arriving
    assert [G.encode(m) for m in s.feed(READ[3:])] == [READ]


def test_givenergy_truncated_heartbeat_whatever_the_reads():
    """Every split of "truncated heartbeat + reply" into two reads keeps the reply, but one:
    a heartbeat missing its last 4 bytes, with the first read ending 4-7 bytes into the reply,
    is byte for byte a real heartbeat (serial WF1234GYY, type 1) until the reply's header is
    whole, and a real heartbeat is not held from its answer on a guess."""
    for cut in (HB[:-1], HB[:-2], HB[:-3], HB[:-4], HB[:-5], HB[:12], HB[:6]):
        wire = cut + READ
        for at in range(1, len(wire)):
            s = GivStream("to_client")
            got = [G.encode(m) for m in s.feed(wire[:at]) + s.feed(wire[at:])]
            if len(cut) == 15 and 19 <= at < 23:
                assert got == [wire[:19]], at
            else:
                assert got == [READ], (len(cut), at)


_GIV_MESSAGES = st.one_of(
    st.builds(G.Heartbeat, st.sampled_from(["WF1234G567", "AB12", "YYYYYYYYYY"]), st.sampled_from([1, 2])),
    st.integers(0, 60).map(lambda n: G.ReadResponse(0x11, 4, "SA1234G567", n, n, tuple(range(n)),
                                                    "WF1234G567")),
    st.builds(G.WriteResponse, st.just(0x11), st.just("SA1234G567"), st.integers(0, 0xFFFF),
              st.integers(0, 0xFFFF), st.just("WF1234G567")),
    st.builds(G.NullResponse, st.just("WF1234G567"), zero_crc=st.booleans()),
)


@st.composite
def _giv_pieces(draw):
    rng = random.Random(draw(st.integers(0, 2**32)))
    wire, want = bytearray(), []
    for _ in range(draw(st.integers(1, 8))):
        frame = G.encode(draw(_GIV_MESSAGES))
        what = draw(st.sampled_from(["good", "good", "garbage", "truncated", "flipped"]))
        if what == "garbage":
            wire += rng.randbytes(draw(st.integers(1, 300)))
        elif what == "truncated":
            wire += frame[:rng.randrange(1, len(frame))]
            continue
        elif what == "flipped" and frame[7] == G.FID_TRANSPARENT and len(frame) != G.NULL_SIZE:
            bad = bytearray(frame)                  # only a CRC can tell a flipped byte
            bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
            wire += bad
            continue
        wire += frame
        want.append(frame)
    return bytes(wire), want


@settings(max_examples=150, deadline=None)
@given(_giv_pieces(), st.lists(st.integers(1, 200), max_size=5))
def test_givenergy_every_intact_frame_is_found(pieces, chunks):
    wire, want = pieces
    s = GivStream("to_client")
    got = []
    for i, part in enumerate(_chunks(wire, chunks)):
        got += s.feed(part)
        assert s.buffered <= MAX_BUFFER
    got += s.finish()           # a whole frame swallowed by a truncated one's length is kept
    assert _subsequence(want, [G.encode(m) for m in got])


def _chunks(wire: bytes, sizes):
    i, k = 0, 0
    while i < len(wire):
        step = sizes[k % len(sizes)] if sizes else len(wire)
        yield wire[i:i + step]
        i, k = i + step, k + 1

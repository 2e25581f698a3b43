"""Register views (the register browser's formats), typed register input and read splitting."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solartui.registers.codec import raw_to_words, words_to_raw
from solartui.registers.formats import (
    FORMATS, MISSING, format_float, format_words, is_wide, parse_int, parse_word, read_chunks,
)

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WORD = st.integers(0, 0xFFFF)
WORDS = st.lists(WORD, max_size=40)


# --- properties --------------------------------------------------------------------------------

@FAST
@given(WORDS, st.sampled_from(FORMATS))
def test_every_format_returns_one_string_per_register(words, fmt):
    out = format_words(words, fmt)
    assert len(out) == len(words)
    assert all(isinstance(s, str) for s in out)


@FAST
@given(st.lists(st.one_of(WORD, st.none()), max_size=30), st.sampled_from(FORMATS))
def test_unread_registers_show_missing(words, fmt):
    out = format_words(words, fmt)
    assert len(out) == len(words)
    for i, w in enumerate(words):
        if w is None:
            assert out[i] == MISSING


_WIDE = [("u32", "u32 big", "big"), ("u32", "u32 little", "little"),
         ("s32", "s32 big", "big"), ("s32", "s32 little", "little")]


@FAST
@given(st.lists(WORD, min_size=2, max_size=20), st.sampled_from(_WIDE))
def test_integer_pairs_round_trip_with_codec(words, case):
    typ, fmt, order = case
    out = format_words(words, fmt)
    for i in range(0, len(words) - 1, 2):
        value = int(out[i])
        assert value == words_to_raw(typ, words[i:i + 2], order)
        assert raw_to_words(typ, value, 2, order) == words[i:i + 2]
        assert out[i + 1] == ""
    if len(words) % 2:
        assert out[-1] == MISSING


@FAST
@given(WORD, WORD, st.sampled_from(["big", "little"]))
def test_float_pairs_match_codec(a, b, order):
    [text, second] = format_words([a, b], f"float32 {order}")
    assert second == ""
    raw = words_to_raw("f32", [a, b], order)
    if math.isnan(raw):
        assert text == "NaN"
    elif math.isinf(raw):
        assert text == ("inf" if raw > 0 else "-inf")
    else:
        # 7 significant digits: within half a unit of the 7th digit of the codec's value
        assert math.isclose(float(text), raw, rel_tol=1e-6, abs_tol=0.0)


@FAST
@given(st.floats(width=32, allow_nan=False, allow_infinity=False), st.sampled_from(["big", "little"]))
def test_float_values_round_trip(value, order):
    words = raw_to_words("f32", value, 2, order)
    text = format_words(words, f"float32 {order}")[0]
    assert math.isclose(float(text), value, rel_tol=1e-6, abs_tol=1e-45)


@FAST
@given(WORD)
def test_single_register_views_agree(w):
    u16, s16, hx, binary, ascii_ = (format_words([w], f)[0]
                                    for f in ("u16", "s16", "hex", "binary", "ascii"))
    assert int(u16) == w
    assert int(s16) == words_to_raw("s16", [w])
    assert int(hx, 16) == w and len(hx) == 6
    assert int(binary.replace(" ", ""), 2) == w and len(binary) == 19
    assert len(ascii_) == 2 and ascii_.isprintable()


@FAST
@given(st.text(max_size=12))
def test_parse_word_never_raises_anything_but_value_error(text):
    try:
        n = parse_word(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
    else:
        assert 0 <= n <= 0xFFFF


@FAST
@given(WORD)
def test_parse_word_reads_back_every_view(w):
    assert parse_word(str(w)) == w
    assert parse_word(format_words([w], "hex")[0]) == w
    assert parse_word("0b" + format_words([w], "binary")[0].replace(" ", "")) == w


@FAST
@given(st.integers(0, 70000), st.integers(1, 600), st.integers(1, 125),
       st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 200)), max_size=5))
def test_read_chunks_cover_the_range_in_order(start, count, max_read, raw_blocks):
    blocks = tuple((lo, lo + n) for lo, n in raw_blocks)
    chunks = read_chunks(start, count, max_read, blocks)
    assert all(1 <= n <= max_read for _, n in chunks)
    addr = start
    for a, n in chunks:
        assert a == addr
        addr += n
    assert addr == start + count
    edges = {e for lo, hi in blocks for e in (lo, hi + 1)}
    for a, n in chunks:                              # no read crosses a block edge
        assert not any(a < e < a + n for e in edges)


# --- examples ----------------------------------------------------------------------------------

def test_examples():
    assert format_words([0x0123], "hex") == ["0x0123"]
    assert format_words([0x0123], "binary") == ["0000 0001 0010 0011"]
    assert format_words([0xFFFF, 1], "s16") == ["-1", "1"]
    assert format_words([0x4142, 0x0043], "ascii") == ["AB", ".C"]
    assert format_words([1, 2], "u32 big") == [str(0x00010002), ""]
    assert format_words([1, 2], "u32 little") == [str(0x00020001), ""]
    assert format_words([0xFFFF, 0xFFFE], "s32 big") == ["-2", ""]
    assert format_words([0xFFFE, 0xFFFF], "s32 little") == ["-2", ""]
    assert format_words([0x3FC0, 0x0000, 7], "float32 big") == ["1.5", "", MISSING]
    assert format_words([0x0000, 0x3FC0], "float32 little") == ["1.5", ""]
    assert format_words([0x7FC0, 0], "float32 big") == ["NaN", ""]
    assert format_words([0x7F80, 0], "float32 big") == ["inf", ""]
    assert format_words([0xFF80, 0], "float32 big") == ["-inf", ""]
    assert format_words([1, None, 3, 4], "u32 big") == [MISSING, MISSING, str(0x00030004), ""]
    assert format_words([], "u16") == []
    assert format_float(0.1) == "0.1" and format_float(1e20) == "1e+20"
    assert format_float(123456.7) == "123456.7"
    assert is_wide("u32 big") and not is_wide("hex")


def test_bad_format_and_words():
    with pytest.raises(ValueError, match="unknown register view"):
        format_words([1], "u64")
    with pytest.raises(ValueError, match="0-65535"):
        format_words([70000], "u16")


@pytest.mark.parametrize("text,value", [
    ("0", 0), ("65535", 65535), (" 42 ", 42), ("0x1F", 31), ("0XfF", 255), ("0b101", 5),
    ("0x0000", 0), ("007", 7),
])
def test_parse_word_accepts(text, value):
    assert parse_word(text) == value


@pytest.mark.parametrize("text,message", [
    ("", "enter a register value"), ("65536", "outside 0–65535"), ("-1", "not a number"),
    ("0x", "not a number"), ("0b2", "not a number"), ("12abc", "not a number"),
    ("1.5", "not a number"), ("0x10000", "outside"),
])
def test_parse_word_refuses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_word(text)


def test_parse_int_names_what():
    with pytest.raises(ValueError, match="count 0 is outside 1–125"):
        parse_int("0", 1, 125, "count")
    assert parse_int("0x17", 0, 65535, "address") == 23


def test_read_chunks_examples():
    assert read_chunks(0, 200, 125) == [(0, 125), (125, 75)]
    growatt = ((0, 124), (125, 249), (1000, 1124))
    assert read_chunks(100, 50, 125, growatt) == [(100, 25), (125, 25)]
    assert read_chunks(240, 20, 125, growatt) == [(240, 10), (250, 10)]
    assert read_chunks(5, 10, 4) == [(5, 4), (9, 4), (13, 2)]
    assert read_chunks(0, 20, 125, (), ((5, 7),)) == [(0, 5), (5, 3), (8, 12)]
    with pytest.raises(ValueError):
        read_chunks(0, 0, 125)

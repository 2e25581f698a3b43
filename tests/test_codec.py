"""Register codec: words <-> raw <-> engineering value, and validation of typed values.

Points are built through the real loader (parse_map on small inline maps), so these tests also
exercise the path a map file takes.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from solartui.errors import CodecError, ValueRejected
from solartui.registers.codec import (
    decimals, decode, describe, encode_value, parse_value, raw_to_words, scaled, words_to_raw,
)
from solartui.registers.loader import parse_map

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

HEAD = """schema: 1
device: {id: test-codec, vendor: Test, name: Codec test device}
protocol: modbus
link: {max_read: 125}
points:
"""

WORD = st.integers(0, 0xFFFF)
TYPES = ("u16", "s16", "u32", "s32", "f32", "ascii", "hhmm")


def point(spec: str, name: str = "p", table: str = "holding", address: int = 0):
    """One Point from the inside of a flow mapping, e.g. point("type: u16, scale: 0.1")."""
    text = HEAD + f"  - {{name: {name}, doc: {name.upper()}, table: {table}, " \
                  f"address: {address}, {spec}}}\n"
    return parse_map(text, "codec-test.yaml").point(name)


# --- known answers from the protocol document --------------------------------------------------

def test_voltage_at_scale_tenth():
    p = point("type: u16, scale: 0.1, unit: V")
    d = decode(p, [2309])
    assert d.raw == 2309
    assert d.value == 230.9
    assert d.text == "230.9 V"
    assert d.words == (2309,)


def test_frequency_at_scale_hundredth_keeps_two_decimals():
    p = point("type: u16, scale: 0.01, unit: Hz")
    d = decode(p, [5000])
    assert d.value == 50.0
    assert d.text == "50.00 Hz"


def test_u32_word_orders():
    assert words_to_raw("u32", [0x0001, 0x0002], "big") == 65538
    assert words_to_raw("u32", [0x0001, 0x0002], "little") == 131073
    assert raw_to_words("u32", 65538, 2, "big") == [0x0001, 0x0002]
    assert raw_to_words("u32", 131073, 2, "little") == [0x0001, 0x0002]


def test_u32_point_word_order_from_map():
    big = point("type: u32, scale: 0.1, unit: W")
    little = point("type: u32, words: little, scale: 0.1, unit: W")
    assert decode(big, [1, 2]).value == 6553.8
    assert decode(little, [1, 2]).value == 13107.3


def test_signed_known_answers():
    assert words_to_raw("s16", [0xFFFF]) == -1
    assert words_to_raw("s16", [0x8000]) == -32768
    assert words_to_raw("s16", [0x7FFF]) == 32767
    assert words_to_raw("u16", [0xFFFF]) == 65535
    assert words_to_raw("s32", [0xFFFF, 0xFFFE]) == -2
    assert words_to_raw("s32", [0xFFFE, 0xFFFF], "little") == -2
    assert raw_to_words("s16", -1) == [0xFFFF]
    assert raw_to_words("s32", -2, 2) == [0xFFFF, 0xFFFE]


def test_f32_known_answer():
    assert words_to_raw("f32", [0x4148, 0x0000]) == 12.5
    assert words_to_raw("f32", [0x0000, 0x4148], "little") == 12.5
    assert raw_to_words("f32", 12.5, 2) == [0x4148, 0x0000]


def test_ascii_known_answers():
    assert words_to_raw("ascii", [0x4142, 0x3132]) == "AB12"
    assert words_to_raw("ascii", [0x4142, 0x3100]) == "AB1"           # trailing NUL trimmed
    assert words_to_raw("ascii", [0x4142, 0x2020, 0x0000]) == "AB"    # trailing spaces too
    assert words_to_raw("ascii", [0x0000, 0x0000]) == ""
    assert raw_to_words("ascii", "AB12", 2) == [0x4142, 0x3132]
    assert raw_to_words("ascii", "AB1", 3) == [0x4142, 0x3100, 0x0000]


def test_ascii_serial_point():
    p = point("type: ascii, count: 5", name="serial")
    words = raw_to_words("ascii", "XYZ1234567", 5)
    assert decode(p, words).value == "XYZ1234567"
    assert decode(p, words).text == "XYZ1234567"


def test_hhmm_known_answer():
    assert words_to_raw("hhmm", [0x061E]) == "06:30"
    assert raw_to_words("hhmm", "06:30") == [0x061E]
    assert raw_to_words("hhmm", "6:30") == [0x061E]
    assert raw_to_words("hhmm", "23:59") == [0x173B]
    p = point("type: hhmm, access: rw")
    assert decode(p, [0x061E]).text == "06:30"
    assert encode_value(p, "06:30") == [0x061E]


@pytest.mark.parametrize("text", ["24:00", "12:60", "noon", "", "6.30", "06:3"])
def test_hhmm_rejects_bad_times(text):
    p = point("type: hhmm, access: rw")
    with pytest.raises(ValueRejected):
        encode_value(p, text)


def test_decimals_and_scaled():
    assert decimals(1) == 0
    assert decimals(10) == 0
    assert decimals(0.1) == 1
    assert decimals(0.01) == 2
    assert decimals(0.5) == 1
    assert decimals(0.25) == 2
    assert scaled(2309, 0.1) == 230.9
    assert scaled(7, 1) == 7
    assert scaled(3, 0.5) == 1.5


# --- errors of the words layer -----------------------------------------------------------------

@pytest.mark.parametrize("typ,words", [
    ("u16", []), ("u16", [1, 2]), ("s16", []), ("u32", [1]), ("s32", [1, 2, 3]),
    ("f32", [1]), ("hhmm", [1, 2]), ("u16", [-1]), ("u16", [0x10000]), ("ascii", [0x10000]),
    ("u64", [1, 2, 3, 4]),
])
def test_words_to_raw_errors(typ, words):
    with pytest.raises(CodecError):
        words_to_raw(typ, words)


@pytest.mark.parametrize("typ,raw,count", [
    ("u16", -1, 1), ("u16", 0x10000, 1), ("s16", 0x8000, 1), ("s16", -0x8001, 1),
    ("u32", -1, 2), ("u32", 1 << 32, 2), ("s32", 1 << 31, 2), ("u16", 1.5, 1), ("u16", "7", 1),
    ("u16", True, 1), ("f32", math.inf, 2), ("f32", math.nan, 2), ("f32", 1e300, 2),
    ("ascii", "ABC", 1), ("ascii", "é", 2), ("ascii", 12, 2), ("hhmm", "25:00", 1),
    ("hhmm", 630, 1), ("bogus", 1, 1),
])
def test_raw_to_words_errors(typ, raw, count):
    with pytest.raises(CodecError):
        raw_to_words(typ, raw, count)


# --- round trips: words -> raw -> words --------------------------------------------------------

@FAST
@given(w=WORD, typ=st.sampled_from(["u16", "s16"]))
def test_round_trip_16(w, typ):
    raw = words_to_raw(typ, [w])
    assert isinstance(raw, int)
    assert raw_to_words(typ, raw) == [w]


@FAST
@given(words=st.lists(WORD, min_size=2, max_size=2), typ=st.sampled_from(["u32", "s32"]),
       order=st.sampled_from(["big", "little"]))
def test_round_trip_32(words, typ, order):
    raw = words_to_raw(typ, words, order)
    assert raw_to_words(typ, raw, 2, order) == words
    lo, hi = (0, 2**32 - 1) if typ == "u32" else (-2**31, 2**31 - 1)
    assert lo <= raw <= hi


@FAST
@given(words=st.lists(WORD, min_size=2, max_size=2))
def test_big_and_little_are_mirror_images(words):
    for typ in ("u32", "s32", "f32"):
        a = words_to_raw(typ, words, "big")
        b = words_to_raw(typ, words[::-1], "little")
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


@FAST
@given(words=st.lists(WORD, min_size=2, max_size=2), order=st.sampled_from(["big", "little"]))
def test_round_trip_f32_finite(words, order):
    raw = words_to_raw("f32", words, order)
    assume(math.isfinite(raw))
    assert raw_to_words("f32", raw, 2, order) == words


@FAST
@given(x=st.floats(width=32, allow_nan=False, allow_infinity=False),
       order=st.sampled_from(["big", "little"]))
def test_round_trip_f32_from_value(x, order):
    words = raw_to_words("f32", x, 2, order)
    assert words_to_raw("f32", words, order) == x


ASCII_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@FAST
@given(text=ASCII_TEXT, extra=st.integers(0, 3))
def test_round_trip_ascii_text(text, extra):
    """Text -> words -> text gives the text back without its trailing spaces."""
    count = (len(text) + 1) // 2 + extra
    assume(count >= 1)
    words = raw_to_words("ascii", text, count)
    assert len(words) == count
    assert words_to_raw("ascii", words) == text.rstrip(" ")


@FAST
@given(words=st.lists(st.tuples(st.integers(0, 0x7F), st.integers(0, 0x7F)).map(
    lambda hl: hl[0] << 8 | hl[1]), min_size=1, max_size=10))
def test_round_trip_ascii_words(words):
    """Words -> text -> words -> text is stable (the text is the trimmed form)."""
    text = words_to_raw("ascii", words)
    again = raw_to_words("ascii", text, len(words))
    assert words_to_raw("ascii", again) == text
    assert not text.endswith((" ", "\x00"))


@FAST
@given(h=st.integers(0, 23), m=st.integers(0, 59))
def test_round_trip_hhmm(h, m):
    text = f"{h:02d}:{m:02d}"
    words = raw_to_words("hhmm", text)
    assert words == [h << 8 | m]
    assert words_to_raw("hhmm", words) == text


@settings(max_examples=300, deadline=None)
@given(typ=st.sampled_from(TYPES + ("bogus", "")),
       words=st.lists(st.integers(-5, 0x10005), max_size=8),
       order=st.sampled_from(["big", "little", "middle"]))
def test_words_to_raw_only_raises_codec_error(typ, words, order):
    try:
        raw = words_to_raw(typ, words, order)
    except CodecError:
        return
    assert isinstance(raw, (int, float, str))


# --- engineering values: encode_value -> decode -----------------------------------------------

SCALED_POINTS = [
    ("type: u16, scale: 0.1, unit: V, access: rw, range: [0, 6553.5]", 0, 65535),
    ("type: s16, scale: 0.1, unit: A, access: rw, range: [-3276.8, 3276.7]", -32768, 32767),
    ("type: u16, scale: 0.01, unit: Hz, access: rw, range: [0, 655.35]", 0, 65535),
    ("type: s16, scale: 0.01, unit: V, access: rw, range: [-327.68, 327.67]", -32768, 32767),
    ("type: u16, scale: 0.5, unit: '%', access: rw, range: [0, 32767.5]", 0, 65535),
    ("type: s32, scale: 0.5, unit: W, access: rw, range: [-1000000, 1000000]", -2000000, 2000000),
    ("type: u32, scale: 0.1, unit: Wh, access: rw, range: [0, 429496729.5]", 0, 2**32 - 1),
    ("type: u32, words: little, scale: 0.01, unit: kWh, access: rw, range: [0, 1000000]",
     0, 100000000),
    ("type: u16, unit: s, access: rw, range: [0, 65535]", 0, 65535),
    ("type: s32, unit: W, access: rw, range: [-2147483648, 2147483647]", -2**31, 2**31 - 1),
]
_POINT_CACHE: dict[str, object] = {}


def cached_point(spec: str):
    if spec not in _POINT_CACHE:
        _POINT_CACHE[spec] = point(spec)
    return _POINT_CACHE[spec]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), which=st.integers(0, len(SCALED_POINTS) - 1))
def test_value_round_trip_through_words(data, which):
    spec, lo, hi = SCALED_POINTS[which]
    p = cached_point(spec)
    raw = data.draw(st.integers(lo, hi))
    value = scaled(raw, p.scale)
    words = encode_value(p, value)
    assert len(words) == p.count
    d = decode(p, words)
    assert d.raw == raw
    assert d.value == value
    # the same value typed as text takes the same way
    assert encode_value(p, str(value)) == words
    assert encode_value(p, d.text.split()[0]) == words


@pytest.mark.parametrize("text,words", [("230.9", [2309]), ("0", [0]), ("0.1", [1]),
                                        ("300", [3000]), (" 12.5 ", [125])])
def test_encode_voltage_text(text, words):
    p = point("type: u16, scale: 0.1, unit: V, access: rw, range: [0, 300]")
    assert encode_value(p, text) == words


def test_out_of_range_is_rejected():
    p = point("type: u16, scale: 0.1, unit: V, access: rw, range: [0, 300]")
    for v in (300.1, -0.1, 1000, "300.1", "-1"):
        with pytest.raises(ValueRejected, match="outside"):
            encode_value(p, v)
    assert encode_value(p, 300) == [3000]


def test_not_a_multiple_of_the_scale_is_rejected():
    p = point("type: u16, scale: 0.1, unit: V, access: rw, range: [0, 300]")
    with pytest.raises(ValueRejected, match="multiple"):
        encode_value(p, 230.95)
    half = point("type: u16, scale: 0.5, unit: '%', access: rw, range: [0, 100]")
    with pytest.raises(ValueRejected, match="multiple"):
        encode_value(half, "1.25")
    assert encode_value(half, "1.5") == [3]
    whole = point("type: u16, access: rw, range: [0, 100]")
    with pytest.raises(ValueRejected, match="multiple"):
        encode_value(whole, 2.5)


def test_step_is_checked_from_the_bottom_of_the_range():
    p = point("type: u16, unit: '%', access: rw, range: [0, 100], step: 5")
    assert encode_value(p, 10) == [10]
    with pytest.raises(ValueRejected, match="step"):
        encode_value(p, 7)
    q = point("type: u16, scale: 0.1, unit: V, access: rw, range: [10, 60], step: 0.5")
    assert encode_value(q, "10.5") == [105]
    with pytest.raises(ValueRejected, match="step"):
        encode_value(q, "10.3")       # a multiple of the scale, but not of the step


ENUM = 'type: u16, access: rw, enum: {0: "load first", 1: "battery first", 2: "grid"}'


def test_enum_labels():
    p = point(ENUM)
    assert parse_value(p, "battery first") == 1
    assert parse_value(p, "  Battery First ") == 1
    assert encode_value(p, "battery first") == [1]
    assert encode_value(p, "grid") == [2]
    assert encode_value(p, 0) == [0]
    assert encode_value(p, "2") == [2]
    assert decode(p, [1]).text == "battery first"
    assert decode(p, [7]).text == "unknown (7)"


@pytest.mark.parametrize("value", [3, "3", "batery first", -1, 1.5, "load"])
def test_wrong_enum_value_is_rejected(value):
    with pytest.raises(ValueRejected):
        encode_value(point(ENUM), value)


SPECIAL = ('type: u16, unit: "%", access: rw, range: [0, 100], special: {255: "unlimited"}')


def test_special_value_allowed_outside_range():
    p = point(SPECIAL)
    assert parse_value(p, "unlimited") == 255
    assert parse_value(p, "UNLIMITED") == 255
    assert encode_value(p, "unlimited") == [255]
    assert encode_value(p, 255) == [255]
    assert encode_value(p, "100") == [100]
    assert decode(p, [255]).text == "unlimited"
    assert decode(p, [50]).text == "50 %"
    for v in (101, 254, 256, "200"):
        with pytest.raises(ValueRejected, match="unlimited"):   # the message offers the label
            encode_value(p, v)


def test_special_value_on_a_scaled_point():
    p = point('type: u16, scale: 0.1, unit: V, access: rw, range: [0, 300], '
              'special: {65535: "off"}')
    assert encode_value(p, "off") == [65535]
    assert decode(p, [65535]).text == "off"
    assert decode(p, [2309]).text == "230.9 V"


def test_bits_description():
    p = point('type: u16, bits: {0: "SPI", 3: "LVFRT", 15: "top"}')
    assert decode(p, [0]).text == "none"
    assert decode(p, [0b0100]).text == "none"        # an unnamed bit
    assert decode(p, [0b1001]).text == "SPI, LVFRT"
    assert decode(p, [0b1000]).text == "LVFRT"
    assert decode(p, [0x8001]).text == "SPI, top"
    assert describe(p, 0xFFFF, 0xFFFF) == "SPI, LVFRT, top"


@pytest.mark.parametrize("text", ["abc", "", "1.2.3", "nan", "inf", "-inf", "1e999", "0x",
                                  "12 V", "١٢x", "--1", "1_000_000_000_000"])
def test_garbage_text_is_rejected(text):
    p = point("type: u16, scale: 0.1, unit: V, access: rw, range: [0, 300]")
    with pytest.raises(ValueRejected):
        encode_value(p, parse_value(p, text))


@pytest.mark.parametrize("text", ["9" * 400, "-" + "9" * 400, "1e308", "-1.7e308",
                                  "0x" + "f" * 300, "1" + "0" * 5000])
def test_huge_numbers_are_rejected_not_crashing(text):
    for spec in ("type: u16, scale: 0.1, unit: V, access: rw, range: [0, 300]",
                 "type: u16, scale: 0.001, unit: V, access: rw, range: [0, 60]",
                 "type: s32, access: rw, range: [-100, 100]",
                 "type: f32, access: rw, range: [-1000, 1000]",
                 "type: f32",
                 "type: u32"):
        with pytest.raises(ValueRejected):
            encode_value(point(spec), text)


def test_text_values():
    serial = point("type: ascii, count: 2, access: rw")
    assert encode_value(serial, "AB12") == [0x4142, 0x3132]
    assert encode_value(serial, "A") == [0x4100, 0x0000]
    for bad in ("ABCDE", "é", 12):
        with pytest.raises(ValueRejected):
            encode_value(serial, bad)


def test_f32_values():
    p = point("type: f32, unit: W, access: rw, range: [-1000, 1000]")
    assert encode_value(p, "12.5") == [0x4148, 0x0000]
    assert decode(p, [0x4148, 0]).value == 12.5
    with pytest.raises(ValueRejected):
        encode_value(p, 1000.5)
    assert math.isnan(decode(p, [0x7FC0, 0]).value)


POINT_SPECS = [
    "type: u16, scale: 0.1, unit: V, access: rw, range: [0, 300]",
    "type: s16, scale: 0.01, unit: A, access: rw, range: [-100, 100], step: 0.05",
    "type: u32, scale: 0.5, unit: W, access: rw, range: [0, 1000]",
    "type: s32, words: little, access: rw, range: [-5, 5]",
    ENUM,
    SPECIAL,
    "type: f32, unit: W, access: rw, range: [-1000, 1000]",
    "type: f32",
    "type: u16",
    "type: ascii, count: 3, access: rw",
    "type: hhmm, access: rw",
    'type: u16, access: rw, bits: {0: "a", 1: "b"}',
]
NUMBERISH = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A[+-]?[0-9]{0,40}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,4})?\Z"),
    st.from_regex(r"\A[+-]?0[xX][0-9a-fA-F]{1,80}\Z"),
    st.floats().map(repr),
    st.integers(-2**70, 2**70).map(str),
    st.sampled_from(["unlimited", "battery first", "Grid", "nan", "-inf", "06:30", "99:99"]),
)


@settings(max_examples=250, deadline=None)
@given(text=NUMBERISH, which=st.integers(0, len(POINT_SPECS) - 1))
def test_random_text_only_raises_value_rejected(text, which):
    p = cached_point(POINT_SPECS[which])
    try:
        words = encode_value(p, parse_value(p, text))
    except ValueRejected as exc:
        assert str(exc).startswith(p.name)
        return
    assert isinstance(words, list) and len(words) == p.count
    assert all(isinstance(w, int) and 0 <= w <= 0xFFFF for w in words)
    decode(p, words)  # whatever was accepted decodes again


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.integers(-2**80, 2**80), st.floats()),
       which=st.integers(0, len(POINT_SPECS) - 1))
def test_random_numbers_only_raise_value_rejected(value, which):
    p = cached_point(POINT_SPECS[which])
    try:
        words = encode_value(p, value)
    except ValueRejected:
        return
    assert len(words) == p.count


def test_struct_agrees_with_f32_words():
    # an independent check of the f32 layout: IEEE-754 single, high word first
    n = int.from_bytes(struct.pack(">f", -3.75), "big")
    assert raw_to_words("f32", -3.75, 2) == [n >> 16, n & 0xFFFF]

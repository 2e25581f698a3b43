"""The `hhmm_dec` register type: a time of day as hour * 100 + minute (GivEnergy slots, §8.6).

Points are built through the real loader, as in test_codec.py, so the map path is exercised too.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solartui.errors import CodecError, MapError, ValueRejected
from solartui.registers.checks import check_map
from solartui.registers.codec import decode, encode_value, parse_value, raw_to_words, words_to_raw
from solartui.registers.loader import parse_map

HEAD = """schema: 1
device: {id: test-hhmm-dec, vendor: Test, name: hhmm_dec test device}
protocol: modbus
link: {max_read: 60}
points:
"""


def parse(body: str):
    return parse_map(HEAD + body, "hhmm-dec-test.yaml")


def point(spec: str = "access: rw"):
    m = parse(f"  - {{name: slot_start, doc: Slot start, table: holding, address: 94, "
              f"type: hhmm_dec, {spec}}}\n")
    return m.point("slot_start")


# --- known answers (§8.6: 30 = 00:30, 430 = 04:30, 2330 = 23:30, 0 = cleared) ----------------

@pytest.mark.parametrize("word,text", [
    (0, "00:00"), (30, "00:30"), (430, "04:30"), (1600, "16:00"), (2330, "23:30"),
    (2359, "23:59"), (59, "00:59"), (100, "01:00"),
])
def test_known_answers(word, text):
    assert words_to_raw("hhmm_dec", [word]) == text
    assert raw_to_words("hhmm_dec", text) == [word]
    p = point()
    d = decode(p, [word])
    assert (d.raw, d.value, d.text, d.words) == (text, text, text, (word,))
    assert encode_value(p, text) == [word]


def test_single_digit_hour_accepted_and_differs_from_hhmm():
    assert raw_to_words("hhmm_dec", "4:30") == [430]
    assert raw_to_words("hhmm", "4:30") == [0x041E]        # the other time type is not decimal


@pytest.mark.parametrize("word", [60, 99, 160, 2360, 2400, 2460, 9999, 0xFFFF])
def test_invalid_words_decode_as_text_without_raising(word):
    d = decode(point(), [word])
    assert d.text == f"invalid ({word})"
    assert d.value == d.raw == d.text


@pytest.mark.parametrize("words", [[], [1, 2], [0x10000], [-1]])
def test_wrong_word_count_or_width_is_a_codec_error(words):
    with pytest.raises(CodecError):
        words_to_raw("hhmm_dec", words)


@pytest.mark.parametrize("text", ["24:00", "25:00", "12:60", "noon", "", "6.30", "06:3",
                                  "0430", "-1:00", "12:00:00", "ab:cd"])
def test_bad_times_rejected(text):
    p = point()
    with pytest.raises(ValueRejected):
        encode_value(p, text)
    with pytest.raises(ValueRejected):
        encode_value(p, parse_value(p, text))


@pytest.mark.parametrize("raw", [430, 4.5, None])
def test_non_text_raw_is_refused(raw):
    with pytest.raises(CodecError):
        raw_to_words("hhmm_dec", raw)
    with pytest.raises(ValueRejected):
        encode_value(point(), raw)


def test_parse_value_keeps_text():
    assert parse_value(point(), " 04:30 ") == "04:30"


# --- the loader and the structure check ------------------------------------------------------

def test_writable_without_range_is_allowed_and_checks_clean():
    m = parse("  - {name: slot_start, doc: Slot start, table: holding, address: 94, "
              "type: hhmm_dec, access: rw}\n"
              "  - {name: slot_end, doc: Slot end, table: holding, address: 95, "
              "type: hhmm_dec, access: rw}\n")
    assert [p.count for p in m.points] == [1, 1]
    assert check_map(m).problems == []


@pytest.mark.parametrize("extra,message", [
    ("scale: 0.1", "cannot have a scale"),
    ("range: [0, 2359]", "range does not apply"),
    ("count: 2", "1 register(s) wide"),
    ("enum: {0: off}", "enum needs an integer type"),
    ("words: little", "only applies to 32-bit"),
])
def test_loader_refuses_what_does_not_apply(extra, message):
    with pytest.raises(MapError) as info:
        point(f"access: rw, {extra}")
    assert any(message in f for f in info.value.findings), info.value.findings


# --- round trips -----------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(h=st.integers(0, 23), m=st.integers(0, 59))
def test_round_trip_every_time_of_day(h, m):
    text = f"{h:02d}:{m:02d}"
    words = raw_to_words("hhmm_dec", text)
    assert words == [h * 100 + m]
    assert words_to_raw("hhmm_dec", words) == text
    assert encode_value(point(), f"{h}:{m:02d}") == words


@settings(max_examples=300, deadline=None)
@given(word=st.integers(0, 0xFFFF))
def test_any_word_decodes_and_valid_ones_round_trip(word):
    text = words_to_raw("hhmm_dec", [word])
    h, m = divmod(word, 100)
    if h <= 23 and m <= 59:
        assert raw_to_words("hhmm_dec", text) == [word]
    else:
        assert text == f"invalid ({word})"
        with pytest.raises(CodecError):
            raw_to_words("hhmm_dec", text)


def test_the_simulator_refuses_a_word_that_is_no_time_of_day():
    """A written slot must be a time: the simulated inverter answers exception 3 otherwise."""
    from solartui.registers import catalog
    from solartui.sim.register_bank import RegisterBank
    m = catalog.resolve("givenergy-hybrid")
    p = m.point("charge_slot_1_start")
    assert RegisterBank._valid(p, [2359]) and RegisterBank._valid(p, [0])
    assert not RegisterBank._valid(p, [60]) and not RegisterBank._valid(p, [2400])


def test_the_editor_says_time_of_day():
    from solartui.registers import catalog
    from solartui.tui.screens.edit import point_limits
    assert "time of day HH:MM" in point_limits(
        catalog.resolve("givenergy-hybrid").point("charge_slot_1_start"))

"""FlexMax status pages: the page map, the cutter and the parser (no I/O)."""

import pytest
from hypothesis import given, settings, strategies as st

from solartui.errors import MapError, PageError
from solartui.links.broadcast_page import PageCutter, encode_page, mate_sum, parse_page
from solartui.registers.page_map import resolve_page_map

M = resolve_page_map("outback-flexmax")
# the protocol notes' worked example (section 4.4), checksum 070 computed by hand there
EXAMPLE = b"\nA,00,20,04,143,036,05,00,000,02,274,0082,00,070\r"


def test_map_carries_the_line_settings():
    assert (M.link.baud, M.link.parity, M.link.dtr, M.link.rts) == (19200, "N", True, False)
    assert M.link.period_ms == 1000 and M.page.length == 47


def test_worked_example_decodes():
    (raw,) = PageCutter(M.page).feed(EXAMPLE)
    p = parse_page(raw, M)
    assert p.address == "A"
    assert p.values == {"charger_current": 20.5, "pv_current": 4, "pv_voltage": 143,
                        "daily_energy": 3.6, "aux_mode": "Disabled", "aux_output": [],
                        "error_mode": [], "charger_mode": "Bulk", "battery_voltage": 27.4,
                        "daily_ah": 82}


def test_checksum_rule_matches_the_guides_fx_examples():
    toks = "0,00,00,00,119,000,00,00,000,01,254,008,000".split(",")
    assert mate_sum(toks) == 31
    assert mate_sum("c,0000,0126,0000,02,00023,287,099,001,00,33".split(",")) == 109


def test_aux_bits_errors_and_old_firmware_layout():
    raw = encode_page(M, "B,00,12,03,098,120,03,66,224,03,288,000,000".split(","))
    p = parse_page(raw[1:-1], M)
    assert p.values["aux_mode"] == "Remote" and p.values["aux_output"] == ["aux output on"]
    assert p.values["error_mode"] == ["shorted battery sensor", "too hot", "high VOC"]
    assert p.values["charger_current"] == 12.3 and p.values["daily_ah"] == 0


@pytest.mark.parametrize("raw, why", [
    (EXAMPLE[1:-1].replace(b"070", b"071"), "checksum"),
    (EXAMPLE[1:-6], "characters"),
    (EXAMPLE[1:-1].replace(b"A,", b"0,"), "address"),
    (EXAMPLE[1:-1].replace(b"143", b"1x3"), "not digits"),
    (EXAMPLE[1:-1].replace(b"0082,00", b"08,2000"), "widths"),
    (b"\xff" * 47, "non-ASCII"),
])
def test_bad_pages_raise_page_error(raw, why):
    with pytest.raises(PageError, match=why):
        parse_page(raw, M)


def test_cutter_drops_partial_and_noise_and_joins_split_pages():
    c = PageCutter(M.page)
    got = c.feed(b"0082,00,070\r\x00\x00junk")      # tail of a page seen mid-way: no LF
    got += c.feed(b"\r" + EXAMPLE[:10])
    got += c.feed(EXAMPLE[10:] + EXAMPLE)
    assert got == [EXAMPLE[1:-1], EXAMPLE[1:-1]]


def test_cutter_bounds_an_endless_line():
    c = PageCutter(M.page)
    assert c.feed(b"\n" + b"1" * 10000) == [] and c.buf == bytearray()
    assert c.feed(EXAMPLE) == [EXAMPLE[1:-1]]


def test_allegro_says_why_it_is_not_supported():
    with pytest.raises(MapError, match="not publicly documented"):
        resolve_page_map("asp-allegro")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 300))
def test_random_bytes_give_pages_or_page_errors(data, split):
    c = PageCutter(M.page)
    for raw in c.feed(data[:split]) + c.feed(data[split:] + EXAMPLE):
        try:
            p = parse_page(raw, M)
        except PageError:
            continue
        assert set(p.values) == {f.name for f in M.fields}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=38, max_size=38), st.sampled_from("ABCDEFGHIJK"))
def test_any_well_formed_page_round_trips(digits, address):
    widths = M.page.layouts[0][1:-1]
    toks, i = [address], 0
    for w in widths:
        toks.append("".join(map(str, digits[i:i + w])))
        i += w
    p = parse_page(encode_page(M, toks)[1:-1], M)
    assert list(p.tokens[:-1]) == toks

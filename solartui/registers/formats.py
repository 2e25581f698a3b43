"""Register views: raw words shown the way Modbus Poll or QModMaster show them.

Why: the register browser looks at registers the map may not describe, so it cannot decode them as
points. A person picks a view (u16, s16, hex, binary, 32-bit integers or floats in either word
order, ASCII) and every register row gets one display string. Pure functions: no I/O, no Textual.

32-bit views pair registers from the first register of the range: the value shows on the first
row of each pair and the second row shows "". A register whose pair is incomplete (the range ends,
or its partner was not read) shows "—". A register that was not read (None) shows "—" in every view.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from solartui.registers.codec import words_to_raw

FORMATS: tuple[str, ...] = (
    "u16", "s16", "hex", "binary", "u32 big", "u32 little", "s32 big", "s32 little",
    "float32 big", "float32 little", "ascii",
)
MISSING = "—"

# "u32 big" -> ("u32", "big"): the codec type and word order of each 32-bit view
_WIDE = {
    "u32 big": ("u32", "big"), "u32 little": ("u32", "little"),
    "s32 big": ("s32", "big"), "s32 little": ("s32", "little"),
    "float32 big": ("f32", "big"), "float32 little": ("f32", "little"),
}

_DEC = re.compile(r"[0-9]+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_BIN = re.compile(r"0[bB][01]+")


def is_wide(fmt: str) -> bool:
    """True for the views that show one value per pair of registers."""
    return fmt in _WIDE


def format_words(words: list[int | None], fmt: str) -> list[str]:
    """One display string per register row, in view `fmt` (one of FORMATS)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown register view {fmt!r}; choose one of {', '.join(FORMATS)}")
    for w in words:
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or not 0 <= w <= 0xFFFF):
            raise ValueError(f"register words must be 0-65535, got {w!r}")
    if fmt in _WIDE:
        return _format_pairs(words, *_WIDE[fmt])
    one = _SINGLE[fmt]
    return [MISSING if w is None else one(w) for w in words]


def _format_pairs(words: list[int | None], typ: str, order: str) -> list[str]:
    out: list[str] = []
    for i in range(0, len(words), 2):
        pair = words[i:i + 2]
        if len(pair) < 2 or None in pair:
            out.extend(MISSING for _ in pair)
            continue
        raw = words_to_raw(typ, pair, order)
        out.extend((format_float(raw) if typ == "f32" else str(raw), ""))
    return out


def format_float(value: float) -> str:
    """A float32 compactly: NaN and infinities as text, else up to 7 significant digits."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.7g}"


def _s16(w: int) -> str:
    return str(w - 0x10000 if w & 0x8000 else w)


def _binary(w: int) -> str:
    bits = f"{w:016b}"
    return " ".join(bits[i:i + 4] for i in range(0, 16, 4))


def _char(b: int) -> str:
    return chr(b) if 0x20 <= b <= 0x7E else "."


def _ascii(w: int) -> str:
    return _char(w >> 8) + _char(w & 0xFF)


_SINGLE = {
    "u16": str,
    "s16": _s16,
    "hex": lambda w: f"0x{w:04X}",
    "binary": _binary,
    "ascii": _ascii,
}


# --- typed input -------------------------------------------------------------------------------

def parse_int(text: str, lo: int, hi: int, what: str = "value") -> int:
    """Decimal, 0x hex or 0b binary text -> an integer in lo..hi (ValueError: one line)."""
    s = str(text).strip()
    if not s:
        raise ValueError(f"enter a {what}: decimal, 0x hex or 0b binary")
    if _DEC.fullmatch(s):
        n = int(s, 10)
    elif _HEX.fullmatch(s):
        n = int(s[2:], 16)
    elif _BIN.fullmatch(s):
        n = int(s[2:], 2)
    else:
        shown = s if len(s) <= 20 else s[:20] + "…"
        raise ValueError(f"{what} {shown!r} is not a number: use decimal, 0x hex or 0b binary")
    if not lo <= n <= hi:
        raise ValueError(f"{what} {s} is outside {lo}–{hi}")
    return n


def parse_word(text: str) -> int:
    """What a person typed for one register -> 0..65535 (ValueError with a one-line message)."""
    return parse_int(text, 0, 0xFFFF, "register value")


# --- splitting a range into reads --------------------------------------------------------------

def read_chunks(start: int, count: int, max_read: int, blocks: Sequence[tuple[int, int]] = (),
                holes: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Split registers start..start+count-1 into (address, count) reads of at most max_read.

    Reads also stop at the edges of the map's register blocks (devices such as Growatt refuse a
    read that crosses from one register group into the next) and of its holes, so one refused
    span does not take its neighbours down with it. Registers outside every block are still read,
    in runs of their own, so the device can say what it thinks of them.
    """
    if count < 1 or max_read < 1:
        raise ValueError("count and max_read must be at least 1")
    cuts = sorted({edge for lo, hi in (*blocks, *holes) for edge in (lo, hi + 1)})
    out: list[tuple[int, int]] = []
    addr, end = start, start + count
    while addr < end:
        stop = min(end, addr + max_read)
        for c in cuts:
            if addr < c < stop:
                stop = c
                break
        out.append((addr, stop - addr))
        addr = stop
    return out

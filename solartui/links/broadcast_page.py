"""Broadcast status pages: cutting them out of a byte stream, checking and decoding them.

No I/O here. `PageCutter.feed(bytes)` returns the complete candidate pages (text between the
last start character and an end character); whatever came before the first start on a line
(a partial page at power-up, line noise) is dropped. `parse_page` returns a `Page` or raises
PageError — never anything else, whatever the bytes. `encode_page` builds a page with its
checksum (the simulator and the tests use it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solartui.errors import PageError
from solartui.registers.page_map import PageField, PageMap, PageSpec

MAX_PENDING = 4096


class ForeignPage(PageError):
    """A well-framed page from another kind of device on the same MATE (an FX inverter's page
    beside a FLEXmax's): not garbage, just not ours."""       # an endless line without an end character is garbage: drop it


class PageCutter:
    """Accumulates bytes; each end character closes one candidate page."""

    def __init__(self, spec: PageSpec):
        self.start = spec.start.encode("ascii")
        self.end = spec.end.encode("ascii")
        self.buf = bytearray()
        self.dropped = 0            # bytes thrown away as overlong

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out = []
        while True:
            cut = self.buf.find(self.end)
            if cut < 0:
                break
            piece = bytes(self.buf[:cut])
            del self.buf[:cut + 1]
            at = piece.rfind(self.start)
            if at >= 0:
                out.append(piece[at + 1:])
        if len(self.buf) > MAX_PENDING:
            self.dropped += len(self.buf)
            self.buf.clear()
        return out


def mate_sum(tokens: list[str]) -> int:
    """OutBack MATE checksum: sum of (ASCII code - 48) over every character, commas excluded."""
    return sum(ord(c) - 48 for t in tokens for c in t)


@dataclass(frozen=True)
class Page:
    address: str
    tokens: tuple[str, ...]
    values: dict = field(default_factory=dict)     # name -> value (int, float, str, list)
    raw: bytes = b""

    def text(self, f: PageField) -> str:
        v = self.values[f.name]
        if f.type == "bits":
            return ", ".join(v) if v else "none"
        if isinstance(v, float):
            return f"{v:.1f} {f.unit}".strip()
        return f"{v} {f.unit}".strip()


def _show(raw: bytes) -> str:
    return repr(raw[:60]) + ("…" if len(raw) > 60 else "")


def parse_page(raw: bytes, m: PageMap) -> Page:
    """One candidate page (between start and end, exclusive) -> Page, or PageError."""
    spec = m.page
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise PageError(f"page has non-ASCII bytes: {_show(raw)}") from None
    if len(text) != spec.length:
        raise PageError(f"page is {len(text)} characters, not {spec.length}: {_show(raw)}")
    tokens = text.split(spec.separator)
    widths = tuple(len(t) for t in tokens)
    if widths not in spec.layouts:
        raise PageError(f"page fields have widths {list(widths)}, which no layout of "
                        f"{m.id} has: {_show(raw)}")
    address = tokens[spec.address_index]
    if address not in spec.address_accept:
        raise ForeignPage(f"page address {address!r} is not one of {m.id}'s "
                        f"({spec.address_accept}): another device's page")
    for i, t in enumerate(tokens):
        if i != spec.address_index and not (t.isascii() and t.isdigit()):
            raise PageError(f"field {i} is {t!r}, not digits: garbled page")
    body = [t for i, t in enumerate(tokens) if i != spec.checksum_index]
    want, got = mate_sum(body), int(tokens[spec.checksum_index])
    if want != got:
        raise PageError(f"checksum {got:03d} does not match the page's {want:03d}: {_show(raw)}")
    values = {f.name: _value(f, tokens) for f in m.fields}
    return Page(address=address, tokens=tuple(tokens), values=values, raw=raw)


def _value(f: PageField, tokens: list[str]):
    n = int(tokens[f.index])
    if f.mask is not None:
        n &= f.mask
    if f.type == "int":
        return n
    if f.type == "float":
        v = n * f.scale
        if f.tenths_index is not None:
            v += int(tokens[f.tenths_index][-1]) / 10
        return round(v, 3)
    if f.type == "enum":
        return (f.enum or {}).get(n, f"unknown ({n})")
    return [label for bit, label in sorted((f.bits or {}).items()) if n & bit]


def encode_page(m: PageMap, tokens: list[str]) -> bytes:
    """start + tokens + computed checksum + end, e.g. for the simulator; `tokens` lacks the
    checksum token (it is appended)."""
    spec = m.page
    body = list(tokens)
    body.insert(spec.checksum_index, f"{mate_sum(tokens) % 1000:03d}")
    return (spec.start + spec.separator.join(body) + spec.end).encode("ascii")

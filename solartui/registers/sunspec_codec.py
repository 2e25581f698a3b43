"""SunSpec register words -> values: the type's not-implemented sentinel first, then the scale
factor, enums and bitfields as words, strings without their NUL padding.

Why its own decoder: a SunSpec value's scale is another register's value (read in the same
request), and every type has a raw value meaning "not implemented" that must show as such, not
as 65535 or -32768 (sunspec.md §5). Anything the words can hold decodes: no input raises.
"""

from __future__ import annotations

import math
import struct

from solartui.registers.codec import Decoded
from solartui.registers.model import Point

NOT_IMPLEMENTED = "not implemented"

_SENTINEL = {
    "int16": 0x8000, "uint16": 0xFFFF, "count": 0xFFFF, "enum16": 0xFFFF, "bitfield16": 0xFFFF,
    "sunssf": 0x8000, "int32": 0x80000000, "uint32": 0xFFFFFFFF, "enum32": 0xFFFFFFFF,
    "bitfield32": 0xFFFFFFFF, "int64": 0x8000000000000000, "uint64": 0xFFFFFFFFFFFFFFFF,
    "acc16": 0, "acc32": 0, "acc64": 0, "ipaddr": 0, "ipv6addr": 0, "pad": None,
}
_SIGNED = {"int16": 16, "sunssf": 16, "int32": 32, "int64": 64}


def raw_int(words) -> int:
    n = 0
    for w in words:
        n = (n << 16) | (w & 0xFFFF)
    return n


def is_not_implemented(sstype: str, words) -> bool:
    if sstype in ("float32", "float64"):
        return math.isnan(_float(words))
    if sstype == "string":
        return all(w == 0 for w in words)
    if sstype == "eui48":
        return all(w == 0xFFFF for w in words[-3:])
    s = _SENTINEL.get(sstype)
    return s is not None and raw_int(words) == s


def _float(words) -> float:
    data = b"".join((w & 0xFFFF).to_bytes(2, "big") for w in words)
    return struct.unpack(">f" if len(data) == 4 else ">d", data)[0]


def signed(sstype: str, n: int) -> int:
    bits = _SIGNED.get(sstype)
    if bits and n >= 1 << (bits - 1):
        n -= 1 << bits
    return n


def sf_value(words) -> int | None:
    """A scale-factor register's exponent; None when not implemented or outside -10..10."""
    if not words or words[0] == 0x8000:
        return None
    v = signed("sunssf", words[0])
    return v if -10 <= v <= 10 else None


def decode(point: Point, sstype: str, words, sf: int | None | str = 0) -> Decoded:
    """`sf`: the exponent (int), None when the point has no scale factor, or "missing" when it
    has one that is not implemented (the value cannot be scaled)."""
    words = tuple(int(w) & 0xFFFF for w in words)
    if is_not_implemented(sstype, words):
        return Decoded(words, raw_int(words), None, NOT_IMPLEMENTED)
    if sstype == "string":
        data = b"".join(w.to_bytes(2, "big") for w in words)
        text = data.split(b"\x00", 1)[0].decode("latin-1").strip()
        text = "".join(c if c.isprintable() else "?" for c in text)
        return Decoded(words, text, text, text or "(empty)")
    if sstype in ("float32", "float64"):
        v = _float(words)
        if math.isinf(v):
            return Decoded(words, raw_int(words), None, f"invalid ({v})")
        v = float(f"{v:.7g}") if sstype == "float32" else v
        return Decoded(words, v, v, f"{v:g} {point.unit}".rstrip())
    if sstype == "ipaddr":
        n = raw_int(words)
        text = ".".join(str(n >> s & 0xFF) for s in (24, 16, 8, 0))
        return Decoded(words, n, text, text)
    if sstype == "ipv6addr":
        text = ":".join(f"{w:x}" for w in words)
        return Decoded(words, raw_int(words), text, text)
    if sstype == "eui48":
        text = ":".join(f"{b:02X}" for w in words[-3:] for b in w.to_bytes(2, "big"))
        return Decoded(words, raw_int(words), text, text)
    raw = signed(sstype, raw_int(words))
    if sstype.startswith("enum"):
        label = (point.enum or {}).get(raw)
        return Decoded(words, raw, raw, label if label is not None else f"unknown ({raw})")
    if sstype.startswith("bitfield"):
        names = [(point.bits or {}).get(b, f"bit {b}") for b in range(len(words) * 16)
                 if raw >> b & 1]
        return Decoded(words, raw, raw, ", ".join(names) if names else "none")
    if sf == "missing":
        return Decoded(words, raw, None, f"{raw} (scale factor not implemented)")
    if not sf:
        return Decoded(words, raw, raw, f"{raw} {point.unit}".rstrip())
    value = round(raw * 10.0 ** sf, max(0, -sf))
    text = f"{value:.{max(0, -sf)}f} {point.unit}".rstrip()
    return Decoded(words, raw, value, text)

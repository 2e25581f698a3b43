"""A simulated SunSpec inverter's registers, laid out from the SunSpec model definitions.

Why: the SunSpec path (marker, chain walk, scale factors, not-implemented sentinels, controls)
needs a peer that speaks the real wire protocol, and its layout must come from the same
definitions the tool reads, not from a hand-typed table. Models 1, 103, 120, 121, 122, 123 by
default, "SunS" at 40000; every address outside the chain is exception 2, as on the inverter in
issue 19. Optional points not given a value hold their type's not-implemented sentinel. No I/O
here: sim/modbus_server.py serves it.
"""

from __future__ import annotations

import math
import struct
import time

from solartui.registers import sunspec as S
from solartui.sim.power_flow import sun_fraction

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE = 1, 2, 3
DEFAULT_MODELS = (1, 103, 120, 121, 122, 123)
RATED_W = 5000

# (model, point) -> engineering value; SF points hold exponents. Everything else optional is
# left not implemented (so the decoder's sentinels are exercised by default).
VALUES = {
    (1, "Mn"): "SunSim", (1, "Md"): "SIM-3P-5000", (1, "Opt"): "opt", (1, "Vr"): "1.2.3",
    (1, "DA"): 1,
    (103, "A_SF"): -2, (103, "A"): 7.25, (103, "AphA"): 2.42, (103, "AphB"): 2.41,
    (103, "AphC"): 2.42, (103, "V_SF"): -1, (103, "PhVphA"): 230.1, (103, "PhVphB"): 229.8,
    (103, "PhVphC"): 231.0, (103, "PPVphAB"): 398.5, (103, "W_SF"): 0, (103, "W"): 2900,
    (103, "Hz_SF"): -2, (103, "Hz"): 50.01, (103, "VA_SF"): 0, (103, "VA"): 2950,
    (103, "PF_SF"): -1, (103, "PF"): 98.3, (103, "WH_SF"): 0, (103, "WH"): 12345678,
    (103, "DCA_SF"): -2, (103, "DCA"): 8.4, (103, "DCV_SF"): -1, (103, "DCV"): 355.0,
    (103, "DCW_SF"): 0, (103, "DCW"): 3000, (103, "Tmp_SF"): -1, (103, "TmpCab"): 35.2,
    (103, "St"): 4, (103, "Evt1"): 0, (103, "Evt2"): 0,
    (120, "DERTyp"): 4, (120, "WRtg_SF"): 0, (120, "WRtg"): RATED_W, (120, "VARtg_SF"): 0,
    (120, "VARtg"): RATED_W, (120, "ARtg_SF"): -1, (120, "ARtg"): 8.0,
    (120, "VArRtgQ1"): 3000, (120, "VArRtgQ4"): -3000, (120, "VArRtg_SF"): 0,
    (120, "PFRtgQ1"): 0.8, (120, "PFRtgQ4"): -0.8, (120, "PFRtg_SF"): -2,
    (121, "WMax_SF"): 0, (121, "WMax"): RATED_W, (121, "VRef_SF"): 0, (121, "VRef"): 230,
    (121, "VRefOfs_SF"): 0, (121, "VRefOfs"): 0, (121, "VMax"): 253, (121, "VMin"): 207,
    (121, "VMinMax_SF"): 0, (121, "VAMax_SF"): 0, (121, "VAMax"): RATED_W,
    (121, "ECPNomHz_SF"): -2, (121, "ECPNomHz"): 50.0,
    (122, "PVConn"): 0b111, (122, "ECPConn"): 1, (122, "ActWh"): 12345678,
    (122, "WAval_SF"): 0, (122, "WAval"): RATED_W, (122, "StActCtl"): 0, (122, "TmSrc"): "RTC",
    (122, "Tms"): 0, (122, "Ris_SF"): 3, (122, "Ris"): 1200000,
    (123, "Conn"): 1, (123, "WMaxLimPct_SF"): -1, (123, "WMaxLimPct"): 100.0,
    (123, "WMaxLim_Ena"): 0, (123, "OutPFSet_SF"): -3, (123, "OutPFSet"): 1.0,
    (123, "OutPFSet_Ena"): 0, (123, "VArPct_SF"): 0, (123, "VArPct_Ena"): 0,
    (123, "Conn_WinTms"): 0, (123, "Conn_RvrtTms"): 0, (123, "WMaxLimPct_WinTms"): 0,
    (123, "WMaxLimPct_RvrtTms"): 0, (123, "WMaxLimPct_RmpTms"): 0,
}


def _sentinel_words(sstype: str, size: int) -> list[int]:
    if sstype in ("int16", "sunssf"):
        return [0x8000]
    if sstype in ("int32", "int64"):
        return [0x8000] + [0] * (size - 1)
    if sstype in ("float32", "float64"):
        return [0x7FC0, 0] if size == 2 else [0x7FF8, 0, 0, 0]
    if sstype in ("string", "pad", "acc16", "acc32", "acc64", "ipaddr", "ipv6addr"):
        return [0] * size
    return [0xFFFF] * size


def encode(sstype: str, size: int, value, sf: int = 0) -> list[int]:
    """An engineering value as the words a SunSpec device holds (value / 10^sf)."""
    if sstype == "string":
        data = str(value).encode("latin-1")[: 2 * size].ljust(2 * size, b"\x00")
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, 2 * size, 2)]
    if sstype == "float32":
        n = int.from_bytes(struct.pack(">f", float(value)), "big")
        return [n >> 16, n & 0xFFFF]
    raw = int(round(value / 10 ** sf)) if sf else int(value)
    raw &= (1 << (16 * size)) - 1
    return [(raw >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


class SunSpecBank:
    """Registers of one SunSpec unit; the same interface sim/modbus_server.py asks of a bank."""

    def __init__(self, models=DEFAULT_MODELS, *, unit: int = 1, base: int = 40000,
                 serial: str = "SIM0000001", values: dict | None = None, sun: float | None = None):
        self.unit = unit
        self.base = base
        self.sun = sun
        self.words: dict[int, int] = {base: S.MARKER[0], base + 1: S.MARKER[1]}
        vals = dict(VALUES)
        vals[(1, "SN")] = serial
        vals.update(values or {})
        headers = []
        addr = base + 2
        for mid in models:
            d = S.model_def(mid)
            length = S.fixed_length(d["group"]) - 2
            headers.append(S.ModelHeader(mid, addr, length))
            addr += length + 2
        self.end = addr
        self.words[addr], self.words[addr + 1] = S.END_ID, 0
        self.ssmap = S.build_map(headers, base, unit=unit)
        self.map = self.ssmap.device_map          # .link.functions: what the server answers
        self._by_model_point: dict[tuple[int, str], object] = {}
        for h in headers:
            self.words[h.address], self.words[h.address + 1] = h.id, h.length
            for a in range(h.address + 2, h.address + h.length + 2):
                self.words.setdefault(a, 0)
        for p in self.map.points:
            info = self.ssmap.points[p.name]
            key = (info.model, p.name.split("_", 1)[1])
            self._by_model_point[key] = p
            for i, w in enumerate(_sentinel_words(info.sstype, info.size)):
                self.words[p.address + i] = w
        self.values = vals
        for key, value in sorted(vals.items(), key=lambda kv: not kv[0][1].endswith("_SF")):
            self._put(key, value)       # scale factors first: the values are encoded with them
        self._start = time.monotonic()

    # --- values --------------------------------------------------------------------------------

    def _sf_of(self, key) -> int:
        p = self._by_model_point.get(key)
        info = self.ssmap.points.get(p.name) if p is not None else None
        if info is None or not isinstance(info.sf, str):
            return 0
        sfp = self.map.point(info.sf)
        w = self.words[sfp.address]
        return w - 0x10000 if w >= 0x8000 else w

    def _put(self, key, value) -> None:
        p = self._by_model_point.get(key)
        if p is None:
            return
        info = self.ssmap.points[p.name]
        for i, w in enumerate(encode(info.sstype, info.size, value, self._sf_of(key))):
            self.words[p.address + i] = w

    def point_words(self, model: int, name: str) -> list[int]:
        p = self._by_model_point[(model, name)]
        return [self.words[p.address + i] for i in range(p.count)]

    def tick(self, now: float | None = None) -> None:
        """AC power follows the sun and the active power limit; the energy counter moves."""
        if self.sun is not None:
            sun = self.sun
        else:
            t = time.localtime()
            sun = sun_fraction(t.tm_hour + t.tm_min / 60)
        limit = RATED_W
        if self.point_words(123, "WMaxLim_Ena") == [1]:
            raw = self.point_words(123, "WMaxLimPct")[0]
            limit = RATED_W * raw * 10 ** self._sf_of((123, "WMaxLimPct")) / 100
        connected = self.point_words(123, "Conn") != [0]
        w = min(RATED_W * sun, limit) if connected else 0
        w = round(w + 20 * math.sin(time.monotonic())) if w > 40 else round(w)
        self._put((103, "W"), w)
        self._put((103, "DCW"), round(w * 1.03))
        self._put((103, "St"), 4 if w > 0 else (2 if connected else 8))
        self._put((103, "WH"), 12345678 + int(time.monotonic() - self._start))

    # --- the bank interface --------------------------------------------------------------------

    def get_raw(self, table: str, address: int, count: int = 1) -> list[int]:
        return [self.words.get(address + i, 0) for i in range(count)]

    def read(self, table: str, address: int, count: int) -> list[int] | int:
        if table != "holding":
            return ILLEGAL_ADDRESS          # SunSpec is holding registers only
        if not all(address + i in self.words for i in range(count)):
            return ILLEGAL_ADDRESS
        return self.get_raw(table, address, count)

    def write(self, address: int, words: list[int]) -> int | None:
        """Only RW points, whole; an enum outside its symbols or a % over 100 is exception 3."""
        touched = [p for p in self.map.points
                   if p.address <= address + len(words) - 1 and p.end >= address]
        if not touched or any(p.access != "rw" for p in touched):
            return ILLEGAL_ADDRESS
        if touched[0].address != address or touched[-1].end != address + len(words) - 1:
            return ILLEGAL_ADDRESS
        for p in touched:
            w = words[p.address - address: p.end - address + 1]
            if p.enum is not None and w[0] not in p.enum:
                return ILLEGAL_VALUE
            if p.unit in ("% WMax", "Pct") and p.type == "u16":
                key = (self.ssmap.points[p.name].model, p.name.split("_", 1)[1])
                if w[0] * 10 ** self._sf_of(key) > 100:
                    return ILLEGAL_VALUE
        for i, w in enumerate(words):
            self.words[address + i] = w
        return None

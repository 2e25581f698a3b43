"""The registers of one simulated device, seeded from a register map.

Why: the demo mode and the tests need a device whose values look real, move plausibly and answer
reads and writes the way a Growatt inverter does (exception 2 across register groups, 1 for
read-only, 3 out of range, a clock that reads a 4-digit year but only takes a 2-digit one), without
any hardware. No I/O here: the servers in this package put it on a wire.
"""

from __future__ import annotations

import math
import random
import re
import time
from datetime import datetime

from solartui.errors import CodecError
from solartui.registers.checks_spec import checks_for
from solartui.registers.clock_words import is_packed, pack, unpack
from solartui.registers.codec import raw_limits, raw_to_words, to_raw, to_value, words_to_raw
from solartui.registers.model import INTEGER_TYPES, DeviceMap, Field, Point
from solartui.sim.power_flow import Flows, PlantFaults, balance, house_load, sun_fraction

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE = 1, 2, 3
RATED_W = 5000.0                      # the simulated plant's PV peak, in watts
BATTERY_WH = 10000.0                  # the simulated battery, where the map has one
BATTERY_MAX_W = 2000.0                # its charge and discharge limit
DEFAULT_IDENTITY = {"firmware": "DH1.0 ", "model": 0x00102231, "device_type": 5100,
                    "protocol_version": 207}
# What other Growatt generations answer in their identification registers, so identification
# and the Shine server tell the simulated families apart as they would real ones: the legacy
# values are the sciurius announce's (holding 88 = 0, DTC 2131, model 0x0010F171), the SPF's
# device type is in the field-reported 3400-3403 (growatt-modbus.md §3.3).
FAMILY_IDENTITY = {
    "growatt-legacy": {"firmware": "0C0.9 ", "model": 0x0010F171, "device_type": 2131,
                       "protocol_version": 0},
    "growatt-spf": {"firmware": "RAAA01", "device_type": 3400},
}
_PV_STRING = re.compile(r"pv\d")


def _has(name: str, *parts: str) -> bool:
    return any(p in name for p in parts)


def _guess(p: Point) -> float | None:
    """A plausible live value for a point, from its name and unit (None: no idea)."""
    n, u = p.name.lower(), p.unit
    trip = 0.85 if "low" in n else 1.1 if "high" in n else 1.0   # protection limits
    if u in ("V", "mV"):
        v = (3.3 if "cell" in n else 350.0 if _has(n, "pv") else 52.0 if _has(n, "bat", "bms")
             else 380.0 if "bus" in n else 230.0 * trip)
        return v * 1000 if u == "mV" else v
    if u == "Hz":
        return 50.0 * (0.95 if trip < 1 else 1.03 if trip > 1 else 1.0)
    if u == "°C":
        return 35.0
    if u == "%" and "soc" in n:
        return 60.0
    if u in ("A", "mA"):
        a = 8.0 if "pv" in n else 5.0 if _has(n, "bat", "bms") else 10.0
        return a * 1000 if u == "mA" else a
    if u in ("W", "kW", "VA", "kVA"):
        w = (RATED_W if _has(n, "max", "rated", "nominal") else
             RATED_W / 2 if _PV_STRING.search(n) else 3000.0 if "pv" in n else
             0.0 if _has(n, "import", "charge", "bat") else 900.0 if "load" in n else 2900.0)
        return w / 1000 if u.startswith("k") else w
    if u in ("kWh", "Wh"):
        kwh = 12345.6 if "total" in n else 5.0 if "today" in n else None
        return None if kwh is None else kwh * 1000 if u == "Wh" else kwh
    if u == "h" and "total" in n:
        return 1000.0
    return None


def _raw_for(p: Point, value: float) -> int | float:
    """Engineering value -> raw for the point's type, kept inside its range and type limits."""
    if p.range:
        value = min(max(value, p.range[0]), p.range[1])
    if p.type == "f32":
        return float(value)
    raw = round(to_raw(p, value))
    lo, hi = raw_limits(p.type)
    return min(max(raw, lo), hi)


class RegisterBank:
    """One simulated device: holding and input words, a clock, and values that move."""

    def __init__(self, device_map: DeviceMap, *, unit: int = 1, seed: int = 0,
                 clock_offset: float = 0.0, identity: dict | None = None,
                 faults: PlantFaults | None = None):
        self.map = device_map
        self.unit = unit
        self.seed = seed
        self.clock_offset = clock_offset
        self.accept_full_year = False   # True models off-grid SPF (4-digit year writes held)
        self.frozen = False             # freeze(): no clock, no moving values
        self.reads = 0
        self.writes = 0
        self._regs: dict[str, dict[int, int]] = {"input": {}, "holding": {}}
        self._pinned: set[tuple[str, int]] = set()     # written or set_raw: tick keeps off
        self._energy: dict[str, float] = {}
        self._last_tick: float | None = None
        self._cover: dict[int, list[Point]] = {}        # holding address -> points over it
        for p in device_map.points:
            if p.table == "holding":
                for a in range(p.address, p.end + 1):
                    self._cover.setdefault(a, []).append(p)
            if p.alias_of is None:
                self._store(p.table, p.address, self._initial_words(p))
        self._identity_addrs: set[int] = set()
        ident = {"serial": f"SIM{unit:03d}{seed % 10000:04d}", **DEFAULT_IDENTITY,
                 **FAMILY_IDENTITY.get(device_map.id, {}), **(identity or {})}
        for name, fld in device_map.identify.items():
            self._put_identity(name, fld, ident)
        c = device_map.clock
        self._clock_addrs = ({c.address + i: f for i, f in enumerate(c.fields)} if c else {})
        # the independent witness of clock sets: (host time.time() each clock write was taken,
        # the clock it left: the whole second written, or for a write without the seconds the
        # running clock with its fraction), one entry per write
        self.clock_sets: list[tuple[float, datetime]] = []
        # the site around the inverter (sim/power_flow.py), on the points the map's checks
        # section names: PV, load, battery, grid = PV + battery − load, export limiting
        self.faults = faults if faults is not None else PlantFaults()
        self.sun: float | None = None            # 0-1 pins the daylight (tests); None: clock
        self.export_limit_w: float | None = None  # for maps with no export-limit register
        self.flows: Flows | None = None
        self._soc = 60.0
        self._roles = checks_for(device_map).points
        if self._roles:
            self._store_flows(self._flows_now(time.time(), None, 0.0))

    # --- seeding -------------------------------------------------------------------------------

    def _initial_words(self, p: Point) -> list[int]:
        """Why: a fresh device should show believable numbers, not a wall of zeros."""
        if p.type == "ascii":
            return [0] * p.count
        if p.type in ("hhmm", "hhmm_dec") or p.bits:
            return [0] * p.count
        if p.enum:
            # a running inverter: "normal"/"on" where the map has such a label, else the first
            running = [k for k, v in p.enum.items() if v.lower() in ("normal", "on")]
            raw: int | float = running[0] if running else next(iter(p.enum))
        elif "address" in p.name and p.range and p.range[0] <= self.unit <= p.range[1]:
            raw = _raw_for(p, self.unit)
        elif p.unit == "%" and p.range and p.access != "r" and "soc" not in p.name:
            raw = _raw_for(p, p.range[1])          # rate limits start unlimited
        else:
            guess = _guess(p)
            if guess is None and p.range:
                lo, hi = p.range
                guess = lo + (hi - lo) / 2
            raw = _raw_for(p, guess if guess is not None else 0.0)
        return self._encode(p, raw)

    def _encode(self, f: Field, raw) -> list[int]:
        try:
            return raw_to_words(f.type, raw, f.count, f.words)
        except CodecError:
            return [0] * f.count

    def _put_identity(self, name: str, fld: Field, ident: dict) -> None:
        key = name if name in ident else (
            "serial" if "serial" in name else
            "firmware" if fld.type == "ascii" and _has(name, "firmware", "version", "fw") else None)
        if key is None:
            return
        value = ident[key]
        if fld.type == "ascii":
            value = str(value)[:2 * fld.count]
        elif fld.type in INTEGER_TYPES and isinstance(value, int):
            lo, hi = raw_limits(fld.type)
            value = value & hi if lo == 0 else value
        else:
            return
        self._store(fld.table, fld.address, self._encode(fld, value))
        if fld.table == "holding":
            self._identity_addrs.update(range(fld.address, fld.address + fld.count))

    # --- raw access ----------------------------------------------------------------------------

    def _store(self, table: str, address: int, words: list[int]) -> None:
        regs = self._regs[table]
        for i, w in enumerate(words):
            regs[address + i] = int(w) & 0xFFFF

    def _words(self, table: str, address: int, count: int) -> list[int]:
        regs = self._regs[table]
        out = [regs.get(a, 0) for a in range(address, address + count)]
        if table == "holding" and self._clock_addrs:
            fields = self.clock_fields()
            for i, a in enumerate(range(address, address + count)):
                if a in self._clock_addrs:
                    [out[i]] = pack([self._clock_addrs[a]], fields)
        return out

    def get_raw(self, table: str, address: int, count: int = 1) -> list[int]:
        """The words as stored (clock computed), with no Modbus rules: for tests and the demo."""
        return self._words(table, address, count)

    def set_raw(self, table: str, address: int, words: list[int]) -> None:
        """Store words directly; tick() leaves them alone afterwards (a test set them on purpose)."""
        self._store(table, address, list(words))
        self._pinned.update((table, address + i) for i in range(len(words)))

    def freeze(self) -> None:
        """Forget every word, stop the clock and the moving values: `maps verify` serves only
        the words its fixture seeds, so a wrong address reads 0 and a seeded clock stays put."""
        self._regs = {"input": {}, "holding": {}}
        self._clock_addrs = {}
        self.frozen = True

    def value(self, name: str) -> int | float | str:
        """A point's current engineering value (why: tests compare against what went out)."""
        p = self.map.point(name)
        raw = words_to_raw(p.type, self._words(p.table, p.address, p.count), p.words)
        return raw if isinstance(raw, str) else to_value(p, raw)

    # --- Modbus-facing read and write ----------------------------------------------------------

    def read(self, table: str, address: int, count: int) -> list[int] | int:
        """Words, or exception 2 when the read leaves one declared block or touches a hole."""
        self.reads += 1
        last = address + count - 1
        if count < 1 or count > self.map.link.max_read:
            return ILLEGAL_VALUE
        if not any(a <= address and last <= b for a, b in self.map.blocks_for(table)):
            return ILLEGAL_ADDRESS
        if any(h0 <= last and address <= h1 for h0, h1 in self.map.holes_for(table)):
            return ILLEGAL_ADDRESS
        return self._words(table, address, count)

    def write(self, address: int, words: list[int]) -> int | None:
        """Store holding words as a Growatt would, or return its exception code (nothing stored)."""
        self.writes += 1
        span = range(address, address + len(words))
        for a in span:
            if a in self._clock_addrs:
                continue
            pts = self._cover.get(a)
            if not pts:
                return ILLEGAL_FUNCTION if a in self._identity_addrs else ILLEGAL_ADDRESS
            if not any(p.access in ("rw", "w") for p in pts):
                return ILLEGAL_FUNCTION
        new = dict(zip(span, words))
        touched = {id(p): p for a in span for p in self._cover.get(a, ())
                   if p.access in ("rw", "w")}
        for p in touched.values():
            if any(a in self._clock_addrs for a in range(p.address, p.end + 1)):
                continue                    # the clock has its own rules below
            cur = self._words("holding", p.address, p.count)
            pw = [new.get(p.address + i, cur[i]) for i in range(p.count)]
            if not self._valid(p, pw):
                return ILLEGAL_VALUE
        offset = None
        if any(a in self._clock_addrs for a in span):
            clock = [(self._clock_addrs[a], w) for a, w in new.items() if a in self._clock_addrs]
            offset = self._clock_write(unpack([f for f, _ in clock], [w for _, w in clock]))
            if offset is None:
                return ILLEGAL_VALUE
        for a, w in new.items():
            if a not in self._clock_addrs:
                self._regs["holding"][a] = w & 0xFFFF
                self._pinned.add(("holding", a))
        if offset is not None:
            self.clock_offset = offset
        return None

    @staticmethod
    def _valid(p: Point, words: list[int]) -> bool:
        """Why: a device refuses a value outside the documented range with exception 3."""
        try:
            raw = words_to_raw(p.type, words, p.words)
        except CodecError:
            return False
        if p.type == "hhmm":
            return words[0] >> 8 <= 23 and words[0] & 0xFF <= 59
        if p.type == "hhmm_dec":
            return words[0] // 100 <= 23 and words[0] % 100 <= 59
        if isinstance(raw, str):
            return True
        if p.special and raw in p.special:
            return True
        if p.enum is not None and raw not in p.enum:
            return False
        if p.range:
            if isinstance(raw, float) and not math.isfinite(raw):
                return False
            v = to_value(p, raw)
            return p.range[0] - 1e-9 <= v <= p.range[1] + 1e-9
        return True

    # --- clock ---------------------------------------------------------------------------------

    def clock_fields(self) -> dict[str, int]:
        """The device clock now, as register values (4-digit year unless the map says offset)."""
        t = time.localtime(time.time() + self.clock_offset)
        year = t.tm_year
        c = self.map.clock
        if c is not None and (c.year == "offset2000" or is_packed(c.fields)):
            year -= 2000                    # (a packed year has one byte)
        return {"year": year, "month": t.tm_mon, "day": t.tm_mday, "hour": t.tm_hour,
                "minute": t.tm_min, "second": t.tm_sec}

    def _clock_write(self, written: dict[str, int]) -> float | None:
        """New clock offset from written fields, or None when MIN TL-X/SPH would refuse them.

        Setting the seconds to N at host time T restarts the second there: the clock then reads
        N + (now - T). Other fields alone keep the running clock's fraction of a second."""
        arrival = time.time()
        current = arrival + self.clock_offset
        t = time.localtime(current)
        f = {"year": t.tm_year, "month": t.tm_mon, "day": t.tm_mday, "hour": t.tm_hour,
             "minute": t.tm_min, "second": t.tm_sec}
        for name, v in written.items():
            if name == "year":
                if v < 100:
                    v += 2000
                elif not (self.accept_full_year and 2000 <= v <= 2099):
                    return None
            f[name] = v
        if not (1 <= f["month"] <= 12 and 1 <= f["day"] <= 31 and 0 <= f["hour"] <= 23
                and 0 <= f["minute"] <= 59 and 0 <= f["second"] <= 59):
            return None
        stamp = (f["year"], f["month"], f["day"], f["hour"], f["minute"], f["second"], 0, 0, -1)
        target = time.mktime(stamp)
        if time.localtime(target)[:3] != stamp[:3]:
            return None                     # 30 February and friends
        if "second" not in written:
            target += current % 1
        self.clock_sets.append((arrival, datetime.fromtimestamp(target)))
        return target - arrival

    # --- moving values -------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> None:
        """Move live values: PV follows the sun, AC follows PV, energy counters only rise."""
        if self.frozen:
            return
        now = time.time() if now is None else now
        lt = time.localtime(now)
        hour = lt.tm_hour + lt.tm_min / 60 + lt.tm_sec / 3600
        sun = sun_fraction(hour) if self.sun is None else self.sun
        rng = random.Random(f"{self.seed}:{self.unit}:{int(now)}")
        pv_w = RATED_W * sun * (1 + rng.uniform(-0.03, 0.03))
        ac_w = pv_w * 0.97
        dt = 0.0 if self._last_tick is None else min(max(now - self._last_tick, 0.0), 6 * 3600)
        self._last_tick = now
        flows = None
        if self._roles:
            flows = self._flows_now(now, rng, dt, pv_w)
            pv_w, ac_w = flows.pv, max(flows.pv + flows.battery, 0.0) * 0.97
        for p in self.map.points:
            if p.table != "input" or p.access != "r" or p.alias_of or p.type in ("ascii", "hhmm", "hhmm_dec") or p.enum or p.bits:
                continue
            if any((p.table, a) in self._pinned for a in range(p.address, p.end + 1)):
                continue
            value = self._live(p, sun, pv_w, ac_w, dt, rng)
            if value is not None:
                self._store(p.table, p.address, self._encode(p, _raw_for(p, value)))
        if flows is not None:
            self._store_flows(flows)

    # --- the site's power flows ----------------------------------------------------------------

    def _role_value(self, role: str) -> float | None:
        names = self._roles.get(role)
        if not names:
            return None
        try:
            v = self.value(names[0])
        except (KeyError, CodecError):
            return None
        return float(v) if isinstance(v, (int, float)) else None

    def export_limit(self) -> float | None:
        """The export limit the inverter is set to, in W (None: not limiting)."""
        enable = self._role_value("export_limit_enable")
        if enable is not None and enable == 0:
            return None
        names = self._roles.get("export_limit_enable")
        if enable is not None and names:
            labels = self.map.point(names[0]).enum or {}
            if str(labels.get(int(enable), "")).lower() in ("disabled", "disable", "off"):
                return None             # Sungrow: 0x55 is off, 0xAA on
        watts = self._role_value("export_limit_w")
        if watts is not None:
            return watts
        pct, rated = self._role_value("export_limit_percent"), self._role_value("rated_power")
        if pct is not None and rated:
            return max(pct, 0.0) / 100 * rated
        return self.export_limit_w

    def _flows_now(self, now: float, rng: random.Random | None, dt: float,
                   pv_w: float | None = None) -> Flows:
        if pv_w is None:
            lt = time.localtime(now)
            sun = (sun_fraction(lt.tm_hour + lt.tm_min / 60) if self.sun is None else self.sun)
            pv_w = RATED_W * sun
        load = house_load(now, rng.uniform(-25, 25) if rng else 0.0, base=600.0)
        batt = 0.0
        if "battery_soc" in self._roles:
            surplus = pv_w - load
            if surplus >= 0:
                batt = -min(surplus, BATTERY_MAX_W) if self._soc < 100 else 0.0
            else:
                batt = min(-surplus, BATTERY_MAX_W) if self._soc > 10 else 0.0
            self._soc = min(100.0, max(0.0, self._soc - batt * dt / 3600 / BATTERY_WH * 100))
        self.flows = balance(pv_w, load, batt, export_limit_w=self.export_limit(),
                             faults=self.faults)
        return self.flows

    def _store_flows(self, fl: Flows) -> None:
        """The flows onto the points the checks section names (a test's set_raw stays)."""
        values = {"load_power": fl.load, "grid_power": fl.grid_ct,
                  "grid_export_power": max(fl.grid_ct, 0.0),
                  "grid_import_power": max(-fl.grid_ct, 0.0), "battery_power": fl.battery,
                  "battery_charge_power": max(-fl.battery, 0.0),
                  "battery_discharge_power": max(fl.battery, 0.0),
                  "battery_soc": self._soc, "bms_soc": self._soc}
        pv = self._roles.get("pv_power", ())
        values.update({name: fl.pv / len(pv) for name in pv})
        for role, names in self._roles.items():
            for name in names if role in values else ():
                self._put_value(name, values[role])
        for name in pv:
            self._put_value(name, values[name])

    def _put_value(self, name: str, value: float) -> None:
        p = self.map.point(name)
        if p.access != "r" or any((p.table, a) in self._pinned for a in range(p.address, p.end + 1)):
            return
        self._store(p.table, p.address, self._encode(p, _raw_for(p, value)))

    def _live(self, p: Point, sun: float, pv_w: float, ac_w: float, dt: float,
              rng: random.Random) -> float | None:
        n, u = p.name.lower(), p.unit
        k = 1000.0 if u in ("mV", "mA", "Wh") else 0.001 if u in ("kW", "kVA") else 1.0
        if u in ("kWh", "Wh") and _has(n, "today", "total"):
            cur = self._energy.get(p.name)
            if cur is None:
                raw = words_to_raw(p.type, self._words(p.table, p.address, p.count), p.words)
                cur = float(to_value(p, raw))
            cur += ac_w * dt / 3600 / 1000 * k
            self._energy[p.name] = cur
            return math.floor(cur / p.scale + 1e-9) * p.scale
        noise = rng.uniform(-1, 1)
        if "pv" in n:
            share = 0.5 if _PV_STRING.search(n) else 1.0
            if u in ("V", "mV"):
                return (330 + 40 * sun + 3 * noise) * k if sun > 0 else 0.0
            if u in ("A", "mA"):
                return pv_w * share / 350 * k
            if u in ("W", "kW", "VA", "kVA"):
                return pv_w * share * k
            return None
        if u in ("W", "kW", "VA", "kVA") and not _has(n, "bat", "bms", "load", "import", "user",
                                                       "charge", "max", "limit"):
            return ac_w * k
        if u in ("V", "mV") and not _has(n, "bat", "bms", "bus", "cell"):
            return (230 + 2 * noise) * k
        if u in ("A", "mA") and not _has(n, "bat", "bms"):
            return ac_w / 230 * k
        if u == "Hz":
            return 50 + 0.02 * noise
        if u == "°C":
            return 30 + 15 * sun + 0.5 * noise
        if u in ("V", "mV") and _has(n, "bat", "bms") and "cell" not in n:
            return (52 + 0.5 * noise) * k
        return None

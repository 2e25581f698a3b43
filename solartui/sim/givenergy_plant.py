"""The register contents of a simulated GivEnergy plant: a single-phase inverter and one LV battery.

Why apart from the dongle: the dongle is sockets, heartbeats and fan-out; this is what the
inverter would answer (protocols/givenergy.md §4, §8). No I/O here.

  * identity in HR0-59 (device type 0x2001 hybrid / 0x8001 All-in-One, serial in HR13-17 as ASCII,
    DSP/ARM firmware HR19/HR21, Modbus version HR34) seeded from the boot-capture HR(0,60) block;
  * a clock in HR35-40 (year - 2000) that ticks and can be set field by field;
  * settings from §8.7 with sensible defaults, stored when written;
  * live values in IR0-59 that move: PV follows a day curve of the inverter's own clock, the
    house load wanders, the battery covers the difference within its charge/discharge limits
    (IR52 + discharge / - charge) and its SOC (IR59) follows, the grid takes the rest (IR30
    + export / - import; sim/power_flow.py: export limiting when `export_limit_w` is set, and
    the `faults` a reversed CT or an ignored limit), energy counters only rise (`time_scale`
    speeds that up for demos); `sun` (0-1) pins the daylight for tests;
  * the battery at 0x32 shows the same SOC in its IR60-119 page.

Families (`model`, as `simulate givenergy --family`): `hybrid` (HR0 0x2001) and `aio` (0x8001) as
above; `ac` (0x3001) the same register file with no PV (an AC-coupled unit); `three-phase`
(0x4004), `ems` (0x5001) and `gateway` (0x7001) present the captured words of their own banks
(IR 1000+, 2040+, 1600+; sim/givenergy_family_seeds.py) with a ticking clock — and what a
single-phase map would find at IR 0-59 on them, so reading one with the wrong map is visible.
"""

from __future__ import annotations

import math
import random
import time
from datetime import datetime, timedelta

from solartui.sim.power_flow import PlantFaults, balance, house_load, sun_fraction

INVERTER, BATTERY = "inverter", "battery"
MODELS = ("hybrid", "aio", "ac", "three-phase", "ems", "gateway")
CAPTURED = ("three-phase", "ems", "gateway")       # words from the captures, no power flow
BATTERY_VOLTS = 51.2
# HR(0,60) of a Gen1 hybrid from the boot capture (vectors/givenergy.json); serial and clock
# words are replaced at start-up
_HR_BOOT = ("2001 0003 0832 0201 0000 c350 0e10 0001 4247 3231 3334 4730 3037 5341 3231 3134 "
            "4730 3437 0bbf 01c1 0001 01c1 0002 0000 8000 761b 1770 0001 0000 0000 0011 0000 "
            "0004 0007 008c 0017 0004 001c 000c 000f 0024 0001 0003 0000 0000 0000 0065 0001 "
            "0000 0000 0064 0000 0000 0001 0001 00a0 0000 0000 0001 0000")
_SETTINGS = {94: 30, 95: 530, 96: 1, 110: 4, 111: 50, 112: 50, 114: 4, 116: 100}
_AIO = {0: 0x8001, 18: 0, 19: 612, 21: 612, 55: 264, 111: 100, 112: 100,
        311: 0, 313: 100, 314: 100, 317: 1}
# where each device keeps which registers: (function, first, last) — anything else is an error
_BANKS = {
    ("hybrid", INVERTER): ((3, 0, 179), (4, 0, 59), (4, 120, 239)),
    ("aio", INVERTER): ((3, 0, 179), (3, 240, 359), (4, 0, 59), (4, 120, 239)),
    ("hybrid", BATTERY): ((4, 60, 119),),
    ("ac", INVERTER): ((3, 0, 179), (3, 300, 359), (4, 0, 59), (4, 120, 239)),
    ("ac", BATTERY): ((4, 60, 119),),
    ("three-phase", INVERTER): ((3, 0, 179), (3, 1000, 1124), (4, 0, 59), (4, 120, 239),
                                (4, 1000, 1413)),
    ("ems", INVERTER): ((3, 0, 179), (3, 2040, 2075), (4, 0, 59), (4, 180, 239),
                        (4, 2040, 2099)),
    ("gateway", INVERTER): ((3, 0, 359), (4, 0, 59), (4, 180, 239), (4, 1600, 1899)),
}
_AC = {0: 0x3001, 19: 291, 21: 282, 311: 0, 313: 100, 314: 100, 317: 1}
CLOCK = range(35, 41)


def ascii_words(text: str, count: int) -> list[int]:
    raw = text.encode("latin-1")[:2 * count].ljust(2 * count, b"\0")
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 2 * count, 2)]


class GivEnergyPlant:
    def __init__(self, model: str = "hybrid", inverter_serial: str = "SA2114G000", *,
                 battery_serial: str = "BG2114G000", seed: int = 0, time_scale: float = 1.0,
                 faults: PlantFaults | None = None, export_limit_w: float | None = None,
                 sun: float | None = None):
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, not {model!r}")
        self.model = model
        self.seed = seed
        self.time_scale = time_scale
        self.faults = faults if faults is not None else PlantFaults()
        self.export_limit_w = export_limit_w    # the site's limit (no register holds it in the map)
        self.sun = sun                          # None: by the time of day on the device clock
        self.clock_offset = 0.0         # device clock minus host clock, seconds
        # the independent witness of clock sets: (host time.time() each HR35-40 write was taken,
        # the clock it left, with the fraction of a second the device keeps), one per write
        self.clock_sets: list[tuple[float, datetime]] = []
        self.regs: dict[tuple[str, int], dict[int, int]] = {
            (INVERTER, 3): {}, (INVERTER, 4): {}, (BATTERY, 4): {}}
        self._pinned: set[tuple[str, int, int]] = set()
        self._state: dict[str, float] | None = None
        self._last_tick: float | None = None
        self.frozen = False             # freeze(): no clock, no moving values
        hr = self.regs[(INVERTER, 3)]
        if model in CAPTURED:
            from solartui.sim.givenergy_family_seeds import SEEDS
            for (function, base), words in SEEDS[model][1].items():
                self.regs[(INVERTER, function)].update(enumerate(words, base))
        else:
            hr.update(enumerate(int(w, 16) for w in _HR_BOOT.split()))
            hr.update(_SETTINGS)
        if model == "aio":
            hr.update(_AIO)
        if model == "ac":
            hr.update(_AC)
        self.set_serial(inverter_serial)
        self.battery_serial = battery_serial
        if model not in CAPTURED:
            hr.update(enumerate(ascii_words(battery_serial, 5), 8))
            self.regs[(BATTERY, 4)].update(enumerate(ascii_words(battery_serial, 5), 110))
            self.regs[(INVERTER, 4)][59] = 60
        self.tick()

    # --- devices and banks ---------------------------------------------------------------------

    def device_kind(self, device: int) -> str | None:
        """What answers at this address; None: nothing (absent devices stay silent, §4)."""
        if device == 0x11 or (device == 0x31 and self.model in ("hybrid", "ac")):
            return INVERTER
        if device == 0x32 and self.model in ("hybrid", "ac"):
            return BATTERY
        return None

    def has(self, kind: str, function: int, base: int, count: int) -> bool:
        return any(f == function and lo <= base and base + count - 1 <= hi
                   for f, lo, hi in _BANKS.get((self.model, kind), ()))

    def read(self, device: int, function: int, base: int, count: int) -> list[int] | None:
        """Words, or None where a present device would answer with an error frame."""
        kind = self.device_kind(device)
        if kind is None or not 1 <= count <= 60 or not self.has(kind, function, base, count):
            return None
        self.tick()
        regs = self.regs[(kind, function)]
        words = [regs.get(a, 0) for a in range(base, base + count)]
        if kind == INVERTER and function == 3 and not self.frozen:
            clock = self.clock_words()
            for i, a in enumerate(range(base, base + count)):
                if a in CLOCK:
                    words[i] = clock[a - 35]
        return words

    def write(self, register: int, value: int) -> bool:
        """Store an FC06 write at the inverter; False where it answers with an error frame."""
        if not self.has(INVERTER, 3, register, 1):
            return False
        if self.model == "aio" and register in (313, 314) and value == 0:
            return False                # observed: AC charge/discharge limit 0 -> error frame
        if register in CLOCK:
            return self._set_clock_field(register - 35, value)
        self.regs[(INVERTER, 3)][register] = value & 0xFFFF
        return True

    # --- test helpers --------------------------------------------------------------------------

    def hr(self, n: int) -> int:
        if n in CLOCK and not self.frozen:
            return self.clock_words()[n - 35]
        return self.regs[(INVERTER, 3)].get(n, 0)

    def set_hr(self, n: int, value: int) -> None:
        if n in CLOCK and not self.frozen:
            if not self._set_clock_field(n - 35, value):
                raise ValueError(f"HR{n} = {value} is not a valid clock field")
            return
        self.regs[(INVERTER, 3)][n] = value & 0xFFFF

    def ir(self, n: int, device: int = 0x11) -> int:
        self.tick()
        kind = self.device_kind(device) or INVERTER
        return self.regs[(kind, 4)].get(n, 0)

    def set_ir(self, n: int, value: int, device: int = 0x11) -> None:
        """Store an input register and keep tick() off it (a test set it on purpose)."""
        kind = self.device_kind(device) or INVERTER
        self.regs[(kind, 4)][n] = value & 0xFFFF
        self._pinned.add((kind, 4, n))
        if kind == INVERTER and n == 59 and self._state is not None:
            self._state["soc"] = float(value)

    def load_block(self, device: int, function: int, base: int, values: list[int]) -> None:
        """Seed registers from a captured reply (from_capture); live values move on from them."""
        kind = self.device_kind(device)
        if kind is None or (kind, function) not in self.regs:
            return
        regs = self.regs[(kind, function)]
        for i, v in enumerate(values):
            if not (kind == INVERTER and function == 3 and base + i in CLOCK):
                regs[base + i] = v
        self._state = None              # re-read SOC and counters from the new words

    def set_serial(self, serial: str) -> None:
        self.inverter_serial = serial
        self.regs[(INVERTER, 3)].update(enumerate(ascii_words(serial, 5), 13))

    # --- clock ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now() + timedelta(seconds=self.clock_offset)

    def clock_words(self) -> list[int]:
        t = self.now()
        return [t.year - 2000, t.month, t.day, t.hour, t.minute, t.second]

    def set_clock(self, when: datetime) -> None:
        self.clock_offset = (when - datetime.now()).total_seconds()

    def _set_clock_field(self, index: int, value: int) -> bool:
        """One field written; the others keep running (with the fraction of the second, as a
        real clock does: setting the minute does not reset the seconds counter's phase).
        Setting the seconds to N at host time T restarts the second: it reads N + (now - T)."""
        arrival = time.time()
        host = datetime.fromtimestamp(arrival)
        t = host + timedelta(seconds=self.clock_offset)
        f = [t.year - 2000, t.month, t.day, t.hour, t.minute, t.second]
        f[index] = value
        micro = 0 if index == 5 else t.microsecond
        try:
            when = datetime(2000 + f[0], f[1], f[2], f[3], f[4], f[5], micro)
        except ValueError:
            return False
        if not 0 <= f[0] <= 99:
            return False
        self.clock_offset = (when - host).total_seconds()
        self.clock_sets.append((arrival, when))
        return True

    # --- moving values -------------------------------------------------------------------------

    def _init_state(self) -> dict[str, float]:
        ir = self.regs[(INVERTER, 4)]

        def u32(n):
            return (ir.get(n, 0) << 16 | ir.get(n + 1, 0)) / 10

        return {"soc": float(ir.get(59, 60) or 60), "pv_total": u32(11), "out_total": u32(21),
                "in_total": u32(32), "inv_total": u32(45), "throughput": u32(6),
                "pv_today": ir.get(44, 0) / 10, "out_today": ir.get(25, 0) / 10,
                "in_today": ir.get(26, 0) / 10, "chg_today": ir.get(36, 0) / 10,
                "dis_today": ir.get(37, 0) / 10, "inv_in_total": u32(27),
                "hours": float(ir.get(47, 0) << 16 | ir.get(48, 0)),
                "chg_total": u32(180), "dis_total": u32(182)}

    def freeze(self) -> None:
        """Forget every register, stop the clock and the moving values: `maps verify` serves
        only the words its fixture seeds (HR35-40 then are plain registers)."""
        for regs in self.regs.values():
            regs.clear()
        self.frozen = True

    def tick(self, now: float | None = None) -> None:
        """Move the live values to `now` (host time.time())."""
        if self.frozen or self.model in CAPTURED:
            return                      # captured words stand still; the clock still runs
        now = time.time() if now is None else now
        if self._state is None:
            self._state = self._init_state()
        s = self._state
        dt = 0.0 if self._last_tick is None else min(max(now - self._last_tick, 0.0), 6 * 3600)
        self._last_tick = now
        hours = dt * self.time_scale / 3600
        t = datetime.fromtimestamp(now + self.clock_offset)
        hod = t.hour + t.minute / 60 + t.second / 3600
        sun = sun_fraction(hod) if self.sun is None else self.sun
        rng = random.Random(f"{self.seed}:{int(now)}")
        hr = self.regs[(INVERTER, 3)]
        pv_peak = (0.0, 0.0) if self.model == "ac" else (2500, 2100)    # AC-coupled: no PV
        pv1 = pv_peak[0] * sun * (1 + rng.uniform(-0.03, 0.03))
        pv2 = pv_peak[1] * sun * (1 + rng.uniform(-0.03, 0.03))
        pv = pv1 + pv2
        load = house_load(now, rng.uniform(-25, 25))
        cap_wh = max(hr.get(55, 160), 1) * BATTERY_VOLTS
        max_chg = min(2600.0, cap_wh * hr.get(111, 50) / 100)
        max_dis = min(2600.0, cap_wh * hr.get(112, 50) / 100)
        surplus = pv - load
        if surplus >= 0:
            batt = -min(surplus, max_chg) if s["soc"] < 100 else 0.0
        else:
            batt = min(-surplus, max_dis) if s["soc"] > hr.get(110, 4) else 0.0
        flows = balance(pv, load, batt, export_limit_w=self.export_limit_w, faults=self.faults)
        if flows.curtailed and pv > 0:
            pv1, pv2 = pv1 * flows.pv / pv, pv2 * flows.pv / pv
            pv = flows.pv
        grid = flows.grid
        s["soc"] = min(100.0, max(0.0, s["soc"] - batt * hours / cap_wh * 100))
        e_pv, e_batt = pv * hours / 1000, abs(batt) * hours / 1000
        s["pv_total"] += e_pv
        s["pv_today"] += e_pv
        s["inv_total"] += max(pv + batt, 0) * hours / 1000
        s["throughput"] += e_batt
        s["chg_today" if batt < 0 else "dis_today"] += e_batt
        s["chg_total" if batt < 0 else "dis_total"] += e_batt
        if grid >= 0:
            s["out_total"] += grid * hours / 1000
            s["out_today"] += grid * hours / 1000
        else:
            s["in_total"] -= grid * hours / 1000
            s["in_today"] -= grid * hours / 1000
            s["inv_in_total"] -= grid * hours / 1000
        s["hours"] += hours
        self._store_live(s, sun, pv1, pv2, load, batt, flows.grid_ct, rng)

    def _store_live(self, s, sun, pv1, pv2, load, batt, grid, rng) -> None:
        vpv1 = 330 + 40 * sun if sun > 0 else 0.0
        vpv2 = 325 + 38 * sun if sun > 0 else 0.0
        vbat = 48.0 + 4.0 * s["soc"] / 100
        ac = pv1 + pv2 + batt
        vals = {
            0: 1, 1: vpv1 * 10, 2: vpv2 * 10, 3: 3800 + rng.randint(-5, 5), 4: 3790,
            5: 2395 + rng.randint(-15, 15), 8: pv1 / vpv1 * 10 if vpv1 else 0,
            9: pv2 / vpv2 * 10 if vpv2 else 0, 10: abs(ac) / 240 * 10,
            13: 5000 + rng.randint(-4, 4), 14: 5 if batt > 0 else 2 if batt < 0 else 0, 17: s["pv_today"] * 0.54 * 10, 18: pv1,
            19: s["pv_today"] * 0.46 * 10, 20: pv2, 24: ac, 25: s["out_today"] * 10,
            26: s["in_today"] * 10, 30: grid, 31: 0, 35: 0, 36: s["chg_today"] * 10,
            37: s["dis_today"] * 10, 39: 0, 40: 0, 41: 250 + 100 * sun + rng.uniform(-3, 3),
            42: load, 43: abs(ac), 44: s["pv_today"] * 10, 49: 1, 50: vbat * 100,
            51: batt / vbat * 100, 52: batt, 53: 2300, 54: 5000, 55: 289, 56: 190, 57: 0,
            58: abs(ac) / 240 * 100, 59: s["soc"],
        }
        if self.model == "ac":          # no PV input: IR1/2/8/9 carry AC-side values (§8.4)
            vals[1] = vals[2] = vals[5]
            vals[8] = vals[9] = vals[10]
        words = {n: round(v) & 0xFFFF for n, v in vals.items()}
        for n, key in ((6, "throughput"), (11, "pv_total"), (21, "out_total"),
                       (27, "inv_in_total"), (32, "in_total"), (45, "inv_total"),
                       (180, "chg_total"), (182, "dis_total")):
            raw = int(s[key] * 10) & 0xFFFFFFFF
            words[n], words[n + 1] = raw >> 16, raw & 0xFFFF
        hours = int(s["hours"]) & 0xFFFFFFFF
        words[47], words[48] = hours >> 16, hours & 0xFFFF
        self._put(INVERTER, words)
        if self.model in ("hybrid", "ac"):
            self._put(BATTERY, self._battery_words(s["soc"], batt, vbat))

    def _battery_words(self, soc: float, batt: float, vbat: float) -> dict[int, int]:
        cap = self.regs[(INVERTER, 3)].get(55, 160)
        cell = 3200 + soc * 1.3
        cells = {60 + i: round(cell + (i % 3) - 1) for i in range(16)}
        out = {**cells, 76: 190, 77: 192, 78: 189, 79: 191, 80: sum(cells.values()), 81: 210,
               95: round(batt / vbat * 100) & 0xFFFF, 96: 123, 97: 16, 98: 3007,
               100: round(soc), 103: 192, 104: 189}
        for n, v in ((82, round(vbat * 1000)), (84, cap * 100), (86, cap * 100),
                     (88, round(cap * soc))):
            out[n], out[n + 1] = v >> 16, v & 0xFFFF
        out.update(enumerate(ascii_words(self.battery_serial, 5), 110))
        return out

    def _put(self, kind: str, words: dict[int, int]) -> None:
        regs = self.regs[(kind, 4)]
        for n, w in words.items():
            if (kind, 4, n) not in self._pinned:
                regs[n] = w

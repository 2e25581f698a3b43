"""A simulated Voltronic/Axpert PI30 hybrid inverter: the state machine only, no I/O.

It receives request frames (`feed` for a byte stream, `handle` for one frame) and returns the reply
frames a 48 V, 5 kVA PI30-2015-style unit would send: queries (QPI, QID, QSID, QVFW, QVFW2,
QPIGS, QPIGS2, QPIRI, QMOD, QPIWS, QFLAG, QT, QDI, QMCHGCR, QMUCHGCR) and the setters of section 8
of the notes (POP, PCP, PGR, PBT, PBCV, PBDV, PSDV, PCVV, PBFT, MCHGC, MNCHGC, MUCHGC, F, PE/PD,
PF, DAT). A setter outside the documented value set gets (NAK, and so does a value the unit's
menu refuses in relation to other settings (charging voltages without battery type User, a float
above the bulk voltage); an accepted one changes what QPIRI/QFLAG/QT report. It starts as a
commissioned unit (battery type User); PF and QDI give the factory defaults (AGM). Live values move plausibly: PV follows a day curve of the device clock, the
battery state of charge integrates PV minus load, the load wanders.

Serving it on a wire is the job of sim/pi30_pty.py (serial and hidraw stand-in) and
sim/pi30_usb_backend.py (a pyusb backend), which also apply `Pi30Faults.latency` and `unplug_on`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass
from typing import Callable

from solartui.pi30.codec import decode_request, encode_response
from solartui.pi30.errors import Pi30Error

RATED_VA = 5000
RATED_W = 4000
BATTERY_NOMINAL = 48.0
MCHGC_VALUES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)
MUCHGC_VALUES = (2, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)
FLAG_LETTERS = "abjkuvxyz"          # QFLAG order; d (MAX feed-in) and l (Plus Duo) not modelled

# section 8, 48 V unit
PBCV_VALUES = tuple(float(v) for v in range(44, 52))                  # 44.0 .. 51.0, step 1
PBDV_VALUES = (0.0,) + tuple(float(v) for v in range(48, 59))         # 00.0, 48.0 .. 58.0
PSDV_RANGE = (40.0, 48.0)
PCVV_RANGE = (48.0, 58.4)
PBFT_RANGE = (48.0, 58.4)

BATTERY_USER = 2
USER_ONLY = ("PSDV", "PCVV", "PBFT")         # menu programs 29, 26, 27: battery type User only

DEFAULT_SETTINGS = {
    "ac_output_voltage": 230.0, "ac_output_frequency": 50.0,
    "battery_recharge_voltage": 46.0, "battery_under_voltage": 42.0,
    "battery_bulk_voltage": 56.4, "battery_float_voltage": 54.0,
    "battery_type": 0, "max_ac_charging_current": 30, "max_charging_current": 60,
    "input_voltage_range": 0, "output_source_priority": 0, "charger_source_priority": 2,
    "output_mode": 0, "battery_redischarge_voltage": 54.0, "pv_ok_condition": 0,
    "pv_power_balance": 1,
}
# the unit as found on a commissioned site: a user-defined battery (factory default: AGM)
COMMISSIONED = {**DEFAULT_SETTINGS, "battery_type": BATTERY_USER}
DEFAULT_FLAGS = {"a": True, "b": False, "j": False, "k": True, "u": False, "v": False,
                 "x": True, "y": True, "z": False}

_VOLT = re.compile(r"^\d\d\.\d$")


@dataclass
class Pi30Faults:
    """Ways the simulated inverter can misbehave; change them while it runs."""

    nak_all: bool = False            # every request gets (NAK
    silent: bool = False             # no reply at all
    junk_after_cr: bytes = b""       # bytes appended after the CR (HID report junk)
    lf_after_cr: bool = False        # "\r\n" endings
    truncate: int | None = None      # cut replies to this many bytes: no CR arrives
    corrupt_crc: bool = False        # replies carry a wrong CRC
    no_crc: bool = False             # QT, ACK and NAK replies without CRC (vendor-document form)
    bad_request_crc: str = "nak"     # reply to a request with a bad CRC: "nak" or "silent"
    latency: float = 0.0             # seconds before a reply starts (applied by the servers)
    unplug_on: str | None = None     # the server vanishes when this command arrives (servers)


@dataclass
class Exchange:
    """One request the inverter received and what it sent back (None: nothing)."""

    request: bytes
    command: str | None              # None when the request's CRC was bad
    reply: bytes | None


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


class Pi30Inverter:
    """The simulated unit. `clock` gives the wall-clock time (seconds) the device clock and the
    day curve follow; tests pass their own to make values deterministic."""

    def __init__(self, *, serial: str = "92932105105335", qpigs2: bool = True,
                 unsupported: str = "nak", clock: Callable[[], float] = time.time,
                 faults: Pi30Faults | None = None, pv_peak_w: float = 4000.0,
                 battery_wh: float = 10000.0, soc: float = 80.0):
        if unsupported not in ("nak", "echo"):
            raise ValueError("unsupported must be 'nak' or 'echo'")
        self.serial = serial
        self.qpigs2 = qpigs2
        self.unsupported = unsupported
        self.clock = clock
        self.faults = faults or Pi30Faults()
        self.pv_peak_w = pv_peak_w
        self.battery_wh = battery_wh
        self.settings = dict(COMMISSIONED)
        self.flags = dict(DEFAULT_FLAGS)
        self.warnings: set[int] = set()      # QPIWS indexes to report as set
        self.grid = True                     # utility present
        self.firmware = "00072.70"
        self.firmware2 = "00041.17"
        self.log: list[Exchange] = []
        self.canned: dict[str, str] = {}     # query -> payload answered as is (maps verify)
        self._buf = bytearray()
        self._clock_offset = 0.0             # device clock minus host clock (DAT)
        # the independent witness of clock sets: (host time the DAT was taken, the second set)
        self.clock_sets: list[tuple[float, dt.datetime]] = []
        self._soc = soc
        self._on_battery = True
        self._last = clock()
        self._state: dict = {}
        self._advance()

    # --- wire side -----------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Exchange]:
        """Bytes as they arrive (possibly split or merged); one Exchange per completed request.
        NUL and LF before a request (HID padding, line endings) are skipped."""
        self._buf += data
        out = []
        while True:
            while self._buf[:1] in (b"\x00", b"\n"):
                del self._buf[:1]
            end = self._buf.find(b"\r")
            if end < 0:
                if len(self._buf) > 512:     # noise without CR: forget it
                    self._buf.clear()
                return out
            frame = bytes(self._buf[:end + 1])
            del self._buf[:end + 1]
            out.append(self.handle(frame))

    def handle(self, frame: bytes) -> Exchange:
        """One request frame (up to and including its CR) -> the reply (or None)."""
        f = self.faults
        try:
            command = decode_request(frame)
        except Pi30Error:
            reply = None if f.bad_request_crc == "silent" or f.silent else self._frame("NAK")
            ex = Exchange(frame, None, reply)
        else:
            if f.silent:
                reply = None
            elif f.nak_all:
                reply = self._frame("NAK")
            else:
                payload = self.answer(command)
                if payload is None:
                    reply = frame if self.unsupported == "echo" else self._frame("NAK")
                else:
                    reply = self._frame(payload, command)
            ex = Exchange(frame, command, reply)
        self.log.append(ex)
        return ex

    def _frame(self, payload: str, command: str | None = None) -> bytes:
        f = self.faults
        crcless = f.no_crc and (command == "QT" or payload in ("ACK", "NAK"))
        out = encode_response(payload, crc=not crcless)
        if f.corrupt_crc and not crcless:
            out = out[:-3] + bytes([out[-3] ^ 0x5A, out[-2] ^ 0xA5]) + b"\r"
            if b"\r" in out[:-1]:                       # keep exactly one CR
                out = out[:-1].replace(b"\r", b"\x0e") + b"\r"
        if f.lf_after_cr:
            out += b"\n"
        out += f.junk_after_cr
        if f.truncate is not None:
            out = out[:f.truncate].split(b"\r")[0]
        return out

    # --- commands ------------------------------------------------------------------------------

    def answer(self, command: str) -> str | None:
        """The reply payload for `command` (without '(' and CRC); None for an unknown command."""
        if command in self.canned:
            return self.canned[command]
        queries = {
            "QPI": lambda: "PI30",
            "QID": lambda: self.serial,
            "QSID": lambda: f"{len(self.serial):02d}{self.serial}{'0' * 6}",
            "QVFW": lambda: f"VERFW:{self.firmware}",
            "QVFW2": lambda: f"VERFW2:{self.firmware2}",
            "QPIGS": self._qpigs,
            "QPIRI": self._qpiri,
            "QMOD": lambda: self._advance()["mode"],
            "QPIWS": self._qpiws,
            "QFLAG": self._qflag,
            "QT": lambda: self.device_time().strftime("%Y%m%d%H%M%S"),
            "QDI": self._qdi,
            "QMCHGCR": lambda: " ".join(f"{v:03d}" for v in MCHGC_VALUES),
            "QMUCHGCR": lambda: " ".join(f"{v:03d}" for v in MUCHGC_VALUES),
        }
        if self.qpigs2:
            queries["QPIGS2"] = self._qpigs2
        if command in queries:
            return queries[command]()
        ok = self.set(command)
        if ok is None:
            return None
        return "ACK" if ok else "NAK"

    def set(self, command: str) -> bool | None:
        """Apply a setter: True (ACK), False (NAK: value refused), None (not a known setter)."""
        s = self.settings
        two = re.fullmatch(r"(POP|PCP|PGR|PBT)(\d\d)", command)
        if two:
            name, value = two.group(1), int(two.group(2))
            allowed = {"POP": (0, 1, 2), "PCP": (0, 1, 2, 3), "PGR": (0, 1), "PBT": (0, 1, 2)}
            key = {"POP": "output_source_priority", "PCP": "charger_source_priority",
                   "PGR": "input_voltage_range", "PBT": "battery_type"}[name]
            if value not in allowed[name]:
                return False
            s[key] = value
            return True
        volt = re.fullmatch(r"(PBCV|PBDV|PSDV|PCVV|PBFT)(.*)", command)
        if volt:
            name, text = volt.groups()
            if not _VOLT.match(text):
                return False
            v = float(text)
            if name == "PBCV":
                ok, key = v in PBCV_VALUES, "battery_recharge_voltage"
            elif name == "PBDV":
                ok, key = v in PBDV_VALUES, "battery_redischarge_voltage"
            elif name == "PSDV":
                ok, key = PSDV_RANGE[0] <= v <= PSDV_RANGE[1], "battery_under_voltage"
            elif name == "PCVV":
                ok, key = PCVV_RANGE[0] <= v <= PCVV_RANGE[1], "battery_bulk_voltage"
            else:
                ok, key = PBFT_RANGE[0] <= v <= PBFT_RANGE[1], "battery_float_voltage"
            ok = ok and self._menu_allows(name, v)
            if ok:
                s[key] = v
            return ok
        amps = re.fullmatch(r"(MNCHGC0|MUCHGC|MCHGC)(.*)", command)
        if amps:
            name, text = amps.groups()
            if not re.fullmatch(r"\d{3}", text):
                return False
            a = int(text)
            if name == "MUCHGC":
                ok, key = a in MUCHGC_VALUES, "max_ac_charging_current"
            else:
                ok, key = a in MCHGC_VALUES, "max_charging_current"
            if ok:
                s[key] = a
            return ok
        if command in ("F50", "F60"):
            s["ac_output_frequency"] = float(command[1:])
            return True
        if command[:1] == "F" and command[1:].isdigit():
            return False
        if command[:2] in ("PE", "PD") and command[2:].isalpha() and command[2:].islower():
            letters = command[2:]
            if any(c not in FLAG_LETTERS for c in letters):
                return False
            for c in letters:
                self.flags[c] = command[1] == "E"
            return True
        if command == "PF":
            self.settings = dict(DEFAULT_SETTINGS)
            self.flags = dict(DEFAULT_FLAGS)
            return True
        if command.startswith("DAT"):
            return self._set_time(command[3:])
        return None

    def _menu_allows(self, name: str, v: float) -> bool:
        """What the unit's own menu refuses besides each value's range: the charging and cut-off
        voltages need battery type User (programs 26/27/29), float <= bulk, and re-charge below
        re-discharge (unless re-discharge is 00.0, when full)."""
        s = self.settings
        if name in USER_ONLY and s["battery_type"] != BATTERY_USER:
            return False
        back = s["battery_redischarge_voltage"]
        return {"PBFT": v <= s["battery_bulk_voltage"],
                "PCVV": v >= s["battery_float_voltage"],
                "PBCV": back == 0 or v < back,
                "PBDV": v == 0 or v > s["battery_recharge_voltage"]}.get(name, True)

    def _set_time(self, digits: str) -> bool:
        if not digits.isdigit() or len(digits) not in (12, 14):
            return False
        fmt = "%y%m%d%H%M%S" if len(digits) == 12 else "%Y%m%d%H%M%S"
        try:
            target = dt.datetime.strptime(digits, fmt)
        except ValueError:
            return False
        arrival = self.clock()
        host = dt.datetime.fromtimestamp(arrival)
        self._clock_offset = (target - host).total_seconds()     # keeps the fraction of T
        self.clock_sets.append((arrival, target))
        return True

    def device_time(self) -> dt.datetime:
        """The inverter's own clock (local time, no zone), as QT reports it."""
        return (dt.datetime.fromtimestamp(self.clock())
                + dt.timedelta(seconds=self._clock_offset)).replace(microsecond=0)

    # --- replies -------------------------------------------------------------------------------

    def _qpiri(self) -> str:
        s = self.settings
        ac = s["max_ac_charging_current"]
        return " ".join([
            "230.0", "21.7", f"{s['ac_output_voltage']:05.1f}", f"{s['ac_output_frequency']:04.1f}",
            "21.7", f"{RATED_VA:04d}", f"{RATED_W:04d}", f"{BATTERY_NOMINAL:04.1f}",
            f"{s['battery_recharge_voltage']:04.1f}", f"{s['battery_under_voltage']:04.1f}",
            f"{s['battery_bulk_voltage']:04.1f}", f"{s['battery_float_voltage']:04.1f}",
            str(s["battery_type"]), f"{ac:02d}" if ac < 100 else f"{ac:03d}",
            f"{s['max_charging_current']:03d}", str(s["input_voltage_range"]),
            str(s["output_source_priority"]), str(s["charger_source_priority"]), "6", "01", "0",
            str(s["output_mode"]), f"{s['battery_redischarge_voltage']:04.1f}",
            str(s["pv_ok_condition"]), str(s["pv_power_balance"]),
        ])

    def _qdi(self) -> str:
        d, f = DEFAULT_SETTINGS, DEFAULT_FLAGS
        flag_order = ["a", "j", "u", "v", "x", "y", "z", "b", "k"]
        flags = ["0" if f["a"] else "1"] + ["1" if f[c] else "0" for c in flag_order[1:]]
        return " ".join([
            f"{d['ac_output_voltage']:05.1f}", f"{d['ac_output_frequency']:04.1f}",
            f"{d['max_ac_charging_current']:04d}", f"{d['battery_under_voltage']:04.1f}",
            f"{d['battery_float_voltage']:04.1f}", f"{d['battery_bulk_voltage']:04.1f}",
            f"{d['battery_recharge_voltage']:04.1f}", f"{d['max_charging_current']:02d}",
            str(d["input_voltage_range"]), str(d["output_source_priority"]),
            str(d["charger_source_priority"]), str(d["battery_type"]), *flags,
            str(d["output_mode"]), f"{d['battery_redischarge_voltage']:04.1f}",
            str(d["pv_ok_condition"]), str(d["pv_power_balance"]), "000",
        ])

    def _qflag(self) -> str:
        on = "".join(c for c in FLAG_LETTERS if self.flags.get(c))
        off = "".join(c for c in FLAG_LETTERS if not self.flags.get(c))
        return f"E{on}D{off}"

    def _qpiws(self) -> str:
        bits = set(self.warnings)
        if not self.grid:
            bits.add(5)                                  # line fail
        return "".join("1" if i in bits else "0" for i in range(36))

    def _qpigs(self) -> str:
        st = self._advance()
        grid_v, grid_hz = (229.0 + 3.0 * math.sin(st["t"] / 41.0), 50.0) if self.grid else (0, 0)
        volts = self.settings["ac_output_voltage"]
        status = ("0", "0", "0", "1" if st["load_w"] > 0 else "0", "0",
                  "1" if st["charge_a"] > 0 else "0", "1" if st["pv_charge_w"] > 0 else "0",
                  "1" if st["ac_charge_w"] > 0 else "0")
        return " ".join([
            f"{grid_v:05.1f}", f"{grid_hz:04.1f}", f"{volts:05.1f}",
            f"{self.settings['ac_output_frequency']:04.1f}", f"{st['va']:04d}",
            f"{st['load_w']:04d}", f"{st['load_pct']:03d}", f"{st['bus_v']:03d}",
            f"{st['batt_v']:05.2f}", f"{st['charge_a']:03d}", f"{st['soc']:03d}",
            f"{st['temp_c']:04d}", f"{st['pv_a']:04d}", f"{st['pv_v']:05.1f}",
            f"{st['batt_v'] - 0.05:05.2f}", f"{st['discharge_a']:05d}", "".join(status),
            "00", "00", f"{st['pv_charge_w']:05d}", "011" if st["soc"] >= 100 else "010",
        ])

    def _qpigs2(self) -> str:
        st = self._advance()
        pv2_w = st["pv_w"] * 0.4
        pv2_v = st["pv_v"] * 0.97 if pv2_w > 0 else 0.0
        pv2_a = pv2_w / pv2_v if pv2_v else 0.0
        return f"{pv2_a:04.1f} {pv2_v:05.1f} {int(pv2_w):05d}"

    def _advance(self) -> dict:
        """Move the live values to the present moment and return them."""
        now = self.clock()
        step = _clamp(now - self._last, 0.0, 600.0)
        self._last = now
        t = self.device_time()
        hour = t.hour + t.minute / 60 + t.second / 3600
        sun = max(0.0, math.sin(math.pi * (hour - 6.0) / 12.0))
        cloud = 0.85 + 0.15 * math.sin(now / 97.0) * math.sin(now / 23.0)
        pv_w = self.pv_peak_w * sun ** 1.3 * cloud
        load_w = max(60.0, 450.0 + 250.0 * math.sin(now / 311.0) + 60.0 * math.sin(now / 7.0))
        s = self.settings
        # the switch-over decisions look at the voltage last measured (with its load sag)
        batt_v = self._state.get("batt_v") or self._battery_voltage(0.0)
        # which source feeds the load (QMOD): SBU/solar-first run from battery until the
        # re-charge voltage, back when the re-discharge voltage (or full) is reached
        pop = s["output_source_priority"]
        if not self.grid:
            self._on_battery = True
        elif pop == 0:
            self._on_battery = False
        elif self._on_battery and batt_v <= s["battery_recharge_voltage"]:
            self._on_battery = False
        elif not self._on_battery:
            back = s["battery_redischarge_voltage"]
            full = self._soc >= 100.0 if back == 0 else batt_v >= back
            if full or (pop == 1 and pv_w >= load_w):
                self._on_battery = True
        mode = "B" if self._on_battery else "L"
        # battery flows
        cap_w = s["max_charging_current"] * batt_v
        pv_charge_w = min(pv_w, cap_w) if self._soc < 100 else 0.0
        if self._on_battery:
            pv_charge_w = min(pv_w - min(pv_w, load_w), cap_w) if self._soc < 100 else 0.0
        ac_charge_w = 0.0
        if self.grid and not self._on_battery and s["charger_source_priority"] in (0, 2) \
                and self._soc < 100:
            ac_charge_w = min(s["max_ac_charging_current"] * batt_v, cap_w - pv_charge_w)
            ac_charge_w = max(0.0, ac_charge_w)
        discharge_w = max(0.0, load_w - pv_w) if self._on_battery else 0.0
        net_w = pv_charge_w + ac_charge_w - discharge_w
        self._soc = _clamp(self._soc + net_w * step / 3600.0 / self.battery_wh * 100.0, 5.0, 100.0)
        floating = pv_w >= load_w or (not self._on_battery and self.grid)
        batt_v = self._battery_voltage(net_w, floating=floating)
        charge_a = int(round(max(0.0, net_w) / batt_v))
        va = int(load_w / 0.92)
        self._state = {
            "t": now, "mode": mode, "pv_w": pv_w, "load_w": int(load_w), "va": va,
            "load_pct": int(100 * max(va / RATED_VA, load_w / RATED_W)),
            "bus_v": int(390 + 0.005 * load_w), "batt_v": batt_v, "charge_a": charge_a,
            "discharge_a": int(round(discharge_w / batt_v)), "soc": int(self._soc),
            "temp_c": int(28 + load_w / 150.0), "pv_v": 280.0 + 60.0 * sun if pv_w >= 1 else 0.0,
            "pv_a": int(pv_charge_w / batt_v), "pv_charge_w": int(pv_charge_w),
            "ac_charge_w": int(ac_charge_w),
        }
        return self._state

    def _battery_voltage(self, net_w: float, floating: bool = False) -> float:
        """Resting voltage of a 48 V lead-acid bank (44.0 V empty .. 52.5 V full), raised while
        charging (up to the bulk voltage), sagging while discharging; a full bank on a live
        charger sits at the float voltage."""
        if floating and self._soc >= 100.0 and net_w >= 0:
            return self.settings["battery_float_voltage"]
        rest = 44.0 + 0.085 * self._soc
        if net_w > 0:
            return min(rest + 1.5 + 0.002 * net_w, self.settings["battery_bulk_voltage"])
        if net_w < 0:
            return rest - min(1.5, 0.001 * -net_w)
        return rest

    @property
    def soc(self) -> float:
        return self._soc

    @soc.setter
    def soc(self, value: float) -> None:
        self._soc = _clamp(float(value), 0.0, 100.0)


__all__ = ["Exchange", "Pi30Faults", "Pi30Inverter"]


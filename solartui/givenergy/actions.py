"""The GivEnergy actions (single-phase hybrids and AC units, map `givenergy-hybrid`).

Why these: they are what GivTCP and the givenergy-modbus library offer an installer
(protocols/givenergy.md §9.2 and the §8.7 presets), expressed as map points so the map validates
every value. Where GivTCP 2021 (§9.1) wrote other registers, the library / GivTCP 3.5 meaning is
followed and each doc says so. Pure data: no I/O (see solartui.devices.actions for running them).
"""

from __future__ import annotations

from solartui.devices.actions import CURRENT, Action, ActionArg
from solartui.errors import ValueRejected

MODES = ("eco", "eco-paused", "timed-demand", "timed-export")
ECO_RESERVE = "4"          # the library's eco preset floor (§8.7), used when eco leaves 100

_SOC = ActionArg("soc", "target state of charge, 4-100 % (100 = charge to full)", "percent")
_TARGET = ActionArg("target", "charge target SOC, 4-100 %", "percent", optional=True)


def _is_full(soc: str) -> bool:
    try:
        return float(soc) == 100
    except ValueError:
        return False        # not a number: the map refuses it when charge_target_soc is checked


def charge_target_steps(soc: str) -> list[tuple[str, str]]:
    """Library `set_charge_target`: HR96 = 1, then HR20 = 1 and HR116 = t for t < 100, or
    HR20 = 0 and HR116 = 100 for a full charge."""
    if _is_full(soc):
        return [("enable_charge", "1"), ("enable_charge_target", "0"),
                ("charge_target_soc", "100")]
    return [("enable_charge", "1"), ("enable_charge_target", "1"), ("charge_target_soc", soc)]


def _charge_slot_1(v: dict[str, str]) -> list[tuple[str, str]]:
    slot = [("charge_slot_1_start", v["start"]), ("charge_slot_1_end", v["end"])]
    if "target" in v:
        return slot + charge_target_steps(v["target"])
    return slot + [("enable_charge", "1")]


def _mode(v: dict[str, str]) -> list[tuple[str, str]]:
    mode = v["mode"]
    if mode == "eco":
        steps = [("battery_power_mode", "1"), ("enable_discharge", "0")]
        current = v.get(CURRENT + "battery_soc_reserve")
        if current is None:
            raise ValueRejected("set-mode eco: battery_soc_reserve could not be read, so it is "
                                "not known whether discharge is paused; try again")
        if float(current) >= 100:
            steps.append(("battery_soc_reserve", ECO_RESERVE))
        return steps
    if mode == "eco-paused":
        return [("battery_power_mode", "1"), ("enable_discharge", "0"),
                ("battery_soc_reserve", "100")]
    if mode == "timed-demand":
        return [("battery_power_mode", "1"), ("enable_discharge", "1")]
    if mode == "timed-export":
        return [("battery_power_mode", "0"), ("enable_discharge", "1")]
    raise ValueRejected(f"set-mode: unknown mode {mode!r} (one of {', '.join(MODES)})")


def givenergy_actions() -> list[Action]:
    return [
        Action("pause-charge-schedule",
               "Stop timed charging: enable_charge (HR96) = 0. Slots are kept.",
               (), lambda v: [("enable_charge", "0")], points=("enable_charge",)),
        Action("resume-charge-schedule",
               "Charge in the charge slots again: enable_charge (HR96) = 1.",
               (), lambda v: [("enable_charge", "1")], points=("enable_charge",)),
        Action("pause-discharge-schedule",
               "Stop timed discharging: enable_discharge (HR59) = 0. Slots are kept.",
               (), lambda v: [("enable_discharge", "0")], points=("enable_discharge",)),
        Action("resume-discharge-schedule",
               "Discharge in the discharge slots again: enable_discharge (HR59) = 1.",
               (), lambda v: [("enable_discharge", "1")], points=("enable_discharge",)),
        Action("set-charge-target",
               "Charge to SOC in the charge slots (library logic): enable_charge = 1, then for "
               "SOC < 100 enable_charge_target = 1 and charge_target_soc = SOC; for 100 "
               "enable_charge_target = 0 and charge_target_soc = 100. GivTCP 2021 set HR20 the "
               "other way round and GivTCP 3.5 writes HR116 alone; the library is followed.",
               (_SOC,), lambda v: charge_target_steps(v["soc"]),
               points=("enable_charge", "enable_charge_target", "charge_target_soc")),
        Action("set-charge-slot-1",
               "Set charge slot 1 (HR94/95, HH:MM) and turn the charge schedule on "
               "(enable_charge = 1); with TARGET also the set-charge-target steps.",
               (ActionArg("start", "slot start, HH:MM", "time"),
                ActionArg("end", "slot end, HH:MM", "time"), _TARGET),
               _charge_slot_1,
               points=("charge_slot_1_start", "charge_slot_1_end", "enable_charge",
                       "enable_charge_target", "charge_target_soc")),
        Action("set-battery-reserve",
               "Discharge floor: battery_soc_reserve (HR110), 4-100 %. This is GivTCP 3.5's "
               "'battery reserve'; GivTCP 2021 used the name for HR114 (the cut-off).",
               (ActionArg("pct", "reserve, 4-100 %", "percent"),),
               lambda v: [("battery_soc_reserve", v["pct"])], points=("battery_soc_reserve",)),
        Action("set-mode",
               "Battery mode as GivTCP 3.5 shows it. eco: battery_power_mode = 1, "
               "enable_discharge = 0, and the reserve is kept unless it is 100 (paused), then "
               "set to 4 as in the library preset (GivTCP restores a saved reserve we do not "
               "have). eco-paused: 1, 0 and reserve 100 (no discharge). timed-demand: 1, 1. "
               "timed-export: 0, 1. Discharge slots are left as they are (GivTCP 2021 also "
               "wrote slot times and the reserve).",
               (ActionArg("mode", "battery mode", "choice", choices=MODES),),
               _mode, reads=("battery_soc_reserve",),
               points=("battery_power_mode", "enable_discharge", "battery_soc_reserve")),
        Action("set-clock",
               "Set the inverter clock to this computer's time (HR35-40, year − 2000).",
               (), lambda v: [], clock=True),
    ]

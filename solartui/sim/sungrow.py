"""A simulated Sungrow inverter: a hybrid (SH…RT) or a string inverter (SG…RT) on the shared
register bank, with what the generic bank cannot guess from point names.

Why a subclass rather than a new simulator: the wire (pymodbus over TCP or a pty), the faults,
the clock and the site's power flows are the same as for every register map; what differs is the
identity (a device-type code read at input 4999, the model's rated power), Sungrow's switch
values (0xAA on / 0x55 off, 0xCC stop), the "not available" sentinels of a two-MPPT unit, a
4-digit year that a clock write keeps, and the hybrid's meter register, which reads the grid the
other way round from its export register (doc 5601: + import; doc 13010: + export).
"""

from __future__ import annotations

from dataclasses import dataclass

from solartui.errors import SolartuiError
from solartui.registers import catalog
from solartui.registers.codec import to_raw
from solartui.sim.power_flow import Flows, PlantFaults
from solartui.sim.register_bank import RegisterBank

ON, OFF = 0xAA, 0x55


@dataclass(frozen=True)
class Family:
    map_id: str
    device_type: int        # the code at input 4999 (doc 5000)
    model: str
    rated_kw: float


FAMILIES = {
    "hybrid": Family("sungrow-hybrid", 0x0E03, "SH10RT", 10.0),
    "string": Family("sungrow-string", 0x2433, "SG10RT", 10.0),
}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise SolartuiError(f"unknown Sungrow family '{name}' (hybrid or string)") from None


class SungrowBank(RegisterBank):
    """One Sungrow inverter's registers (see the module docstring)."""

    def __init__(self, device_map, fam: Family, *, unit: int = 1, serial: str = "SIM0000001",
                 faults: PlantFaults | None = None, device_type: int | None = None):
        code = fam.device_type if device_type is None else device_type
        super().__init__(device_map, unit=unit, faults=faults, identity={
            "serial": serial, "device_type": code,
            "firmware": "ARM_SIM_V11_V01_A", "control_firmware": "MDSP_SIM_01011.01.01"})
        self.family = fam
        self.accept_full_year = True        # holding doc 5000: a 4-digit year, 2000-2099
        settings = {
            "nominal_power": fam.rated_kw, "rated_power": fam.rated_kw, "output_type": 1,
            "start_stop": 0xCF, "export_limit_enable": OFF, "export_limit": 10000,
            "power_limit_enable": OFF, "power_limit_setting": 100.0,
            "ems_mode": 0, "charge_discharge_command": 0xCC, "charge_discharge_power": 0,
            "off_grid_option": ON, "meter_comm_detection": ON, "active_power_limit_enable": OFF,
            "active_power_limit_ratio": 100.0, "export_limit_ratio": 100.0,
            "forced_charge_enable": OFF, "max_soc": 100.0, "min_soc": 5.0,
            "backup_reserved_soc": 10, "ems_heartbeat_timeout": 20, "running_state": 0,
            "work_state": 0, "export_limit_min": 0.0, "export_limit_max": fam.rated_kw,
            "bdc_rated_power": fam.rated_kw, "max_charge_power": 5.0, "max_discharge_power": 5.0,
        }
        for name, value in settings.items():
            self._seed(name, value)
        # a two-MPPT unit: MPPT3 and MPPT4 read "not available" (0xFFFF), and tick leaves them
        for name in ("mppt3_voltage", "mppt3_current", "mppt4_voltage", "mppt4_current"):
            if device_map.has_point(name):
                p = device_map.point(name)
                self.set_raw(p.table, p.address, [0xFFFF])
        if self.flows is not None:
            self._store_flows(self.flows)

    def _seed(self, name: str, value) -> None:
        if not self.map.has_point(name):
            return
        p = self.map.point(name)
        raw = value if p.enum is not None else round(to_raw(p, value))
        self.set_raw(p.table, p.address, self._encode(p, raw))     # pinned: tick leaves it

    def _store_flows(self, fl: Flows) -> None:
        super()._store_flows(fl)
        if not hasattr(self, "family"):
            return                          # the base class's first call, before __init__ ends
        m = self.map
        if m.has_point("meter_active_power"):       # doc 5601: + import / − export
            self._put_value("meter_active_power", -fl.grid_ct)
            for phase in "abc":
                self._put_value(f"meter_phase_{phase}_power", -fl.grid_ct / 3)
        for name in ("battery_current", "battery_current_13000"):   # + discharge, at 200 V
            if m.has_point(name):
                self._put_value(name, fl.battery / 200.0)
        if m.has_point("battery_voltage"):
            self._put_value("battery_voltage", 200.0)
        if m.has_point("total_active_power"):
            self._put_value("total_active_power", max(fl.pv + fl.battery, 0.0))
        if m.has_point("power_flow"):
            bits = ((fl.pv > 1) | (fl.battery < -1) << 1 | (fl.battery > 1) << 2
                    | (fl.load > 1) << 3 | (fl.grid > 1) << 4 | (fl.grid < -1) << 5)
            p = m.point("power_flow")
            self._store(p.table, p.address, [bits])
        if m.has_point("battery_power_magnitude"):
            self._put_value("battery_power_magnitude", abs(fl.battery))
        sun_v = 360.0 if fl.pv > 1 else 0.0
        for name in ("mppt1_voltage", "mppt2_voltage"):
            if m.has_point(name):
                self._put_value(name, sun_v)
        for name in ("mppt1_current", "mppt2_current"):
            if m.has_point(name):
                self._put_value(name, fl.pv / 2 / 360.0 if fl.pv > 1 else 0.0)


def make_bank(family_name: str, *, unit: int | None = None, serial: str = "SIM0000001",
              faults: PlantFaults | None = None, device_type: int | None = None) -> SungrowBank:
    """A SungrowBank for `hybrid` or `string`, on the shipped map of that family."""
    fam = family(family_name)
    m = catalog.resolve_register_map(fam.map_id)
    return SungrowBank(m, fam, unit=unit or m.link.unit, serial=serial, faults=faults,
                       device_type=device_type)

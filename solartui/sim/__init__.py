"""Simulated hardware speaking the real wire protocols, so the program runs without a device.

Why a package of its own: the demo mode and the integration tests share these peers, and none of
it may import Textual (the CLI and headless tests use the same code).
"""

from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.sim.serial_wire import SerialWire, serve_on_pty

__all__ = ["Faults", "ModbusSimulator", "RegisterBank", "SerialWire", "serve_on_pty"]

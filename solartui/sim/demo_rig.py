"""The demo's simulated devices: a Growatt inverter on a pty wire (real 850 ms pacing) and one on
loopback TCP, started in this process. Used by `solartui demo` (TUI and plain) and the tests."""

from __future__ import annotations

from solartui.registers import catalog
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.sim.serial_wire import serve_on_pty

DEMO_MAP = "growatt-protocol-ii"


class DemoRig:
    def __init__(self):
        self.targets: list[str] = []
        self._stops = []

    async def start(self) -> list[str]:
        m = catalog.resolve(DEMO_MAP)
        wire, pty_sim = await serve_on_pty(
            [RegisterBank(m, unit=1, identity={"serial": "DEMO000RTU"})], baud=m.link.baudrates[0])
        self._stops += [pty_sim.stop, wire.stop]
        tcp_sim = ModbusSimulator([RegisterBank(m, unit=1, seed=7, identity={"serial": "DEMO000TCP"})])
        port = await tcp_sim.start_tcp("127.0.0.1", 0)
        self._stops.append(tcp_sim.stop)
        self.targets = [f"rtu://{wire.client_path}?unit=1", f"tcp://127.0.0.1:{port}?unit=1"]
        return self.targets

    async def stop(self) -> None:
        for stop in self._stops:
            await stop()
        self._stops.clear()

"""The demo's simulated devices: a Growatt inverter on a pty wire (real 850 ms pacing), one on
loopback TCP, a Voltronic PI30 inverter on a pty at 2400 baud, a GivEnergy hybrid behind a
simulated dongle on loopback TCP, and the embedded Growatt server with one simulated datalogger
(and its inverter) connected to it over loopback TCP, all started in this process. Used by
`solartui demo` (TUI and plain) and the tests.

The Growatt inverters and the GivEnergy plant share one `site_faults` (a reversed CT, an ignored
export limit: `solartui demo --fault reversed-ct`), so the commissioning checks can be seen to
fail as well as pass."""

from __future__ import annotations

from solartui.registers import catalog
from solartui.shine.server import ShineServer
from solartui.sim.givenergy_dongle import GivEnergyDongle
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.sim.power_flow import PlantFaults, apply_fault
from solartui.sim.register_bank import RegisterBank
from solartui.sim.serial_wire import serve_on_pty
from solartui.sim.shine_logger import SimulatedDatalogger

DEMO_MAP = "growatt-protocol-ii"
DEMO_LOGGER = "DEMOLOG001"
DEMO_LOGGER_INVERTER = "DEMO000WIF"
DEMO_LOGGER_INTERVAL = 10.0     # seconds between data records: the server pane moves visibly
DEMO_PI30_SERIAL = "96332309100452"
DEMO_GIVENERGY_SERIAL = "SA2301G042"


class DemoRig:
    # `solartui demo --fault NAME` sets these before the TUI makes its rig
    site_fault_names: tuple[str, ...] = ()

    def __init__(self, journal=None, shine: bool = True, pi30: bool = True,
                 givenergy: bool = True, site_faults: PlantFaults | None = None):
        if site_faults is None:
            site_faults = PlantFaults()
            for name in self.site_fault_names:
                apply_fault(site_faults, name)
        self.site_faults = site_faults
        self.banks: list[RegisterBank] = []
        self.targets: list[str] = []
        self._stops = []
        self.shine = shine
        self.pi30 = pi30
        self.givenergy = givenergy
        self.dongle: GivEnergyDongle | None = None
        self.pi30_inverter: Pi30Inverter | None = None
        # made now so an app can show it before start(); writes through it go to `journal`
        self.shine_server = ShineServer(journal=journal)
        self.datalogger: SimulatedDatalogger | None = None

    async def start(self) -> list[str]:
        m = catalog.resolve(DEMO_MAP)
        rtu_bank = RegisterBank(m, unit=1, identity={"serial": "DEMO000RTU"},
                                faults=self.site_faults)
        tcp_bank = RegisterBank(m, unit=1, seed=7, identity={"serial": "DEMO000TCP"},
                                faults=self.site_faults)
        self.banks = [rtu_bank, tcp_bank]
        wire, pty_sim = await serve_on_pty([rtu_bank], baud=m.link.baudrates[0])
        self._stops += [pty_sim.stop, wire.stop]
        tcp_sim = ModbusSimulator([tcp_bank])
        port = await tcp_sim.start_tcp("127.0.0.1", 0)
        self._stops.append(tcp_sim.stop)
        self.targets = [f"rtu://{wire.client_path}?unit=1", f"tcp://127.0.0.1:{port}?unit=1"]
        if self.pi30:
            self.pi30_inverter = Pi30Inverter(serial=DEMO_PI30_SERIAL)
            pi30_server = await serve_pi30_on_pty(self.pi30_inverter, pace=True)
            self._stops.append(pi30_server.stop)
            self.targets.append(f"pi30://{pi30_server.client_path}")
        if self.givenergy:
            self.dongle = GivEnergyDongle("127.0.0.1", 0, inverter_serial=DEMO_GIVENERGY_SERIAL,
                                          latency=0.15, unsolicited_interval=30.0)
            self.dongle.plant.faults = self.site_faults
            dongle_port = await self.dongle.start()
            self._stops.append(self.dongle.stop)
            self.targets.append(f"givenergy://127.0.0.1:{dongle_port}")
        if self.shine:
            await self._start_shine(m)
        return self.targets

    async def _start_shine(self, m) -> None:
        shine_port = await self.shine_server.start("127.0.0.1", 0)
        self._stops.insert(0, self.shine_server.stop)
        bank = RegisterBank(m, unit=1, seed=3, identity={"serial": DEMO_LOGGER_INVERTER})
        self.datalogger = SimulatedDatalogger(bank, datalogger=DEMO_LOGGER,
                                              interval=DEMO_LOGGER_INTERVAL)
        await self.datalogger.start("127.0.0.1", shine_port)
        self._stops.insert(0, self.datalogger.stop)      # the datalogger hangs up first

    async def stop(self) -> None:
        for stop in self._stops:
            await stop()
        self._stops.clear()

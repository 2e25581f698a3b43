"""The simulated Modbus device against real pymodbus clients, over loopback TCP and a pty wire.

Why: the demo and every integration test lean on this simulator; it must answer like a Growatt
(exceptions 1/2/3, the clock's year quirk, silence for other units) and misbehave exactly as asked.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import asynccontextmanager

import pytest
import serial
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException
from pymodbus.framer import FramerRTU

from solartui.registers.loader import parse_map
from solartui.sim import Faults, ModbusSimulator, RegisterBank, SerialWire, serve_on_pty

MAP = """
schema: 1
device: {id: test-sim, vendor: Test, name: Test inverter}
protocol: modbus
link: {baudrates: [9600, 38400], unit: 1}
blocks:
  input: [[0, 124], [125, 249]]
  holding: [[0, 124], [125, 249]]
holes:
  input: [[200, 201]]
identify:
  serial: {table: holding, address: 23, count: 5, type: ascii}
  firmware: {table: holding, address: 9, count: 3, type: ascii}
  model: {table: holding, address: 28, type: u32}
  device_type: {table: holding, address: 43, type: u16}
  protocol_version: {table: holding, address: 88, type: u16}
clock: {table: holding, address: 45, fields: [year, month, day, hour, minute, second], year: auto}
points:
  - {name: inverter_status, doc: Status, table: input, address: 0, type: u16, enum: {0: waiting, 1: normal}}
  - {name: ppv, doc: Ppv, table: input, address: 1, type: u32, scale: 0.1, unit: W, group: PV}
  - {name: vpv1, doc: Vpv1, table: input, address: 3, type: u16, scale: 0.1, unit: V, group: PV}
  - {name: ipv1, doc: Ipv1, table: input, address: 4, type: u16, scale: 0.1, unit: A, group: PV}
  - {name: pac, doc: Pac, table: input, address: 35, type: u32, scale: 0.1, unit: W, group: AC}
  - {name: fac, doc: Fac, table: input, address: 37, type: u16, scale: 0.01, unit: Hz, group: Grid}
  - {name: vac1, doc: Vac1, table: input, address: 38, type: u16, scale: 0.1, unit: V, group: Grid}
  - {name: eac_today, doc: Eac today, table: input, address: 53, type: u32, scale: 0.1, unit: kWh}
  - {name: eac_total, doc: Eac total, table: input, address: 55, type: u32, scale: 0.1, unit: kWh}
  - {name: temp_inverter, doc: Temp, table: input, address: 93, type: s16, scale: 0.1, unit: "°C"}
  - {name: soc, doc: SOC, table: input, address: 130, type: u16, unit: "%", group: Battery}
  - {name: vbat, doc: Vbat, table: input, address: 131, type: u16, scale: 0.01, unit: V}
  - {name: on_off, doc: OnOff, table: holding, address: 0, type: u16, access: rw,
     enum: {0: "off", 1: "on"}}
  - {name: active_power_rate, doc: Active P Rate, table: holding, address: 3, type: u16,
     unit: "%", access: rw, range: [0, 100], special: {255: unlimited}}
  - {name: pmax, doc: Pmax, table: holding, address: 6, type: u32, scale: 0.1, unit: VA}
  - {name: firmware, doc: Fw version, table: holding, address: 9, type: ascii, count: 3}
  - {name: vpv_start, doc: Vpv start, table: holding, address: 17, type: u16, scale: 0.1,
     unit: V, access: rw, range: [100, 500]}
  - {name: serial, doc: Serial NO, table: holding, address: 23, type: ascii, count: 5}
  - {name: sys_year, doc: Sys Year, table: holding, address: 45, type: u16, access: rw,
     range: [0, 2099], group: Clock}
  - {name: sys_month, doc: Sys Month, table: holding, address: 46, type: u16, access: rw,
     range: [1, 12], group: Clock}
  - {name: export_limit_rate, doc: ExportLimitPowerRate, table: holding, address: 123,
     type: s16, scale: 0.1, unit: "%", access: rw, range: [-100, 100]}
  - {name: reactive_power_value, doc: Q value, table: holding, address: 137, type: u32,
     scale: 0.1, unit: var, access: rw, range: [0, 10000]}
"""
DEVICE_MAP = parse_map(MAP, "<test map>")
T = 0.5     # client timeout: long enough for loopback, short enough for silence tests


def bank(unit: int = 1, **kw) -> RegisterBank:
    return RegisterBank(DEVICE_MAP, unit=unit, **kw)


def local(*ymdhms: int) -> float:
    return time.mktime((*ymdhms, 0, 0, -1))


@asynccontextmanager
async def tcp(banks, faults: Faults | None = None):
    sim = ModbusSimulator(banks, faults)
    port = await sim.start_tcp()
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=T, retries=0,
                                  reconnect_delay=0)
    try:
        assert await client.connect()
        yield sim, client
    finally:
        client.close()
        await sim.stop()


def serial_client(path: str, baud: int = 9600, **kw) -> AsyncModbusSerialClient:
    return AsyncModbusSerialClient(path, baudrate=baud, timeout=T, retries=0,
                                   reconnect_delay=0, **kw)


# --- the bank on its own -----------------------------------------------------------------------

def test_seeded_values_are_plausible():
    b = bank(seed=3)
    assert b.value("vpv1") == 350.0 and b.value("vac1") == 230.0 and b.value("fac") == 50.0
    assert b.value("temp_inverter") == 35.0 and b.value("soc") == 60 and b.value("vbat") == 52.0
    assert b.value("inverter_status") == 1                       # "normal": a running inverter
    assert 0 <= b.value("active_power_rate") <= 100
    assert 100 <= b.value("vpv_start") <= 500
    assert b.value("serial") == "SIM0010003" and b.value("firmware") == "DH1.0"
    assert b.get_raw("holding", 28, 2) == [0x0010, 0x2231]
    assert b.get_raw("holding", 43)[0] == 5100 and b.get_raw("holding", 88)[0] == 207
    other = bank(identity={"serial": "AB12345678", "device_type": 5400})
    assert other.value("serial") == "AB12345678" and other.get_raw("holding", 43) == [5400]


def test_read_stays_inside_one_block():
    b = bank()
    assert b.read("input", 120, 10) == 2                         # crosses 124/125
    assert b.read("input", 199, 2) == 2                          # touches a hole
    assert b.read("input", 150, 3) == [0, 0, 0]                  # unmapped inside a block
    assert b.read("input", 3, 1) == [3500]
    assert b.reads == 4


def test_write_rules_and_refusal_changes_nothing():
    b = bank()
    assert b.write(3, [80]) is None and b.value("active_power_rate") == 80
    assert b.write(3, [255]) is None                             # special value allowed
    assert b.write(3, [101]) == 3                                # out of range
    assert b.write(0, [7]) == 3                                  # not an enum key
    assert b.write(6, [0]) == 1                                  # read-only point
    assert b.write(23, [0x4142]) == 1                            # identity
    assert b.write(2, [1]) == 2                                  # no point there
    before = b.get_raw("holding", 0, 20)
    assert b.write(0, [1, 0, 0, 50]) == 2                        # register 1 is undefined
    assert b.write(17, [6000]) == 3                              # 600.0 V > 500
    assert b.get_raw("holding", 0, 20) == before
    assert b.write(123, [0xFC18]) is None and b.value("export_limit_rate") == -100.0
    assert b.write(138, [500]) is None                           # half of a u32 point
    assert b.get_raw("holding", 137, 2)[1] == 500


def test_clock_year_quirk():
    b = bank()
    now = time.localtime()
    assert b.clock_fields()["year"] == now.tm_year               # reads a 4-digit year
    assert b.get_raw("holding", 45)[0] == now.tm_year
    assert b.write(45, [26, 1, 2, 3, 4, 5]) is None              # 2-digit write sets it
    assert b.get_raw("holding", 45, 5) == [2026, 1, 2, 3, 4]
    assert b.write(45, [2026, 1, 2, 3, 4, 5]) == 3               # 4-digit refused (MIN TL-X/SPH)
    assert b.write(45, [26, 2, 30, 0, 0, 0]) == 3                # 30 February
    assert b.write(48, [17]) is None and b.get_raw("holding", 48) == [17]
    assert b.get_raw("holding", 45, 3) == [2026, 1, 2]


def test_tick_follows_the_sun_and_energy_only_rises():
    b = bank(seed=1)
    b.tick(local(2026, 6, 21, 0, 30, 0))
    assert b.value("ppv") == 0 and b.value("vpv1") == 0
    night_total = b.value("eac_total")
    totals, powers = [], []
    for hour in (9, 12, 15, 19, 23):
        b.tick(local(2026, 6, 21, hour, 0, 0))
        totals.append(b.value("eac_total"))
        powers.append(b.value("ppv"))
    assert powers[1] > powers[0] > 0 and powers[1] > powers[2] > powers[3] and powers[4] == 0
    assert b.value("pac") < powers[1] or powers[4] == 0
    assert totals == sorted(totals) and totals[-1] > night_total
    assert b.value("eac_today") > 5.0
    again = bank(seed=1)
    again.tick(local(2026, 6, 21, 12, 0, 0))
    other = bank(seed=1)
    other.tick(local(2026, 6, 21, 12, 0, 0))
    assert again.get_raw("input", 0, 60) == other.get_raw("input", 0, 60)
    b.set_raw("input", 3, [1234])                                # pinned: tick keeps off
    b.tick(local(2026, 6, 22, 12, 0, 0))
    assert b.get_raw("input", 3) == [1234]


# --- over TCP ----------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_tcp_reads_writes_and_exceptions():
    b = bank()
    async with tcp(b) as (sim, c):
        rr = await c.read_input_registers(0, count=10, device_id=1)
        assert not rr.isError() and rr.registers == b.get_raw("input", 0, 10)
        rr = await c.read_holding_registers(23, count=5, device_id=1)
        assert rr.registers == b.get_raw("holding", 23, 5)
        rr = await c.read_input_registers(120, count=10, device_id=1)
        assert rr.isError() and rr.exception_code == 2
        assert not (await c.write_register(3, 42, device_id=1)).isError()        # FC06
        assert not (await c.write_registers(17, [1500], device_id=1)).isError()  # FC16
        rr = await c.read_holding_registers(0, count=20, device_id=1)
        assert rr.registers[3] == 42 and rr.registers[17] == 1500
        before = rr.registers
        for addr, values, code in ((3, [101], 3), (6, [1], 1), (2, [1], 2), (0, [1, 9], 2)):
            rr = await c.write_registers(addr, values, device_id=1)
            assert rr.isError() and rr.exception_code == code, (addr, values)
        assert (await c.write_register(3, 300, device_id=1)).exception_code == 3
        assert (await c.read_holding_registers(0, count=20, device_id=1)).registers == before
        assert sim.requests == 12


@pytest.mark.asyncio
async def test_tcp_other_units_are_silent():
    async with tcp([bank(1), bank(3, seed=9)]) as (sim, c):
        assert not (await c.read_input_registers(0, count=2, device_id=3)).isError()
        t0 = time.monotonic()
        with pytest.raises(ModbusIOException):
            await c.read_input_registers(0, count=2, device_id=2)
        assert time.monotonic() - t0 >= T * 0.9
        assert sim.requests == 1


@pytest.mark.asyncio
async def test_tcp_clock():
    async with tcp(bank()) as (_, c):
        rr = await c.read_holding_registers(45, count=6, device_id=1)
        assert rr.registers[0] == time.localtime().tm_year
        assert not (await c.write_registers(45, [26, 3, 4, 5, 6, 7], device_id=1)).isError()
        rr = await c.read_holding_registers(45, count=6, device_id=1)
        assert rr.registers[:5] == [2026, 3, 4, 5, 6] and rr.registers[5] in (7, 8)
        rr = await c.write_registers(45, [2027, 3, 4, 5, 6, 7], device_id=1)
        assert rr.isError() and rr.exception_code == 3
        wr = await c.write_register(45, 27, device_id=1)          # FC06 echoes what went out
        assert not wr.isError() and wr.registers == [27]
        assert (await c.read_holding_registers(45, count=1, device_id=1)).registers == [2027]


@pytest.mark.asyncio
async def test_tcp_faults_silent_delay_exception():
    faults = Faults()
    async with tcp(bank(), faults) as (sim, c):
        faults.silent = True
        with pytest.raises(ModbusIOException):
            await c.read_input_registers(0, count=1, device_id=1)
        faults.silent, faults.delay = False, 0.25
        t0 = time.monotonic()
        assert not (await c.read_input_registers(0, count=1, device_id=1)).isError()
        assert time.monotonic() - t0 >= 0.25
        faults.delay, faults.exception = 0.0, 6
        rr = await c.read_input_registers(0, count=1, device_id=1)
        assert rr.isError() and rr.exception_code == 6
        rr = await c.write_register(3, 10, device_id=1)
        assert rr.isError() and rr.exception_code == 6
        assert sim.requests == 4


@pytest.mark.asyncio
async def test_tcp_drop_after_closes_the_connection():
    sim = ModbusSimulator(bank(), Faults(drop_after=2))
    port = await sim.start_tcp()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = bytes.fromhex("0001 0000 0006 01 04 0000 0001".replace(" ", ""))
        for _ in range(2):
            writer.write(request)
            reply = await asyncio.wait_for(reader.read(64), T)
            assert reply[7:9] == b"\x04\x02"
        writer.write(request)
        assert await asyncio.wait_for(reader.read(64), T) == b""   # EOF: the server hung up
        writer.close()
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=T, retries=0,
                                      reconnect_delay=0)
        assert await client.connect()                            # a new connection gets N again
        assert not (await client.read_input_registers(0, count=1, device_id=1)).isError()
        client.close()
        assert sim.requests == 4
    finally:
        await sim.stop()


# --- over the pty wire -------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_wire_passes_binary_unchanged():
    wire = SerialWire()
    await wire.start()
    dev_path = wire.attach(9600)
    frame = bytes([0x01, 0x0A, 0x0D, 0x00, 0x11, 0x13, 0x7F, 0xFF, 0x0D, 0x0A])
    client = serial.Serial(wire.client_path, 9600, timeout=0)
    dev = serial.Serial(dev_path, 9600, timeout=0)
    try:
        for src, dst in ((client, dev), (dev, client)):
            src.write(frame)
            got = b""
            for _ in range(50):
                await asyncio.sleep(0.01)
                got += dst.read(64)
                if len(got) >= len(frame):
                    break
            assert got == frame
    finally:
        client.close()
        dev.close()
        await wire.stop()
    assert wire.closed


@pytest.mark.asyncio
async def test_pty_reads_writes_and_silence():
    b = bank()
    wire, sim = await serve_on_pty(b, 9600)
    c = serial_client(wire.client_path, 9600)
    try:
        assert await c.connect()
        rr = await c.read_input_registers(0, count=10, device_id=1)
        assert not rr.isError() and rr.registers == b.get_raw("input", 0, 10)
        assert not (await c.write_register(3, 55, device_id=1)).isError()
        assert (await c.read_holding_registers(3, count=1, device_id=1)).registers == [55]
        assert (await c.read_input_registers(124, count=2, device_id=1)).exception_code == 2
        with pytest.raises(ModbusIOException):
            await c.read_input_registers(0, count=1, device_id=2)
    finally:
        c.close()
        await wire.stop()


@pytest.mark.asyncio
async def test_pty_corrupt_crc_and_serial_drop_after():
    faults = Faults(corrupt_crc=True)
    wire, sim = await serve_on_pty(bank(), 9600, faults)
    received: list[bytes] = []

    def trace(sending: bool, data: bytes) -> bytes:
        if not sending:
            received.append(data)
        return data

    c = serial_client(wire.client_path, 9600, trace_packet=trace)
    try:
        assert await c.connect()
        with pytest.raises(ModbusIOException):
            await c.read_input_registers(0, count=2, device_id=1)
        frame = b"".join(received)
        assert len(frame) == 9 and frame[:3] == b"\x01\x04\x04"
        assert FramerRTU.compute_CRC(frame[:-2]) != int.from_bytes(frame[-2:], "big")
        faults.corrupt_crc, faults.drop_after = False, 2                  # 1 request so far
        assert not (await c.read_input_registers(0, count=1, device_id=1)).isError()
        with pytest.raises(ModbusIOException):                            # falls silent
            await c.read_input_registers(0, count=1, device_id=1)
    finally:
        c.close()
        await wire.stop()


@pytest.mark.asyncio
async def test_pty_baud_mismatch_gets_no_answer():
    wire, sim = await serve_on_pty(bank(), 9600)
    try:
        wrong = serial_client(wire.client_path, 38400)
        assert await wrong.connect()
        with pytest.raises(ModbusIOException):
            await wrong.read_input_registers(0, count=1, device_id=1)
        wrong.close()
        assert sim.requests == 0 and wire.dropped > 0
        right = serial_client(wire.client_path, 9600)
        assert await right.connect()
        assert not (await right.read_input_registers(0, count=1, device_id=1)).isError()
        right.close()
    finally:
        await wire.stop()


@pytest.mark.asyncio
async def test_two_devices_on_one_wire():
    b1, b2, b3 = bank(1), bank(2, seed=5), bank(3, seed=6)
    wire, sim1 = await serve_on_pty(b1, 9600)
    sim2, sim3 = ModbusSimulator(b2), ModbusSimulator(b3)
    await wire.serve(sim2, 9600)
    await wire.serve(sim3, 38400)                                 # same bus, other speed
    c = serial_client(wire.client_path, 9600)
    try:
        assert await c.connect()
        for unit, b in ((1, b1), (2, b2)):
            rr = await c.read_holding_registers(23, count=5, device_id=unit)
            assert not rr.isError() and rr.registers == b.get_raw("holding", 23, 5)
        with pytest.raises(ModbusIOException):
            await c.read_holding_registers(23, count=5, device_id=3)
        assert (sim1.requests, sim2.requests, sim3.requests) == (1, 1, 0)
    finally:
        c.close()
        await wire.stop()
    assert not os.path.exists(wire.client_path) or wire.closed


def test_sim_does_not_import_textual():
    import subprocess
    import sys
    code = "import sys, solartui.sim; assert 'textual' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

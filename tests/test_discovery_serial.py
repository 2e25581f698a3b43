"""Serial discovery: port listing and the Modbus RTU sweep, against simulators on pty wires.

The test knows each simulator's baud rate and unit; the scanner is not told (it is only narrowed
with `units=`/`bauds=` to keep the file fast — the full 254-unit sweep is in bench/scan.py). The
wire relays bytes only when the speed the scanner set on its tty matches the device's.
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from solartui.discovery import rtu_probe, serial_ports
from solartui.discovery.results import Found, Progress
from solartui.discovery.rtu_probe import (
    Reply, candidate_settings, find_reply, frame_gap, open_error, probe_port, probe_timeout,
    read_request, unit_order,
)
from solartui.discovery.serial_ports import SerialPortInfo, adapter_name, list_serial_ports
from solartui.errors import ConnectionFailed
from solartui.links.target import parse_target
from solartui.registers.loader import parse_map
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.sim.serial_wire import serve_on_pty

GROWATT = "growatt-protocol-ii"
FIRST_UNITS = [1, *range(2, 11)]           # the start of the default order

TINY_MAP = """\
schema: 1
device:
  id: tiny-meter
  vendor: Nobody
  name: A meter no shipped map knows
  families: [T1]
  source: {document: none, version: "0"}
  trust: structure-verified
protocol: modbus
link: {baudrates: [9600], parity: N, unit: 1, max_read: 125}
points:
  - {name: volts, doc: V, table: input, address: 0, type: u16, scale: 0.1, unit: V}
"""


# --- port listing --------------------------------------------------------------------------

@pytest.mark.parametrize("vid,pid,device,name", [
    (0x1A86, 0x7523, "/dev/ttyUSB0", "CH340"),
    (0x1A86, 0x5523, "/dev/ttyUSB0", "CH341"),
    (0x0403, 0x6001, "/dev/ttyUSB1", "FTDI FT232R"),
    (0x0403, 0x6015, "/dev/ttyUSB1", "FTDI FT231X"),
    (0x0403, 0x6011, "/dev/ttyUSB1", "FTDI FT4232H"),
    (0x0403, 0x6014, "/dev/ttyUSB1", "FTDI FT232H"),
    (0x10C4, 0xEA60, "/dev/ttyUSB2", "Silicon Labs CP210x"),
    (0x10C4, 0xEA70, "/dev/ttyUSB2", "Silicon Labs CP2105"),
    (0x067B, 0x2303, "/dev/ttyUSB3", "Prolific PL2303"),
    (0x067B, 0x23A3, "/dev/ttyUSB3", "Prolific PL2303GC"),
    (0x0403, 0x1234, "/dev/ttyUSB4", "FTDI"),                 # known vendor, other chip
    (None, None, "/dev/ttyAMA0", "Raspberry Pi UART"),
    (None, None, "/dev/ttyS0", "Raspberry Pi UART"),
    (None, None, "/dev/serial0", "Raspberry Pi UART"),
    (0x2341, 0x0043, "/dev/ttyACM0", None),                   # an Arduino: not an adapter we know
    (None, None, "/dev/pts/3", None),
])
def test_adapter_names(vid, pid, device, name):
    assert adapter_name(vid, pid, device) == name


def test_adapter_name_on_a_pc_and_listing(monkeypatch):
    assert adapter_name(None, None, "/dev/ttyS0", raspberry_pi=False) == "on-board UART"
    fake = [SimpleNamespace(device="/dev/ttyUSB0", vid=0x1A86, pid=0x7523, manufacturer="QinHeng",
                            product="USB Serial", serial_number=None, description="USB Serial"),
            SimpleNamespace(device="/dev/ttyS4", vid=None, pid=None, manufacturer=None,
                            product=None, serial_number=None, description="n/a")]
    monkeypatch.setattr(serial_ports.list_ports, "comports", lambda: fake)
    monkeypatch.setattr(serial_ports, "_PI_LINKS", ())
    ports = list_serial_ports()
    assert [p.device for p in ports] == ["/dev/ttyUSB0", "/dev/ttyS4"]
    usb = ports[0]
    assert (usb.vid_pid, usb.adapter, usb.manufacturer) == ("1a86:7523", "CH340", "QinHeng")
    assert usb.title() == "/dev/ttyUSB0 (CH340, 1a86:7523, QinHeng USB Serial)"
    assert ports[1].vid_pid is None and ports[1].title() == "/dev/ttyS4"
    assert usb.as_json()["vid_pid"] == "1a86:7523"


def test_real_listing_runs():
    assert all(isinstance(p, SerialPortInfo) for p in list_serial_ports())


# --- wire arithmetic and framing -----------------------------------------------------------

def test_timeouts_come_from_the_wire_time():
    # 15 bytes x 11 bits at 9600 = 17.2 ms, + 40 ms margin; nowhere near a fixed 850 ms
    assert probe_timeout(9600) == pytest.approx(0.0572, abs=1e-4)
    assert probe_timeout(38400) == pytest.approx(0.0443, abs=1e-4)
    assert probe_timeout(9600, margin=0.03) == pytest.approx(0.0472, abs=1e-4)
    assert frame_gap(9600) == pytest.approx(0.00401, abs=1e-5)
    assert frame_gap(115200) == 0.00175


def test_settings_and_unit_order(growatt_map):
    assert candidate_settings([growatt_map]) == [
        (9600, "N"), (38400, "N"), (19200, "N"), (115200, "N"),
        (9600, "E"), (19200, "E"), (38400, "E"), (115200, "E")]
    assert candidate_settings([growatt_map], parities=["N"]) == [
        (9600, "N"), (38400, "N"), (19200, "N"), (115200, "N")]
    assert candidate_settings([growatt_map], bauds=[4800], parities=["e"]) == [(4800, "E")]
    order = unit_order([growatt_map])
    assert order[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert len(order) == 254 and order[-1] == 254 and sorted(order) == list(range(1, 255))
    assert unit_order([], None)[-1] == 247
    assert unit_order([growatt_map], [5, 200, 5, 1]) == [5, 200, 1]


def test_rtu_frames():
    assert read_request(1, 3, 0) == bytes.fromhex("010300000001840a")
    reply = bytes.fromhex("0103020001") + bytes.fromhex("79 84")
    assert find_reply(reply, 3, {1}) == Reply(1, value=1)
    assert find_reply(b"\x00\xff\x13" + reply, 3, {1}) == Reply(1, value=1)   # noise first
    assert find_reply(read_request(1, 3, 0) + reply, 3, {1}) == Reply(1, value=1)  # local echo
    assert find_reply(reply, 3, {2}) is None                  # another unit
    assert find_reply(reply, 4, {1}) is None                  # another function
    assert find_reply(reply[:-1] + b"\x00", 3, {1}) is None   # bad CRC
    assert find_reply(reply[:5], 3, {1}) is None              # incomplete
    exc = bytes([7, 0x83, 2]) + rtu_probe.crc16_modbus(bytes([7, 0x83, 2])).to_bytes(2, "little")
    assert find_reply(exc, 3, {7}) == Reply(7, exception=2)


# --- sweeps on pty wires -------------------------------------------------------------------

def _bank(m, unit, serial):
    return RegisterBank(m, unit=unit, identity={"serial": serial})


async def test_growatt_at_9600_unit_1_found_and_identified(growatt_map):
    wire, sim = await serve_on_pty(_bank(growatt_map, 1, "GRW0000001"), 9600)
    seen: list[Found] = []
    try:
        t0 = time.monotonic()
        found = await probe_port(wire.client_path, on_found=seen.append)
        took = time.monotonic() - t0
    finally:
        await wire.stop()
    assert found == seen and len(found) == 1
    f = found[0]
    assert (f.kind, f.map_id, f.vendor, f.serial) == ("modbus-rtu", GROWATT, "Growatt",
                                                      "GRW0000001")
    assert f.firmware == "DH1.0"
    assert f.link == f"{wire.client_path} 9600 8N1 unit 1"
    assert f.target == f"rtu://{wire.client_path}?baud=9600&parity=N&unit=1"
    t = parse_target(f.target)
    assert (t.path, t.baud, t.parity, t.unit) == (wire.client_path, 9600, "N", 1)
    assert "GRW0000001" in f.title()
    # one probe, the 850 ms period after its answer, then one identification read — plus one
    # paced single-register read for each map whose identification hint probes before Growatt's
    # (Sungrow's device type at input 4999, which a Growatt refuses with exception 2)
    from solartui.registers import catalog
    earlier = sum(1 for m in catalog.all_maps() if m.probe and m.probe.first
                  and m.probe.order < 100)
    assert took < 2.0 + 0.85 * earlier


async def test_growatt_at_38400_unit_200_found_by_the_sweep(growatt_map):
    wire, sim = await serve_on_pty(_bank(growatt_map, 200, "GRW0000200"), 38400)
    try:
        found = await probe_port(wire.client_path, units=[*FIRST_UNITS, *range(195, 205)])
    finally:
        await wire.stop()
    assert [(f.link, f.map_id, f.serial) for f in found] == [
        (f"{wire.client_path} 38400 8N1 unit 200", GROWATT, "GRW0000200")]
    assert found[0].target.endswith("?baud=38400&parity=N&unit=200")


async def test_wrong_baud_is_silence_and_progress_has_an_eta(growatt_map):
    wire, sim = await serve_on_pty(_bank(growatt_map, 1, "GRW0000001"), 38400)
    seen: list[tuple[int, int, float | None, str]] = []

    def progress(p: Progress) -> None:
        seen.append((p.done, p.total, p.eta, p.note))

    try:
        found = await probe_port(wire.client_path, bauds=[9600], parities=["N"],
                                 units=range(1, 41), on_progress=progress)
    finally:
        await wire.stop()
    assert found == [] and sim.requests == 0 and wire.dropped > 0
    dones = [d for d, *_ in seen]
    assert dones == sorted(dones) and dones[0] == 0 and dones[-1] == 40
    assert len(set(dones)) >= 4                       # it moved while it ran...
    assert len(seen) <= 20                            # ...but not a call per probe
    assert all(total == 40 for _, total, _, _ in seen)
    etas = [eta for d, _, eta, _ in seen if 0 < d < 40]
    assert etas and all(e is not None and 0 < e < 5 for e in etas)
    assert seen[-1][2] == 0.0
    assert any(note.startswith("9600 8N1 unit ") for *_, note in seen)


async def test_find_all_two_devices_on_one_wire(growatt_map):
    wire, sim3 = await serve_on_pty(_bank(growatt_map, 3, "GRW0000003"), 9600)
    sim7 = ModbusSimulator(_bank(growatt_map, 7, "GRW0000007"))
    await wire.serve(sim7, 9600)
    try:
        t0 = time.monotonic()
        found = await probe_port(wire.client_path, find_all=True, bauds=[9600],
                                 parities=["N", "E"], units=[1, 3, 7])
        took = time.monotonic() - t0
    finally:
        await wire.stop()
    # a pty does not carry parity, so 8E1 reaches them too: a found unit is not probed again
    assert [(f.link.split(" ", 1)[1], f.serial) for f in found] == [
        ("9600 8N1 unit 3", "GRW0000003"), ("9600 8N1 unit 7", "GRW0000007")]
    assert all(f.map_id == GROWATT for f in found)
    # after unit 3 answered, every request kept 850 ms from the one before: identify 3,
    # probe 7, identify 7 (and probe 1 at 8E1 where the port takes even parity)
    assert took >= 3 * 0.85


async def test_device_no_map_fits(growatt_map):
    tiny = parse_map(TINY_MAP)
    wire, sim = await serve_on_pty(RegisterBank(tiny, unit=9), 9600)
    try:
        found = await probe_port(wire.client_path, maps=[growatt_map], units=range(5, 12))
    finally:
        await wire.stop()
    assert len(found) == 1
    f = found[0]
    where = f"{wire.client_path} 9600 8N1 unit 9"
    assert (f.map_id, f.detail, f.link) == (None, "no map fits", where)
    assert f.title() == f"unknown Modbus device at {where} — no map fits"
    assert parse_target(f.target).unit == 9


async def test_slow_device_answering_after_its_timeout_is_still_found(growatt_map):
    faults = Faults(delay=0.07)                      # > the 57 ms a probe waits at 9600
    wire, sim = await serve_on_pty(_bank(growatt_map, 2, "GRW0000002"), 9600, faults)
    try:
        found = await probe_port(wire.client_path, bauds=[9600], parities=["N"],
                                 units=[1, 2, 3, 4], identify=False)
    finally:
        await wire.stop()
    assert [f.link.rsplit(" ", 1)[1] for f in found] == ["2"]


async def test_cancel_mid_sweep_closes_the_port(growatt_map, monkeypatch):
    handles = []

    class Recording(rtu_probe._ProbePort):
        def __init__(self, *a):
            super().__init__(*a)
            handles.append(self)

    monkeypatch.setattr(rtu_probe, "_ProbePort", Recording)
    wire, sim = await serve_on_pty(_bank(growatt_map, 200, "GRW0000200"), 38400)
    fds_before = len(os.listdir("/proc/self/fd"))
    try:
        task = asyncio.ensure_future(probe_port(wire.client_path, maps=[growatt_map]))
        await asyncio.sleep(0.4)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert handles and all(not h.ser.is_open for h in handles)
        assert len(os.listdir("/proc/self/fd")) == fds_before
        # the port is free and the wire still works: the same scan now finds the device
        # (a wide margin: one probe, and its reply comes from this busy event loop)
        found = await probe_port(wire.client_path, maps=[growatt_map], bauds=[38400],
                                 parities=["N"], units=[200], identify=False, margin=0.5)
        assert len(found) == 1
    finally:
        await wire.stop()


async def test_cancel_while_identifying(growatt_map):
    faults = Faults()
    wire, sim = await serve_on_pty(_bank(growatt_map, 1, "GRW0000001"), 9600, faults)
    identifying = asyncio.Event()

    def progress(p: Progress) -> None:
        if p.note.endswith("identifying"):
            faults.delay = 0.6                     # the identification read is now slow
            identifying.set()

    fds_before = len(os.listdir("/proc/self/fd"))
    try:
        task = asyncio.ensure_future(probe_port(wire.client_path, maps=[growatt_map],
                                                on_progress=progress))
        await asyncio.wait_for(identifying.wait(), 2)
        await asyncio.sleep(0.85 + 0.3)            # the period, then into the pymodbus read
        assert sim.requests == 2 and not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)
        assert len(os.listdir("/proc/self/fd")) == fds_before
    finally:
        await wire.stop()


async def test_settings_the_port_refuses_are_skipped(growatt_map, monkeypatch):
    class NoEvenParity(rtu_probe._ProbePort):
        def __init__(self, port, baud, parity):
            if parity == "E":
                raise rtu_probe.UnsupportedSetting(f"{port} refuses {baud} 8E1")
            super().__init__(port, baud, parity)

    monkeypatch.setattr(rtu_probe, "_ProbePort", NoEvenParity)
    wire, sim = await serve_on_pty(_bank(growatt_map, 4, "GRW0000004"), 9600)
    seen: list[tuple[int, str]] = []
    try:
        found = await probe_port(wire.client_path, bauds=[9600], parities=["E", "N"], units=[4],
                                 identify=False,
                                 on_progress=lambda p: seen.append((p.done, p.note)))
        assert [f.link.split(" ", 1)[1] for f in found] == ["9600 8N1 unit 4"]
        assert seen[-1] == (2, "found")
        with pytest.raises(ConnectionFailed, match="refused every setting"):
            await probe_port(wire.client_path, bauds=[9600], parities=["E"], units=[4])
    finally:
        await wire.stop()


async def test_missing_port_is_connection_failed(tmp_path):
    with pytest.raises(ConnectionFailed, match="no such port"):
        await probe_port(str(tmp_path / "ttyUSB9"), units=[1])


def test_open_errors_say_what_to_do():
    denied = open_error("/dev/ttyUSB0", OSError(errno.EACCES, "Permission denied"))
    assert isinstance(denied, ConnectionFailed)
    assert "permission denied" in str(denied) and "dialout" in str(denied)
    assert "\n" not in str(denied)
    busy = open_error("/dev/ttyUSB0", OSError(errno.EBUSY, "Device or resource busy"))
    assert "in use" in str(busy)


def test_discovery_does_not_import_textual():
    code = ("import sys, solartui.discovery.rtu_probe, solartui.discovery.serial_ports; "
            "assert 'textual' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)

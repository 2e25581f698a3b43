"""PI30 links end to end against the simulated inverter, no mocks:

* serial: pyserial on the client side of a pty pair, the simulator on the other side at 2400 8N1;
* hidraw: the hidraw transport on a pty standing in for /dev/hidrawN (9-byte report-ID writes,
  8-byte reports back; a pty is a byte stream, so report framing is emulated, see sim/pi30_pty);
* usb: the pyusb transport through pyusb itself, with the simulator as the pyusb backend.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from solartui.errors import ConnectionFailed, LinkError, NoAnswer
from solartui.links.pi30_hidraw import Pi30HidrawTransport
from solartui.links.pi30_link import Pi30Link
from solartui.links.pi30_serial import Pi30SerialTransport
from solartui.links.pi30_usb import Pi30UsbTransport
from solartui.links.scheduler import PRIORITY_POLL, PRIORITY_WRITE
from solartui.pi30 import (
    Pi30BadCrc,
    Pi30DeviceBusy,
    Pi30DeviceGone,
    Pi30DeviceNotFound,
    Pi30Nak,
    Pi30NotSupported,
    Pi30PermissionDenied,
    Pi30Timing,
    Pi30Truncated,
    encode_request,
    encode_response,
    hid_chunks,
)
from solartui.sim.pi30_inverter import Pi30Faults, Pi30Inverter
from solartui.sim.pi30_pty import Pi30PtyServer, serve_pi30_on_pty
from solartui.sim.pi30_usb_backend import Pi30UsbBackend

ROOT = Path(__file__).resolve().parent.parent
FAST = Pi30Timing(timeout=0.4, min_period=0.0, chunk_gap=0.0, drain_timeout=0.005,
                  read_timeout=0.1)
KINDS = ["serial", "hidraw", "usb"]
LONG_COMMANDS = ["QPIGS2", "PBCV48.0", "MCHGC090", "MUCHGC030", "QMUCHGCR",
                 "DAT20250101120000"]


def noon_clock(start: float | None = None):
    """A host clock that starts at today's local noon and runs in real time."""
    t0 = time.time()
    lt = time.localtime(t0)
    noon = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 12, 0, 0, 0, 0, -1))
    base = noon if start is None else start
    return lambda: base + (time.time() - t0)


@dataclass
class Rig:
    kind: str
    link: Pi30Link
    inverter: Pi30Inverter
    server: Pi30PtyServer | None = None
    backend: Pi30UsbBackend | None = None

    @property
    def faults(self) -> Pi30Faults:
        return self.inverter.faults


async def make_rig(kind: str, inverter: Pi30Inverter | None = None,
                   timing: Pi30Timing = FAST) -> Rig:
    inverter = inverter or Pi30Inverter(clock=noon_clock())
    if kind == "usb":
        backend = Pi30UsbBackend(inverter)
        return Rig(kind, Pi30Link(Pi30UsbTransport(backend=backend, timing=timing)), inverter,
                   backend=backend)
    server = await serve_pi30_on_pty(inverter, mode=kind)
    transport = (Pi30SerialTransport(server.client_path, timing=timing) if kind == "serial"
                 else Pi30HidrawTransport(server.client_path, timing=timing))
    return Rig(kind, Pi30Link(transport), inverter, server=server)


async def close_rig(rig: Rig) -> None:
    await rig.link.close()
    if rig.server is not None:
        await rig.server.stop()


@pytest.fixture(params=KINDS)
async def rig(request):
    r = await make_rig(request.param)
    yield r
    await close_rig(r)


# --- queries -------------------------------------------------------------------------------------

async def test_queries_end_to_end(rig):
    frames = []
    rig.link.add_sink(frames.append)
    assert (await rig.link.query("QPI")).payload == "PI30"
    assert (await rig.link.query("QID")).payload == "92932105105335"
    qsid = await rig.link.query("QSID")
    assert qsid.payload[:2] == "14" and qsid.payload[2:16] == "92932105105335"
    assert (await rig.link.query("QVFW")).payload == "VERFW:00072.70"
    qpigs = await rig.link.query("QPIGS")
    assert len(qpigs.fields) == 21
    assert float(qpigs.fields[2]) == 230.0
    assert 0 < float(qpigs.fields[19]) <= 4000          # noon: PV is producing
    assert len((await rig.link.query("QPIGS2")).fields) == 3
    qpiri = await rig.link.query("QPIRI")
    assert len(qpiri.fields) == 25 and qpiri.fields[7] == "48.0"
    assert (await rig.link.query("QMOD")).payload in ("L", "B")
    assert (await rig.link.query("QPIWS")).payload == "0" * 36
    assert (await rig.link.query("QFLAG")).payload == "EakxyDbjuvz"
    assert len((await rig.link.query("QT")).payload) == 14
    assert len((await rig.link.query("QDI")).fields) == 26
    assert (await rig.link.query("QMCHGCR")).fields[0] == "010"
    assert (await rig.link.query("QMUCHGCR")).fields[0] == "002"
    # the trace holds each request as sent and each reply as received
    tx = [f.data for f in frames if f.direction == "tx"]
    assert tx[0] == encode_request("QPI") and tx[1] == encode_request("QID")
    rx = [f.data for f in frames if f.direction == "rx"]
    assert rx[0].startswith(encode_response("PI30"))
    assert rig.link.stats.requests == rig.link.stats.replies == 14


async def test_long_commands_are_chunked(rig):
    """9-byte and longer frames: the inverter receives exactly the command, and over USB every
    SET_REPORT carries one zero-padded 8-byte chunk."""
    for command in LONG_COMMANDS:
        r = await rig.link.request(command)
        assert r.is_ack or len(r.fields) >= 3
        assert rig.inverter.log[-1].command == command
    if rig.backend is not None:
        expected = [c for cmd in LONG_COMMANDS for c in hid_chunks(encode_request(cmd))]
        assert rig.backend.device.reports_sent == expected
    if rig.kind == "hidraw":
        assert rig.server.lost_bytes == 0
        assert bytes(rig.server.received) == b"".join(
            c for cmd in LONG_COMMANDS for c in hid_chunks(encode_request(cmd)))


# --- setters -------------------------------------------------------------------------------------

async def test_setter_flow(rig):
    link = rig.link
    before = (await link.query("QPIRI")).fields
    assert before[8] == "46.0"
    r = await link.send("PBCV48.0")
    assert r.is_ack and not r.is_nak
    assert (await link.query("QPIRI")).fields[8] == "48.0"
    r = await link.send("PBCV48.5")                       # not in the 48 V value set
    assert r.is_nak
    assert (await link.query("QPIRI")).fields[8] == "48.0"
    for command, index, value in [("POP02", 16, "2"), ("PCP03", 17, "3"), ("PGR01", 15, "1"),
                                  ("PBT02", 12, "2"), ("PBDV00.0", 22, "00.0"),
                                  ("PSDV44.0", 9, "44.0"), ("PCVV57.6", 10, "57.6"),
                                  ("PBFT54.4", 11, "54.4"), ("MCHGC090", 14, "090"),
                                  ("MUCHGC002", 13, "02"), ("MNCHGC0120", 14, "120")]:
        assert (await link.send(command)).is_ack, command
        assert (await link.query("QPIRI")).fields[index] == value, command
    for refused in ["POP03", "PCP04", "PBDV47.0", "PSDV39.9", "PCVV58.5", "MCHGC095",
                    "MUCHGC005", "PBCV48", "PEq"]:
        assert (await link.send(refused)).is_nak, refused
    assert (await link.send("PDa")).is_ack
    assert (await link.send("PEbuv")).is_ack
    assert (await link.query("QFLAG")).payload == "EbkuvxyDajz"
    assert (await link.send("DAT250101120000")).is_ack
    assert (await link.query("QT")).payload[:12] == "202501011200"
    assert (await link.send("DAT20240229235958")).is_ack
    assert (await link.query("QT")).payload[:12] == "202402292359"
    assert (await link.send("DAT20250230120000")).is_nak        # no 30 February
    assert (await link.send("PF")).is_ack
    assert (await link.query("QPIRI")).fields[8] == "46.0"
    assert (await link.query("QFLAG")).payload == "EakxyDbjuvz"


async def test_send_goes_before_queued_polls():
    rig = await make_rig("serial", timing=Pi30Timing(timeout=0.4, min_period=0.05,
                                                     drain_timeout=0.005))
    try:
        order = []

        async def poll():
            await rig.link.query("QPIGS", priority=PRIORITY_POLL)
            order.append("poll")

        async def setter():
            await asyncio.sleep(0.01)
            await rig.link.send("POP01", priority=PRIORITY_WRITE)
            order.append("set")

        await asyncio.gather(poll(), poll(), poll(), setter())
        assert order.index("set") < 3
        assert rig.link.stats.min_gap() >= 0.05 - 0.005
    finally:
        await close_rig(rig)


# --- refusals, silence and bad replies -----------------------------------------------------------

async def test_nak(rig):
    rig.faults.nak_all = True
    with pytest.raises(Pi30Nak) as err:
        await rig.link.query("QPIGS")
    assert err.value.command == "QPIGS" and err.value.frame.startswith(b"(NAK")
    assert (await rig.link.request("QPIGS")).is_nak
    assert (await rig.link.send("POP02")).is_nak
    rig.faults.nak_all = False
    rig.faults.no_crc = True                              # vendor-document form (NAK<cr>
    r = await rig.link.send("POP09")
    assert r.is_nak and r.crc == "none"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("unsupported, error", [("nak", Pi30Nak), ("echo", Pi30NotSupported)])
async def test_model_without_qpigs2(kind, unsupported, error):
    rig = await make_rig(kind, Pi30Inverter(qpigs2=False, unsupported=unsupported))
    try:
        with pytest.raises(error) as err:
            await rig.link.query("QPIGS2")
        if error is Pi30NotSupported:
            assert err.value.frame == encode_request("QPIGS2")
        assert (await rig.link.query("QPI")).payload == "PI30"   # nothing left over
    finally:
        await close_rig(rig)


async def test_silence_is_no_answer_within_the_timeout(rig):
    rig.faults.silent = True
    start = time.monotonic()
    with pytest.raises(NoAnswer) as err:
        await rig.link.query("QPIGS")
    elapsed = time.monotonic() - start
    assert FAST.timeout - 0.05 <= elapsed < FAST.timeout + 0.5
    assert "QPIGS" in str(err.value) and "400 ms" in str(err.value)
    assert rig.link.stats.timeouts == 1
    rig.faults.silent = False
    assert (await rig.link.query("QPI")).payload == "PI30"


async def test_retries_on_silence(rig):
    rig.faults.silent = True
    with pytest.raises(NoAnswer):
        await rig.link.query("QPI", retries=2, timeout=0.1)
    assert rig.link.stats.requests == 3 and rig.link.stats.timeouts == 3


async def test_junk_and_lf_after_cr_are_dropped_and_drained(rig):
    rig.faults.junk_after_cr = b"\x00JUNK(NAK\x01"
    rig.faults.lf_after_cr = True
    for _ in range(3):
        assert (await rig.link.query("QPI")).payload == "PI30"
        assert (await rig.link.query("QMOD")).payload in ("L", "B")
    assert rig.link.stats.errors == 0


async def test_truncated_reply(rig):
    rig.faults.truncate = 20
    start = time.monotonic()
    with pytest.raises(Pi30Truncated) as err:
        await rig.link.query("QPIGS")
    assert time.monotonic() - start >= FAST.timeout - 0.05
    assert err.value.frame.startswith(b"(") and b"\r" not in err.value.frame
    assert len(err.value.frame.rstrip(b"\x00")) == 20      # HID reports are zero-padded
    rig.faults.truncate = None
    assert (await rig.link.query("QPI")).payload == "PI30"


async def test_bad_crc_reply(rig):
    rig.faults.corrupt_crc = True
    with pytest.raises(Pi30BadCrc) as err:
        await rig.link.query("QPIRI")
    assert err.value.frame.startswith(b"(230.0")
    assert rig.link.stats.errors == 1


async def test_stale_reply_is_drained(rig):
    """A late reply to an earlier command sits in the input: the next command must not read it."""
    await rig.link.connect()                              # opening a port flushes its input
    stale = encode_response("STALE")
    if rig.backend is not None:
        rig.backend.device.queue_reply(stale)
    else:
        rig.server._write(b"".join(hid_chunks(stale)) if rig.kind == "hidraw" else stale)
        await asyncio.sleep(0.05)
    frames = []
    rig.link.add_sink(frames.append)
    assert (await rig.link.query("QPI")).payload == "PI30"
    assert frames[0].direction == "rx" and frames[0].data.startswith(stale)
    assert frames[1].direction == "tx"


async def test_latency_within_timeout(rig):
    rig.faults.latency = 0.15
    start = time.monotonic()
    assert (await rig.link.query("QPI")).payload == "PI30"
    assert time.monotonic() - start >= 0.15


# --- unplugging ----------------------------------------------------------------------------------

async def test_unplugged_mid_command(rig):
    assert (await rig.link.query("QPI")).payload == "PI30"
    rig.faults.unplug_on = "QPIGS"
    with pytest.raises(Pi30DeviceGone) as err:
        await rig.link.query("QPIGS")
    assert "unplugged" in str(err.value)
    assert isinstance(err.value, ConnectionFailed)
    if rig.backend is not None:                           # plug it back in: found anew
        rig.faults.unplug_on = None
        rig.backend.device.replug()
        assert (await rig.link.query("QPI")).payload == "PI30"
    else:                                                 # the pty is gone for good
        with pytest.raises((Pi30DeviceNotFound, ConnectionFailed)):
            await rig.link.query("QPI")


# --- opening: one clear line per problem ---------------------------------------------------------

async def test_usb_connect_detaches_and_close_reattaches():
    backend = Pi30UsbBackend(Pi30Inverter())
    dev = backend.device
    link = Pi30Link(Pi30UsbTransport(backend=backend, timing=FAST))
    await link.connect()
    assert (dev.kernel_driver, dev.claimed) == (False, True)
    assert link.description == "USB 0665:5161 bus 1 port 1"
    assert (await link.query("QPI")).payload == "PI30"
    await link.close()
    assert (dev.kernel_driver, dev.claimed, dev.open_handles) == (True, False, 0)


async def test_usb_picks_the_pinned_device():
    backend = Pi30UsbBackend()
    backend.add_device(Pi30Inverter(serial="11111111111111"), bus=1, address=4,
                       port_numbers=(1, 2))
    backend.add_device(Pi30Inverter(serial="22222222222222"), bus=1, address=9,
                       port_numbers=(1, 3))
    for ports, serial in [((1, 3), "22222222222222"), ((1, 2), "11111111111111")]:
        link = Pi30Link(Pi30UsbTransport(backend=backend, bus=1, port_numbers=ports,
                                         timing=FAST))
        assert (await link.query("QID")).payload == serial
        await link.close()
    link = Pi30Link(Pi30UsbTransport(backend=backend, bus=1, address=9, timing=FAST))
    assert (await link.query("QID")).payload == "22222222222222"
    await link.close()


@pytest.mark.parametrize("options, error, words", [
    ({"deny_access": True}, Pi30PermissionDenied, ["permission denied", "99-solartui-pi30.rules",
                                                  "replug"]),
    ({"held_by_other": True}, Pi30DeviceBusy, ["busy", "nutdrv_qx"]),
])
async def test_usb_open_errors(options, error, words):
    backend = Pi30UsbBackend(Pi30Inverter(), **options)
    link = Pi30Link(Pi30UsbTransport(backend=backend, timing=FAST))
    with pytest.raises(error) as err:
        await link.query("QPI")
    message = str(err.value)
    assert all(w in message for w in words), message
    assert "\n" not in message and isinstance(err.value, ConnectionFailed)
    assert backend.device.kernel_driver                    # given back to usbhid
    await link.close()


async def test_usb_not_found():
    for transport in (Pi30UsbTransport(backend=Pi30UsbBackend(), timing=FAST),
                      Pi30UsbTransport(backend=Pi30UsbBackend(Pi30Inverter()), bus=7,
                                       timing=FAST)):
        link = Pi30Link(transport)
        with pytest.raises(Pi30DeviceNotFound) as err:
            await link.connect()
        assert "no USB 0665:5161" in str(err.value)
        await link.close()


def _unreadable_path(tmp_path: Path) -> str | None:
    """A path whose open(O_RDWR) fails with EACCES for this user (mode 000 file, or a read-only
    sysfs attribute when running as root), or None."""
    path = tmp_path / "hidraw0"
    path.write_bytes(b"")
    path.chmod(0)
    candidates = [str(path), "/sys/kernel/uevent_seqnum"]
    for p in candidates:
        try:
            fd = os.open(p, os.O_RDWR | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.EACCES:
                return p
            continue
        os.close(fd)
    return None


async def test_hidraw_permission_denied(tmp_path):
    path = _unreadable_path(tmp_path)
    if path is None:
        pytest.skip("no path gives EACCES here")
    link = Pi30Link(Pi30HidrawTransport(path, timing=FAST))
    with pytest.raises(Pi30PermissionDenied) as err:
        await link.query("QPI")
    message = str(err.value)
    assert f"permission denied on {path}" in message
    assert "udev/99-solartui-pi30.rules" in message and "/etc/udev/rules.d/" in message
    assert "\n" not in message
    await link.close()


async def test_serial_permission_denied(tmp_path):
    path = _unreadable_path(tmp_path)
    if path is None:
        pytest.skip("no path gives EACCES here")
    link = Pi30Link(Pi30SerialTransport(path, timing=FAST))
    with pytest.raises(Pi30PermissionDenied) as err:
        await link.connect()
    assert "dialout" in str(err.value)
    await link.close()


async def test_not_found_paths(tmp_path):
    for transport in (Pi30HidrawTransport(str(tmp_path / "hidraw9"), timing=FAST),
                      Pi30SerialTransport(str(tmp_path / "ttyUSB9"), timing=FAST)):
        link = Pi30Link(transport)
        with pytest.raises(Pi30DeviceNotFound):
            await link.query("QPI")
        await link.close()


async def test_serial_port_busy():
    server = await serve_pi30_on_pty()
    first = Pi30Link(Pi30SerialTransport(server.client_path, timing=FAST))
    second = Pi30Link(Pi30SerialTransport(server.client_path, timing=FAST))
    try:
        await first.connect()
        with pytest.raises(Pi30DeviceBusy) as err:
            await second.connect()
        assert "in use by another program" in str(err.value)
        assert (await first.query("QPI")).payload == "PI30"
    finally:
        await first.close()
        await second.close()
        await server.stop()


async def test_wrong_baud_hears_nothing():
    server = await serve_pi30_on_pty()
    link = Pi30Link(Pi30SerialTransport(server.client_path, baud=9600, timing=FAST))
    try:
        with pytest.raises(NoAnswer):
            await link.query("QPI")
        assert server.dropped == len(encode_request("QPI"))
        assert server.inverter.log == []
    finally:
        await link.close()
        await server.stop()


# --- hidraw report-ID rule -----------------------------------------------------------------------

async def test_hidraw_without_report_id_prefix():
    """8-byte writes (mpp-solar style) work because no chunk ever starts with 0x00."""
    server = await serve_pi30_on_pty(mode="hidraw", report_id=False)
    link = Pi30Link(Pi30HidrawTransport(server.client_path, timing=FAST, report_id=False))
    try:
        for command in ("PBDV48.0", "PCVV56.4", "PBFT54.0", "QPIGS2"):
            r = await link.request(command)
            assert r.is_ack or len(r.fields) == 3, command
        assert server.lost_bytes == 0
    finally:
        await link.close()
        await server.stop()


async def test_hidraw_unbumped_nul_loses_a_byte():
    """Why the 0x00 bump matters: PBDV46.4's raw CRC starts with 0x00, the first byte of its
    second chunk; written bare to hidraw the kernel takes it as the report number."""
    server = await serve_pi30_on_pty(mode="hidraw", report_id=False)
    transport = Pi30HidrawTransport(server.client_path, timing=FAST, report_id=False)
    try:
        raw_frame = b"PBDV46.4\x00\x4e\r"
        reply = await transport.exchange(raw_frame, 0.4)
        assert server.lost_bytes == 1
        assert server.inverter.log[-1].command is None          # its CRC no longer matched
        assert reply.startswith(encode_response("NAK"))
    finally:
        await transport.close()
        await server.stop()


# --- the simulator's own behaviour ---------------------------------------------------------------

def _ask(inverter: Pi30Inverter, command: str) -> str:
    from solartui.pi30 import parse_response
    ex = inverter.handle(encode_request(command))
    return parse_response(ex.reply, command).payload


def test_pv_follows_the_day_and_battery_drifts():
    now = [0.0]
    lt = time.localtime()
    noon = time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 12, 0, 0, 0, 0, -1))
    midnight = noon - 12 * 3600
    now[0] = midnight
    inv = Pi30Inverter(clock=lambda: now[0], soc=60.0)
    night = _ask(inv, "QPIGS").split()
    assert int(night[19]) == 0 and float(night[13]) == 0.0
    now[0] = noon
    _ask(inv, "QPIGS")
    day = _ask(inv, "QPIGS").split()
    assert int(day[19]) > 2000 and float(day[13]) > 250
    soc_before = inv.soc
    now[0] += 600                                          # ten sunny minutes charge the battery
    _ask(inv, "QPIGS")
    assert inv.soc > soc_before
    loads = set()
    for _ in range(5):
        now[0] += 30
        loads.add(_ask(inv, "QPIGS").split()[5])
    assert len(loads) > 1                                  # the load wanders


def test_sbu_runs_from_battery_until_recharge_voltage():
    now = [time.mktime(time.localtime()[:3] + (22, 0, 0, 0, 0, -1))]     # evening, no sun
    inv = Pi30Inverter(clock=lambda: now[0], soc=100.0, battery_wh=5000.0)
    assert _ask(inv, "QMOD") == "L"                        # utility first by default
    assert _ask(inv, "POP02") == "ACK"
    assert _ask(inv, "QMOD") == "B"
    volts = []
    for _ in range(100):                                   # discharge through the night
        now[0] += 600
        volts.append(float(_ask(inv, "QPIGS").split()[8]))
        if _ask(inv, "QMOD") == "L":
            break
    assert _ask(inv, "QMOD") == "L"                        # back to utility at re-charge voltage
    assert volts[-1] <= 46.5 and inv.soc < 40
    assert volts[0] > volts[-1]


def test_warning_bits_and_grid_loss():
    inv = Pi30Inverter()
    inv.warnings = {1, 9}
    assert _ask(inv, "QPIWS")[:10] == "0100000001"
    inv.grid = False
    bits = _ask(inv, "QPIWS")
    assert bits[5] == "1" and len(bits) == 36
    assert _ask(inv, "QMOD") == "B"


def test_bad_request_crc():
    inv = Pi30Inverter()
    ex = inv.handle(b"QPI\x00\x00\r")
    assert ex.command is None and ex.reply == encode_response("NAK")
    inv.faults.bad_request_crc = "silent"
    assert inv.handle(b"QPI\x00\x00\r").reply is None


def test_stream_feed_handles_split_and_merged_requests():
    inv = Pi30Inverter()
    data = encode_request("QPI") + b"\x00\x00\n" + encode_request("QMOD")
    out = inv.feed(data[:4]) + inv.feed(data[4:])
    assert [ex.command for ex in out] == ["QPI", "QMOD"]


def test_usb_backend_refuses_unpadded_chunks():
    import usb.core
    import usb.util
    backend = Pi30UsbBackend(Pi30Inverter())
    dev = usb.core.find(idVendor=0x0665, idProduct=0x5161, backend=backend)
    assert dev is not None and dev.manufacturer == "INNO TECH"
    dev.detach_kernel_driver(0)
    usb.util.claim_interface(dev, 0)
    with pytest.raises(usb.core.USBError) as err:
        dev.ctrl_transfer(0x21, 0x09, 0x0200, 0, b"QPIGS")
    assert err.value.errno == errno.EPIPE
    dev.ctrl_transfer(0x21, 0x09, 0x0200, 0, hid_chunks(encode_request("QPI"))[0])
    report = bytes(dev.read(0x81, 8, timeout=100))
    assert report.startswith(b"(PI30")
    with pytest.raises(usb.core.USBTimeoutError):
        while True:
            dev.read(0x81, 8, timeout=20)
    usb.util.dispose_resources(dev)


# --- the udev rule -------------------------------------------------------------------------------

def test_udev_rule_file():
    rules = ROOT / "udev" / "99-solartui-pi30.rules"
    text = rules.read_text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    hidraw = [ln for ln in lines if 'SUBSYSTEM=="hidraw"' in ln]
    usb = [ln for ln in lines if 'SUBSYSTEM=="usb"' in ln]
    assert len(hidraw) == 1 and len(usb) == 1
    for ln in hidraw + usb:
        assert '"0665"' in ln and '"5161"' in ln
        assert 'MODE="0660"' in ln and 'GROUP="plugdev"' in ln
    assert stat.S_ISREG(rules.stat().st_mode)


def test_errors_are_link_errors():
    for kind in (Pi30PermissionDenied, Pi30DeviceBusy, Pi30DeviceNotFound, Pi30DeviceGone):
        assert issubclass(kind, ConnectionFailed) and issubclass(kind, LinkError)

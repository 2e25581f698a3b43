"""USB discovery: HID uevent parsing, recognition, a scan over a fake sysfs tree (a real directory
tree in tmp_path), pyusb through a stand-in backend, and listing on this machine."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
import usb.backend

from solartui.discovery.results import Found
from solartui.discovery.usb import (
    PI30_PENDING, UsbDeviceInfo, list_hidraw, list_pyusb, list_usb_devices, parse_hid_uevent,
    recognise, recognised, scan_usb,
)
from solartui.errors import SolartuiError

AXPERT_UEVENT = """DRIVER=hid-generic
HID_ID=0003:00000665:00005161
HID_NAME=INNO TECH USB to Serial
HID_PHYS=usb-0000:01:00.0-1.3/input0
HID_UNIQ=
MODALIAS=hid:b0003g0001v00000665p00005161
"""
KEYBOARD_UEVENT = """DRIVER=hid-generic
HID_ID=0003:0000046D:0000C31C
HID_NAME=Logitech USB Keyboard
"""


def test_parse_hid_uevent():
    assert parse_hid_uevent(AXPERT_UEVENT) == (0x0665, 0x5161, "INNO TECH USB to Serial")
    assert parse_hid_uevent(KEYBOARD_UEVENT) == (0x046D, 0xC31C, "Logitech USB Keyboard")
    assert parse_hid_uevent("HID_ID=0003:00000665:00005161\n") == (0x0665, 0x5161, None)
    assert parse_hid_uevent("HID_ID=0003:00000665:00005161\nHID_NAME=\n") == (0x0665, 0x5161, None)


@pytest.mark.parametrize("text", ["", "DRIVER=hid-generic\n", "HID_ID=0003:0665\n",
                                  "HID_ID=0003:zzzz:5161\n", "HID_ID=0003:00010000:00000001\n",
                                  "garbage without equals"])
def test_parse_hid_uevent_rejects(text):
    assert parse_hid_uevent(text) is None


def test_recognise():
    what = recognise(0x0665, 0x5161)
    assert what and "Voltronic/Axpert" in what and "PI30" in what and "UPS" in what
    assert recognise(0x1A86, 0x7523) is None      # a CH340 serial adapter: the serial scan's job
    assert recognise(0x0665, 0x5162) is None


def _fake_sysfs(root):
    """/sys/class/hidraw as the kernel lays it out: hidrawN/device/uevent."""
    for name, text in (("hidraw0", KEYBOARD_UEVENT), ("hidraw1", AXPERT_UEVENT),
                       ("hidraw10", AXPERT_UEVENT.replace("INNO TECH USB to Serial", "second"))):
        (root / name / "device").mkdir(parents=True)
        (root / name / "device" / "uevent").write_text(text)
    (root / "hidraw2" / "device").mkdir(parents=True)          # no uevent: skipped
    (root / "hidraw3" / "device").mkdir(parents=True)
    (root / "hidraw3" / "device" / "uevent").write_text("DRIVER=x\n")   # no HID_ID: skipped
    return root


def test_list_hidraw_over_fake_sysfs(tmp_path):
    nodes = list_hidraw(_fake_sysfs(tmp_path / "hidraw"))
    assert [(n.path, n.id, n.name) for n in nodes] == [
        ("/dev/hidraw0", "046d:c31c", "Logitech USB Keyboard"),
        ("/dev/hidraw1", "0665:5161", "INNO TECH USB to Serial"),
        ("/dev/hidraw10", "0665:5161", "second"),
    ]
    assert all(n.source == "hidraw" for n in nodes)
    assert list_hidraw(tmp_path / "absent") == []


async def test_scan_over_fake_sysfs(tmp_path):
    root = _fake_sysfs(tmp_path / "hidraw")
    seen, progress = [], []
    found = await scan_usb(sysfs_root=root, use_pyusb=False, on_found=seen.append,
                           on_progress=progress.append)
    assert [f.target for f in found] == ["hidraw:///dev/hidraw1", "hidraw:///dev/hidraw10"]
    assert seen == found
    f = found[0]
    assert f.kind == "usb" and f.map_id is None
    assert f.link == "/dev/hidraw1 (USB 0665:5161)"
    assert "Voltronic/Axpert-style inverter" in f.detail
    assert "INNO TECH USB to Serial" in f.detail
    assert f.detail.endswith(PI30_PENDING)
    assert "USB device at /dev/hidraw1" in f.title()
    assert (progress[0].done, progress[0].total) == (0, 2)
    assert (progress[-1].done, progress[-1].total) == (2, 2)


async def test_scan_with_dev_root(tmp_path):
    root = _fake_sysfs(tmp_path / "hidraw")
    found = await scan_usb(sysfs_root=root, dev_root="/tmp/fake-dev/", use_pyusb=False)
    assert found[0].target == "hidraw:///tmp/fake-dev/hidraw1"


async def test_identify_pi30_hook(tmp_path):
    root = _fake_sysfs(tmp_path / "hidraw")
    asked = []

    async def qpi(item: Found) -> Found | None:
        asked.append(item.target)
        if item.target.endswith("hidraw10"):
            raise SolartuiError("no answer to QPI within 1000 ms")
        return replace(item, vendor="Voltronic", serial="92931", map_id="pi30",
                       detail="PI30 protocol 30")

    found = await scan_usb(sysfs_root=root, use_pyusb=False, identify_pi30=qpi)
    assert asked == ["hidraw:///dev/hidraw1", "hidraw:///dev/hidraw10"]
    assert (found[0].map_id, found[0].serial, found[0].vendor) == ("pi30", "92931", "Voltronic")
    assert found[1].map_id is None
    assert "QPI failed: no answer to QPI" in found[1].detail
    assert PI30_PENDING not in found[1].detail

    async def silent(item):
        return None                  # keep the preliminary result
    found = await scan_usb(sysfs_root=root, use_pyusb=False, identify_pi30=silent)
    assert found[0].detail.endswith(PI30_PENDING)


def test_recognised_prefers_hidraw_nodes():
    pyusb_dev = UsbDeviceInfo(0x0665, 0x5161, "pyusb", manufacturer="INNO", bus=1, address=5)
    other = UsbDeviceInfo(0x1D6B, 0x0002, "pyusb", product="hub", bus=1, address=1)
    only_pyusb = recognised([other, pyusb_dev])
    assert [(f.target, f.link) for f in only_pyusb] == [("hid://0665:5161?bus=1&address=5",
                                                         "USB 0665:5161 bus 1 address 5")]
    node = UsbDeviceInfo(0x0665, 0x5161, "hidraw", path="/dev/hidraw4", name="x")
    both = recognised([other, pyusb_dev, node])
    assert [f.target for f in both] == ["hidraw:///dev/hidraw4"]


class _OneDeviceBackend(usb.backend.IBackend):
    """A pyusb backend with one 0665:5161 device that cannot be opened (as without permission):
    pyusb's own enumeration and string reading run; strings come back None."""

    def enumerate_devices(self):
        yield "dev0"

    def get_device_descriptor(self, dev):
        return SimpleNamespace(
            bLength=18, bDescriptorType=1, bcdUSB=0x0110, bDeviceClass=0, bDeviceSubClass=0,
            bDeviceProtocol=0, bMaxPacketSize0=8, idVendor=0x0665, idProduct=0x5161,
            bcdDevice=0x0002, iManufacturer=1, iProduct=2, iSerialNumber=0,
            bNumConfigurations=1, address=7, bus=3, port_number=2, port_numbers=(2,), speed=1)

    def open_device(self, dev):
        raise usb.core.USBError("Access denied (insufficient permissions)", errno=13)


def test_pyusb_listing_with_unreadable_strings():
    devs = list_pyusb(_OneDeviceBackend())
    assert devs == [UsbDeviceInfo(0x0665, 0x5161, "pyusb", bus=3, address=7)]
    assert devs[0].description == "0665:5161 (bus 3 address 7)"


async def test_scan_through_pyusb_backend(tmp_path):
    found = await scan_usb(sysfs_root=tmp_path / "no-hidraw", backend=_OneDeviceBackend())
    assert [(f.kind, f.target, f.link) for f in found] == [
        ("usb", "hid://0665:5161?bus=3&address=7", "USB 0665:5161 bus 3 address 7")]


def test_listing_on_this_machine_does_not_raise():
    devices = list_usb_devices()            # no libusb or no USB here: whatever can be listed
    assert isinstance(devices, list)
    assert all(isinstance(d, UsbDeviceInfo) for d in devices)


async def test_scan_on_this_machine_does_not_raise():
    found = await scan_usb()
    assert all(f.kind == "usb" for f in found)


# --- identification by QPI, against the simulated inverter ----------------------------------------

async def test_hidraw_node_identified_by_qpi(tmp_path):
    """A fake sysfs whose hidraw1 node is the simulator's hidraw pty (a symlink in a fake /dev):
    QPI/QID/QVFW go over the wire and pick the PI30 map; hidraw10 (nothing behind it) fails
    in one line and stays unidentified."""
    import os

    from solartui.discovery.pi30_identify import pi30_identifier
    from solartui.sim.pi30_inverter import Pi30Inverter
    from solartui.sim.pi30_pty import serve_pi30_on_pty

    inverter = Pi30Inverter(serial="55501234567890")
    server = await serve_pi30_on_pty(inverter, mode="hidraw")
    dev_root = tmp_path / "dev"
    dev_root.mkdir()
    os.symlink(server.client_path, dev_root / "hidraw1")
    try:
        found = await scan_usb(sysfs_root=_fake_sysfs(tmp_path / "hidraw"), dev_root=str(dev_root),
                               use_pyusb=False, identify_pi30=pi30_identifier(timeout_ms=500))
    finally:
        await server.stop()
    first, second = found
    assert (first.map_id, first.vendor, first.serial, first.firmware) == (
        "voltronic-pi30", "Voltronic", "55501234567890", inverter.firmware)
    assert first.title().startswith("Voltronic 55501234567890 at ")
    assert second.map_id is None and "QPI failed" in second.detail
    assert "\n" not in second.detail
    assert [e.command for e in inverter.log][:1] == ["QPI"]


async def test_pyusb_device_identified_and_a_ups_is_not(tmp_path):
    from solartui.discovery.pi30_identify import pi30_identifier
    from solartui.sim.pi30_inverter import Pi30Inverter
    from solartui.sim.pi30_usb_backend import Pi30UsbBackend

    backend = Pi30UsbBackend(Pi30Inverter(serial="11122233344455"), bus=1, address=5)
    ups = Pi30Inverter()
    ups.answer = lambda command: "PI17" if command == "QPI" else None
    backend.add_device(ups, bus=1, address=9)
    found = await scan_usb(sysfs_root=tmp_path / "none", backend=backend,
                           identify_pi30=pi30_identifier(backend, timeout_ms=500))
    by_target = {f.target: f for f in found}
    inverter = by_target["hid://0665:5161?bus=1&address=5"]
    assert (inverter.map_id, inverter.serial) == ("voltronic-pi30", "11122233344455")
    other = by_target["hid://0665:5161?bus=1&address=9"]
    assert other.map_id is None and "PI17" in other.detail and "not PI30" in other.detail

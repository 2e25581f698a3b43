"""`solartui simulate --site`: every device of a site file simulated where the file says, so
`solartui log SITE` runs with no hardware; and what it refuses, in one line."""

from __future__ import annotations

import asyncio
import csv
import os
import socket
import sys
import textwrap

import pytest

from solartui.cli.simulate_site import PLACE_RULE, check_site
from solartui.errors import SolartuiError
from solartui.site.site_file import load_site

from conftest import ROOT
from procs import run_cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def site_file(tmp_path, devices: str, period: float = 60):
    path = tmp_path / "site.yaml"
    path.write_text(f"schema: 1\nsite: sim\nperiod: {period}\ndevices:\n"
                    + textwrap.indent(textwrap.dedent(devices).strip("\n"), "  ") + "\n")
    return path


async def start_site_simulator(path, timeout=30):
    """`solartui simulate --site PATH` running; returns (process, its target lines)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "simulate", "--site", str(path), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    targets = []
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout)).decode()
        if not line:
            proc.kill()
            raise AssertionError((await proc.stderr.read()).decode())
        if line.startswith("target: "):
            targets.append(line.split(" ", 1)[1].strip())
        if line.startswith("ready: "):
            return proc, targets


def rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


async def test_simulate_a_site_and_log_it(tmp_path):
    port = free_port()
    bus, pi30 = tmp_path / "bus0", tmp_path / "pi30"
    path = site_file(tmp_path, f"""
        - {{name: inv-1, target: "rtu://{bus}?baud=9600&period=200", map: growatt-protocol-ii,
           unit: 1, points: [inverter_status, ppv, pac, eac_today]}}
        - {{name: inv-2, target: "rtu://{bus}?baud=9600&period=200", map: growatt-protocol-ii,
           unit: 2, points: [inverter_status, ppv, pac, eac_today]}}
        - {{name: garage, target: "tcp://127.0.0.1:{port}?period=100", map: growatt-protocol-ii,
           points: [ppv, pac]}}
        - {{name: offgrid, target: "pi30://{pi30}", map: voltronic-pi30,
           points: [battery_voltage, ac_output_active_power, mode]}}
        """)
    proc, targets = await start_site_simulator(path)
    try:
        assert targets == [f"rtu://{bus}?unit=1&baud=9600&parity=N",
                           f"rtu://{bus}?unit=2&baud=9600&parity=N",
                           f"tcp://127.0.0.1:{port}?unit=1", f"pi30://{pi30}?baud=2400"]
        assert os.readlink(bus).startswith("/dev/pts/") and os.readlink(pi30).startswith("/dev/")
        code, out, err = await run_cli("log", str(path), "--once")
        assert code == 0, err
        for name, columns in (("inv-1", 4), ("inv-2", 4), ("garage", 2), ("offgrid", 3)):
            header, row = rows(tmp_path / f"{name}.csv")
            assert len(header) == len(row) == columns + 2
            assert all(row[1:-1]) and row[-1] == "", (name, row)
        header, row = rows(tmp_path / "offgrid.csv")
        assert header == ["time", "battery_voltage (V)", "ac_output_active_power (W)",
                          "mode", "note"]
        assert float(row[1]) > 0 and not row[3][0].isdigit()      # an enum label, not a code
        # a second simulator for the same site leaves the running one's ports alone
        code, out, err = await run_cli("simulate", "--site", str(path), timeout=30)
        assert code == 1 and "Traceback" not in err
        [line] = err.strip().splitlines()
        assert f"{bus} is a symlink to /dev/pts/" in line and "a pty in use" in line
        assert os.readlink(bus).startswith("/dev/pts/")
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
    assert proc.returncode == 0
    assert not os.path.lexists(bus) and not os.path.lexists(pi30)   # symlinks removed


def test_what_cannot_be_simulated(tmp_path):
    real = tmp_path / "ttyUSB0"
    real.write_text("")
    for devices, fragment in [
        (f'- {{name: a, target: "rtu://{real}", map: growatt-protocol-ii}}',
         f"{PLACE_RULE}: {real} exists and is a file"),
        ('- {name: a, target: "rtu:///dev/ttyUSB7", map: growatt-protocol-ii}',
         f"{PLACE_RULE}: /dev/ttyUSB7 is under /dev, where real ports live"),
        (f'- {{name: a, target: "rtu://{tmp_path}/no/such/dir/tty", map: growatt-protocol-ii}}',
         "the folder"),
        ('- {name: a, target: "tcp://192.168.1.20:502", map: growatt-protocol-ii}',
         "only listens on loopback addresses (127.0.0.0/8), not on 192.168.1.20"),
        ('- {name: a, target: "givenergy://example.com", map: givenergy-hybrid}',
         "not on example.com"),
        ('- {name: a, target: "hidraw:///dev/hidraw0", map: voltronic-pi30}',
         "hidraw:// cannot be emulated as a path"),
        ('- {name: a, target: "hid://0665:5161", map: voltronic-pi30}',
         "hid:// cannot be emulated as a path"),
    ]:
        with pytest.raises(SolartuiError) as info:
            check_site(load_site(site_file(tmp_path, devices)))
        assert fragment in str(info.value) and "\n" not in str(info.value)
    os.symlink("/dev/null", tmp_path / "by-id")
    with pytest.raises(SolartuiError, match="is a symlink to /dev/null, which is not a simulator"):
        check_site(load_site(site_file(
            tmp_path, f'- {{name: a, target: "rtu://{tmp_path}/by-id", map: voltronic-pi30}}'
                      .replace("rtu://", "pi30://"))))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SolartuiError, match=f"cannot listen on 127.0.0.1:{port}: "):
            check_site(load_site(site_file(
                tmp_path, f'- {{name: a, target: "tcp://127.0.0.1:{port}", map: growatt-protocol-ii}}')))
    os.symlink(tmp_path / "gone", tmp_path / "stale")           # a leftover: may be replaced
    check_site(load_site(site_file(
        tmp_path, f'- {{name: a, target: "rtu://{tmp_path}/stale", map: growatt-protocol-ii}}')))


@pytest.mark.parametrize("args, fragment", [
    (["--pty"], "--pty does not go with --site"),
    (["--fault", "silent"], "--fault does not go with --site"),
    (["growatt-protocol-ii"], "give either MAP ('growatt-protocol-ii') or --site, not both"),
])
async def test_simulate_site_refuses_other_options(tmp_path, args, fragment):
    path = site_file(tmp_path, '- {name: a, target: "tcp://127.0.0.1:1", map: growatt-protocol-ii}')
    code, out, err = await run_cli("simulate", *args, "--site", str(path))
    assert code == 1 and "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith("solartui: ") and fragment in line

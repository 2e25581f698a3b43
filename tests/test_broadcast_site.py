"""A site file with a FlexMax: `simulate --site` broadcasts on the path it names and
`solartui log` logs it, as pysungrow did; what the site file refuses for listen-only devices."""

from __future__ import annotations

import asyncio
import os

import pytest

from solartui.site.site_file import load_site
from solartui.errors import SolartuiError

from procs import run_cli
from test_simulate_site import rows, site_file, start_site_simulator


async def test_simulate_and_log_a_flexmax_site(tmp_path):
    mate = tmp_path / "mate"
    path = site_file(tmp_path, f"""
        - {{name: cc, target: "broadcast://{mate}?map=outback-flexmax", map: outback-flexmax,
           points: [battery_voltage, charger_current, charger_mode, error_mode, daily_energy]}}
        """)
    proc, targets = await start_site_simulator(path)
    try:
        assert targets == [f"broadcast://{mate}?map=outback-flexmax"]
        assert os.readlink(mate).startswith("/dev/pts/")
        for _ in range(2):
            code, out, err = await run_cli("log", str(path), "--once")
            assert code == 0, err
        header, *data = rows(tmp_path / "cc.csv")
        assert header == ["time", "battery_voltage (V)", "charger_current (A)", "charger_mode",
                          "error_mode", "daily_energy (kWh)", "note"]
        assert len(data) == 2
        for row in data:
            assert row[1] == "27.4" and float(row[2]) > 0 and row[3] == "Bulk"
            assert row[4] == "none" and row[-1] == ""
        code, out, err = await run_cli("read", targets[0], "charger_mode", "--json")
        assert code == 0 and '"Bulk"' in out, err
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
    assert proc.returncode == 0 and not os.path.lexists(mate)


async def test_log_of_a_silent_port_is_a_row_note(tmp_path):
    path = site_file(tmp_path, f"""
        - {{name: cc, target: "broadcast://{tmp_path}/nothing?map=outback-flexmax&timeout=300",
           map: outback-flexmax, points: [battery_voltage]}}
        """)
    code, out, err = await run_cli("log", str(path), "--once")
    header, row = rows(tmp_path / "cc.csv")
    assert row[1] == "" and "does not exist" in row[-1]


@pytest.mark.parametrize("device, fragment", [
    ('{name: a, target: "broadcast:///dev/ttyS9?map=outback-flexmax", map: voltronic-pi30}',
     "no broadcast page map 'voltronic-pi30'"),
    ('{name: a, target: "pi30:///dev/ttyS9", map: outback-flexmax}',
     "listen-only page map: use it with broadcast://"),
    ('{name: a, target: "broadcast:///dev/ttyS9?map=outback-flexmax", map: asp-allegro}',
     "not publicly documented"),
    ('{name: a, target: "broadcast:///dev/ttyS9?map=outback-flexmax", map: outback-flexmax, '
     'points: [nope]}', "nope"),
    ('{name: a, target: "broadcast:///dev/ttyS9?map=outback-flexmax", map: outback-flexmax, '
     'unit: 2}', "has no unit address"),
    ('{name: a, target: "broadcast:///dev/ttyS9?map=outback-flexmax", map: outback-flexmax, '
     'intended: {aux_mode: 1}}', "listen-only"),
])
def test_site_file_refusals(tmp_path, device, fragment):
    path = site_file(tmp_path, "- " + device)
    with pytest.raises(SolartuiError, match=fragment):
        load_site(path)

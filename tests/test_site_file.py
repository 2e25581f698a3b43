"""Site files: what loads, what the defaults are, and every mistake found at once with its line."""

from __future__ import annotations

import re
import textwrap

import pytest

from solartui.registers.command_model import CommandField
from solartui.site.site_file import SiteError, load_site

from conftest import ROOT
from procs import run_cli

EXAMPLE = ROOT / "examples" / "site.yaml"


def site(tmp_path, text: str, name: str = "site.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def findings(path) -> list[str]:
    with pytest.raises(SiteError) as info:
        load_site(path)
    assert str(info.value) == "\n".join(info.value.findings)
    return info.value.findings


def assert_found(found: list[str], path, expected: list[tuple[int, str]]) -> None:
    """Every expected (line, fragment) is one finding, and nothing else was found."""
    assert len(found) == len(expected), "\n".join(found)
    for (line, fragment), text in zip(expected, found):
        assert text.startswith(f"{path}:{line}: "), (line, text)
        assert fragment in text, (fragment, text)


def test_example_site_loads():
    s = load_site(EXAMPLE)
    assert s.name == "example-site" and s.period == 60
    assert [d.name for d in s.devices] == ["inverter-1", "inverter-2", "garage", "offgrid"]
    bus = s.channels[0]
    assert [d.name for d in bus.devices] == ["inverter-1", "inverter-2"]
    assert [d.unit for d in bus.devices] == [1, 2]
    assert bus.period_s == 0.85 and bus.target.baud == 9600     # Growatt's pacing, shared
    assert len(s.channels) == 3
    garage = s.devices[2]
    assert garage.period == 30 and str(garage.target) == "tcp://127.0.0.1:5020?unit=1"
    offgrid = s.devices[3]
    assert offgrid.unit is None and all(isinstance(p, CommandField) for p in offgrid.points)
    assert [p.unit for p in offgrid.points] == ["W", "V", "%", "V"]


def test_defaults(tmp_path):
    path = site(tmp_path, """
        schema: 1
        site: home
        period: 10
        devices:
          - {name: inv, target: "tcp://127.0.0.1:1502?unit=3", map: growatt-protocol-ii}
          - {name: spare, target: "tcp://127.0.0.1:1502", map: growatt-protocol-ii, period: 2.5}
          - {name: axpert, target: "pi30:///dev/ttyS9", map: voltronic-pi30, points: all}
        """, "home site.yaml")
    s = load_site(path)
    inv, spare, axpert = s.devices
    assert inv.unit == 3 and spare.unit == 1                 # URL's unit, else the map's
    assert inv.csv == tmp_path / "inv.csv"                   # next to the site file
    assert s.error_log == tmp_path / "home site.errors.log"
    assert len(inv.points) == 305 and all(p.readable for p in inv.points)
    assert (inv.period, spare.period) == (10.0, 2.5)
    assert {p.command for p in axpert.points} >= {"QPIGS", "QPIRI"}   # live and settings
    assert "QPI" not in {p.command for p in axpert.points}
    assert len(s.channels) == 2 and s.channels[0].devices == (inv, spare)


def test_every_problem_found_at_once_with_its_line(tmp_path):
    path = site(tmp_path, """
        schema: 2
        site: my site
        period: 0
        colour: blue
        devices:
          - name: inv-1
            target: rtu:///dev/ttyUSB0?baud=9601
            map: growatt-protocol-ii
            points: [ppv, vpv1, pac, eac_todya, ppv]
          - name: inv-1
            target: pi30:///dev/ttyUSB1
            map: growatt-protocol-ii
          - name: axpert
            target: rtu:///dev/ttyUSB2
            map: voltronic-pi30
            unit: 2
          - name: ghost
            target: tcp://127.0.0.1
            map: no-such-map
            period: -1
            extra: 1
          - target: "rtu://dev/ttyUSB3"
          - name: gone
            target: givenergy://127.0.0.1
            map: growatt-protocol-ii
        """)
    assert_found(findings(path), path, [
        (1, "schema 2 is not supported"),
        (2, "site name 'my site' must be"),
        (3, "period must be more than 0 seconds"),
        (4, "unknown key 'colour'"),
        (7, "device inv-1: target: baud=9601 is not a standard rate"),
        (9, "no point 'eac_todya' in map growatt-protocol-ii (did you mean eac_today"),
        (9, "point 'ppv' is listed twice"),
        (10, "device name 'inv-1' is used twice (first on line 6)"),
        (12, "a pi30:// target needs a command map"),
        (15, "map 'voltronic-pi30' describes PI30 commands, not registers"),
        (19, "no map with id 'no-such-map'"),
        (20, "device ghost: period must be more than 0 seconds, got -1"),
        (21, "unknown key 'extra'"),
        (22, "missing 'name'"),
        (22, "missing 'map'"),
        (22, "rtu:// takes a device path, not a host"),
        (25, "a givenergy:// target needs a GivEnergy map"),
    ])


def test_yaml_mistakes(tmp_path):
    path = site(tmp_path, """
        schema: 1
        site: a
        period: 5
        devices:
          - {name: x, target: "tcp://127.0.0.1", map: growatt-protocol-ii, points: [ppv}
        """)
    [finding] = findings(path)
    assert finding.startswith(f"{path}:5: not valid YAML")
    path = site(tmp_path, """
        schema: 1
        site: a
        site: b
        period: 5
        devices: []
        """)
    assert_found(findings(path), path, [(3, "duplicate key 'site'"),
                                        (5, "devices must be a list of at least one device")])
    assert_found(findings(site(tmp_path, "- just a list\n")), tmp_path / "site.yaml",
                 [(1, "a site file is a mapping")])
    missing = tmp_path / "nothing.yaml"
    with pytest.raises(SiteError, match="cannot read site file"):
        load_site(missing)


def test_devices_that_cannot_share_a_link(tmp_path):
    path = site(tmp_path, """
        schema: 1
        site: clash
        period: 5
        devices:
          - {name: a, target: "rtu:///dev/ttyS1", map: growatt-protocol-ii, csv: same.csv}
          - {name: b, target: "rtu:///dev/ttyS1?baud=38400", map: growatt-protocol-ii, unit: 2}
          - {name: c, target: "rtu:///dev/ttyS1?unit=1", map: growatt-protocol-ii}
          - {name: d, target: "pi30:///dev/ttyS1", map: voltronic-pi30}
          - {name: e, target: "pi30:///dev/ttyS2", map: voltronic-pi30, csv: ./same.csv}
          - {name: f, target: "pi30:///dev/ttyS2", map: voltronic-pi30}
          - {name: g, target: "givenergy://127.0.0.1", map: givenergy-hybrid, unit: 1}
          - {name: h, target: "tcp://127.0.0.1", map: growatt-protocol-ii, unit: 300}
          - {name: i, target: "tcp://127.0.0.1", map: growatt-protocol-ii, csv: site.errors.log}
        """)
    assert_found(findings(path), path, [
        (6, "rtu:///dev/ttyS1 runs at 38400/8N1 here but at 9600/8N1 for device a"),
        (7, "rtu:///dev/ttyS1 unit 1 is already logged as device a"),
        (8, "/dev/ttyS1 is also used by device a with rtu://: one port speaks one protocol"),
        (9, "device e: csv"),
        (10, "pi30:///dev/ttyS2 is a PI30 port already logged as device e"),
        (11, "unit 1 is outside map givenergy-hybrid's unit range 17-17"),
        (12, "unit must be a whole number 1-255, got 300"),
        (13, "is also written by the error log"),
    ])
    assert "is also written by device a" in findings(path)[3]


def test_a_shared_link_takes_the_slowest_pacing(tmp_path):
    path = site(tmp_path, """
        schema: 1
        site: pace
        period: 5
        devices:
          - {name: a, target: "rtu:///dev/ttyS1?period=100&timeout=200", map: growatt-protocol-ii}
          - {name: b, target: "rtu:///dev/ttyS1?unit=2&period=400", map: growatt-protocol-ii}
          - {name: c, target: "rtu:///dev/ttyS2?unit=2", map: growatt-protocol-ii}
          - {name: d, target: "rtu:///dev/ttyS2?unit=3&period=2000", map: growatt-protocol-ii}
          - {name: e, target: "rtu:///dev/ttyS3", map: modbus-generic}
        """)
    assert_found(findings(path), path, [(9, "map modbus-generic has no readable points")])
    path.write_text(path.read_text().rsplit("  - {name: e", 1)[0])
    one, two = load_site(path).channels
    assert (one.target.period_ms, one.target.timeout_ms) == (400, 1000)
    assert (two.target.period_ms, two.target.timeout_ms) == (2000, 1000)


async def test_log_check_on_the_command_line(tmp_path):
    code, out, err = await run_cli("log", str(EXAMPLE), "--check")
    assert code == 0, err
    assert out.startswith("site example-site: 4 devices on 3 channels")
    assert "rtu:///tmp/solartui-bus0: 850 ms between commands" in out
    bad = site(tmp_path, """
        schema: 1
        site: bad
        period: fast
        devices:
          - {name: a, target: "serial:/dev/ttyUSB0", map: growatt-protocol-ii}
        """)
    code, out, err = await run_cli("log", str(bad), "--check")
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[0] == f"solartui: {bad}:3: period must be a number of seconds, got 'fast'"
    assert re.match(rf"{re.escape(str(bad))}:5: device a: target: .* is not a target URL",
                    lines[1])
    assert len(lines) == 2

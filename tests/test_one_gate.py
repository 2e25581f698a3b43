"""One write gate: no door sends a device write on its own. Every confirmed write is executed by
solartui/devices/gate.py (which journals it); the devices implement execute_write/set_clock; the
links and the simulators build the frames. Anything else calling them is a second gate."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "solartui"

EXECUTES = re.compile(r"\.(execute_write|set_clock)\(")
FRAMES = re.compile(r"\b(WriteHolding|WriteMultiple)\(|\.write_registers?\(")


def _calls(pattern, allowed: tuple[str, ...]) -> list[str]:
    out = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).as_posix()
        if rel.startswith(allowed):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                out.append(f"{rel}:{n}: {line.strip()}")
    return out


def test_only_the_gate_executes_confirmed_writes():
    assert _calls(EXECUTES, ("solartui/devices/gate.py", "solartui/devices/register_device.py",
                             "solartui/devices/pi30_device.py", "solartui/sim/")) == []


def test_only_links_and_simulators_build_inverter_write_frames():
    assert _calls(FRAMES, ("solartui/links/", "solartui/sim/", "solartui/devices/",
                           "solartui/shine/records.py")) == []


# every door that takes a write from outside, and the origin it journals
DOORS = {"solartui/shine/http_api.py": '"http"', "solartui/mqtt/commands.py": 'origin="mqtt"'}


def test_every_door_calls_the_gate_and_plans_nothing_itself():
    """The HTTP API and the MQTT command handler hand each request to gate.run with their own
    origin; neither plans, encodes or executes a write of its own."""
    for rel, origin in DOORS.items():
        text = (ROOT.parent / rel).read_text()
        assert "gate.run(" in text and origin in text, rel
        for own in (".plan_write(", ".execute_write(", "encode_value(", "encode_setting("):
            assert own not in text, f"{rel} calls {own} itself"

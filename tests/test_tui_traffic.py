"""The traffic screen against the simulated inverter on loopback TCP (Pilot, headless), and SVG
snapshots of the app at 80×24 and 120×40 checked for structure (live values and times change, so
nothing is compared byte for byte)."""

from __future__ import annotations

import html
import math
import re

import pytest

from solartui.journal import Journal
from solartui.registers import catalog
from solartui.session import Session
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.traffic import TrafficScreen

MAP = "growatt-protocol-ii"


@pytest.fixture
async def sim_port():
    m = catalog.resolve(MAP)
    sim = ModbusSimulator([RegisterBank(m, unit=1, identity={"serial": "TEST123456"})])
    port = await sim.start_tcp("127.0.0.1", 0)
    yield port
    await sim.stop()


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    monkeypatch.setenv("SOLARTUI_HOME", str(h))
    return h


async def connected_app(port: int, tmp_path) -> SolartuiApp:
    session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
    await session.connect(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300", MAP)
    return SolartuiApp(session=session)


def view_lines(screen: TrafficScreen) -> list[str]:
    return [strip.text.rstrip() for strip in screen.log_view.lines]


async def wait_for(pilot, predicate, seconds: float = 3.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return True
        await pilot.pause(0.05)
    return predicate()


def notifications(app) -> list:
    return list(app._notifications)


async def test_traffic_screen_live_note_save_and_back(sim_port, tmp_path, home):
    app = await connected_app(sim_port, tmp_path)
    connect_lines = [str(e) for e in app.session.traffic.entries][:3]
    assert any(" TX " in line for line in connect_lines)
    async with app.run_test(size=(120, 40)) as pilot:
        before = app.screen             # the live screen; opened at once, before its polling
        assert type(before).__name__ == "LiveScreen"     # floods the view's 2,000 lines
        await pilot.press("ctrl+t")
        screen = app.screen
        assert isinstance(screen, TrafficScreen)

        # what the log held before the screen opened: the identification read and the note
        assert await wait_for(pilot, lambda: all(line in view_lines(screen)
                                                 for line in connect_lines))
        assert any("-- connected to Growatt TEST123456" in line for line in view_lines(screen))

        # a new read shows up live, TX then RX, with hex
        await app.device.link.read(3, 1, 0, 1)
        # MBAP header (transaction id, protocol 0, length 6), unit 1, FC3, address 0, count 1
        tx_pattern = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} TX ([0-9a-f]{2} [0-9a-f]{2}) "
                                r"00 00 00 06 01 03 00 00 00 01$")

        def read_lines():
            lines = view_lines(screen)
            tx = [line for line in lines if tx_pattern.match(line)]
            if not tx:
                return None
            tid = tx_pattern.match(tx[-1]).group(1)
            # the same transaction id, length 5, unit 1, FC3, 2 bytes, one word
            rx_pattern = re.compile(rf"^\S+ RX {tid} 00 00 00 05 01 03 02 [0-9a-f]{{2}} "
                                    r"[0-9a-f]{2}$")
            rx = [line for line in lines if rx_pattern.match(line)]
            return (tx[-1], rx[-1]) if rx else None

        assert await wait_for(pilot, lambda: read_lines() is not None), view_lines(screen)[-6:]
        tx_line, rx_line = read_lines()
        assert view_lines(screen).index(tx_line) < view_lines(screen).index(rx_line)

        # a write outcome (a note) shows up, highlighted
        app.session.traffic.note("write x: verified")
        assert await wait_for(pilot, lambda: any(line.endswith("-- write x: verified")
                                                 for line in view_lines(screen)))

        # s saves the whole log under state_dir() and says where
        await pilot.press("s")
        await pilot.pause()
        saved = sorted((home / "state").glob("traffic-*.log"))
        assert len(saved) == 1
        assert re.fullmatch(r"traffic-\d{8}-\d{6}\.log", saved[0].name)
        text = saved[0].read_text(encoding="utf-8")
        for line in (*connect_lines, tx_line, rx_line):
            assert line in text
        assert "-- write x: verified" in text
        assert any(str(saved[0]) in n.message for n in notifications(app))

        # escape goes back to the screen it was opened from, and stops listening
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is before
        assert screen._on_entry not in app.session.traffic._listeners


async def test_clear_pause_and_save_error(sim_port, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SOLARTUI_HOME", str(blocker / "home"))     # mkdir under a file fails
    app = await connected_app(sim_port, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("p")          # pause live polling (it keeps going under this pane)
        await pilot.pause(0.3)
        await pilot.press("ctrl+t")
        screen = app.screen
        assert await wait_for(pilot, lambda: len(view_lines(screen)) >= 3)
        n_entries = len(app.session.traffic.entries)

        await pilot.press("c")          # clears the view, not the log
        await pilot.pause()
        assert view_lines(screen) == []
        assert len(app.session.traffic.entries) >= n_entries
        app.session.traffic.note("after clear")
        assert await wait_for(pilot, lambda: any("-- after clear" in line
                                                 for line in view_lines(screen)))

        assert screen.log_view.auto_scroll
        await pilot.press("p")
        assert not screen.log_view.auto_scroll
        await pilot.press("p")
        assert screen.log_view.auto_scroll

        await pilot.press("s")          # the save fails: one error notification, no crash
        await pilot.pause()
        errors = [n for n in notifications(app) if n.severity == "error"]
        assert errors and "cannot save the traffic log" in errors[-1].message
        assert isinstance(app.screen, TrafficScreen)

        await pilot.press("ctrl+t")     # ctrl+t again closes the pane instead of stacking one
        await pilot.pause()
        assert not any(isinstance(s, TrafficScreen) for s in app.screen_stack)


# --- SVG snapshots: structure, not bytes -------------------------------------------------------

CHAR_W, LINE_H = 20 * 0.61, 20 * 1.22     # Rich's export_svg cell: font 20 px, 0.61 × 1.22


def svg_text(svg: str) -> str:
    """The screen text of a Rich/Textual SVG export, rebuilt row by row from the x/y of each text
    run (runs of plain spaces are not written as text, so joining the runs would lose them)."""
    rows: dict[float, dict[int, str]] = {}
    for x, y, body in re.findall(r'<text class="[^"]*-r\d+"[^>]*? x="([\d.]+)" y="([\d.]+)"[^>]*>'
                                 r'(.*?)</text>', svg, flags=re.S):     # not the window title
        run = html.unescape(body).replace("\xa0", " ")
        cells = rows.setdefault(float(y), {})
        col = round(float(x) / CHAR_W)
        for i, ch in enumerate(run):
            cells[col + i] = ch
    lines = []
    for y in sorted(rows):
        cells = rows[y]
        lines.append("".join(cells.get(i, " ") for i in range(max(cells) + 1)).rstrip())
    return "\n".join(lines)


def viewbox(svg: str) -> tuple[float, float]:
    _, _, w, h = map(float, re.search(r'viewBox="([^"]+)"', svg).group(1).split())
    return w, h


def expected_viewbox(cols: int, rows: int) -> tuple[float, float]:
    # Rich's export_svg frame: 8 px side padding, a 40 px title bar, 1 px margins
    return math.ceil(cols * CHAR_W + 16) + 2, rows * LINE_H + 50


async def settled_screenshot(pilot, seconds: float = 3.0) -> str:
    """A screenshot once the footer shows its bindings (it fills in after the first frames)."""
    svg = ""
    for _ in range(int(seconds / 0.1)):
        await pilot.pause(0.1)
        svg = pilot.app.export_screenshot()
        if "Help" in svg_text(svg):
            break
    return svg


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_svg_snapshot_structure(sim_port, tmp_path, size):
    cols, rows = size
    app = await connected_app(sim_port, tmp_path)
    async with app.run_test(size=size) as pilot:
        shots = {"base": await settled_screenshot(pilot)}
        await pilot.press("ctrl+t")
        shots["traffic"] = await settled_screenshot(pilot)
        for name, svg in shots.items():
            assert svg.lstrip().startswith("<svg"), name
            w, h = viewbox(svg)
            ew, eh = expected_viewbox(cols, rows)
            assert abs(w - ew) <= 1 and abs(h - eh) <= 1, (name, w, h, ew, eh)
            text = svg_text(svg)
            assert "solartui" in text, name                   # header title
            assert "TEST123456" in text, name                 # header: the connected device
            assert "Traceback" not in text, name
            assert not re.search(r'File ".*", line \d+', text), name
            assert "f1" in text and "Help" in text, name      # footer: Help is always there
        traffic = svg_text(shots["traffic"])
        for label in ("Save", "Clear", "Back"):
            assert label in traffic
        assert re.search(r"^\d\d:\d\d:\d\d\.\d{3} TX [0-9a-f]{2} ", traffic, flags=re.M)
        assert len(traffic.splitlines()) <= rows
        assert "in the log" in traffic

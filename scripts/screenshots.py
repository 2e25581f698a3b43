#!/usr/bin/env python3
"""Drive the demo headless and save an SVG screenshot of each screen to screenshots/.

Run from the repository root:  .venv/bin/python scripts/screenshots.py [--out screenshots]

It starts `SolartuiApp(demo=True)` (the simulated inverters in this process: the first target is
the Growatt inverter on a pty wire with its real 850 ms pacing) under `App.run_test` at 120×40,
waits for live values, then visits each screen: live, the attestation dialog (a value compared
with the device's display), help, the editor, the report form, registers (browser), clock, traffic log, the journal (after one
write), connect, discover, the Growatt server pane (values of the demo datalogger's inverter, then
the datalogger's registers after a read), the PI30 and GivEnergy screens. Each shot is NAME.svg
at 120×40 and NAME-80x24.svg, NAME-100x30.svg and NAME-160x50.svg (the terminal resized, as a
person would; `--sizes` changes the list). Settings and the journal go to a throw-away SOLARTUI_HOME, so the pictures do not show this
machine's recent targets and the demo leaves nothing behind. Each SVG is also converted to a PNG
in screenshots/png/ (for looking at; the README shows the SVGs) when `rsvg-convert` (Debian:
librsvg2-bin) or the cairosvg module is at hand; neither is needed. Re-run it when screens change;
`--only NAME[,NAME...]` (e.g. `--only attest`) saves just those shots and stops once they are made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (120, 40)                # NAME.svg: the size the README shows
#: every shot is also saved at these sizes as NAME-WxH.svg: an ssh session on a Pi, a small
#: window and a large one
SIZES = [(80, 24), (100, 30), (160, 50)]
ONLY: set[str] = set()          # --only: the shots wanted (empty: all)


class AllTaken(Exception):
    """Every shot --only asked for is saved: the rest of the tour is skipped."""


async def wait_until(pilot, predicate, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if predicate():
                return True
        except Exception:       # a screen mid-mount: try again
            pass
        await pilot.pause(0.2)
    return False


def live_has_values(app) -> bool:
    """True once the live screen's table shows a value (or, for a screen without a table, once a
    device is connected: there is nothing more to wait for)."""
    from textual.widgets import DataTable

    if app.device is None or type(app.screen).__name__ != "LiveScreen":
        return False
    tables = list(app.screen.query(DataTable))
    if not tables:
        return True
    table = tables[0]
    if table.row_count == 0:
        return False
    keys = [str(k.value) for k in table.columns]
    if "value" in keys:
        return any(str(v).strip() for v in table.get_column("value"))
    return any(str(v).strip() for v in table.get_row_at(0)[1:])


def server_has_values(app) -> bool:
    """True once the server pane lists a datalogger and an inverter and shows decoded values."""
    from textual.widgets import DataTable

    if type(app.screen).__name__ != "ServerScreen":
        return False
    return (app.screen.query_one("#devices", DataTable).row_count >= 2
            and app.screen.query_one("#values", DataTable).row_count > 0)


def logger_registers_read(app) -> bool:
    from textual.widgets import DataTable

    table = app.screen.query_one("#logger-regs", DataTable)
    return table.row_count > 0 and "registers read" in str(app.screen.query_one("#pane-status").render())


async def back(pilot, depth: int) -> None:
    """Escape, as a person would; if the screen kept the key (a focused input), pop it anyway."""
    app = pilot.app
    await pilot.press("escape")
    await pilot.pause(0.2)
    while len(app.screen_stack) > depth:
        app.pop_screen()
        await pilot.pause(0.1)


async def try_browser_read(pilot) -> None:
    """Type a read into the register browser if it has the widgets for one (it may be a
    placeholder): a start address and a count, then its read button or enter."""
    from textual.widgets import Button, Input

    screen = pilot.app.screen
    inputs = list(screen.query(Input))
    if not inputs:
        return
    wanted = {"address": "0", "start": "0", "count": "16"}
    typed = False
    for inp in inputs:
        ident = (inp.id or "") + " " + str(inp.placeholder or "")
        for key, value in wanted.items():
            if key in ident.lower():
                inp.value = value
                typed = True
                break
    if not typed:
        return
    buttons = [b for b in screen.query(Button)
               if "read" in ((b.id or "") + " " + str(b.label)).lower()]
    if buttons:
        buttons[0].press()
    else:
        inputs[0].focus()
        await pilot.press("enter")
    await pilot.pause(3.0)      # one read on the 850 ms paced link, with room to spare


async def shoot(app, out: Path, name: str, written: list[Path]) -> None:
    """NAME.svg at 120×40, then NAME-WxH.svg at each of SIZES (the screen re-lays itself out
    on each resize, as it does when a person resizes the terminal), then back to 120×40."""
    if ONLY and name not in ONLY:
        return
    app.clear_notifications()
    await asyncio.sleep(0.3)    # let the toasts go and the screen repaint
    path = app.save_screenshot(filename=f"{name}.svg", path=str(out))
    written.append(Path(path))
    for width, height in SIZES:
        await resize(app, (width, height))
        app.clear_notifications()
        path = app.save_screenshot(filename=f"{name}-{width}x{height}.svg", path=str(out))
        written.append(Path(path))
    if SIZES:
        await resize(app, SIZE)
    if ONLY and ONLY <= {p.stem for p in written}:
        raise AllTaken


async def resize(app, size: tuple[int, int]) -> None:
    """What Pilot.resize_terminal does, and time for the footer and tables to re-fit."""
    from textual import events
    from textual.geometry import Size
    new = Size(*size)
    if hasattr(app._driver, "_size"):       # the headless driver's own idea of the size
        app._driver._size = new
    app.post_message(events.Resize(new, new))
    await asyncio.sleep(0.3)
    end = time.monotonic() + 5          # the footer re-fits after the layout: wait for it
    while time.monotonic() < end:
        footers = list(app.screen.query("Footer"))     # none on a dialog: just the sleep
        if all(getattr(f, "_fitted_for", size[0]) == size[0] and f.size.width == size[0]
               for f in footers):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.15)


async def attest_dialog(app, pilot, out: Path, written: list[Path], depth: int) -> None:
    """The live screen's `m` on vac1: "matches the device's display", signed by a name."""
    from textual.widgets import DataTable, Input
    table = app.screen.query_one("#points", DataTable)
    table.move_cursor(row=table.get_row_index("vac1"))
    await pilot.pause(0.2)
    await pilot.press("m")
    if not await wait_until(pilot, lambda: type(app.screen).__name__ == "AttestScreen", 5):
        print("warning: the attestation dialog did not open", file=sys.stderr)
        return
    await pilot.press("enter")                  # "matches the device's display"
    app.screen.query_one("#person", Input).value = "Sam Installer"
    await pilot.pause(0.3)
    await shoot(app, out, "attest", written)
    await back(pilot, depth)                    # Escape: nothing is stored


async def dialogs(app, pilot, out: Path, written: list[Path], depth: int) -> None:
    """Help (f1), the editor of a writable point (e) and the report's handover form (f6)."""
    from textual.widgets import DataTable
    await pilot.press("f1")
    await pilot.pause(0.5)
    await shoot(app, out, "help", written)
    await back(pilot, depth)
    table = app.screen.query_one("#points", DataTable)
    table.move_cursor(row=table.get_row_index("active_power_rate"))
    await pilot.pause(0.2)
    await pilot.press("e")
    if await wait_until(pilot, lambda: type(app.screen).__name__ == "EditScreen", 10):
        await pilot.pause(0.3)
        await shoot(app, out, "edit", written)
    else:
        print("warning: the editor did not open", file=sys.stderr)
    await back(pilot, depth)
    table.move_cursor(row=0)
    await pilot.press("f6")
    await pilot.pause(0.5)
    await shoot(app, out, "report-form", written)
    await back(pilot, depth)


async def run(out: Path) -> list[Path]:
    written: list[Path] = []
    try:
        await tour(out, written)
    except AllTaken:
        pass
    return written


async def tour(out: Path, written: list[Path]) -> None:
    from solartui.tui.app import SolartuiApp

    app = SolartuiApp(demo=True)
    async with app.run_test(size=SIZE) as pilot:
        if not await wait_until(pilot, lambda: app.device is not None, 15):
            raise SystemExit("the demo did not connect within 15 s")
        if not await wait_until(pilot, lambda: live_has_values(app), 15):
            print("warning: no live values after 15 s; saving the live screen as it is",
                  file=sys.stderr)
        base = len(app.screen_stack)
        await pilot.pause(0.5)
        await shoot(app, out, "live", written)           # the overview first
        await pilot.press("t")                           # the full point table
        await pilot.pause(0.5)
        await shoot(app, out, "live-table", written)    # the dialogs below act on its rows
        await attest_dialog(app, pilot, out, written, base)
        await dialogs(app, pilot, out, written, base)

        await pilot.press("f3")
        await pilot.pause(0.5)
        try:
            await try_browser_read(pilot)
        except Exception as exc:        # the browser is still being built: save what is there
            print(f"warning: could not read in the browser: {exc!r}", file=sys.stderr)
        await shoot(app, out, "browser", written)
        await back(pilot, base)

        await pilot.press("f4")
        await pilot.pause(3.0)
        await shoot(app, out, "clock", written)
        await back(pilot, base)

        await pilot.press("ctrl+t")
        await pilot.pause(0.5)
        await shoot(app, out, "traffic", written)
        await back(pilot, base)

        await journal_screen(app, pilot, out, written, base)
        await checks_screen(app, pilot, out, written, base)

        await pilot.press("ctrl+o")
        await pilot.pause(0.5)
        await shoot(app, out, "connect", written)
        await back(pilot, base)

        # the Discover screen with a scan of the demo's own pty under way and its result
        await pilot.press("ctrl+d")
        await pilot.pause(0.3)
        screen = app.screen
        if hasattr(screen, "_start"):
            # a third simulated inverter on its own pty wire (the demo's ports are in use)
            from solartui.discovery.rtu_probe import probe_port
            from solartui.registers.catalog import resolve
            from solartui.sim.register_bank import RegisterBank
            from solartui.sim.serial_wire import serve_on_pty
            wire, sim = await serve_on_pty(
                [RegisterBank(resolve("growatt-protocol-ii"), unit=3,
                              identity={"serial": "SCAN000003"})], baud=9600)
            try:
                pty = wire.client_path
                screen._start(pty, lambda f, p: probe_port(pty, on_found=f, on_progress=p))
                await wait_until(pilot, lambda: screen.query_one("#found").row_count > 0, 15)
                await pilot.pause(0.3)
                await shoot(app, out, "discover", written)
            finally:
                await sim.stop()
                await wire.stop()
        else:
            await shoot(app, out, "discover", written)
        await back(pilot, base)

        # the Growatt server pane: the demo's simulated datalogger and the inverter behind it
        await pilot.press("f5")
        await pilot.pause(0.3)
        if not await wait_until(pilot, lambda: server_has_values(app), 20):
            print("warning: the server pane shows no values after 20 s; saving it as it is",
                  file=sys.stderr)
        await shoot(app, out, "server", written)
        await pilot.press("2", "a")         # the datalogger registers tab: read them all
        await wait_until(pilot, lambda: logger_registers_read(app), 15)
        await shoot(app, out, "server-registers", written)
        await pilot.press("4")              # the datalogger's clock tab
        await pilot.pause(0.5)
        await shoot(app, out, "server-clock", written)
        await back(pilot, base)

        # the demo's PI30 inverter: its live screen, then the editor of a setting
        await pi30_screens(app, pilot, out, written)
        # the demo's GivEnergy hybrid: its live screen and an action's confirmation
        await givenergy_screens(app, pilot, out, written)
        # a listen-only OutBack FLEXmax (its simulator on a pty, started here)
        await flexmax_screen(app, pilot, out, written)


async def journal_screen(app, pilot, out: Path, written: list[Path], depth: int) -> None:
    """f7 after one write made the way the CLI makes it (the demo's journal is its own)."""
    if ONLY and "journal" not in ONLY:
        return
    from solartui.devices import gate
    try:
        await gate.run(app.device, gate.WriteRequest.point("active_power_rate", "80"),
                       gate.confirmed, "cli")
    except Exception as exc:  # pylint: disable=broad-except
        print(f"warning: the demo write for the journal failed: {exc!r}", file=sys.stderr)
    await pilot.press("f7")
    await pilot.pause(0.5)
    await shoot(app, out, "journal", written)
    await back(pilot, depth)


async def checks_screen(app, pilot, out: Path, written: list[Path], depth: int) -> None:
    """f8: the commissioning checks on the demo's inverter, once every verdict is in."""
    if ONLY and "checks" not in ONLY:
        return
    await pilot.press("f8")
    screen = app.screen
    if not await wait_until(pilot, lambda: not getattr(screen, "running", False)
                            and screen.query_one("#checks").row_count > 0, 30):
        print("warning: the checks did not finish in 30 s; saving them as they are",
              file=sys.stderr)
    await shoot(app, out, "checks", written)
    await back(pilot, depth)


def pi30_values(app) -> bool:
    from textual.widgets import DataTable
    screen = app.screen
    if type(screen).__name__ != "Pi30LiveScreen":
        return False
    table = screen.query_one("#fields", DataTable)
    try:
        return str(table.get_cell("output_source_priority", "value")) != ""
    except Exception:  # pylint: disable=broad-except
        return False


async def pi30_screens(app, pilot, out: Path, written: list[Path]) -> None:
    from textual.widgets import DataTable
    pi30 = [t for t in app.demo_targets if t.startswith("pi30://")]
    if not pi30:
        print("warning: the demo has no PI30 inverter", file=sys.stderr)
        return
    first = app.demo_targets[0]
    app.connect(pi30[0])
    if not await wait_until(pilot, lambda: pi30_values(app), 30):
        print("warning: the PI30 live screen has no values after 30 s", file=sys.stderr)
    await pilot.pause(0.5)
    await shoot(app, out, "pi30-live", written)
    table = app.screen.query_one("#fields", DataTable)
    table.move_cursor(row=table.get_row_index("battery_float_voltage"))
    await pilot.pause(0.2)
    await pilot.press("e")
    await pilot.pause(0.5)
    await pilot.press("5", "4", "full_stop", "5")
    await pilot.pause(0.3)
    await shoot(app, out, "pi30-setting", written)
    await pilot.press("escape")
    await pilot.pause(0.3)
    app.connect(first, "growatt-protocol-ii")
    await wait_until(pilot, lambda: live_has_values(app), 20)


async def givenergy_screens(app, pilot, out: Path, written: list[Path]) -> None:
    from textual.widgets import Select
    targets = [t for t in app.demo_targets if t.startswith("givenergy://")]
    if not targets:
        print("warning: the demo has no GivEnergy dongle", file=sys.stderr)
        return
    first = app.demo_targets[0]
    app.connect(targets[0])
    if not await wait_until(pilot, lambda: live_has_values(app)
                            and app.device.map.vendor == "GivEnergy", 30):
        print("warning: the GivEnergy live screen has no values after 30 s", file=sys.stderr)
    await pilot.pause(1.0)
    await shoot(app, out, "givenergy-live", written)
    await pilot.press("a")
    await pilot.pause(0.5)
    app.screen.query_one("#action", Select).value = "set-charge-slot-1"
    app.screen.query_one("#value").value = "00:30 04:30 80"
    await pilot.pause(0.3)
    await pilot.click("#ok")
    if await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", 15):
        await pilot.pause(0.3)
        await shoot(app, out, "givenergy-action", written)
        await pilot.press("escape")
    else:
        print("warning: the action's confirmation did not open", file=sys.stderr)
    await pilot.pause(0.3)
    app.connect(first, "growatt-protocol-ii")
    await wait_until(pilot, lambda: live_has_values(app), 20)


async def flexmax_screen(app, pilot, out: Path, written: list[Path]) -> None:
    from textual.widgets import DataTable

    from solartui.sim.flexmax_pty import FlexmaxPtyServer
    sim = FlexmaxPtyServer(interval=0.5)
    path = await sim.start()
    first = app.demo_targets[0]
    try:
        app.connect(f"broadcast://{path}?map=outback-flexmax")
        def shown() -> bool:
            if type(app.screen).__name__ != "BroadcastLiveScreen":
                return False
            table = app.screen.query_one("#fields", DataTable)
            return table.row_count > 0 and any(str(v).strip()
                                               for v in table.get_column("value"))

        if not await wait_until(pilot, shown, 20):
            print("warning: the FLEXmax live screen has no values after 20 s", file=sys.stderr)
        await pilot.pause(1.0)
        await shoot(app, out, "flexmax-live", written)
    finally:
        app.connect(first, "growatt-protocol-ii")
        await wait_until(pilot, lambda: live_has_values(app), 20)
        await sim.stop()


def to_png(svg: Path) -> Path | None:
    png = svg.parent / "png" / svg.with_suffix(".png").name
    png.parent.mkdir(exist_ok=True)
    tool = shutil.which("rsvg-convert")
    if tool:
        done = subprocess.run([tool, str(svg), "-o", str(png)], capture_output=True)
        return png if done.returncode == 0 else None
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        return None
    cairosvg.svg2png(url=str(svg), write_to=str(png))
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "screenshots"), help="folder for the files")
    parser.add_argument("--no-png", action="store_true", help="SVG only (no png/ folder)")
    parser.add_argument("--only", default="", help="comma-separated shot names (e.g. attest)")
    parser.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in SIZES),
                        help="the other sizes, WxH,WxH (empty: 120x40 only)")
    args = parser.parse_args()
    SIZES[:] = [tuple(int(n) for n in s.split("x")) for s in args.sizes.split(",") if s.strip()]
    ONLY.update(n.strip() for n in args.only.split(",") if n.strip())
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="solartui-shots-") as home:
        os.environ["SOLARTUI_HOME"] = home
        os.environ.pop("SOLARTUI_JOURNAL", None)
        written = asyncio.run(run(out))
    pngs = [] if args.no_png else [p for p in map(to_png, written) if p is not None]
    for f in written + pngs:
        try:
            shown = f.relative_to(Path.cwd())
        except ValueError:
            shown = f
        print(shown)
    print(f"{len(written)} screenshots in {time.monotonic() - started:.0f} s", file=sys.stderr)
    if not args.no_png and not pngs:
        print("(no PNG: install rsvg-convert or cairosvg to get them)", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Every dialog answers once: Enter pressed two or three times — queued at once as a terminal
delivers a fast double press, back to back through Pilot, and with a tiny pause — never pops an
extra screen, never ends the app, and sends exactly one write (or none) to the simulated device.
Writes are counted on the simulators themselves (the register bank, the GivEnergy dongle, the
simulated datalogger), against real peers on loopback."""

from __future__ import annotations

import asyncio
import time

import pytest
from textual.widgets import DataTable, Input, RadioButton, Select

from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.tui.screens.action import ActionScreen
from solartui.tui.screens.attest import AttestScreen
from solartui.tui.screens.browser import BrowserScreen
from solartui.tui.screens.confirm import ConfirmScreen
from solartui.tui.screens.connect import ConnectScreen
from solartui.tui.screens.dialog import Dialog
from solartui.tui.screens.edit import EditScreen, RawEditScreen
from solartui.tui.screens.live import LiveScreen
from solartui.tui.screens.pi30_live import Pi30LiveScreen
from solartui.tui.screens.quit import QuitScreen
from solartui.tui.screens.server import ServerScreen
from solartui.tui.screens.server_dialogs import LoggerEditScreen
from solartui.tui.screens.setting_edit import SettingEditScreen
from solartui.tui.write_flow import start_point_write
from solartui.trust.attestations import AttestationStore

from test_tui_actions import givenergy_app, writes as dongle_writes
from test_tui_pi30 import cell as pi30_cell, go_to as pi30_go_to, pi30_app
from test_tui_server import running as server_pane
from tui_rig import REPEATS, REPEATS_SHORT, press_repeatedly, running, type_keys

WRITE_GROUPS = ("write", "shine-write")


def writing(app) -> bool:
    return any(w.group in WRITE_GROUPS and w.is_running for w in app.workers)


async def settle(r) -> None:
    """Until a dialog waits for an answer, or no write flow runs any more."""
    await r.until(lambda: isinstance(r.app.screen, Dialog) or not writing(r.app), 10)
    await r.pilot.pause(0.1)
    await r.until(lambda: isinstance(r.app.screen, Dialog) or not writing(r.app), 10)


def stack(app) -> list[str]:
    return [type(s).__name__ for s in app.screen_stack]


def cancelled(r) -> bool:
    return any("cancelled, nothing written" in m for m, _ in r.notes)


async def entered_then_confirmed(r, how, times, count) -> None:
    """The editor on top has a valid entry: Enter repeated reaches the confirmation (or a repeat
    made after it opened answers Cancel, its focus); Enter repeated on Confirm writes once. The
    screens underneath stay as they were."""
    base = stack(r.app)[:-1]
    before = count()
    editor = r.app.screen
    await press_repeatedly(r.pilot, "enter", times, how)
    # the first Enter answers the editor; on a loaded machine that may take a moment, and the
    # editor (a Dialog) on top must not count as "a dialog waits for an answer" meanwhile
    await r.until(lambda: r.app.screen is not editor, 10)
    await settle(r)
    assert r.app.is_running
    if how == "burst":                   # every press was made before the editor closed
        assert stack(r.app) == base + ["ConfirmScreen"]
    elif stack(r.app) == base:           # a later press answered the confirmation: Cancel
        assert cancelled(r) and count() == before
        return
    assert stack(r.app) == base + ["ConfirmScreen"] and count() == before
    await r.pilot.press("left")          # to Confirm, as a keyboard user would
    await press_repeatedly(r.pilot, "enter", times, how)
    await r.until(lambda: count() == before + 1 and not writing(r.app), 10)
    await r.pilot.pause(0.3)
    assert r.app.is_running and stack(r.app) == base
    assert count() == before + 1
    assert not any("already in progress" in m for m, _ in r.notes)


@pytest.fixture
def rig(growatt_map, tmp_path):
    return lambda: running(growatt_map, tmp_path, True)


async def live_on(r, point: str) -> LiveScreen:
    r.app.show_connected()
    live = await r.screen(LiveScreen)
    await r.until(lambda: point in live._last, 10)
    live.action_show_table()                    # it opens on the overview; t shows the table
    live.query_one("#points", DataTable).move_cursor(
        row=[p.name for p in live._shown].index(point), animate=False)
    await r.pilot.pause()
    return live


# --- the live screen's editor (the reported one: a blank screen) -------------------------------

@pytest.mark.parametrize("how,times", REPEATS)
async def test_live_editor_and_confirm(rig, how, times):
    async with rig() as r:
        await live_on(r, "active_power_rate")
        await r.pilot.press("e")
        await r.screen(EditScreen)
        await r.pilot.press("8", "0")
        await entered_then_confirmed(r, how, times, lambda: r.bank.writes)
        assert r.bank.get_raw("holding", 3) in ([80], [100])
        assert len(r.journal.entries()) == (1 if r.bank.get_raw("holding", 3) == [80] else 0)


async def test_keys_made_before_the_editor_opened_stay_out_of_it(rig):
    """`ee` and `e80` arriving in one read from the terminal: the keys after the first `e` were
    made before the editor opened, aimed at the table the person saw; none of them becomes the
    editor's entry (the same rule as a fast Enter Enter: tui/screens/dialog.py)."""
    async with rig() as r:
        await live_on(r, "active_power_rate")
        for burst in ("ee", "e80"):
            await type_keys(r.pilot, burst)
            editor = await r.screen(EditScreen)
            await r.pilot.pause(0.2)
            assert editor.query_one("#value", Input).value == "", burst
            await r.pilot.press("escape")
            await r.until(lambda: isinstance(r.app.screen, LiveScreen))
            await r.pilot.pause(0.6)                      # past the repeat guard
        assert r.bank.writes == 0


@pytest.mark.parametrize("how,times", REPEATS)
async def test_confirm_alone_writes_once(rig, how, times):
    async with rig() as r:
        point = r.device.map.point("active_power_rate")
        worker = start_point_write(r.host, point, current_text="100 %")
        await r.screen(EditScreen)
        await r.pilot.press("4", "2")
        await r.pilot.press("enter")
        await r.screen(ConfirmScreen)
        await r.pilot.press("left")
        before = r.bank.writes
        await press_repeatedly(r.pilot, "enter", times, how)
        await worker.wait()
        await r.pilot.pause(0.2)
        assert r.app.is_running and r.app.screen is r.host
        assert r.bank.writes == before + 1 and len(r.journal.entries()) == 1


# --- the register browser's raw write (the reported one: the app ended) ------------------------

@pytest.mark.parametrize("how,times", REPEATS_SHORT)
async def test_browser_raw_write(rig, how, times):
    async with rig() as r:
        r.app.push_screen(BrowserScreen())
        browser = await r.screen(BrowserScreen)
        browser.action_read()
        await r.until(lambda: browser.words and browser.words[3] is not None, 10)
        browser.query_one(DataTable).move_cursor(row=3, animate=False)
        browser.query_one(DataTable).focus()
        await r.pilot.press("w")
        await r.screen(RawEditScreen)
        await r.pilot.press("8", "0")
        await entered_then_confirmed(r, how, times, lambda: r.bank.writes)


# --- attestation -------------------------------------------------------------------------------

@pytest.mark.parametrize("how,times", REPEATS_SHORT)
async def test_attestation_stored_once(rig, how, times):
    async with rig() as r:
        await live_on(r, "active_power_rate")
        await r.pilot.press("m")
        dialog = await r.screen(AttestScreen)
        dialog.query_one("#matches", RadioButton).value = True
        await r.pilot.pause()
        dialog.query_one("#person", Input).value = "Ann Installer"
        dialog.query_one("#person", Input).focus()
        await r.pilot.pause()
        await press_repeatedly(r.pilot, "enter", times, how)
        await r.pilot.pause(0.3)
        assert r.app.is_running and stack(r.app) == ["Screen", "LiveScreen"]
        assert len(AttestationStore().all()) == 1


# --- a named action (GivEnergy) ----------------------------------------------------------------

@pytest.mark.parametrize("how,times", REPEATS_SHORT)
async def test_action_chooser_and_confirm(tmp_path, how, times):
    async with givenergy_app(tmp_path) as r:
        await r.screen(LiveScreen)
        await r.pilot.press("a")
        chooser = await r.screen(ActionScreen)
        chooser.query_one("#action", Select).value = "set-battery-reserve"
        await r.pilot.pause()
        chooser.query_one("#value").focus()
        await r.pilot.press("3", "0")
        await entered_then_confirmed(r, how, times, lambda: len(dongle_writes(r.dongle)))


# --- the server pane: a datalogger's register, an inverter point, a raw register ---------------

class _PaneRig:
    """The server pane's Pane with the names entered_then_confirmed uses."""

    def __init__(self, p):
        self.p, self.app, self.pilot, self.notes = p, p.app, p.pilot, p.notes

    async def until(self, cond, timeout=5.0):
        await self.p.until(cond, timeout)


@pytest.mark.parametrize("how,times", REPEATS_SHORT)
@pytest.mark.parametrize("what", ["datalogger", "point", "raw"])
async def test_server_pane_editors(tmp_path, what, how, times):
    async with server_pane(tmp_path) as p:
        r = _PaneRig(p)
        if what == "datalogger":
            await p.pilot.press("2")
            await p.cursor_to("logger-regs", "4")
            await p.pilot.press("w")
            await p.at(LoggerEditScreen)
            await p.pilot.press("3")
        elif what == "point":
            await p.pilot.press("3")
            await p.cursor_to("inv-regs", "active_power_rate")
            await p.pilot.press("w")
            await p.at(EditScreen)
            await p.pilot.press("5", "5")
        else:
            await p.pilot.press("3")
            p.pane.query_one("#inv-reg", Input).value = "3"
            p.pane.query_one("#inv-write").press()
            await p.at(RawEditScreen)
            await p.pilot.press("6", "0")
        count = ((lambda: p.sim.stats["logger_writes"]) if what == "datalogger"
                 else (lambda: p.bank.writes))
        await entered_then_confirmed(r, how, times, count)
        assert isinstance(p.app.screen, ServerScreen)


# --- quitting ------------------------------------------------------------------------------------

async def ended(app, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while app.is_running and time.monotonic() < end:
        await asyncio.sleep(0.05)
    return not app.is_running


async def test_quit_at_once_with_nothing_going_on(rig):
    async with rig() as r:
        await r.pilot.press("ctrl+q")
        assert await ended(r.app)
        assert not any(isinstance(s, QuitScreen) for s in r.app.screen_stack)


@pytest.mark.parametrize("how,times", REPEATS_SHORT)
async def test_quit_asks_while_dataloggers_are_connected(tmp_path, how, times):
    async with server_pane(tmp_path) as p:
        await p.pilot.press("ctrl+q")
        dialog = await p.at(QuitScreen)
        said = " ".join(str(s.render()) for s in dialog.query(".going-on"))
        assert "drops: 1 datalogger" in said and "SIMLOG0001" in said
        await p.pilot.press("ctrl+q")                   # asked already: not a second dialog
        assert [type(s).__name__ for s in p.app.screen_stack].count("QuitScreen") == 1
        await press_repeatedly(p.pilot, "enter", times, how)     # Stay has the focus
        await p.pilot.pause(0.3)
        assert p.app.is_running and isinstance(p.app.screen, ServerScreen)
        assert "SIMLOG0001" in p.server.loggers             # still connected

        await p.pilot.pause(0.5)                            # (not the same press, repeated)
        await p.pilot.press("ctrl+q")
        await p.at(QuitScreen)
        await p.pilot.press("left", "enter")                # Quit
        assert await ended(p.app)


async def test_quit_waits_for_a_write_on_its_way(rig):
    async with rig() as r:
        point = r.device.map.point("active_power_rate")
        worker = start_point_write(r.host, point, current_text="100 %")
        await r.screen(EditScreen)
        await r.pilot.press("4", "2", "enter")
        await r.screen(ConfirmScreen)
        r.faults.delay = 0.4                          # the write and its read-back take a while
        await r.pilot.press("left", "enter")
        await r.pilot.press("ctrl+q")
        dialog = await r.screen(QuitScreen)
        said = " ".join(str(s.render()) for s in dialog.query(".going-on"))
        assert "waits for: write active_power_rate" in said
        assert worker.is_running                      # on the wire still
        await r.pilot.press("left", "enter")
        assert await ended(r.app)
        assert r.bank.writes == 1 and r.bank.get_raw("holding", 3) == [42]
        [entry] = r.journal.entries()
        assert entry["point"] == "active_power_rate" and entry["outcome"] == "verified"


# --- connecting (ctrl+o) -----------------------------------------------------------------------

async def type_into(r, text: str) -> None:
    await type_keys(r.pilot, text)


async def test_a_failed_connect_keeps_the_device_connected(rig):
    async with rig() as r:
        live = await live_on(r, "active_power_rate")
        old = r.app.session.device
        await r.pilot.press("ctrl+o")
        connect = await r.screen(ConnectScreen)
        await type_into(r, "tcp://127.0.0.1:1?unit=1")      # nothing listens there
        await r.pilot.press("enter")
        await r.until(lambda: not connect.connecting(), 10)
        await r.pilot.pause(0.1)
        errors = [m for m, sev in r.notes if sev == "error"]
        assert len(errors) == 1 and "127.0.0.1:1" in errors[0], r.notes
        assert "127.0.0.1:1" in str(connect.query_one("#error").render())
        assert r.app.session.device is old and r.app.screen is connect
        assert stack(r.app) == ["Screen", "LiveScreen", "ConnectScreen"]
        assert "TEST123456" in r.app.sub_title                 # the header still names it

        await r.pilot.press("escape")                          # back to the live screen: alive
        await r.screen(LiveScreen)
        requests = old.link.stats.requests
        r.bank.set_raw("holding", 3, [77])
        await r.until(lambda: old.link.stats.requests > requests, 10)
        await r.until(lambda: live._last["active_power_rate"].decoded.value == 77, 10)
        assert len(r.notes) == 1


async def test_no_map_advice_is_worded_for_the_tui(rig):
    """A device that answers but fits no map: the TUI names its Map list and f3, not CLI options."""
    from solartui.registers import catalog
    server = ModbusSimulator([RegisterBank(catalog.resolve("modbus-generic"), unit=1)])
    port = await server.start_tcp("127.0.0.1", 0)
    try:
        async with rig() as r:
            await live_on(r, "active_power_rate")
            await r.pilot.press("ctrl+o")
            connect = await r.screen(ConnectScreen)
            await type_into(r, f"tcp://127.0.0.1:{port}?unit=1&timeout=300")
            await r.pilot.press("enter")
            await r.until(lambda: not connect.connecting(), 10)
            await r.pilot.pause(0.1)
            errors = [m for m, sev in r.notes if sev == "error"]
            assert len(errors) == 1 and "fits no known map" in errors[0], r.notes
            assert "Map list" in errors[0] and "f3" in errors[0] and "--map" not in errors[0]
            shown = str(connect.query_one("#error").render())
            assert "Map list" in shown and "--map" not in shown
    finally:
        await server.stop()


@pytest.mark.parametrize("how,times", REPEATS_SHORT)
async def test_connect_once_to_a_new_target(growatt_map, tmp_path, how, times):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "SECOND0001"})
    other = ModbusSimulator([bank])
    port = await other.start_tcp("127.0.0.1", 0)
    try:
        async with running(growatt_map, tmp_path, True) as r:
            await live_on(r, "active_power_rate")
            old = r.app.session.device
            await r.pilot.press("ctrl+o")
            connect = await r.screen(ConnectScreen)
            await type_into(r, f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=1000")
            await press_repeatedly(r.pilot, "enter", times, how)
            await r.until(lambda: isinstance(r.app.screen, LiveScreen)
                          and r.app.session.device is not old, 10)
            await r.pilot.pause(0.3)
            assert r.app.is_running and not connect.connecting()
            assert stack(r.app) == ["Screen", "LiveScreen"]
            assert r.app.session.device.identity.serial == "SECOND0001"
            notes = [e for e in r.session.traffic.entries if "connected to" in str(e)]
            assert len(notes) == 2 and "SECOND0001" in str(notes[-1])   # the rig's, then one
            assert not [m for m, sev in r.notes if sev == "error"], r.notes
    finally:
        await other.stop()


# --- a PI30 setting (command device, on a pty) -------------------------------------------------

@pytest.mark.parametrize("how,times", REPEATS_SHORT)
async def test_pi30_setting_editor_and_confirm(tmp_path, how, times):
    async with pi30_app(tmp_path) as r:
        live = await r.screen(Pi30LiveScreen)
        await r.until(lambda: pi30_cell(live, "battery_float_voltage", "value") != "", 10)
        await pi30_go_to(r, live, "battery_float_voltage")
        await r.pilot.press("e")
        await r.screen(SettingEditScreen)
        await r.pilot.press("5", "4", "full_stop", "5")
        await entered_then_confirmed(
            r, how, times,
            lambda: sum(1 for e in r.inverter.log if (e.command or "").startswith("PBFT")))


def test_every_modal_is_a_dialog():
    """A modal that is not a Dialog could answer twice again: keep every one on the shared base."""
    import importlib
    import pkgutil

    from textual.screen import ModalScreen

    import solartui.tui.screens as screens

    for info in pkgutil.iter_modules(screens.__path__):
        importlib.import_module(f"{screens.__name__}.{info.name}")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [c for c in subclasses(ModalScreen) if c.__module__.startswith("solartui.")]
    assert ours and all(issubclass(c, Dialog) for c in ours), \
        [c.__name__ for c in ours if not issubclass(c, Dialog)]

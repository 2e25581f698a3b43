"""Confirm-then-write flows for a Growatt datalogger's own registers and its clock, through the
embedded server. (The inverter behind it is a register device over the relay link: its writes go
through write_flow and the one write gate like any other device's.)

Modelled on write_flow: each `start_*` starts one worker on the calling screen (group
"shine-write", exit_on_error False) that asks for the new value in a dialog that validates as
you type, builds a ShinePlan (only a value that passed the checks gets one, so a refused value
never reaches the wire), shows it in the same ConfirmScreen as Modbus writes (focus on Cancel) and
sends it only on Confirm. The server paces the command, checks the reply's status byte, logs it in
its command log and journals it (when it has a journal). The outcome is notified and posted to the
screen as ShineWriteFinished. A failure (NACK, no answer, the datalogger gone) is raised as a
SolartuiError for the app's central worker-error handler to notify; the worker belongs to the
calling screen and Worker.StateChanged does not bubble, so that screen hands ERROR states on to
`app.on_worker_state_changed` (ServerScreen does). Cancelling sends nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from solartui.errors import SolartuiError, ValueRejected
from solartui.tui.screens.confirm import ConfirmScreen

GROUP = "shine-write"
CLOCK_REGISTER = 31
REBOOT_REGISTER = 32
CLOCK_FORMAT = "%Y-%m-%d %H:%M:%S"


# --- what the datalogger's own registers are (growatt-shine.md §3.1) ---------------------------

@dataclass(frozen=True)
class LoggerRegister:
    number: int
    name: str
    access: str = "rw"            # rw, r (the datalogger refuses writes) or w (write-only)
    kind: str = "text"            # text, minutes, ip, port, clock, reboot
    warning: str = ""


_SERVER_WARNING = ("the datalogger connects to this address from now on: a wrong value takes it "
                   "off this server until someone fixes it on site")
LOGGER_REGISTERS: dict[int, LoggerRegister] = {r.number: r for r in (
    LoggerRegister(4, "upload interval (min)", kind="minutes"),
    LoggerRegister(8, "datalogger serial", "r"),
    LoggerRegister(14, "local IP", "r"),
    LoggerRegister(15, "local port", "r"),
    LoggerRegister(16, "MAC address", "r"),
    LoggerRegister(17, "server IP", kind="ip", warning=_SERVER_WARNING),
    LoggerRegister(18, "server port", kind="port", warning=_SERVER_WARNING),
    LoggerRegister(19, "server host name", warning=_SERVER_WARNING),
    LoggerRegister(21, "firmware version", "r"),
    LoggerRegister(30, "time zone"),
    LoggerRegister(31, "date-time", kind="clock"),
    LoggerRegister(REBOOT_REGISTER, "reboot (write 1)", "w", kind="reboot",
                   warning="REBOOTS THE DATALOGGER: it drops off this server, stops sending data "
                           "and comes back after about a minute"),
    LoggerRegister(56, "Wi-Fi SSID", warning="a wrong SSID takes the datalogger off the network"),
    LoggerRegister(57, "Wi-Fi password",
                   warning="a wrong password takes the datalogger off the network"),
    LoggerRegister(76, "Wi-Fi RSSI (dBm)", "r"),
    LoggerRegister(80, "firmware-update URL"),
)}


def logger_register(number: int) -> LoggerRegister:
    return LOGGER_REGISTERS.get(number) or LoggerRegister(number, "(unknown meaning)")


def check_logger_value(number: int, text: str) -> str:
    """The ASCII text to send to a datalogger register, or ValueRejected with the reason."""
    reg = logger_register(number)
    if reg.access == "r":
        raise ValueRejected(f"datalogger register {number} ({reg.name}) is read-only")
    value = text.strip()
    if not value:
        raise ValueRejected("enter a value")
    try:
        data = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueRejected("only Latin-1 characters can be sent") from None
    if len(data) > 255 or not value.isprintable():
        raise ValueRejected("at most 255 printable characters")
    if reg.kind in ("minutes", "reboot"):
        try:
            number_value = float(value)
        except ValueError:
            raise ValueRejected(f"{value!r} is not a number") from None
        if reg.kind == "minutes" and not 0 < number_value <= 60:
            raise ValueRejected("the interval is minutes, more than 0 and at most 60 (e.g. 5 or 0.5)")
    elif reg.kind == "port":
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            raise ValueRejected(f"{value!r} is not a port number 1..65535")
    elif reg.kind == "ip":
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueRejected(f"{value!r} is not an IPv4 address") from None
    elif reg.kind == "clock":
        try:
            datetime.strptime(value, CLOCK_FORMAT)
        except ValueError:
            raise ValueRejected("date-time is YYYY-MM-DD HH:MM:SS") from None
    return value


# --- plans and outcomes ------------------------------------------------------------------------

@dataclass(frozen=True)
class ShinePlan:
    """What the person confirms; the ConfirmScreen shows `summary()` like a Modbus WritePlan's."""

    kind: str                       # logger, clock
    name: str                       # for notifications: "datalogger register 4"
    datalogger: str
    register: int
    rows: tuple[tuple[str, str], ...]
    text: str = ""                  # logger: the ASCII value
    trust: str | None = None

    def summary(self) -> list[tuple[str, str]]:
        return list(self.rows)


@dataclass(frozen=True)
class ShineOutcome:
    plan: ShinePlan
    status: str                     # acknowledged, verified, mismatched, synced
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "mismatched"

    def line(self) -> str:
        return f"{self.plan.name}: {self.status} — {self.detail}"


class ShineWriteFinished(Message):
    """A confirmed write through the server reached its outcome."""

    def __init__(self, outcome: ShineOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def _logger_row(server, serial: str) -> tuple[str, str]:
    logger = server.find_logger(serial)
    return ("datalogger", f"{serial} at {logger.ip}:{logger.port}, protocol {logger.protocol_text}")


def _cached(server, serial: str, number: int) -> str | None:
    value = server.find_logger(serial).registers.get(number)
    return None if value is None else value.decode("latin-1")


def plan_logger_write(server, serial: str, number: int, text: str) -> ShinePlan:
    value = check_logger_value(number, text)
    reg = logger_register(number)
    old = _cached(server, serial, number)
    rows = [_logger_row(server, serial),
            ("register", f"{number} — {reg.name}"),
            ("old", "(write-only)" if reg.access == "w" else
             f"{old!r} (last known)" if old is not None else "(not read)"),
            ("new", repr(value)),
            ("command", f"0x18 write datalogger register, {len(value)} ASCII bytes")]
    if reg.warning:
        rows.append(("warning", reg.warning))
    title = f"datalogger register {number}"
    return ShinePlan("logger", title, serial, number, tuple(rows), text=value)


def clock_preview(server) -> str:
    now = datetime.now(server.zone) if server.zone else datetime.now()
    return now.strftime(CLOCK_FORMAT)


def plan_clock(server, serial: str) -> ShinePlan:
    current = _cached(server, serial, CLOCK_REGISTER)
    rows = (_logger_row(server, serial),
            ("register", f"{CLOCK_REGISTER} — date-time"),
            ("old", f"{current} (last known)" if current else "(not read)"),
            ("new", f"{clock_preview(server)} — local time, taken when it is sent"),
            ("zone", server.zone_description()),
            ("command", "0x18 write datalogger register 31"))
    return ShinePlan("clock", "clock sync", serial, CLOCK_REGISTER, rows)


# --- executing a confirmed plan ----------------------------------------------------------------

async def execute(server, plan: ShinePlan) -> ShineOutcome:
    """The datalogger's own registers and clock; its inverter's registers go through the write
    gate (write_flow with the server's relay device), not through here."""
    if plan.kind == "clock":
        sent = await server.sync_clock(plan.datalogger, "tui")
        return ShineOutcome(plan, "synced", f"sent {sent} ({server.zone_description()})")
    await server.write_logger_register(plan.datalogger, plan.register, plan.text, "tui")
    extra = (", it reboots now and reconnects in about a minute"
             if plan.register == REBOOT_REGISTER else "")
    return ShineOutcome(plan, "acknowledged", f"{plan.text!r} acknowledged by "
                                              f"{plan.datalogger}{extra}")


# --- the flows ---------------------------------------------------------------------------------

Enter = Callable[[Any], Awaitable[Any]]


def write_in_progress(app) -> bool:
    return any(w.group == GROUP and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
               for w in app.workers)


def start_logger_write(screen: Screen, server, serial: str, number: int) -> Worker | None:
    from solartui.tui.screens.server_dialogs import LoggerEditScreen

    reg = logger_register(number)
    if reg.access == "r":
        screen.app.notify(f"datalogger register {number} ({reg.name}) is read-only",
                          severity="warning")
        return None

    async def enter(app):
        return await app.push_screen_wait(
            LoggerEditScreen(serial, number, reg, _cached(server, serial, number)))

    return _start(screen, server, f"datalogger register {number}", enter,
                  lambda text: plan_logger_write(server, serial, number, text),
                  "Reboot the datalogger?" if number == REBOOT_REGISTER
                  else "Write to the datalogger?")


def start_clock_sync(screen: Screen, server, serial: str) -> Worker | None:
    return _start(screen, server, "clock sync", None, lambda _: plan_clock(server, serial),
                  "Set the datalogger clock?")


def _start(screen: Screen, server, name: str, enter: Enter | None,
           plan: Callable[[Any], ShinePlan], title: str) -> Worker | None:
    app = screen.app
    if not server.running:
        app.notify("the server is not running: start it first", severity="warning")
        return None
    if write_in_progress(app):
        app.notify("a write is already in progress; wait for its outcome", severity="warning")
        return None
    return screen.run_worker(_flow(screen, server, name, enter, plan, title),
                             name=f"shine write {name}", group=GROUP, exclusive=False,
                             exit_on_error=False)


async def _flow(screen, server, name, enter, plan_fn, title) -> ShineOutcome | None:
    app = screen.app
    entry = None
    if enter is not None:
        entry = await enter(app)
        if entry is None:
            return _cancelled(app, name)
    try:
        plan = plan_fn(entry)
    except ValueRejected as exc:
        app.notify(f"{exc} — nothing written", title="value refused", severity="warning",
                   timeout=8)
        return None
    if not await app.push_screen_wait(ConfirmScreen(plan, title)):
        return _cancelled(app, name)
    task = asyncio.get_running_loop().create_task(execute(server, plan), name=f"write {name}")
    try:
        outcome = await asyncio.shield(task)
    except asyncio.CancelledError:       # the screen was left: the write still ends somewhere
        task.add_done_callback(lambda t: _late(app, screen, t))
        raise
    except SolartuiError as exc:         # the central handler notifies it; the log keeps it
        _note(app, f"shine write {name}: failed — {exc}")
        raise
    report(app, screen, outcome)
    return outcome


def _note(app, text: str) -> None:
    traffic = getattr(app.session, "traffic", None)
    if traffic is not None:
        traffic.note(text)


def _cancelled(app, name: str) -> None:
    app.notify(f"{name}: cancelled, nothing written")
    _note(app, f"shine write {name}: cancelled, nothing written")


def _late(app, screen, task: asyncio.Task) -> None:
    """The outcome of a write whose worker was cancelled (its screen was left)."""
    if not app.is_running or task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        app.notify(str(exc) if isinstance(exc, SolartuiError) else repr(exc),
                   severity="error", timeout=10)
        return
    report(app, screen, task.result())


def report(app, screen, outcome: ShineOutcome) -> None:
    """Traffic log, notification, ShineWriteFinished: what every outcome gets."""
    _note(app, f"shine write {outcome.line()}")
    app.notify(outcome.line(), title=f"write {outcome.status}",
               severity="information" if outcome.ok else "warning",
               timeout=6 if outcome.ok else 10)
    screen.post_message(ShineWriteFinished(outcome))

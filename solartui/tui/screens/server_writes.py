"""The server pane's writes: the datalogger's own registers and clock (shine_flow), and the
inverter behind it as a register device over the relay link, written through write_flow and the
one write gate like any device on a cable; f2 opens that device's live screen.

A mixin of ServerScreen: it uses the pane's selection helpers (_need_logger, _need_inverter,
_selected_key, active_tab), its status line and redraw.
"""

from __future__ import annotations

import time

from textual.widgets import Input

from solartui.errors import SolartuiError
from solartui.tui import shine_flow, write_flow

THROUGH_DATALOGGER = "Write to the inverter (through the datalogger)?"


class ServerWrites:
    def action_write_selected(self) -> None:
        tab = self.active_tab
        if tab == "tab-logger":
            key = self._selected_key("logger-regs")
            serial = self._need_logger()
            if serial and key:
                shine_flow.start_logger_write(self, self.server, serial, int(key))
        elif tab == "tab-inverter":
            key = self._selected_key("inv-regs")
            inverter = self._need_inverter()
            point = self.server.map.point(key) if key else None
            if point is not None and (point.table != "holding" or not point.writable):
                why = "guarded in the map: not written from here" if point.guard else "read-only"
                self.notify(f"{point.name} is {why}", severity="warning")
                return
            if inverter and point is not None:
                device = self._inverter_device(inverter)
                if device is not None:
                    write_flow.start_point_write(self, point, device=device,
                                                 title=THROUGH_DATALOGGER)
        elif tab == "tab-clock":
            self.action_sync_clock()
        else:
            self.notify("writes are on the Datalogger registers (2) and Inverter registers (3) "
                        "tabs", severity="warning")

    def action_sync_clock(self) -> None:
        serial = self._need_logger()
        if serial:
            shine_flow.start_clock_sync(self, self.server, serial)

    def _inverter_device(self, inverter: str):
        """The inverter as a register device over the datalogger relay: its writes go through
        the same write gate, editor and confirmation as a device on RS485."""
        try:
            return self.server.inverter_device(inverter)
        except SolartuiError as exc:
            self.notify(str(exc), severity="warning")
            return None

    def action_live(self) -> None:
        """f2 with a connected inverter: the same live screen as for a device on a cable (its
        holding registers read through the datalogger, its input registers from its records);
        with none, the session's own live screen."""
        inverter = self.inverter_serial
        if inverter is None:
            self.app.action_show_live()
            return
        device = self._inverter_device(inverter)
        if device is not None:
            from solartui.tui.screens.live import LiveScreen
            self.app.push_screen(LiveScreen(device))

    def _write_raw(self, inverter: str, register: int) -> None:
        device = self._inverter_device(inverter)
        if device is not None:
            write_flow.start_raw_write(self, register, device=device, title=THROUGH_DATALOGGER)

    def _raw_register(self) -> int | None:
        text = self.query_one("#inv-reg", Input).value.strip()
        if not text.isdigit() or int(text) > 4095:
            self.notify("enter a holding register number 0..4095", severity="warning")
            return None
        return int(text)

    def on_shine_write_finished(self, message: shine_flow.ShineWriteFinished) -> None:
        o = message.outcome
        self._status(f"{time.strftime('%H:%M:%S')} {o.line()}", bad=not o.ok)
        self.redraw()

    def on_write_finished(self, message: write_flow.WriteFinished) -> None:
        o = message.outcome
        self._status(f"{time.strftime('%H:%M:%S')} {o.line()}", bad=not o.ok)
        self.redraw()


"""The server pane's tables as rows: what the ShineServer knows, turned into cells.

Pure functions from the server's state (LoggerState, InverterState, RecordValues, CommandEntry)
to (row key, cells) lists, and `sync_table`, which brings a DataTable to those rows touching only
the cells that changed (rows are rebuilt only when the set of rows changes). No I/O here.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import DataTable

from solartui.layout_width import fit_text
from solartui.registers.codec import decode
from solartui.tui.screens.edit import point_limits
from solartui.tui.shine_flow import LOGGER_REGISTERS, logger_register

# (name, width, which drops first when narrow (0: never), room to grow): at 80 columns what
# tells the devices apart and their values; addresses, protocols and registers join when wider
DEVICE_COLUMNS = (("device", 10, 0), ("serial", 10, 0), ("address", 21, 4), ("proto", 5, 5),
                  ("last seen", 19, 1), ("records", 10, 3), ("details", 28, 2, 20))
VALUE_COLUMNS = (("point", 22, 0, 8), ("value", 14, 0, 10), ("unit", 5, 0), ("group", 10, 3),
                 ("register", 13, 2), ("doc", 28, 1, 20))
LOGGER_COLUMNS = (("reg", 4, 0), ("name", 22, 0), ("value", 40, 0, 30), ("access", 10, 1))
INVERTER_COLUMNS = (("point", 22, 0, 6), ("reg", 8, 0), ("value", 14, 0, 10), ("unit", 5, 0),
                    ("access", 7, 2), ("limits", 18, 1, 30))

Rows = list[tuple[str, tuple]]


def seen_text(t: float, now: float | None = None) -> str:
    now = time.time() if now is None else now
    age = max(0, int(now - t))
    ago = f"{age} s" if age < 120 else f"{age // 60} min"
    return f"{time.strftime('%H:%M:%S', time.localtime(t))} ({ago} ago)"


REFUSALS = (("claims_refused", "claims refused"), ("serials_refused", "serials over limit"),
            ("serials_not_allowed", "not allowed"), ("addresses_refused", "addresses refused"),
            ("connections_refused", "connections refused"), ("commands_refused", "commands refused"),
            ("overflowed", "unread"), ("inverters_refused", "inverters refused"),
            ("garbage_closed", "closed for garbage"),
            ("garbage_cooldown_refused", "garbage cool-down"), ("address_cap_refused", "over address cap"),
            ("first_frame_timeouts", "silent at start"), ("throttled", "throttled"),
            ("http_refused", "HTTP refused"), ("http_slow_closed", "slow HTTP closed"))


def refusals_pieces(server) -> list[tuple[str, int]]:
    """What the identity rules and limits refused, as fit_text pieces: the biggest count is the
    most needed (under a flood the line keeps what is happening most, whole words only)."""
    c = server.counters
    parts = [(c[k], f"{c[k]} {label}") for k, label in REFUSALS if c.get(k)]
    dropped = getattr(getattr(server, "budget", None), "dropped", 0)
    if dropped:
        parts.append((dropped, f"{dropped} registers dropped"))
    rank = {id(p): r for r, p in enumerate(sorted(parts, key=lambda p: -p[0]))}
    return [(text, rank[id(p)]) for p in parts for text in (p[1],)]


def refusals_text(server) -> str:
    """The same, all of it, as one string ("" when nothing)."""
    return " · ".join(text for text, _rank in refusals_pieces(server))


def device_rows(server) -> Rows:
    rows: Rows = []
    now = time.time()
    for serial, lg in sorted(server.loggers.items()):
        n = len(lg.inverters)
        rows.append((f"L:{serial}", (
            "datalogger", serial, f"{lg.ip}:{lg.port}", lg.protocol_text,
            seen_text(lg.last_seen, now), str(lg.records),
            f"{n} inverter{'s' if n != 1 else ''} · clock {lg.clock_status.split(' (')[0]}"
            + (f" · {lg.history}" if getattr(lg, "history", "") else ""))))
        for iserial, inv in sorted(lg.inverters.items()):
            ident = inv.identity
            details = " · ".join(f"{k} {ident[k]}" for k in ("model", "firmware") if k in ident)
            records = str(inv.records) + (f" ({inv.buffered} buf)" if inv.buffered else "")
            rows.append((f"I:{iserial}", (
                "└ inverter", iserial, f"unit {inv.unit:02x}", "",
                seen_text(inv.last_seen, now), records, details or "not announced yet")))
    return rows


def value_and_unit(reading) -> tuple[str, str]:
    if reading.decoded is None:
        return f"error: {reading.error}", ""
    text, unit = reading.decoded.text, reading.point.unit
    if unit and text.endswith(" " + unit):
        return text[: -len(unit) - 1], unit
    return text, unit if text[-1:].isdigit() else ""


def values_head(inverter: str | None, latest, width: int = 200) -> Text:
    if inverter is None:
        return Text("no inverter selected: pick one in the table above", style="dim")
    if latest is None:
        return Text(f"{inverter}: no data record yet (the datalogger sends one every upload "
                    f"interval, register 4)", style="dim")
    stamp = f"{latest.timestamp:%Y-%m-%d %H:%M:%S}" if latest.timestamp else "no time stamp"
    received = time.strftime("%H:%M:%S", time.localtime(latest.received))
    rest = fit_text([(f"record {stamp}", 0), ("(datalogger time)", 3), (f"received {received}", 1),
                     (f"{len(latest.readings)} values", 2)], width - len(inverter) - 3,
                    shorten=False)
    out = Text.assemble((inverter, "bold"), " · " + rest.replace(" · (", " ("))
    layout = getattr(latest, "layout", "")
    if layout.startswith("unknown layout"):
        out.append(f"  {layout}: values not decoded",
                   style="bold black on yellow")
    if latest.buffered:
        out.append("  BUFFERED (history sent after an outage)", style="bold black on yellow")
    return out


def value_rows(latest) -> Rows:
    if latest is None:
        return []
    rows: Rows = []
    for r in latest.readings:
        p = r.point
        value, unit = value_and_unit(r)
        reg = f"input {p.address}" + (f"..{p.end}" if p.end != p.address else "")
        rows.append((p.name, (p.name, value, unit, p.group, reg, p.doc)))
    return rows


def logger_rows(registers: dict[int, bytes]) -> Rows:
    rows: Rows = []
    for number in sorted(set(LOGGER_REGISTERS) | set(registers)):
        reg = logger_register(number)
        raw = registers.get(number)
        if reg.access == "w":
            value = "(write-only)"
        elif raw is None:
            value = "(not read)"
        else:
            value = raw.decode("latin-1")
        access = {"rw": "read/write", "r": "read-only", "w": "write-only"}[reg.access]
        rows.append((str(number), (str(number), reg.name, value, access)))
    return rows


def holding_points(device_map) -> list:
    return sorted((p for p in device_map.points if p.table == "holding" and p.alias_of is None),
                  key=lambda p: p.address)


def inverter_rows(points, holding: dict[int, int]) -> Rows:
    rows: Rows = []
    for p in points:
        words = [holding.get(a) for a in range(p.address, p.end + 1)]
        if None in words:
            value, unit = "(not read)", p.unit
        else:
            try:
                text = decode(p, words).text
            except Exception:   # noqa: BLE001 - words the codec refuses are shown raw
                text = " ".join(f"0x{w:04X}" for w in words)
            value, unit = text, p.unit
            if unit and text.endswith(" " + unit):
                value = text[: -len(unit) - 1]
        reg = str(p.address) + (f"..{p.end}" if p.end != p.address else "")
        access = "guarded" if p.guard else p.access     # guarded: the map forbids writing it
        rows.append((p.name, (p.name, reg, value, unit, access, point_limits(p))))
    return rows


def log_line(entry) -> Text:
    mark, style = ("✓", "green") if entry.ok else ("✗", "bold red")
    return Text.assemble((mark + " ", style), (entry.line(), "" if entry.ok else "red"))


def sync_table(table: DataTable, rows: Rows, cache: dict, fit=None) -> None:
    """Show `rows` in `table`; `cache` (row key -> cells) remembers what is shown; `fit` (a
    FitColumns) keeps of each row the cells of the columns shown at this width."""
    if fit is not None:
        rows = [(key, tuple(fit.project(cells))) for key, cells in rows]
    keys = [k for k, _ in rows]
    if keys != list(cache):
        cursor_key = None
        if table.row_count and 0 <= table.cursor_row < table.row_count:
            cursor_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        cache.clear()
        for key, cells in rows:
            table.add_row(*cells, key=key)
            cache[key] = cells
        if cursor_key in cache:
            table.move_cursor(row=keys.index(cursor_key), animate=False)
        return
    columns = [c.key for c in table.ordered_columns]
    for key, cells in rows:
        old = cache[key]
        if old == cells:
            continue
        for col, new, was in zip(columns, cells, old):
            if new != was:
                table.update_cell(key, col, new)
        cache[key] = cells

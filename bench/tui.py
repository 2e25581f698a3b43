#!/usr/bin/env python3
"""Benchmark: the TUI's start-up, its CPU and memory while polling 1,000 points, and key response.

Prints figures (this is not a test):

(a) time from process start to the first frame, median of N runs, two ways:
    * headless: `python -c` that imports the app and runs it under `App.run_test` until the first
      screen (the connect screen: no target given) is mounted and has been processed;
    * pty: `python -m solartui` in a pseudo-terminal (the real Linux driver, 120×40) until the
      first frame (the header's "solartui") has been written to the terminal.
(b) CPU (% of one core) and RSS while the live screen shows 1,000 points refreshed once a second
    from an unpaced simulator link: a map of 1,000 u16 input points (addresses 0..999, blocks of
    125, V × 0.1) served by a ModbusSimulator on loopback TCP in its own process (so its CPU is not
    counted), connected with period=0; the app at 160×50 polls for --seconds and the figures are
    taken over the last --window seconds. LiveScreen.min_refresh (seconds between the starts of
    two passes) is set to 1.0, so the link is not the limit. Two ways again:
    * headless: the app in this process under `run_test` (Textual skips writing to a terminal
      when headless, so this leaves out the terminal output);
    * pty: the app in its own process in a pseudo-terminal whose output this process drains
      (everything a person's terminal would cost the app, except the terminal emulator itself).
(c) key response while polling: the time from a "down" key to the DataTable's cursor row
    changing, median and p95 over --presses presses at random moments of the refresh cycle;
    headless: from `pilot.press("down")`; pty: from writing ESC [ B to the terminal to the app
    handling the resulting RowHighlighted message.

(d) the overview a live screen opens on, at 80×24 on a pty: `python -m solartui ui TARGET --map
    growatt-protocol-ii` (a real process, the real Linux driver) against the simulated Growatt
    (the shipped map, in its own process on loopback TCP). First frame: from process start to the
    overview drawn on the terminal ("Faults" in the output), and to its first values (the link
    line "ok · refresh", written after the first pass), with period=0 and with the map's own
    850 ms pacing (5 reads a pass). Key response, while polling once a second (period=0): from
    writing a key to the terminal to the frame that shows its effect — `t` (overview -> full
    table, "filter: name" appears; and back, "Faults" appears) and `p` (pause: "PAUSED" appears;
    resume: the footer's "Pause" appears), --overview-presses each at random moments.

Targets on the project's 2-core machine: first frame < 1.0 s, < 20 % of one core, < 120 MB RSS,
key response < 50 ms.

Run: .venv/bin/python bench/tui.py [--runs 5] [--seconds 20] [--window 15] [--presses 50]
                                   [--overview-presses 20] [--only headless|pty|live|overview]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import inspect
import json
import os
import pty
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POINTS = 1000
BLOCK = 125
LIVE_SIZE = (160, 50)
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGETS = {"first_frame_s": 1.0, "cpu_pct": 20.0, "rss_mb": 120.0, "key_ms": 50.0}


# --- helpers ------------------------------------------------------------------------------------

def write_map(folder: Path) -> Path:
    """A map of POINTS u16 input points, p0000.., addresses 0.., in register groups of BLOCK."""
    blocks = ", ".join(f"[{a}, {min(a + BLOCK, POINTS) - 1}]" for a in range(0, POINTS, BLOCK))
    lines = ["schema: 1",
             "device: {id: bench-1000, vendor: Bench, name: \"1,000 u16 input points\"}",
             "protocol: modbus",
             "link: {min_period_ms: 0, timeout_ms: 1000, max_read: 125, functions: [3, 4, 6, 16]}",
             f"blocks:\n  input: [{blocks}]",
             "points:"]
    lines += [f"  - {{name: p{i:04d}, doc: point {i}, table: input, address: {i}, type: u16, "
              f"scale: 0.1, unit: V, group: AC}}" for i in range(POINTS)]
    path = folder / "bench-1000.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB (MiB) from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) / 1024
    return out.get("VmRSS", 0.0), out.get("VmHWM", 0.0)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def mean_period(times: list[float]) -> float:
    """Mean time between consecutive passes."""
    return (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else float("nan")


def child_env(home: Path) -> dict:
    env = dict(os.environ, SOLARTUI_HOME=str(home), TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("SOLARTUI_JOURNAL", None)
    env.pop("TEXTUAL", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class PtyChild:
    """A process on the slave side of a pseudo-terminal of a given size; its output is drained
    (counted, and searched for a marker) by the event loop."""

    def __init__(self, argv: list[str], size: tuple[int, int], env: dict, pass_fds=()):
        self.master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     cwd=ROOT, start_new_session=True, pass_fds=pass_fds,
                                     close_fds=True)
        os.close(slave)
        self.bytes = 0
        self.tail = b""
        self.marker: bytes | None = None
        self.marker_seen = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_reader(self.master, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            if self.marker is not None and not self.marker_seen.done():
                said = self.tail[-400:].decode(errors="replace")
                self.marker_seen.set_exception(RuntimeError(
                    f"the program ended before its first frame: {said}"))
            return
        self.bytes += len(data)
        self.tail = (self.tail + data)[-4096:]
        if self.marker and not self.marker_seen.done() and self.marker in self.tail:
            self.marker_seen.set_result(time.monotonic())

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    async def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(b"\x11")          # ctrl+q: quit as a person would
            except OSError:
                pass
            for _ in range(50):
                if self.proc.poll() is not None:
                    break
                await asyncio.sleep(0.1)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            asyncio.get_running_loop().remove_reader(self.master)
        except (ValueError, OSError):
            pass
        os.close(self.master)


# --- (a) first frame ----------------------------------------------------------------------------

HEADLESS_FIRST_FRAME = """
import asyncio, time
from solartui.tui.app import SolartuiApp
async def main():
    app = SolartuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        print("FIRST", time.monotonic(), type(app.screen).__name__, flush=True)
asyncio.run(main())
"""


def first_frame_headless(runs: int, home: Path) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-c", HEADLESS_FIRST_FRAME], capture_output=True,
                              text=True, env=child_env(home), cwd=ROOT, timeout=60)
        line = next((x for x in done.stdout.splitlines() if x.startswith("FIRST ")), None)
        if line is None:
            raise RuntimeError(f"headless start failed: {done.stderr[-600:]}")
        out.append(float(line.split()[1]) - start)
    return out


async def first_frame_pty(runs: int, home: Path) -> list[float]:
    out = []
    for _ in range(runs):
        child = PtyChild([sys.executable, "-m", "solartui"], (120, 40), child_env(home))
        child.marker = b"solartui"
        try:
            seen = await asyncio.wait_for(child.marker_seen, 30)
            out.append(seen - child.started)
        finally:
            await child.stop()
    return out


# --- (b)+(c) live screen with 1,000 points ------------------------------------------------------

def start_simulator(map_path: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve",
                             str(map_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    port = int(proc.stdout.readline().split()[1])
    return proc, port


def stop_simulator(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


async def serve(map_path: str) -> None:
    """--serve: the simulator for the 1,000-point map, until stdin closes."""
    from solartui.registers.loader import load_map
    from solartui.sim.modbus_server import ModbusSimulator
    from solartui.sim.register_bank import RegisterBank

    sim = ModbusSimulator([RegisterBank(load_map(map_path), unit=1)])
    port = await sim.start_tcp("127.0.0.1", 0)
    print("PORT", port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await sim.stop()


def patch_live_screen(on_pass) -> bool:
    """Set LiveScreen.min_refresh to 1 s (if it has one) and report each pass to on_pass with
    the seconds its Polled handler took (the loop is busy for that long). Returns whether the
    live screen has a refresh setting."""
    from solartui.tui.screens import live

    has = hasattr(live.LiveScreen, "min_refresh")
    if has:
        live.LiveScreen.min_refresh = 1.0
    original = getattr(live.LiveScreen, "on_polled", None)
    if original is not None:
        def on_polled(self, message):
            start = time.perf_counter()
            try:
                return original(self, message)
            finally:
                on_pass(time.perf_counter() - start)
        live.LiveScreen.on_polled = on_polled
    return has


def find_table(app):
    """The live screen's point table, brought up (the screen opens on the overview; (b) and (c)
    measure the table view, as before the overview existed)."""
    from textual.widgets import DataTable
    if type(app.screen).__name__ != "LiveScreen":
        return None
    if getattr(app.screen, "showing_overview", False):
        app.screen.action_show_table()
    tables = list(app.screen.query(DataTable))
    return tables[0] if tables and tables[0].row_count else None


async def live_headless(url: str, map_path: Path, args, home: Path) -> dict:
    from solartui.journal import Journal
    from solartui.session import Session
    from solartui.traffic import TrafficLog
    from solartui.tui.app import SolartuiApp

    passes: list[float] = []
    handler_ms: list[float] = []

    def on_pass(seconds: float) -> None:
        passes.append(time.monotonic())
        handler_ms.append(seconds * 1000)

    has_refresh = patch_live_screen(on_pass)
    session = Session(Journal(home / "journal.jsonl"), TrafficLog())
    await session.connect(url, str(map_path))
    app = SolartuiApp(session=session)
    result = {"min_refresh": has_refresh}
    async with app.run_test(size=LIVE_SIZE) as pilot:
        t_open = time.monotonic()
        while find_table(app) is None and time.monotonic() - t_open < 15:
            await pilot.pause(0.1)
        table = find_table(app)
        if table is None:
            result["error"] = "no DataTable with rows on the live screen (still a placeholder?)"
            return result
        await asyncio.sleep(max(0.0, args.seconds - args.window - (time.monotonic() - t_open)))
        cpu0, t0, n0 = time.process_time(), time.monotonic(), len(passes)
        await asyncio.sleep(args.window)
        cpu1, t1, n1 = time.process_time(), time.monotonic(), len(passes)
        rss, hwm = rss_mb()
        result.update(cpu_pct=100 * (cpu1 - cpu0) / (t1 - t0), rss_mb=rss, hwm_mb=hwm,
                      passes=n1 - n0, window=t1 - t0, rows=table.row_count,
                      period=mean_period(passes[n0:n1]))
        # (c) key response
        table.focus()
        await pilot.pause()
        rng = random.Random(1)
        delays = []
        for _ in range(args.presses):
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            if table.cursor_row >= table.row_count - 1:
                table.move_cursor(row=0)
                await pilot.pause()
            before = table.cursor_row
            start = time.perf_counter()
            press = asyncio.ensure_future(pilot.press("down"))   # it returns only when idle
            while table.cursor_row == before and time.perf_counter() - start < 2:
                await asyncio.sleep(0.0005)
            delays.append(time.perf_counter() - start)
            await press
        result["key_ms"] = [d * 1000 for d in delays]
    result["handler_ms"] = handler_ms
    return result


async def live_pty(url: str, map_path: Path, args, home: Path) -> dict:
    rfd, wfd = os.pipe()
    os.set_blocking(rfd, False)
    child = PtyChild([sys.executable, str(Path(__file__).resolve()), "--child-live", url,
                      str(map_path), str(wfd)], LIVE_SIZE, child_env(home), pass_fds=(wfd,))
    os.close(wfd)
    loop = asyncio.get_running_loop()
    events: list[tuple[str, float, str]] = []
    changed = asyncio.Event()
    buf = b""

    def on_pipe():
        nonlocal buf
        try:
            data = os.read(rfd, 65536)
        except BlockingIOError:
            return
        if not data:
            loop.remove_reader(rfd)
            return
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            kind, t, *rest = line.decode().split(" ", 2)
            events.append((kind, float(t), rest[0] if rest else ""))
        changed.set()

    loop.add_reader(rfd, on_pipe)

    async def wait_for(pred, timeout):
        end = time.monotonic() + timeout
        while not pred():
            changed.clear()
            left = end - time.monotonic()
            if left <= 0 or child.proc.poll() is not None:
                return False
            try:
                await asyncio.wait_for(changed.wait(), left)
            except asyncio.TimeoutError:
                return False
        return True

    result: dict = {}
    try:
        ok = await wait_for(lambda: any(k == "table" for k, _, _ in events)
                            and any(k == "pass" for k, _, _ in events), 20)
        info = next((json.loads(r) for k, _, r in events if k == "info"), {})
        result["min_refresh"] = info.get("min_refresh", False)
        if not ok:
            result["error"] = ("no live table with values on the pty within 20 s: "
                               + child.tail[-300:].decode(errors="replace"))
            return result
        t_open = next(t for k, t, _ in events if k == "table")
        await asyncio.sleep(max(0.0, args.seconds - args.window - (time.monotonic() - t_open)))
        pid = child.proc.pid
        cpu0, t0, b0 = cpu_seconds(pid), time.monotonic(), child.bytes
        n0 = sum(1 for k, _, _ in events if k == "pass")
        await asyncio.sleep(args.window)
        cpu1, t1, b1 = cpu_seconds(pid), time.monotonic(), child.bytes
        n1 = sum(1 for k, _, _ in events if k == "pass")
        rss, hwm = rss_mb(pid)
        times = [t for k, t, _ in events if k == "pass"]
        result.update(cpu_pct=100 * (cpu1 - cpu0) / (t1 - t0), rss_mb=rss, hwm_mb=hwm,
                      passes=n1 - n0, window=t1 - t0, out_kb_s=(b1 - b0) / 1024 / (t1 - t0),
                      period=mean_period(times[n0:n1]))
        # (c) key response: ESC [ B on the terminal -> the app handles RowHighlighted
        rng = random.Random(1)
        delays = []
        for _ in range(args.presses):
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            seen = len(events)
            start = time.monotonic()
            child.send(b"\x1b[B")
            ok = await wait_for(lambda: any(k == "row" for k, _, _ in events[seen:]), 2)
            if ok:
                t_row = next(t for k, t, _ in events[seen:] if k == "row")
                delays.append(t_row - start)
        result["key_ms"] = [d * 1000 for d in delays]
        result["key_missed"] = args.presses - len(delays)
        result["handler_ms"] = [float(r) for k, _, r in events if k == "pass"]
    finally:
        await child.stop()
        try:
            loop.remove_reader(rfd)
        except (ValueError, OSError):
            pass
        os.close(rfd)
    return result


def child_live(url: str, map_path: str, fd: int) -> None:
    """--child-live: the app on a real terminal, reporting to fd: passes, the table's arrival,
    and each RowHighlighted with its monotonic time."""
    from textual.widgets import DataTable

    from solartui.tui.app import SolartuiApp

    def emit(kind: str, rest: str = "") -> None:
        os.write(fd, f"{kind} {time.monotonic()} {rest}\n".encode())

    has_refresh = patch_live_screen(lambda seconds: emit("pass", f"{seconds * 1000:.2f}"))
    emit("info", json.dumps({"min_refresh": has_refresh}))

    class BenchApp(SolartuiApp):
        # CSS_PATH is relative to the file of the class that sets it: point at the app's own
        CSS_PATH = str(Path(inspect.getfile(SolartuiApp)).parent / SolartuiApp.CSS_PATH)
        _table_seen = False

        def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
            emit("row", str(event.cursor_row))

        def _check_table(self) -> None:
            if not self._table_seen and find_table(self) is not None:
                self._table_seen = True
                find_table(self).focus()
                emit("table")

        def on_mount(self) -> None:
            super().on_mount()
            self.set_interval(0.2, self._check_table)

    BenchApp(url, map_path).run()


# --- (d) the overview at 80×24 on a pty ---------------------------------------------------------

OVERVIEW_SIZE = (80, 24)
GROWATT_MAP = ROOT / "maps" / "growatt_protocol_ii.yaml"
DRAWN = b"Faults"
VALUES = "ok · refresh".encode()


async def wait_marker(child: PtyChild, marker: bytes, timeout: float) -> float:
    """Monotonic time at which `marker` appears in output written from now on."""
    child.tail = b""
    child.marker = marker
    child.marker_seen = asyncio.get_running_loop().create_future()
    return await asyncio.wait_for(child.marker_seen, timeout)


def overview_argv(url: str) -> list[str]:
    return [sys.executable, "-m", "solartui", "ui", url, "--map", "growatt-protocol-ii"]


async def overview_first_frames(port: int, runs: int, home: Path, paced: bool) -> dict:
    url = f"tcp://127.0.0.1:{port}?unit=1&timeout=1000" + ("" if paced else "&period=0")
    drawn, values = [], []
    for _ in range(runs):
        child = PtyChild(overview_argv(url), OVERVIEW_SIZE, child_env(home))
        child.marker = DRAWN
        try:
            seen = await asyncio.wait_for(child.marker_seen, 30)
            drawn.append(seen - child.started)
            child.marker_seen = asyncio.get_running_loop().create_future()
            child.marker = VALUES
            if VALUES in child.tail:
                values.append(seen - child.started)
            else:
                values.append(await asyncio.wait_for(child.marker_seen, 30) - child.started)
        finally:
            await child.stop()
    return {"drawn": drawn, "values": values}


async def overview_keys(port: int, presses: int, home: Path) -> dict:
    """Key to frame on the overview screen while it polls (min_refresh 1 s, period=0)."""
    url = f"tcp://127.0.0.1:{port}?unit=1&timeout=1000&period=0"
    child = PtyChild(overview_argv(url), OVERVIEW_SIZE, child_env(home))
    child.marker = VALUES
    out: dict[str, list[float]] = {"t: overview -> table": [], "t: table -> overview": [],
                                   "p: pause": [], "p: resume": []}
    rng = random.Random(2)
    try:
        await asyncio.wait_for(child.marker_seen, 30)
        await asyncio.sleep(2.0)                      # a few passes: trends have values
        steps = (("t: overview -> table", b"t", b"filter: name"),
                 ("t: table -> overview", b"t", DRAWN),
                 ("p: pause", b"p", b"PAUSED"),
                 ("p: resume", b"p", b"Pause"))         # the footer offers Pause again
        for _ in range(presses):
            for name, key, marker in steps:
                await asyncio.sleep(rng.uniform(0.05, 0.6))
                child.tail = b""
                child.marker = marker
                child.marker_seen = asyncio.get_running_loop().create_future()
                start = time.monotonic()
                child.send(key)
                try:
                    seen = await asyncio.wait_for(child.marker_seen, 5)
                except asyncio.TimeoutError:
                    continue
                out[name].append((seen - start) * 1000)
        out["rss"] = [rss_mb(child.proc.pid)[0]]
    finally:
        await child.stop()
    return out


def start_growatt_simulator() -> tuple[subprocess.Popen, int]:
    return start_simulator(GROWATT_MAP)


async def overview_rows(args, home: Path) -> tuple[list, list]:
    rows, notes = [], []
    sim, port = start_growatt_simulator()
    try:
        for paced in (False, True):
            ff = await overview_first_frames(port, args.runs, home / "ov", paced)
            how = "850 ms pacing" if paced else "period=0"
            med_d, med_v = statistics.median(ff["drawn"]), statistics.median(ff["values"])
            rows.append((f"overview 80×24 pty, {how}: first frame (median of {args.runs})",
                         f"{med_d:.3f} s", "< 1.0 s", verdict(med_d, TARGETS["first_frame_s"])))
            rows.append((f"overview 80×24 pty, {how}: first values (median)",
                         f"{med_v:.3f} s", "", ""))
            notes.append(f"overview {how}: drawn " + ", ".join(f"{x:.3f}" for x in ff["drawn"])
                         + "; values " + ", ".join(f"{x:.3f}" for x in ff["values"]))
        keys = await overview_keys(port, args.overview_presses, home / "ovk")
        for name, ms in keys.items():
            if name == "rss":
                rows.append(("overview 80×24 pty: RSS after the presses", f"{ms[0]:.0f} MB",
                             "< 120 MB", verdict(ms[0], TARGETS["rss_mb"])))
                continue
            if not ms:
                rows.append((f"overview key {name}", "no frame within 5 s", "", ""))
                continue
            med, p95 = statistics.median(ms), percentile(ms, 0.95)
            rows.append((f"overview key {name}, median / p95 ({len(ms)})",
                         f"{med:.1f} / {p95:.1f} ms", "< 50 ms", verdict(p95, TARGETS["key_ms"])))
    finally:
        stop_simulator(sim)
    return rows, notes


# --- report -------------------------------------------------------------------------------------

def verdict(value: float, target: float) -> str:
    return "ok" if value < target else "OVER"


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for n, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


async def main_async(args) -> None:
    rows = [("figure", "value", "target", "")]
    notes = []
    with tempfile.TemporaryDirectory(prefix="solartui-bench-") as tmp:
        tmp = Path(tmp)
        home = tmp / "home"
        if args.only in (None, "overview"):
            more, more_notes = await overview_rows(args, home)
            rows += more
            notes += more_notes
            if args.only == "overview":
                print()
                print_table(rows)
                for n in notes:
                    print("  note:", n)
                return
        if args.only != "live":
            if args.only in (None, "headless"):
                ff = first_frame_headless(args.runs, home)
                med = statistics.median(ff)
                rows.append(("first frame, headless run_test (median of %d)" % len(ff),
                             f"{med:.3f} s", "< 1.0 s", verdict(med, TARGETS["first_frame_s"])))
                notes.append("first frame headless runs: " + ", ".join(f"{x:.3f}" for x in ff))
            if args.only in (None, "pty"):
                ff = await first_frame_pty(args.runs, home)
                med = statistics.median(ff)
                rows.append(("first frame, `python -m solartui` on a pty (median of %d)" % len(ff),
                             f"{med:.3f} s", "< 1.0 s", verdict(med, TARGETS["first_frame_s"])))
                notes.append("first frame pty runs: " + ", ".join(f"{x:.3f}" for x in ff))
        map_path = write_map(tmp)
        sim, port = start_simulator(map_path)
        url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=1000"
        try:
            for mode, fn in (("headless", live_headless), ("pty", live_pty)):
                if args.only not in (None, mode, "live"):
                    continue
                r = await fn(url, map_path, args, home / mode)
                if "error" in r:
                    rows.append((f"live 1,000 points, {mode}", "not measured", "", r["error"][:60]))
                    notes.append(f"{mode}: {r['error']}")
                    continue
                rows.append((f"{mode}: refresh passes in {r['window']:.0f} s",
                             f"{r['passes']} (one per {r['period']:.2f} s)", "1 per s",
                             "" if r["min_refresh"] else "no min_refresh: as fast as the link"))
                rows.append((f"{mode}: CPU, % of one core", f"{r['cpu_pct']:.1f} %", "< 20 %",
                             verdict(r["cpu_pct"], TARGETS["cpu_pct"])))
                rows.append((f"{mode}: RSS (peak)", f"{r['rss_mb']:.0f} MB ({r['hwm_mb']:.0f} MB)",
                             "< 120 MB", verdict(r["rss_mb"], TARGETS["rss_mb"])))
                hms = r.get("handler_ms") or []
                if hms:
                    rows.append((f"{mode}: live screen's Polled handler, median / max",
                                 f"{statistics.median(hms):.0f} / {max(hms):.0f} ms", "", ""))
                if "out_kb_s" in r:
                    rows.append((f"{mode}: terminal output", f"{r['out_kb_s']:.1f} KiB/s", "", ""))
                keys = r.get("key_ms") or []
                if keys:
                    med, p95 = statistics.median(keys), percentile(keys, 0.95)
                    rows.append((f"{mode}: key response, median / p95 ({len(keys)} presses)",
                                 f"{med:.1f} / {p95:.1f} ms", "< 50 ms",
                                 verdict(p95, TARGETS["key_ms"])))
                    if r.get("key_missed"):
                        notes.append(f"{mode}: {r['key_missed']} presses without a response in 2 s")
        finally:
            stop_simulator(sim)
    print()
    print_table(rows)
    for n in notes:
        print("  note:", n)


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--serve":
        asyncio.run(serve(sys.argv[2]))
        return
    if len(sys.argv) >= 5 and sys.argv[1] == "--child-live":
        child_live(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="first-frame runs (median)")
    parser.add_argument("--seconds", type=float, default=20.0, help="polling time per mode")
    parser.add_argument("--window", type=float, default=15.0, help="measured (last) seconds")
    parser.add_argument("--presses", type=int, default=50, help="key presses per mode")
    parser.add_argument("--overview-presses", type=int, default=20,
                        help="presses of each overview key (d)")
    parser.add_argument("--only", choices=("headless", "pty", "live", "overview"),
                        help="only one way of measuring (live: only (b) and (c), both ways; "
                             "overview: only (d))")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; targets: first frame < 1.0 s, "
          f"< 20 % of one core, < 120 MB, key response < 50 ms")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark: `solartui serve --mqtt` with a fleet of dataloggers, into a real mosquitto.

Processes: mosquitto (started here on a free loopback port, tests/mqtt_broker.py), one or two
`solartui serve` (each its own process, so its CPU and RSS are its own, read from /proc), the
simulated dataloggers (ShineWiFi-X + inverter, in this process, over loopback TCP) and
`mosquitto_sub` as the independent subscriber, which stamps every state message it receives
(%U: epoch with nanoseconds) into a file. The dataloggers note when each data record leaves
them; datalogger -> subscriber latency pairs the n-th record an inverter sent with the n-th
state message for it (exact while nothing is dropped; the serve log's drop count is shown).

Figures, over a steady-state window: records acked/s (what the dataloggers saw), state messages
published/s (what the subscriber saw), server CPU (% of one core) and RSS, mosquitto's CPU, the
generator's own achieved send rate (on 2 cores the generator competes with the server), and
latency median / p99. Runs: one serve with N dataloggers; then two serve processes (two ports,
N/2 each, base topics solartui/a and solartui/b) into the same broker.

Run: .venv/bin/python bench/mqtt_fleet.py [--loggers 5000] [--interval 5] [--window 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from mqtt_broker import Broker  # noqa: E402

from solartui.registers import catalog  # noqa: E402
from solartui.shine import frame as F  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.shine_logger import SimulatedDatalogger  # noqa: E402

HOST = "127.0.0.1"
TICKS = os.sysconf("SC_CLK_TCK")
SENT: dict[str, list[float]] = collections.defaultdict(list)     # inverter id -> send times
NO_DISCOVERY = False        # --no-discovery: serve --mqtt-no-discovery (what a fleet runs with)


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(text.split("VmRSS:")[1].split()[0]) / 1024


class TimedLogger(SimulatedDatalogger):
    """A simulated datalogger that notes when each live data record leaves it."""

    async def _send_data(self, rtype: int, age: float = 0.0) -> None:
        if rtype == F.DATA:
            SENT[self.inverter.lower()].append(time.time())
        await super()._send_data(rtype, age)


def serve_options() -> str:
    return subprocess.run([sys.executable, "-m", "solartui", "serve", "--help"], cwd=ROOT,
                          capture_output=True, text=True).stdout


class Serve:
    def __init__(self, broker: Broker, base: str, n: int, folder: Path, help_text: str):
        self.port, self.http_port = free_port(), free_port()
        self.log = folder / f"serve-{base.replace('/', '_')}.log"
        args = [sys.executable, "-m", "solartui", "serve", "--device-host", HOST,
                "--port", str(self.port), "--host", HOST, "--http-port", str(self.http_port),
                "--mqtt", broker.url, "--mqtt-base", base, "--mqtt-queue", "100000"]
        if NO_DISCOVERY:            # fleets: state topics only (README: several serve processes)
            args.append("--mqtt-no-discovery")
        if "--max-dataloggers" in help_text:
            args += ["--max-dataloggers", str(n + 100)]
        if "--max-per-address" in help_text:        # every simulated datalogger is 127.0.0.1
            args += ["--max-per-address", str(n + 100)]
        if "--max-frame-rate" in help_text:
            args += ["--max-frame-rate", "1000"]
        env = {**os.environ, "SOLARTUI_HOME": str(folder / f"home-{base.replace('/', '_')}")}
        self.fh = open(self.log, "w")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=self.fh)

    def wait_listening(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"serve did not listen; see {self.log}")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.fh.close()
        return self.log.read_text(errors="replace")


def dropped_in(log_text: str) -> int:
    """The publisher's own count (its last 'dropped' line), 0 if it never dropped."""
    n = 0
    for line in log_text.splitlines():
        if "dropped" in line and "mqtt" in line:
            for word in line.replace(";", " ").split():
                if word.replace(",", "").isdigit():
                    n = max(n, int(word.replace(",", "")))
    return n


async def start_fleet(count: int, first: int, port: int, interval: float) -> list:
    m = catalog.resolve("growatt-protocol-ii")
    sims = []
    for i in range(first, first + count):
        inv = f"BINV{i:06d}"
        sim = TimedLogger(RegisterBank(m, seed=i % 50, identity={"serial": inv}),
                          datalogger=f"BLOG{i:06d}", inverter=inv, interval=interval,
                          reconnect=2.0, ping_every=3600)
        await sim.start(HOST, port)
        sims.append(sim)
        if len(sims) % 250 == 0:     # spread the connects (and so the records) over time
            await asyncio.sleep(interval * 250 / max(count, 1))
    return sims


def latencies(sub_file: Path, t0: float, t1: float) -> tuple[list[float], int, int]:
    """(latencies s of messages received in [t0, t1], received in window, unmatched)."""
    seen: dict[str, int] = collections.Counter()
    lat: list[float] = []
    in_window = unmatched = 0
    for line in sub_file.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        try:
            recv = float(parts[0])
        except ValueError:
            continue
        dev = parts[1].split("/")[-2]
        k = seen[dev]
        seen[dev] += 1
        if not t0 <= recv <= t1:
            continue
        in_window += 1
        sent = SENT.get(dev, [])
        if k < len(sent):
            lat.append(recv - sent[k])
        else:
            unmatched += 1
    return lat, in_window, unmatched


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


async def run(n: int, processes: int, interval: float, window: float, folder: Path,
              help_text: str) -> dict:
    SENT.clear()
    broker = Broker(folder / f"broker-{processes}").start()
    sub_file = folder / f"sub-{processes}.txt"
    bases = ["solartui"] if processes == 1 else [f"solartui/{c}" for c in "ab"][:processes]
    sub = subprocess.Popen(["mosquitto_sub", "-h", HOST, "-p", str(broker.port), "-q", "0",
                            *sum((["-t", f"{b}/+/state"] for b in bases), []),
                            "-F", "%U %t"], stdout=open(sub_file, "w"),
                           stderr=subprocess.DEVNULL)
    cfg_file = folder / f"configs-{processes}.txt"     # Home Assistant's view: every config
    cfg_sub = None if NO_DISCOVERY else subprocess.Popen(
        ["mosquitto_sub", "-h", HOST, "-p", str(broker.port), "-q", "0",
         "-t", "homeassistant/+/+/+/config", "-F", "%U %t"], stdout=open(cfg_file, "w"),
        stderr=subprocess.DEVNULL)
    serves = [Serve(broker, b, n // processes, folder, help_text) for b in bases]
    sims: list = []
    try:
        for s in serves:
            s.wait_listening()
        t_start, t_start_epoch = time.perf_counter(), time.time()
        for k, s in enumerate(serves):
            sims += await start_fleet(n // processes, k * (n // processes), s.port, interval)
        deadline = time.monotonic() + 180
        while sum(1 for x in sims if x.announced.is_set()) < len(sims) * 0.99:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        connect_s = time.perf_counter() - t_start
        await asyncio.sleep(interval * 2 + 2)                    # into the steady state
        acks0 = sum(x.stats["acks"] for x in sims)
        sent0 = sum(x.stats["data"] for x in sims)
        cpu0 = [cpu_seconds(s.proc.pid) for s in serves]
        bcpu0 = cpu_seconds(broker._proc.pid) if broker._proc else 0.0
        g0 = time.process_time()
        t0, w0 = time.time(), time.perf_counter()
        await asyncio.sleep(window)
        t1, w1 = time.time(), time.perf_counter()
        wall = w1 - w0
        acks = (sum(x.stats["acks"] for x in sims) - acks0) / wall
        sent = (sum(x.stats["data"] for x in sims) - sent0) / wall
        cpu = [100 * (cpu_seconds(s.proc.pid) - c) / wall for s, c in zip(serves, cpu0)]
        bcpu = 100 * ((cpu_seconds(broker._proc.pid) if broker._proc else 0.0) - bcpu0) / wall
        gcpu = 100 * (time.process_time() - g0) / wall
        rss = [rss_mb(s.proc.pid) for s in serves]
        connected = sum(1 for x in sims if x.announced.is_set())
        await asyncio.sleep(3)                                  # the window's last messages
    finally:
        for x in sims:
            await x.stop()
        logs = [s.stop() for s in serves]
        sub.terminate()
        sub.wait(5)
        if cfg_sub is not None:
            cfg_sub.terminate()
            cfg_sub.wait(5)
        broker.stop()
    lat, received, unmatched = latencies(sub_file, t0, t1)
    configs = config_arrivals(cfg_file, t_start_epoch) if cfg_sub is not None else None
    return {"n": n, "processes": processes, "connected": connected, "connect_s": connect_s,
            "expected": n / interval, "sent": sent, "acked": acks,
            "published": received / (t1 - t0), "cpu": cpu, "rss": rss, "broker_cpu": bcpu,
            "gen_cpu": gcpu, "median_ms": 1000 * statistics.median(lat) if lat else float("nan"),
            "p99_ms": 1000 * pct(lat, 0.99), "max_ms": 1000 * max(lat) if lat else float("nan"),
            "unmatched": unmatched, "dropped": sum(dropped_in(t) for t in logs),
            "errors": sum(t.count(" ERROR ") for t in logs), "configs": configs}


def config_arrivals(cfg_file: Path, start: float) -> dict:
    """Discovery configs seen: how many, for how many devices, and when (s after the fleet
    started connecting) half, 99 % and all of them had arrived."""
    times, devices = [], set()
    for line in cfg_file.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2:
            times.append(float(parts[0]) - start)
            devices.add(parts[1].split("/")[2])
    times.sort()
    return {"count": len(times), "devices": len(devices),
            "half_s": pct(times, 0.5), "p99_s": pct(times, 0.99),
            "last_s": times[-1] if times else float("nan")}


def row(r: dict) -> str:
    cpu = " + ".join(f"{c:.0f}" for c in r["cpu"])
    rss = " + ".join(f"{m:.0f}" for m in r["rss"])
    return (f"| {r['processes']} x serve | {r['connected']:,}/{r['n']:,} | {r['expected']:.0f} | "
            f"{r['sent']:.0f} | {r['acked']:.0f} | {r['published']:.0f} | {cpu} % | {rss} MB | "
            f"{r['broker_cpu']:.0f} % | {r['gen_cpu']:.0f} % | {r['median_ms']:.0f} ms | "
            f"{r['p99_ms']:.0f} ms | {r['dropped']:,} |")


async def main(args) -> None:
    logging.disable(logging.WARNING)
    nofile = raise_nofile()
    help_text = serve_options()
    folder = Path(tempfile.mkdtemp(prefix="solartui-mqtt-bench-"))
    print(f"# serve --mqtt fleet: {args.loggers:,} dataloggers, a record every "
          f"{args.interval:g} s, {args.window:g} s window; {os.cpu_count()} cores; "
          f"descriptors {nofile:,}; discovery {'off' if NO_DISCOVERY else 'on'}; logs in {folder}")
    header = ("| run | dataloggers up | expected rec/s | sent rec/s | acked rec/s | "
              "published msg/s | serve CPU | serve RSS | mosquitto CPU | generator CPU | "
              "latency median | latency p99 | dropped |\n|" + "---|" * 13)
    rows = []
    for processes in args.processes:
        r = await run(args.loggers, processes, args.interval, args.window, folder, help_text)
        rows.append(row(r))
        print(f"  {processes} process(es): connected in {r['connect_s']:.0f} s; latency max "
              f"{r['max_ms']:.0f} ms; unmatched {r['unmatched']}; serve ERROR lines "
              f"{r['errors']}", flush=True)
        c = r["configs"]
        if c is not None:
            print(f"  discovery: {c['count']:,} configs for {c['devices']:,} devices seen by a "
                  f"subscriber; half by {c['half_s']:.1f} s, 99 % by {c['p99_s']:.1f} s, all by "
                  f"{c['last_s']:.1f} s after the fleet started connecting", flush=True)
    print(header)
    for line in rows:
        print(line)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--loggers", type=int, default=5000)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--window", type=float, default=30.0)
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-discovery", action="store_true",
                    help="serve --mqtt-no-discovery: state topics only, as a fleet runs")
    parsed = ap.parse_args()
    NO_DISCOVERY = parsed.no_discovery
    asyncio.run(main(parsed))

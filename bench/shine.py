#!/usr/bin/env python3
"""Benchmark: the embedded Growatt server under many dataloggers.

The server runs as `solartui serve` in its own process (so its CPU time is its own, read from
/proc); the simulated dataloggers (ShineWiFi-X with a simulated inverter behind it, answering
at once) run in this process and connect over loopback TCP. Two figures:

  1. API latency: with 100 dataloggers connected, `GET /inverter?command=register` median and
     99th percentile, for 1 caller and for 50 concurrent callers, each caller rotating over its
     own inverters. Run with --command-gap 0 (the server's own cost) and with the default 0.85 s
     (what the inverter's RS485 pacing does to a caller who hits one inverter repeatedly).
  2. Ingest: 1,000 dataloggers each sending a data record every 5 s: records per second acked
     by the server and the server's CPU use over a measurement window.

Run: .venv/bin/python bench/shine.py [--loggers 100] [--ingest 1000] [--window 30]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from solartui.registers import catalog  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.shine_logger import SimulatedDatalogger  # noqa: E402

HOST = "127.0.0.1"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS     # utime + stime


class ServerProcess:
    def __init__(self, command_gap: float):
        self.device_port, self.http_port = free_port(), free_port()
        env = {**os.environ, "SOLARTUI_HOME": str(Path("/tmp") / f"solartui-bench-{os.getpid()}")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "solartui", "serve", "--device-host", HOST,
             "--port", str(self.device_port), "--host", HOST, "--http-port", str(self.http_port),
             "--command-gap", str(command_gap)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    async def ready(self, session: aiohttp.ClientSession) -> None:
        for _ in range(200):
            try:
                async with session.get(self.url + "/datalogger") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise SystemExit("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def start_loggers(n: int, port: int, interval: float) -> list[SimulatedDatalogger]:
    m = catalog.resolve("growatt-protocol-ii")
    sims = []
    for i in range(n):
        inv = f"BINV{i:06d}"
        sim = SimulatedDatalogger(RegisterBank(m, seed=i, identity={"serial": inv}),
                                  datalogger=f"BLOG{i:06d}", inverter=inv, interval=interval,
                                  reconnect=1.0,
                                  # one address each, as on a site (the server caps connections
                                  # per source address)
                                  local_addr=f"127.0.{1 + i // 250}.{1 + i % 250}")
        await sim.start(HOST, port)
        sims.append(sim)
    return sims


async def wait_registered(session, url: str, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with session.get(url + "/inverter") as r:
            reg = await r.json()
        if sum(1 for v in reg.values() if len(v) > 3) >= n:
            return
        await asyncio.sleep(0.2)
    raise SystemExit(f"only {len(reg)} of {n} dataloggers registered")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def latency(n_loggers: int, callers: int, per_caller: int, gap: float) -> dict:
    server = ServerProcess(gap)
    sims: list[SimulatedDatalogger] = []
    conn = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=conn) as session:
        try:
            await server.ready(session)
            sims = await start_loggers(n_loggers, server.device_port, interval=3600)
            await wait_registered(session, server.url, n_loggers)
            await asyncio.sleep(1.0)            # let the announce-time clock syncs finish
            times: list[float] = []

            async def caller(k: int) -> None:
                for j in range(per_caller):
                    inv = (k + j * callers) % n_loggers
                    t0 = time.perf_counter()
                    async with session.get(f"{server.url}/inverter?command=register"
                                           f"&inverter=BINV{inv:06d}&register=3") as r:
                        await r.read()
                        if r.status != 200:
                            raise SystemExit(f"HTTP {r.status}")
                    times.append(time.perf_counter() - t0)

            t0, cpu0 = time.perf_counter(), cpu_seconds(server.proc.pid)
            await asyncio.gather(*(caller(k) for k in range(callers)))
            wall = time.perf_counter() - t0
            cpu = cpu_seconds(server.proc.pid) - cpu0
        finally:
            for s in sims:
                await s.stop()
            server.stop()
    return {"n": len(times), "median_ms": statistics.median(times) * 1000,
            "p99_ms": pct(times, 0.99) * 1000, "max_ms": max(times) * 1000,
            "rate": len(times) / wall, "cpu_pct": 100 * cpu / wall,
            "cpu_ms_per_req": 1000 * cpu / len(times)}


async def ingest(n_loggers: int, interval: float, window: float) -> dict:
    server = ServerProcess(0.85)
    sims: list[SimulatedDatalogger] = []
    async with aiohttp.ClientSession() as session:
        try:
            await server.ready(session)
            t_conn = time.perf_counter()
            sims = await start_loggers(n_loggers, server.device_port, interval=interval)
            await wait_registered(session, server.url, n_loggers, timeout=300)
            t_conn = time.perf_counter() - t_conn
            await asyncio.sleep(interval + 2)    # past the connect burst, into the steady state
            acks0 = sum(s.stats["acks"] for s in sims)
            cpu0, t0 = cpu_seconds(server.proc.pid), time.perf_counter()
            await asyncio.sleep(window)
            cpu1, t1 = cpu_seconds(server.proc.pid), time.perf_counter()
            acks1 = sum(s.stats["acks"] for s in sims)
            rss = int(Path(f"/proc/{server.proc.pid}/status").read_text().split("VmRSS:")[1].split()[0])
        finally:
            for s in sims:
                await s.stop()
            server.stop()
    return {"connect_s": t_conn, "records_per_s": (acks1 - acks0) / (t1 - t0),
            "expected_per_s": n_loggers / interval, "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
            "rss_mb": rss / 1024}


async def main(args) -> None:
    logging.disable(logging.WARNING)
    print(f"# Shine server benchmark ({args.loggers} dataloggers for latency, {args.ingest} for ingest)")
    for gap in (0.0, 0.85):
        for callers, per in ((1, 200), (50, 20)):
            r = await latency(args.loggers, callers, per, gap)
            print(f"latency gap={gap:.2f}s callers={callers:2d}: n={r['n']} median "
                  f"{r['median_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms  max {r['max_ms']:.0f} ms "
                  f"({r['rate']:.0f} req/s; server CPU {r['cpu_pct']:.0f} % of a core, "
                  f"{r['cpu_ms_per_req']:.2f} ms per request)")
    r = await ingest(args.ingest, args.interval, args.window)
    print(f"ingest {args.ingest} dataloggers, a record every {args.interval:g} s: "
          f"{r['records_per_s']:.1f} records/s acked (expected {r['expected_per_s']:.0f}), "
          f"server CPU {r['cpu_pct']:.1f} % of one core, RSS {r['rss_mb']:.0f} MB; "
          f"all connected and registered in {r['connect_s']:.1f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--loggers", type=int, default=100)
    ap.add_argument("--ingest", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=5.0)
    ap.add_argument("--window", type=float, default=30.0)
    asyncio.run(main(ap.parse_args()))

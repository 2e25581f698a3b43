#!/usr/bin/env python3
"""Benchmark: `solartui serve` while clients misbehave (issue 17), and the same without them.

The server runs as `solartui serve` in its own process (CPU from /proc/PID/stat, RSS from
/proc/PID/status). In this process: 100 legitimate simulated dataloggers (ShineWiFi-X + inverter,
one record a second each, each from its own loopback address 127.0.1.N) and one API caller
reading an inverter register through the HTTP API, one read after another (round robin over the
100, a pause of --gap between reads). In a second process (so that its CPU is not ours), the
attack, for the whole window, every client reconnecting as soon as it is closed:

  idle     1,000 connections that never send a byte (over 63 addresses 127.0.2.N, 16 each, so
           that the per-address cap does not simply refuse them: the total is what is tested)
  flood    8 clients (127.0.3.1-8) writing random bytes as fast as they can
  frames   2 clients (127.0.4.1-2) sending valid pings for ever new unknown dataloggers, 500 a
           write, as fast as the server takes them
  loris    1 slow-loris client (127.0.5.1) holding 200 HTTP connections, each sending one more
           header line every second and never ending the request

Figures per run: legitimate API p50/p99 (and failures), records acked per second, records sent
and never acked (outstanding all through the 3 s after the window), reconnects of legitimate
dataloggers, server CPU (% of one core) and RSS (now and peak), the time SIGTERM takes to end
the server while the attack still runs, what the attack did, and the server's own refusal
counters (from its log). --nice N runs the attack at that CPU priority (on a site the attacker
is another machine). `--code DIR` runs the server from another checkout (main: "before").

Run: .venv/bin/python bench/shine_flood.py [--seconds 20] [--only attack|quiet] [--nice 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
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

HOST = "127.0.0.1"
LEGIT = 100


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


NICE = {"level": 0}


def attacker_setup() -> None:
    """The attack's process: descriptors for its 1,200 sockets, and --nice."""
    raise_nofile()
    if NICE["level"]:
        os.nice(NICE["level"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the attack (its own process) ----------------------------------------------------------------

async def attack(dport: int, hport: int, seconds: float) -> dict:
    from solartui.shine import records as R
    stats = {"idle_opened": 0, "idle_closed": 0, "flood_bytes_written": 0, "flood_connections": 0,
             "frames_sent": 0, "frame_connections": 0, "loris_connections": 0,
             "loris_closed": 0, "connect_errors": 0}
    end = time.monotonic() + seconds
    rng = random.Random(17)
    garbage = rng.randbytes(1 << 20)

    async def connect(source: str, port: int):
        try:
            return await asyncio.open_connection(HOST, port, local_addr=(source, 0))
        except OSError:
            stats["connect_errors"] += 1
            await asyncio.sleep(0.05)
            return None

    async def idle(source: str):
        while time.monotonic() < end:
            conn = await connect(source, dport)
            if conn is None:
                continue
            stats["idle_opened"] += 1
            reader, writer = conn
            try:
                await asyncio.wait_for(reader.read(1), max(0.01, end - time.monotonic()))
                stats["idle_closed"] += 1
            except (asyncio.TimeoutError, OSError):
                pass
            writer.close()

    async def flooder(source: str):
        while time.monotonic() < end:
            conn = await connect(source, dport)
            if conn is None:
                continue
            stats["flood_connections"] += 1
            _reader, writer = conn
            off = 0
            try:
                while time.monotonic() < end and not writer.transport.is_closing():
                    chunk = garbage[off:off + 65536]
                    off = (off + 65536) % (len(garbage) - 65536)
                    writer.write(chunk)
                    await writer.drain()
                    stats["flood_bytes_written"] += len(chunk)
            except (ConnectionError, OSError):
                pass
            writer.close()

    async def framer(source: str, n: int):
        serial = 0
        while time.monotonic() < end:
            conn = await connect(source, dport)
            if conn is None:
                continue
            stats["frame_connections"] += 1
            reader, writer = conn

            async def discard():
                with contextlib.suppress(Exception):
                    while await reader.read(65536):
                        pass

            sink = asyncio.ensure_future(discard())
            try:
                while time.monotonic() < end and not reader.at_eof():
                    batch = b"".join(R.encode(R.Ping(f"X{n}{(serial + i) % 10**8:08d}"), 1, 6)
                                     for i in range(500))
                    serial += 500
                    writer.write(batch)
                    await writer.drain()
                    stats["frames_sent"] += 500
            except (ConnectionError, OSError):
                pass
            sink.cancel()
            writer.close()

    async def loris_one(source: str):
        while time.monotonic() < end:
            conn = await connect(source, hport)
            if conn is None:
                continue
            stats["loris_connections"] += 1
            reader, writer = conn
            try:
                writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
                while time.monotonic() < end:
                    writer.write(b"X-Loris: 1\r\n")
                    await writer.drain()
                    try:
                        if await asyncio.wait_for(reader.read(1024), 1.0) == b"":
                            stats["loris_closed"] += 1
                            break
                    except asyncio.TimeoutError:
                        pass
            except (ConnectionError, OSError):
                stats["loris_closed"] += 1
            writer.close()

    tasks = []
    for i in range(1000):
        tasks.append(idle(f"127.0.2.{1 + i % 63}"))
    for i in range(8):
        tasks.append(flooder(f"127.0.3.{1 + i}"))
    for i in range(2):
        tasks.append(framer(f"127.0.4.{1 + i}", i))
    for _ in range(200):
        tasks.append(loris_one("127.0.5.1"))
    await asyncio.gather(*tasks, return_exceptions=True)
    return stats


# --- the legitimate side and the measurements ----------------------------------------------------

class Server:
    def __init__(self, code: Path, extra: list[str]):
        self.device_port, self.http_port = free_port(), free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="solartui-flood-", suffix=".log")
        home = tempfile.mkdtemp(prefix="solartui-bench-")
        env = {**os.environ, "SOLARTUI_HOME": home, "PYTHONPATH": str(code)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "solartui", "serve", "--device-host", HOST,
             "--port", str(self.device_port), "--host", HOST, "--http-port", str(self.http_port),
             "--tz", "UTC", *extra],
            cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=self.log, preexec_fn=raise_nofile)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> float:
        t = time.monotonic()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - t


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def run(args, attacked: bool) -> dict:
    import aiohttp

    from solartui.registers import catalog
    from solartui.sim.register_bank import RegisterBank
    from solartui.sim.shine_logger import SimulatedDatalogger

    gmap = catalog.resolve("growatt-protocol-ii")
    server = Server(Path(args.code).resolve(), args.serve_args.split())
    sims: list[SimulatedDatalogger] = []
    attacker = None
    out: dict = {"run": "attack" if attacked else "quiet"}
    try:
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=4)) as session:
            for _ in range(400):
                try:
                    async with session.get(server.url + "/") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            for n in range(LEGIT):
                bank = RegisterBank(gmap, seed=n, identity={"serial": f"INV{n:07d}"})
                bank.set_raw("holding", 3, [n])
                sim = SimulatedDatalogger(bank, datalogger=f"LOG{n:07d}", inverter=f"INV{n:07d}",
                                          interval=1.0, reconnect=2.0,
                                          local_addr=f"127.0.1.{1 + n}")
                await sim.start(HOST, server.device_port)
                sims.append(sim)
            for _ in range(600):
                async with session.get(server.url + "/inverter") as r:
                    if len(await r.json()) >= LEGIT:
                        break
                await asyncio.sleep(0.1)
            else:
                raise SystemExit("the legitimate dataloggers did not all register")
            await asyncio.sleep(1.0)
            if attacked:
                attacker = await asyncio.create_subprocess_exec(
                    sys.executable, __file__, "--attack",
                    f"{server.device_port},{server.http_port},{args.seconds + 8}",
                    stdout=asyncio.subprocess.PIPE, preexec_fn=attacker_setup)
                await asyncio.sleep(2.0)          # the attack under way before we measure
            sent0 = sum(s.stats["records_sent"] for s in sims)
            acks0 = sum(s.stats["acks"] for s in sims)
            cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
            times, fails = [], 0
            i = 0
            while time.monotonic() - t0 < args.seconds:
                n = i % LEGIT
                i += 1
                url = f"{server.url}/inverter?command=register&inverter=INV{n:07d}&register=3"
                t = time.perf_counter()
                try:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as r:
                        body = await r.json()
                        ok = r.status == 200 and body == {"value": n}
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                    ok = False
                if ok:
                    times.append((time.perf_counter() - t) * 1000)
                else:
                    fails += 1
                await asyncio.sleep(args.gap)
            took = time.monotonic() - t0
            cpu = cpu_seconds(server.proc.pid) - cpu0
            acks = sum(s.stats["acks"] for s in sims) - acks0
            sent = sum(s.stats["records_sent"] for s in sims) - sent0
            out.update(rss=proc_kb(server.proc.pid, "VmRSS") / 1024,
                       peak=proc_kb(server.proc.pid, "VmHWM") / 1024)
            # records (announces, data) sent and never acked (pings are answered by an echo): the
            # count each datalogger has outstanding, at its lowest over 3 s — one sent a moment
            # ago is outstanding for a few ms; a lost one stays outstanding for ever
            low = [10**9] * len(sims)
            for _ in range(10):
                await asyncio.sleep(0.3)
                low = [min(m, s.stats["records_sent"] - s.stats["acks"] - s.stats["ping_echoes"])
                       for m, s in zip(low, sims)]
            unacked = sum(max(0, m) for m in low)
            # SIGTERM while the attack (if any) still runs: the bench's clock, not the server's
            started = time.monotonic()
            server.proc.terminate()
            while server.proc.poll() is None and time.monotonic() - started < 30:
                await asyncio.sleep(0.01)
            out["stop_s"] = time.monotonic() - started
            if attacker is not None:
                got, _ = await asyncio.wait_for(attacker.communicate(), 60)
                out["attack"] = json.loads(got.decode().strip().splitlines()[-1])
            out.update(calls=len(times) + fails, fails=fails,
                       p50=statistics.median(times) if times else float("nan"),
                       p99=percentile(times, 0.99), max=max(times) if times else float("nan"),
                       acked_per_s=acks / took, sent_per_s=sent / took, unacked=unacked,
                       reconnects=sum(max(0, s.stats["connects"] - 1) for s in sims),
                       dropped=sum(s.stats["unanswered_drops"] for s in sims),
                       cpu=100 * cpu / took)
    finally:
        for sim in sims:
            await sim.stop()
        if attacker is not None and attacker.returncode is None:
            attacker.kill()
            await attacker.wait()
        if server.proc.poll() is None:
            out.setdefault("stop_s", server.stop())
        text = server.text()
        totals: dict[str, int] = {}
        for line in re.findall(r"refused or dropped since the last summary: (.*)", text):
            for part in line.split(", "):
                name, _, n = part.rpartition(" ")
                totals[name] = totals.get(name, 0) + int(n.replace(",", ""))
        out["server_counters"] = [", ".join(f"{k} {v:,}" for k, v in totals.items())] \
            if totals else []
        stopped = re.findall(r"stopped in ([\d.]+) s", text)
        out["stopped_in"] = stopped[-1] if stopped else "?"
        out["log_lines"] = text.count("\n")
        # the server's own time for each read (its log line), which no client-side scheduling
        # delay is in: the datalogger's answer and the server's loop
        own = [float(ms) for ms in re.findall(
            r"GET /inverter\?command=register\S* 200 (\d+) ms", text)]
        out["srv_p50"] = statistics.median(own) if own else float("nan")
        out["srv_p99"] = percentile(own, 0.99)
        out["load"] = os.getloadavg()[0]
        out["tracebacks"] = text.count("Traceback")
    return out


def show(results: list[dict]) -> None:
    print(f"\n{'run':<7} {'API calls':>9} {'fail':>5} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'acked/s':>8} {'unacked':>7} {'reconn':>6} {'CPU %':>6} {'RSS MB':>7} {'peak MB':>7} "
          f"{'stop s':>6} {'srv p50':>7} {'srv p99':>7} {'load':>5}")
    for r in results:
        print(f"{r['run']:<7} {r['calls']:>9} {r['fails']:>5} {r['p50']:>7.1f} {r['p99']:>7.1f} "
              f"{r['max']:>7.1f} {r['acked_per_s']:>8.1f} {r['unacked']:>7} {r['reconnects']:>6} "
              f"{r['cpu']:>6.0f} {r['rss']:>7.1f} {r['peak']:>7.1f} {r['stop_s']:>6.2f} "
              f"{r['srv_p50']:>7.0f} {r['srv_p99']:>7.0f} {r['load']:>5.1f}")
    for r in results:
        if "attack" in r:
            print(f"\nattack ({r['run']}): {json.dumps(r['attack'])}")
        for line in r["server_counters"]:
            print(f"server ({r['run']}): {line}")
        print(f"server ({r['run']}): stopped in {r['stopped_in']} s (its own figure), "
              f"{r['log_lines']} log lines, {r['tracebacks']} tracebacks")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement window per run")
    ap.add_argument("--gap", type=float, default=0.05, help="pause between API calls (s)")
    ap.add_argument("--only", choices=("attack", "quiet"), default=None)
    ap.add_argument("--code", default=str(ROOT), help="checkout the server runs from")
    ap.add_argument("--serve-args", default="", help="extra `serve` options")
    ap.add_argument("--nice", type=int, default=0, help="CPU priority of the attack's process")
    ap.add_argument("--attack", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    NICE["level"] = args.nice
    raise_nofile()
    if args.attack:
        dport, hport, seconds = args.attack.split(",")
        stats = asyncio.run(attack(int(dport), int(hport), float(seconds)))
        print(json.dumps(stats))
        return
    results = []
    for attacked in (False, True):
        if args.only and args.only != ("attack" if attacked else "quiet"):
            continue
        results.append(asyncio.run(run(args, attacked)))
        show(results[-1:])
    print("\n=== summary ===")
    show(results)


if __name__ == "__main__":
    main()

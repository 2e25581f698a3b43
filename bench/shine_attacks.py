#!/usr/bin/env python3
"""Benchmark: the embedded Growatt server under the attacks of issue 21 (parts 2 and 3).

The server runs as `solartui serve` in its own process (its RSS is read from /proc); one
legitimate simulated datalogger (ShineWiFi-X + inverter, answering at once) and the attackers
(raw loopback sockets) run in this process. Every attack gets a fresh server:

  hijack    an impostor pings with the legitimate datalogger's serial every 0.2 s for 4 s, while
            the legitimate one reconnects 0.2 s after losing its connection (a real one: ~2 s);
            then PUT holding 3 = 77 through the API.
  dump      0x29 parameter dumps of new registers (3 values of 1,200 bytes a frame) on one
            connection, --dump-mb MB.
  serials   pings with distinct serials on one connection, --serials of them.
  abandon   --abandon register reads whose callers leave after 0.3 s, then one legitimate read
            (server --command-gap 0.1 so that main finishes in reasonable time).
  fds       the server at RLIMIT_NOFILE 1024 (systemd's default), --idle idle connections.

For each: server RSS before/after (and peak), lines and bytes the server logged, and the latency of
a legitimate `GET /inverter?command=register` (median of 10) after the attack — or the outcome
that matters (who the PUT reached; how long the legitimate read waited). `--code DIR` runs the
server from another checkout (`git archive main | tar -x -C DIR` gives the "before" figures).

Run: .venv/bin/python bench/shine_attacks.py [--code DIR] [--only hijack,dump,...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

import aiohttp  # noqa: E402

from solartui.registers import catalog  # noqa: E402
from solartui.shine import frame as F  # noqa: E402
from solartui.shine import records as R  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402
from solartui.sim.shine_logger import SimulatedDatalogger  # noqa: E402

HOST = "127.0.0.1"
LEGIT, LEGIT_INV = "LEGIT00001", "LEGITINV01"
MAP = catalog.resolve("growatt-protocol-ii")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class Server:
    def __init__(self, code: Path, gap: float = 0.0, nofile: int | None = None):
        self.device_port, self.http_port = free_port(), free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="solartui-attack-", suffix=".log")
        home = tempfile.mkdtemp(prefix="solartui-bench-")
        env = {**os.environ, "SOLARTUI_HOME": home, "PYTHONPATH": str(code)}

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "solartui", "serve", "--device-host", HOST,
             "--port", str(self.device_port), "--host", HOST, "--http-port", str(self.http_port),
             "--command-gap", str(gap), "--tz", "UTC"],
            cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=self.log, preexec_fn=limit)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def rss(self) -> float:
        return proc_kb(self.proc.pid, "VmRSS") / 1024

    def peak(self) -> float:
        return proc_kb(self.proc.pid, "VmHWM") / 1024

    def logged(self) -> tuple[int, int]:
        data = Path(self.log.name).read_bytes()
        return data.count(b"\n"), len(data)

    async def ready(self, session) -> None:
        for _ in range(400):
            try:
                async with session.get(self.url + "/") as r:
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
            self.proc.wait()


async def legit(server: Server, session, **kw) -> SimulatedDatalogger:
    bank = RegisterBank(MAP, seed=1, identity={"serial": LEGIT_INV})
    bank.set_raw("holding", 3, [100])
    kw.setdefault("reconnect", 0.2)
    sim = SimulatedDatalogger(bank, datalogger=LEGIT, inverter=LEGIT_INV, interval=3600, **kw)
    await sim.start(HOST, server.device_port)
    for _ in range(400):
        status, body = await get(session, server.url + "/inverter")
        if status == 200 and LEGIT_INV in body:
            return sim
        await asyncio.sleep(0.05)
    raise SystemExit("the legitimate datalogger did not register")


async def get(session, url: str, timeout: float = 30.0):
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout)) as r:
            return r.status, await r.text()
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        return type(exc).__name__, ""


async def api_latency(server: Server, session, n: int = 10) -> str:
    times, fails = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        status, _ = await get(session, f"{server.url}/inverter?command=register"
                                       f"&inverter={LEGIT_INV}&register=3", 15)
        if status == 200:
            times.append(time.perf_counter() - t0)
        else:
            fails += 1
    med = f"{statistics.median(times) * 1000:.1f} ms" if times else "—"
    return med + (f" ({fails}/{n} failed)" if fails else "")


async def open_raw(server: Server):
    return await asyncio.open_connection(HOST, server.device_port)


# --- the attacks -------------------------------------------------------------------------------

async def hijack(server: Server, session, args) -> dict:
    sim = await legit(server, session, reconnect=2.0)
    got: dict[int, int] = {}
    ports: set[int] = set()

    async def impostor():
        """Pings with the legitimate serial every 0.2 s, reconnecting whenever it is closed,
        and counts what the server sends it, by frame type."""
        from solartui.shine.stream import FrameStream
        while True:
            reader, writer = await open_raw(server)
            ports.add(writer.get_extra_info("sockname")[1])
            stream = FrameStream()
            next_ping = 0.0
            held: dict[int, int] = {}
            while not reader.at_eof():
                if time.monotonic() >= next_ping:
                    writer.write(R.encode(R.Ping(LEGIT), 1, 6))
                    next_ping = time.monotonic() + 0.2
                try:
                    data = await asyncio.wait_for(reader.read(65536), 0.2)
                except asyncio.TimeoutError:
                    continue
                for frame in stream.feed(data):
                    got[frame.type] = got.get(frame.type, 0) + 1
                    rec = R.parse_from_server(frame)     # answer as the inverter would
                    if isinstance(rec, R.ReadHolding):
                        vals = tuple(held.get(r, 100) for r in range(rec.first, rec.last + 1))
                        reply = R.HoldingValues(LEGIT, rec.first, rec.last, vals)
                    elif isinstance(rec, R.WriteHolding):
                        held[rec.register] = rec.value
                        reply = R.HoldingWriteReply(LEGIT, rec.register, 0, rec.value)
                    else:
                        continue
                    writer.write(R.encode(reply, frame.tid, frame.protocol, frame.unit))
            writer.close()

    task = asyncio.create_task(impostor())
    held = total = 0
    deadline = time.monotonic() + 4.0
    while time.monotonic() < deadline:
        status, body = await get(session, server.url + "/datalogger")
        if status == 200:
            total += 1
            held += json.loads(body).get(LEGIT, {}).get("port") not in ports
        await asyncio.sleep(0.05)
    until = time.monotonic() + 2.5          # the PUT when the impostor holds it (main), if ever
    while time.monotonic() < until:
        status, body = await get(session, server.url + "/datalogger")
        if status == 200 and json.loads(body).get(LEGIT, {}).get("port") in ports:
            break
        await asyncio.sleep(0.02)
    t0 = time.perf_counter()
    async with session.put(f"{server.url}/inverter?command=register&inverter={LEGIT_INV}"
                           "&register=3&value=77") as r:
        put = f"{r.status} in {(time.perf_counter() - t0) * 1000:.0f} ms"
    real = sim.bank.get_raw("holding", 3, 1)[0]
    task.cancel()
    await sim.stop()
    return {"legit datalogger held its serial": f"{held * 100 / max(total, 1):.0f} % of {total} looks",
            "impostor got ping echoes / write frames": f"{got.get(F.PING, 0)} / "
            f"{got.get(F.WRITE_HOLDING, 0) + got.get(F.WRITE_MULTIPLE, 0)}",
            "impostor connections": str(len(ports)),
            "PUT holding 3 = 77": put,
            "real inverter holds": str(real),
            "legit (re)connects": str(sim.stats.get("connects", "?"))}


async def dump(server: Server, session, args) -> dict:
    sim = await legit(server, session)
    rss0 = server.rss()
    _reader, writer = await open_raw(server)
    value = b"v" * (args.dump_value - 4)
    per_frame = max(1, 3800 // (args.dump_value + 4))
    sent, reg, t0 = 0, 0, time.perf_counter()
    while sent < args.dump_mb * 1e6:
        params = {}
        while len(params) < per_frame:
            params[reg % 65536] = value + reg.to_bytes(4, "big")
            reg += 1
        wire = R.encode(R.ParamDump("FLOOD00001", params), 1, 6)
        writer.write(wire)
        sent += len(wire)
        if sent % (1 << 20) < len(wire):
            await writer.drain()
    await writer.drain()
    status, _ = await get(session, server.url + "/")            # the server has read it all
    took = time.perf_counter() - t0
    lat = await api_latency(server, session)
    t1 = time.perf_counter()
    st, body = await get(session, f"{server.url}/datalogger?command=regall&datalogger=FLOOD00001")
    regall = f"{st}, {len(body) / 1e6:.1f} MB in {(time.perf_counter() - t1) * 1000:.0f} ms"
    out = {"sent": f"{sent / 1e6:.0f} MB in {took:.1f} s", "RSS before": f"{rss0:.0f} MB",
           "RSS after": f"{server.rss():.0f} MB", "RSS peak": f"{server.peak():.0f} MB",
           "regall of the flooder": regall, "legit read after": lat}
    writer.close()
    await sim.stop()
    return out


async def serials(server: Server, session, args) -> dict:
    sim = await legit(server, session)
    rss0 = server.rss()
    lines0, bytes0 = server.logged()
    _reader, writer = await open_raw(server)
    t0 = time.perf_counter()
    for i in range(args.serials):
        writer.write(R.encode(R.Ping(f"S{i:09d}"), 1, 6))
        if i % 5000 == 4999:
            await writer.drain()
    await writer.drain()
    await get(session, server.url + "/")
    took = time.perf_counter() - t0
    t1 = time.perf_counter()
    st, body = await get(session, server.url + "/datalogger")
    listing = f"{st}, {len(body) / 1e6:.2f} MB in {(time.perf_counter() - t1) * 1000:.0f} ms"
    lines, nbytes = server.logged()
    out = {"pings sent": f"{args.serials:,} in {took:.1f} s", "RSS before": f"{rss0:.0f} MB",
           "RSS after": f"{server.rss():.0f} MB", "log": f"{lines - lines0:,} lines, "
           f"{(nbytes - bytes0) / 1e6:.2f} MB", "GET /datalogger": listing,
           "legit read after": await api_latency(server, session)}
    writer.close()
    await sim.stop()
    return out


async def abandon(server: Server, session, args) -> dict:
    sim = await legit(server, session)
    url = f"{server.url}/inverter?command=register&inverter={LEGIT_INV}&register=3"
    statuses: dict = {}

    async def leave():
        status, _ = await get(session, url, timeout=0.3)
        statuses[status] = statuses.get(status, 0) + 1

    before = sim.stats["commands"]
    await asyncio.gather(*(leave() for _ in range(args.abandon)))
    t0 = time.perf_counter()
    status, body = await get(session, url, timeout=60)
    waited = time.perf_counter() - t0
    await asyncio.sleep(0.5)
    out = {"abandoned callers saw": ", ".join(f"{k}: {v}" for k, v in sorted(
               statuses.items(), key=str)),
           "legit read": f"{status} after {waited:.2f} s",
           "reads the datalogger executed": str(sim.stats["commands"] - before)}
    await sim.stop()
    return out


async def fds(server: Server, session, args) -> dict:
    sim = await legit(server, session)
    lines0, bytes0 = server.logged()
    socks = []
    t0 = time.perf_counter()
    for _ in range(args.idle):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect((HOST, server.device_port))
        except BlockingIOError:
            pass
        socks.append(s)
    await asyncio.sleep(5.0)
    lines, nbytes = server.logged()
    text = Path(server.log.name).read_bytes()[bytes0:]
    out = {"log in 5 s": f"{lines - lines0:,} lines, {(nbytes - bytes0) / 1e6:.2f} MB",
           "'out of system resource' tracebacks": f"{text.count(b'out of system resource'):,}",
           "legit read during": await api_latency(server, session)}
    for s in socks:
        s.close()
    await sim.stop()
    return out


ATTACKS = {"hijack": (hijack, 0.0, None), "dump": (dump, 0.0, None),
           "serials": (serials, 0.0, None), "abandon": (abandon, 0.1, None),
           "fds": (fds, 0.0, 1024)}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout whose server to run")
    ap.add_argument("--only", default=",".join(ATTACKS))
    ap.add_argument("--dump-mb", type=float, default=80)
    ap.add_argument("--dump-value", type=int, default=1200, help="bytes per register value")
    ap.add_argument("--serials", type=int, default=100_000)
    ap.add_argument("--abandon", type=int, default=100)
    ap.add_argument("--idle", type=int, default=1100)
    args = ap.parse_args()
    import logging
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)   # the sims' sends to closed sockets
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))     # this process holds the sockets
    results = {}
    for name in args.only.split(","):
        attack, gap, nofile = ATTACKS[name]
        server = Server(args.code.resolve(), gap, nofile)
        try:
            async with aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0, force_close=True)) as session:
                await server.ready(session)
                results[name] = await attack(server, session, args)
        finally:
            server.stop()
        print(f"## {name}  ({args.code})")
        for k, v in results[name].items():
            print(f"  {k}: {v}")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/env python3
"""Benchmark: what the journal knows after `solartui write` is killed or interrupted mid-write.

Each run starts `solartui write TARGET active_power_rate=V --yes` as a real process against the
simulated Growatt inverter on loopback TCP (paced: `period=` below), and then:
  * kill9-random  — SIGKILL at a random moment within one uninterrupted write's duration;
  * kill9-wire    — SIGKILL the moment the write frame reaches the device (the worst case);
  * sigint-wire   — ctrl+c (SIGINT) at that moment;
  * sigterm-wire  — SIGTERM at that moment.
It then checks the device (did it take V?) and the journal file (any record of the write of V:
an outcome, or an intent the journal shows as "outcome unknown — interrupted"), and counts
  HOLE    — the device changed and the journal has nothing about it;
  silent  — the process exited 130/143 (or died by the signal) without a line on stderr.
The code under test is the working tree ("after") or a git revision extracted to a temporary
folder ("before", default: the merge base with main), run with the same Python.
Run: .venv/bin/python bench/journal_kill.py [--runs 10] [--before REV] [--period 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solartui.registers import catalog  # noqa: E402
from solartui.sim.modbus_server import Faults, ModbusSimulator  # noqa: E402
from solartui.sim.register_bank import RegisterBank  # noqa: E402

MODES = ("kill9-random", "kill9-wire", "sigint-wire", "sigterm-wire")
SIG = {"kill9": signal.SIGKILL, "sigint": signal.SIGINT, "sigterm": signal.SIGTERM}


def journalled(path: Path, value: int) -> tuple[bool, bool]:
    """(any record of the write of `value`, a record of its outcome), read leniently."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return False, False
    seen = outcome = False
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and rec.get("words") == [value]:
            seen = True
            outcome = outcome or (rec.get("phase") != "intent" and "outcome" in rec)
    return seen, outcome


class Rig:
    def __init__(self, period: int):
        self.bank = RegisterBank(catalog.resolve("growatt-protocol-ii"), unit=1,
                                 identity={"serial": "BENCH00001"})
        self.sim = ModbusSimulator([self.bank], faults=Faults())
        self.period = period
        self.url = ""

    async def start(self):
        port = await self.sim.start_tcp("127.0.0.1", 0)
        self.url = f"tcp://127.0.0.1:{port}?unit=1&period={self.period}&timeout=3000"

    async def run(self, tree: Path, journal: Path, value: int, mode: str | None,
                  at: float = 0.0) -> dict:
        self.bank.set_raw("holding", 3, [100])
        before = self.bank.writes
        env = {**os.environ, "SOLARTUI_JOURNAL": str(journal), "PYTHONPATH": str(tree),
               "SOLARTUI_HOME": str(journal.parent / "home")}
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "solartui", "write", self.url, "--map", "growatt-protocol-ii",
            f"active_power_rate={value}", "--yes", cwd=tree, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        sent = None
        if mode is not None:
            kind, when = mode.split("-")
            while proc.returncode is None:
                if when == "random" and time.monotonic() - t0 >= at:
                    break
                if when == "wire" and self.bank.writes > before:
                    break
                await asyncio.sleep(0.002)
            if proc.returncode is None:
                proc.send_signal(SIG[kind])
                sent = SIG[kind]
        _out, err = await proc.communicate()
        took = time.monotonic() - t0
        changed = self.bank.get_raw("holding", 3) == [value]
        code = proc.returncode
        silent = sent is not None and code in (130, 143, -sent) and not err.strip()
        seen, outcome = journalled(journal, value)
        return {"changed": changed, "journalled": seen, "outcome": outcome, "code": code,
                "silent": silent, "took": took, "err": err.decode(errors="replace").strip()}


def append_cost(folder: Path, n: int = 200) -> None:
    """What the write-ahead intent adds to a write: one more fsynced append (median, ms)."""
    from solartui.journal import Journal
    j = Journal(folder / "cost.jsonl")
    entry = {"device": {"serial": "BENCH00001", "map": "growatt-protocol-ii", "target": "x",
                        "unit": 1}, "point": "active_power_rate", "old": "100 %", "new": "70 %",
             "words": [70], "origin": "cli"}
    one, two = [], []
    for _ in range(n):
        t = time.perf_counter()
        j.append({**entry, "outcome": "verified"})
        one.append(time.perf_counter() - t)
        t = time.perf_counter()
        wid = j.intend(entry)
        j.outcome(wid, {**entry, "outcome": "verified"})
        two.append(time.perf_counter() - t)
    t = time.perf_counter()
    got = j.read()
    took = time.perf_counter() - t
    one.sort()
    two.sort()
    print(f"journalling one write: outcome only {one[n // 2] * 1000:.2f} ms, intent + outcome "
          f"{two[n // 2] * 1000:.2f} ms (median of {n}); reading and settling {len(got.entries)} "
          f"writes ({3 * n} lines) {took * 1000:.0f} ms")


def extract(rev: str, folder: Path) -> Path:
    tree = folder / f"solartui-{rev[:10]}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10, help="runs per mode and tree")
    ap.add_argument("--before", default=None, help="git revision for 'before' (default: "
                    "merge base with main)")
    ap.add_argument("--period", type=int, default=300, help="link period, ms (pacing)")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--seed", type=int, default=21)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    before = args.before or subprocess.run(
        ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], capture_output=True,
        text=True).stdout.strip() or "HEAD~2"
    rig = Rig(args.period)
    await rig.start()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        append_cost(tmp)
        trees = {f"before ({before[:10]})": extract(before, tmp), "after (working tree)": ROOT}
        value = 1
        # one uninterrupted write per tree: how long a whole write takes (the random window)
        durations = {}
        for name, tree in trees.items():
            r = await rig.run(tree, tmp / f"cal{value}.jsonl", value, None)
            durations[name] = r["took"]
            value += 1
        print(f"pacing period={args.period} ms, read-back delay 1 s (map), {args.runs} runs a "
              "mode and tree")
        print("uninterrupted write: " + ", ".join(f"{n} {d:.2f} s" for n, d in durations.items()))
        print()
        print("| mode | code | runs | device changed | HOLE: changed, no journal entry | "
              "journal has it | outcome journalled | exited without a line |")
        print("|---|---|---|---|---|---|---|---|")
        for mode in args.modes.split(","):
            for name, tree in trees.items():
                stats = {"changed": 0, "hole": 0, "journalled": 0, "outcome": 0, "silent": 0}
                for i in range(args.runs):
                    value = value % 90 + 1
                    journal = tmp / f"{mode}-{name[:5]}-{i}.jsonl"
                    r = await rig.run(tree, journal, value, mode,
                                      at=rng.uniform(0, durations[name]))
                    stats["changed"] += r["changed"]
                    stats["hole"] += r["changed"] and not r["journalled"]
                    stats["journalled"] += r["journalled"]
                    stats["outcome"] += r["outcome"]
                    stats["silent"] += r["silent"]
                silent = "— (SIGKILL)" if mode.startswith("kill9") else stats["silent"]
                print(f"| {mode} | {name} | {args.runs} | {stats['changed']} | "
                      f"**{stats['hole']}** | {stats['journalled']} | {stats['outcome']} | "
                      f"{silent} |", flush=True)
    await rig.sim.stop()


if __name__ == "__main__":
    asyncio.run(main())

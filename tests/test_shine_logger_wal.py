"""Datalogger-register writes (server address, reboot, the datalogger's clock) are journalled
write-ahead like every device write: an intent, fsynced, before the frame goes out; the outcome
with the same id after. A journal that cannot be written stops the write unsent."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from solartui.errors import SolartuiError
from solartui.journal import INTERRUPTED, Journal
from solartui.registers import catalog
from solartui.shine.server import ShineServer
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import LoggerFaults, SimulatedDatalogger

MAP = catalog.resolve("growatt-protocol-ii")


async def until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def raw_records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def serve_one(journal_path, **faults):
    server = ShineServer(MAP, tz="UTC", command_gap=0.0, logger_timeout=2.0,
                         inverter_timeout=1.0, journal=Journal(journal_path),
                         sync_on_announce=False)
    port = await server.start("127.0.0.1", 0)
    sim = SimulatedDatalogger(RegisterBank(MAP, seed=1, identity={"serial": "INV0000001"}),
                              datalogger="LOG0000001", inverter="INV0000001", interval=0.2,
                              faults=LoggerFaults(**faults))
    await sim.start("127.0.0.1", port)
    await until(lambda: "LOG0000001" in server.loggers and server.loggers["LOG0000001"].inverters)
    return server, sim


async def test_intent_is_on_disk_before_the_datalogger_sees_the_frame(tmp_path):
    path = tmp_path / "journal.jsonl"
    server, sim = await serve_one(path, delay=0.6)
    try:
        task = asyncio.create_task(server.write_logger_register("LOG0000001", 18, "5781", origin="http"))
        # while the datalogger sits on its reply, the intent is already fsynced
        await until(lambda: path.exists() and any(r.get("phase") == "intent" for r in raw_records(path)))
        intent = next(r for r in raw_records(path) if r.get("phase") == "intent")
        assert intent["kind"] == "shine-write" and intent["register"] == 18
        assert intent["new"] == "5781" and intent["origin"] == "http" and intent["id"]
        await task
        outcome = [r for r in raw_records(path) if r.get("phase") == "outcome"]
        assert [(o["id"], o["outcome"]) for o in outcome] == [(intent["id"], "acknowledged")]
        assert sim.registers[18] == b"5781"
        # one entry per write when read back
        entries = [e for e in Journal(path).entries() if e.get("register") == 18]
        assert [e["outcome"] for e in entries] == ["acknowledged"]
    finally:
        await sim.stop()
        await server.stop()


async def test_killed_between_intent_and_reply_reads_as_interrupted(tmp_path):
    path = tmp_path / "journal.jsonl"
    server, sim = await serve_one(path, silent=True)
    try:
        task = asyncio.create_task(server.write_logger_register("LOG0000001", 4, "1"))
        await until(lambda: path.exists() and any(r.get("phase") == "intent" for r in raw_records(path)))
        # a process killed now leaves only the intent: another process reads "interrupted"
        intent = next(r for r in raw_records(path) if r.get("phase") == "intent")
        killed = tmp_path / "killed.jsonl"
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()                           # a pid that is no longer alive: the killed writer
        killed.write_text(json.dumps({**intent, "pid": gone.pid}) + "\n")
        # read by another process, as `solartui journal` would after the kill
        out = subprocess.run([sys.executable, "-c",
                              "import json,sys; from solartui.journal import Journal; "
                              "print(json.dumps(Journal(sys.argv[1]).entries()))", str(killed)],
                             capture_output=True, text=True, check=True).stdout
        [entry] = json.loads(out)
        assert entry["outcome"] == INTERRUPTED and entry["register"] == 4
        with pytest.raises(SolartuiError):
            await task                       # silent datalogger: no answer
        [done] = [e for e in Journal(path).entries() if e.get("register") == 4]
        assert done["outcome"] == "no answer" and done["id"] == intent["id"]
    finally:
        await sim.stop()
        await server.stop()


async def test_unwritable_journal_stops_the_write_unsent(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    server, sim = await serve_one(blocker / "journal.jsonl")
    try:
        before = sim.registers.get(18)
        with pytest.raises(SolartuiError, match="not sent"):
            await server.write_logger_register("LOG0000001", 18, "9999")
        await asyncio.sleep(0.3)
        assert sim.registers.get(18) == before          # the frame never went out
    finally:
        await sim.stop()
        await server.stop()

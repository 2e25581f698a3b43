"""The write-ahead journal under the attacks of issue 21, against real peers: `solartui write` as a
subprocess against the simulated inverter on loopback TCP, killed (SIGKILL), interrupted (SIGINT,
once and twice) and terminated (SIGTERM) while its write is on the wire; a journal with a torn last
line written to again; `journal --json` on nothing. Each checks what the journal then says."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner

from conftest import ROOT
from procs import run_cli
from solartui.cli.main import cli
from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.errors import SolartuiError
from solartui.journal import INTERRUPTED, PENDING, Journal, forget
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank

MAP = "growatt-protocol-ii"
GOOD = ('{"time": "2026-01-01T00:00:00+00:00", "device": {"serial": "X1"}, "point": "p", '
        '"old": "1", "new": "2", "outcome": "verified", "words": [2]}')


@pytest.fixture
async def sim(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "WAL0000001"})
    server = ModbusSimulator([bank], faults=Faults())
    port = await server.start_tcp("127.0.0.1", 0)
    server.bank = bank
    # the map's 1 s read-back delay is the window between the frame and the outcome
    server.url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=3000"
    yield server
    await server.stop()


def journal_json() -> list[dict]:
    got = CliRunner().invoke(cli, ["journal", "--json"])
    assert got.exit_code == 0, got.output
    return json.loads(got.stdout)


async def writing(sim, value: int):
    """`solartui write` started, and the moment its frame has reached the device."""
    before = sim.bank.writes
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "write", sim.url, "--map", MAP,
        f"active_power_rate={value}", "--yes", cwd=ROOT, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    for _ in range(3000):                       # generous: 30 s on a loaded machine
        if sim.bank.writes > before or proc.returncode is not None:
            break
        await asyncio.sleep(0.01)
    assert sim.bank.get_raw("holding", 3) == [value], "the write never reached the device"
    return proc


async def test_kill_9_mid_write_leaves_an_interrupted_intent(sim):
    proc = await writing(sim, 61)
    proc.kill()
    await proc.wait()
    [entry] = journal_json()
    assert entry["outcome"] == INTERRUPTED and entry["phase"] == "intent"
    assert (entry["point"], entry["new"], entry["words"]) == ("active_power_rate", "61 %", [61])
    assert entry["device"]["serial"] == "WAL0000001" and entry["origin"] == "cli"
    got = CliRunner().invoke(cli, ["journal"])
    assert got.exit_code == 0 and "outcome unknown" in got.stdout and "interrupted" in got.stdout
    assert "1 write was interrupted" in got.stdout


@pytest.mark.parametrize("sig, status, said", [(signal.SIGINT, 130, "ctrl+c"),
                                               (signal.SIGTERM, 143, "SIGTERM")])
async def test_a_signal_mid_write_waits_for_the_outcome(sim, sig, status, said):
    proc = await writing(sim, 62)
    proc.send_signal(sig)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    out, err = out.decode(), err.decode()
    assert proc.returncode == status, err
    assert f"solartui: {said}: waiting for the write of active_power_rate = 62 %" in err
    assert f"stopped by {said} after the write's outcome was journalled" in err
    assert "Traceback" not in err and "verified" in out
    [entry] = journal_json()
    assert entry["outcome"] == "verified" and entry["phase"] == "outcome"


async def test_a_second_ctrl_c_says_what_it_abandons(sim):
    proc = await writing(sim, 63)
    sim.faults.delay = 5                       # the read-back hangs: only abandoning ends it
    proc.send_signal(signal.SIGINT)
    line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
    assert "waiting for the write of active_power_rate = 63 %" in line
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130
    assert "ctrl+c again: abandoning the write of active_power_rate = 63 % on WAL0000001" \
        in err.decode()
    [entry] = journal_json()
    assert entry["outcome"] == INTERRUPTED and entry["new"] == "63 %"


async def test_ctrl_c_outside_a_write_ends_with_a_line():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "simulate", MAP, "--tcp", "127.0.0.1:0", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    while not (await asyncio.wait_for(proc.stdout.readline(), 30)).startswith(b"target: "):
        pass
    proc.send_signal(signal.SIGINT)
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130 and err.decode().strip().splitlines()[-1] == \
        "solartui: interrupted"


async def waiting_for_a_key(pid: int) -> None:
    """Until the process sleeps reading the terminal: a signal sent between the prompt and the read
    would wait for the next key (a race inside readline, not a person's ctrl+c)."""
    for _ in range(3000):
        try:
            with open(f"/proc/{pid}/wchan") as fh:
                where = fh.read()
        except OSError:
            return
        if any(w in where for w in ("wait_woken", "n_tty_read", "poll", "select")):
            return
        await asyncio.sleep(0.01)


async def test_ctrl_c_at_the_confirmation_prompt_ends_at_once(sim):
    """(It used to be swallowed until Enter: asyncio's handler only cancelled the task.)"""
    master, slave = os.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "solartui", "write", sim.url, "--map", MAP,
            "active_power_rate=66", cwd=ROOT, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        seen = b""
        while b"[y/N]" not in seen:
            seen += await asyncio.get_running_loop().run_in_executor(None, os.read, master, 4096)
        await waiting_for_a_key(proc.pid)
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 30)
        seen += await asyncio.get_running_loop().run_in_executor(None, os.read, master, 4096)
    finally:
        os.close(master)
    assert proc.returncode == 1 and b"solartui: aborted" in seen
    assert sim.bank.get_raw("holding", 3) == [100] and journal_json() == []


# --- torn lines and --json, in-process --------------------------------------------------------

def test_a_torn_line_then_a_new_write_both_readable(tmp_path, monkeypatch):
    path = tmp_path / "journal.jsonl"
    path.write_text(GOOD + "\n" + GOOD.replace("X1", "X2")[:40])     # torn by a crash
    monkeypatch.setenv("SOLARTUI_JOURNAL", str(path))
    Journal(path).append({"device": {"serial": "X3"}, "point": "q", "outcome": "verified"})
    read = Journal(path).read()
    assert [e["device"]["serial"] for e in read.entries] == ["X1", "X3"]
    assert read.skipped == [2] and "line 2" in read.note
    got = CliRunner().invoke(cli, ["journal"])
    assert got.exit_code == 0 and "2 entries" in got.stdout and "X3" in got.stdout
    assert "skipped 1 unreadable line" in got.stderr
    got = CliRunner().invoke(cli, ["journal", "--json"])
    assert [e["device"]["serial"] for e in json.loads(got.stdout)] == ["X1", "X3"]


def test_a_complete_last_record_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(GOOD)                                   # only the newline was lost
    Journal(path).append({"device": {"serial": "X3"}, "point": "q", "outcome": "verified"})
    read = Journal(path).read()
    assert [e["device"]["serial"] for e in read.entries] == ["X1", "X3"] and not read.skipped


def test_a_record_glued_to_a_torn_one_by_older_versions_is_recovered(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(GOOD[:50] + GOOD.replace("X1", "X2") + "\n")
    read = Journal(path).read()
    assert [e["device"]["serial"] for e in read.entries] == ["X2"] and read.skipped == [1]


@pytest.mark.parametrize("content", [None, "", "\n", '{"time": "2026-0'])
def test_json_of_nothing_is_an_empty_array(tmp_path, monkeypatch, content):
    path = tmp_path / "journal.jsonl"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("SOLARTUI_JOURNAL", str(path))
    got = CliRunner().invoke(cli, ["journal", "--json"])
    assert got.exit_code == 0 and json.loads(got.stdout) == []
    got = CliRunner().invoke(cli, ["journal"])
    assert got.exit_code == 1 and "no journal entries" in got.stderr


# --- intents and outcomes ----------------------------------------------------------------------

def test_settling_intents_old_records_and_live_writers(tmp_path):
    j = Journal(tmp_path / "journal.jsonl")
    j.append({"device": {"serial": "OLD"}, "point": "p", "outcome": "verified"})   # pre-intent
    done = j.intend({"device": {"serial": "A"}, "point": "p", "new": "1"})
    running = j.intend({"device": {"serial": "B"}, "point": "p", "new": "2"})
    j.intend({"device": {"serial": "C"}, "point": "p", "new": "3"})
    j.outcome(done, {"device": {"serial": "A"}, "point": "p", "outcome": "verified"})
    got = {e["device"]["serial"]: e["outcome"] for e in j.entries()}
    assert got == {"OLD": "verified", "A": "verified"}      # B, C: this process is writing them
    forget(running)                                         # B: this process gave up on it
    assert {e["device"]["serial"]: e["outcome"] for e in j.entries()}["B"] == INTERRUPTED
    # another live process's recent intent is being written, not interrupted
    j.append({"id": "x1", "phase": "intent", "device": {"serial": "D"}, "point": "p",
              "pid": os.getppid(), "host": os.uname().nodename})
    assert {e["device"]["serial"]: e["outcome"] for e in j.entries()}["D"] == PENDING


async def test_an_unwritable_journal_stops_the_write_unsent(sim, tmp_path):
    from solartui.session import Session
    s = Session(Journal(tmp_path))                          # a folder: cannot be appended to
    dev = await s.connect(sim.url, MAP)
    try:
        before = sim.bank.writes
        with pytest.raises(SolartuiError, match="active_power_rate not sent"):
            await gate.run(dev, WriteRequest.point("active_power_rate", "64"), gate.confirmed,
                           "cli")
        assert sim.bank.writes == before
    finally:
        await s.close()


async def test_the_report_names_an_interrupted_write(sim, tmp_path):
    from solartui.report.content import gather
    from solartui.report.render import to_markdown
    from solartui.session import Session
    from solartui.trust.attestations import AttestationStore
    journal = Journal(tmp_path / "journal.jsonl")
    s = Session(journal)
    dev = await s.connect(sim.url, MAP)
    try:
        p = await dev.plan_write("active_power_rate", "65")
        forget(journal.intend({**replace(p, readback_delay=0).intent_entry(), "origin": "cli"}))
        report = await gather(dev, journal=journal, store=AttestationStore(tmp_path / "a.jsonl"))
    finally:
        await s.close()
    text = to_markdown(report)
    assert INTERRUPTED in text and "1 write(s) interrupted before the outcome was known" in text


async def test_a_stop_lets_the_running_step_finish_and_sends_no_more(sim, tmp_path):
    """What the CLI's first ctrl+c asks of the gate: steps after the current one are not sent."""
    from solartui.session import Session
    s = Session(Journal(tmp_path / "journal.jsonl"))
    dev = await s.connect(sim.url, MAP)
    try:
        plans = [replace(await dev.plan_write("active_power_rate", v), readback_delay=0)
                 for v in ("67", "68")]
        outcomes = await gate.execute(
            dev, plans, "cli", on_step=lambda k, n, p: k == 1 and gate.request_stop(
                "stopped by ctrl+c before it"))
    finally:
        gate.request_stop(None)
        await s.close()
    assert [o.status for o in outcomes] == ["verified", "not sent"]
    assert outcomes[1].detail == "not sent: stopped by ctrl+c before it"
    assert sim.bank.get_raw("holding", 3) == [67]
    assert [e["outcome"] for e in s.journal.entries()] == ["verified", "not sent"]


def test_hostile_journal_lines_are_skipped_not_fatal(tmp_path):
    """A 5,000-digit number, nesting past the recursion limit and non-UTF-8 bytes in a journal
    line: each such line is skipped and noted; the good records around them stay."""
    from solartui.jsonl import read_records_noting
    path = tmp_path / "journal.jsonl"
    good = b'{"point": "a", "outcome": "verified"}\n'
    path.write_bytes(good + b'{"n": ' + b"9" * 5000 + b'}\n' + b"[" * 100000 + b"\n"
                     + b'{"point": "\xff\xfe"}\n' + good)
    seen = read_records_noting(path, "journal")
    assert [r["point"] for r in seen.records if r.get("outcome")] == ["a", "a"]
    assert seen.skipped == [2, 3]

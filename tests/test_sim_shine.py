"""The simulated Growatt datalogger against a small Shine server written here, over loopback TCP:
the connection sequence, data records, every command, the faults, reconnecting, and the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from datetime import datetime, timedelta

import pytest

from solartui.shine import frame as F
from solartui.shine import records as R
from solartui.shine.stream import FrameStream
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import LoggerFaults, SimulatedDatalogger

from conftest import ROOT
from procs import run_cli as cli

LOG, INV = "SIMLOG0001", "SIMINV0001"
ACKED = frozenset({F.ANNOUNCE, F.DATA, F.BUFFERED})


class ShineServer:
    """Plays the server: ACKs records, echoes pings, logs every frame with its record, sends commands."""

    def __init__(self):
        self.ack: set[int] = set(ACKED)
        self.echo = True
        self.log: list[tuple[float, int, F.Frame, object]] = []   # (time, connection, frame, record)
        self.reads: list[list[F.Frame]] = []                        # the frames of each socket read
        self.writers: list[asyncio.StreamWriter] = []
        self.streams: list[FrameStream] = []
        self.closed: list[int] = []
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task] = set()
        self.server = None
        self.port = 0

    async def start(self, port: int = 0) -> ShineServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.server.close()
        for w in self.writers:
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _handle(self, reader, writer) -> None:
        self._tasks.add(asyncio.current_task())
        conn = len(self.writers)
        self.writers.append(writer)
        stream = FrameStream()
        self.streams.append(stream)
        await self._notify()
        try:
            while data := await reader.read(65536):
                frames = stream.feed(data)
                self.reads.append(frames)
                for f in frames:
                    self.log.append((time.monotonic(), conn, f, R.parse_from_logger(f)))
                    if f.type in self.ack:
                        writer.write(R.encode(R.Ack(f.type), f.tid, f.protocol, f.unit))
                    if f.type == F.PING and self.echo:
                        writer.write(F.encode_frame(f))
                await self._notify()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.closed.append(conn)
            writer.close()
            await self._notify()

    async def wait_for(self, check, timeout: float = 3.0):
        """Wait until check() gives something truthy; return it. Woken by every frame, and every
        20 ms for checks on the logger's side (its counters)."""
        async def waiting():
            async with self._changed:
                while not (result := check()):
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.02)
                return result
        return await asyncio.wait_for(waiting(), timeout)

    def of_type(self, rtype: int, conn: int | None = None) -> list[tuple[float, F.Frame, object]]:
        return [(t, f, r) for t, c, f, r in self.log if f.type == rtype and conn in (None, c)]

    async def records(self, rtype: int, n: int = 1, timeout: float = 3.0, conn: int | None = None):
        await self.wait_for(lambda: len(self.of_type(rtype, conn)) >= n, timeout)
        return self.of_type(rtype, conn)

    async def command(self, record, *, tid: int = 1, unit: int = 1, protocol: int = 6,
                      replies: int = 1, timeout: float = 3.0) -> list:
        """Send a command on the latest connection; return the first `replies` answers to it."""
        await self.wait_for(lambda: self.writers)
        seen = len(self.log)
        self.writers[-1].write(R.encode(record, tid, protocol, unit))
        answers = lambda: [(f, r) for _, _, f, r in self.log[seen:] if f.type == record.TYPE]  # noqa: E731
        await self.wait_for(lambda: len(answers()) >= replies, timeout)
        return answers()


@pytest.fixture
async def server():
    s = await ShineServer().start()
    yield s
    await s.stop()


@pytest.fixture
def bank(growatt_map):
    return RegisterBank(growatt_map, unit=1, identity={"serial": INV})


@pytest.fixture
async def make_logger(bank, server):
    made: list[SimulatedDatalogger] = []

    async def make(**kw) -> SimulatedDatalogger:
        kw.setdefault("interval", 30.0)
        kw.setdefault("reconnect", 0.05)
        dl = SimulatedDatalogger(kw.pop("bank", bank), **kw)
        made.append(dl)
        await dl.start("127.0.0.1", server.port)
        return dl

    yield make
    for dl in made:
        await dl.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- connecting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", [2, 5, 6])
async def test_ping_then_announce_then_data_on_connect(server, make_logger, bank, growatt_map, protocol):
    dl = await make_logger(protocol=protocol)
    await server.records(F.DATA)
    await asyncio.wait_for(dl.announced.wait(), 2)
    frames = [f for _, _, f, _ in server.log]
    assert [f.type for f in frames[:3]] == [F.PING, F.ANNOUNCE, F.DATA]
    assert all(f.protocol == protocol and f.unit == 1 for f in frames)
    tids = [f.tid for f in frames]
    assert tids == sorted(tids) and len(set(tids)) == len(tids)          # numbered upward
    ping = R.parse_from_logger(frames[0])
    assert ping == R.Ping(LOG)
    announce = R.parse_from_logger(frames[1])
    assert (announce.datalogger, announce.inverter) == (LOG, INV)
    assert [(g.start, g.end) for g in announce.groups] == list(growatt_map.blocks_for("holding"))
    assert announce.groups[0].words[23:28] == tuple(bank.get_raw("holding", 23, 5))   # serial
    assert dl.connected.is_set() and dl.stats["connects"] == 1
    await server.wait_for(lambda: dl.stats["acks"] >= 2 and dl.stats["ping_echoes"] >= 1)


async def test_announce_repeated_until_acked(server, make_logger):
    server.ack = {F.DATA}
    dl = await make_logger(announce_retry=0.05)
    await server.records(F.ANNOUNCE, 3)
    assert not dl.announced.is_set()
    server.ack = set(ACKED)
    await asyncio.wait_for(dl.announced.wait(), 2)
    n = len(server.of_type(F.ANNOUNCE))
    await asyncio.sleep(0.2)
    assert len(server.of_type(F.ANNOUNCE)) == n                  # no more once ACKed


async def test_data_records_at_the_interval_carry_the_input_blocks(server, make_logger, growatt_map):
    dl = await make_logger(interval=0.1)
    data = await server.records(F.DATA, 4)
    gaps = [b[0] - a[0] for a, b in zip(data[1:], data[2:])]
    assert all(0.07 < g < 0.3 for g in gaps), gaps
    vac1 = growatt_map.point("vac1")
    for _, frame, rec in data:
        assert (rec.datalogger, rec.inverter, frame.unit) == (LOG, INV, 1)
        # an SPH logger's shape (growatt-shine.md §2.4), not every block of the map
        assert [(g.start, g.end) for g in rec.groups] == [(0, 124), (1000, 1124)]
        group = next(g for g in rec.groups if g.start <= vac1.address <= g.end)
        assert 180 < group.words[vac1.address - group.start] * vac1.scale < 280
        assert abs(rec.timestamp - datetime.now()) < timedelta(seconds=5)
    await server.wait_for(lambda: dl.stats["acks"] >= 5)        # the announce and 4 records
    assert dl.stats["data"] >= 4 and dl.stats["records_sent"] >= 6


# --- datalogger registers (0x19 / 0x18) --------------------------------------------------------

async def test_read_logger_range_one_frame_per_register_in_one_write(server, make_logger):
    dl = await make_logger(interval=None)
    await asyncio.wait_for(dl.announced.wait(), 2)
    answers = await server.command(R.ReadLogger(LOG, 4, 21), tid=0x0101, replies=14)
    values = {r.register: r.value for _, r in answers}
    assert list(values) == [4, 5, 6, 8, 10, 11, 13, 14, 15, 16, 17, 18, 19, 21]
    assert values[4] == b"5" and values[8] == LOG.encode() and values[21] == b"3.1.0.5"
    assert values[18] == str(server.port).encode() and values[17] == b"127.0.0.1"
    assert all(f.tid == 0x0101 and f.unit == 1 and f.protocol == 6 for f, _ in answers)
    assert any(len(frames) >= 14 for frames in server.reads)    # all of them in one read
    (_, clock), = await server.command(R.ReadLogger(LOG, 31, 31), tid=2)
    shown = datetime.strptime(clock.value.decode(), "%Y-%m-%d %H:%M:%S")
    assert abs(shown - datetime.now()) < timedelta(seconds=3)
    (_, nothing), = await server.command(R.ReadLogger(LOG, 200, 210), tid=3)
    assert (nothing.register, nothing.value) == (200, b"")
    assert dl.stats["commands"] == 3


@pytest.mark.parametrize("register, value, status", [
    (4, b"0.5", 0), (4, b"abc", 3), (4, b"100", 3), (4, b"0", 3),
    (56, b"MyWifi", 0), (19, b"shine.example", 0), (18, b"5781", 0), (18, b"port", 3),
    (8, b"OTHER00001", 3), (16, b"00:11:22:33:44:55", 3), (21, b"9.9", 3), (99, b"1", 3),
    (31, b"yesterday", 3), (32, b"x", 3),
])
async def test_write_logger_validates(server, make_logger, register, value, status):
    dl = await make_logger()
    await server.records(F.DATA)
    before = dict(dl.registers)
    (frame, reply), = await server.command(R.WriteLogger(LOG, register, value), tid=7)
    assert (frame.tid, reply.register, reply.status) == (7, register, status)
    if status == 0:
        assert dl.registers[register] == value
    else:
        del before[31]                                          # the clock moves on its own
        assert {k: v for k, v in dl.registers.items() if k != 31} == before


async def test_write_interval_changes_the_cadence_setting(server, make_logger):
    dl = await make_logger(interval=0.1)
    assert dl.registers[4] == b"0.00166667"
    await server.command(R.WriteLogger(LOG, 4, b"0.5"))
    assert dl.interval == 30.0
    data = len(server.of_type(F.DATA))
    await asyncio.sleep(0.3)
    assert len(server.of_type(F.DATA)) == data                  # now every 30 s, not 0.1 s


async def test_write_clock_sets_the_logger_clock(server, make_logger):
    dl = await make_logger(interval=0.1)
    (_, reply), = await server.command(R.WriteLogger(LOG, 31, b"2030-01-02 03:04:05"))
    assert reply.status == 0
    expected = (datetime(2030, 1, 2, 3, 4, 5) - datetime.now()).total_seconds()
    assert abs(dl.clock_offset - expected) < 2
    (_, clock), = await server.command(R.ReadLogger(LOG, 31, 31))
    assert clock.value.startswith(b"2030-01-02 03:04:0")
    n = len(server.of_type(F.DATA))
    data = await server.records(F.DATA, n + 1)
    assert data[-1][2].timestamp.date() == datetime(2030, 1, 2).date()


async def test_reboot_acks_then_reconnects(server, make_logger):
    dl = await make_logger()
    await asyncio.wait_for(dl.announced.wait(), 2)
    (_, reply), = await server.command(R.WriteLogger(LOG, 32, b"1"))
    assert reply.status == 0
    await server.wait_for(lambda: 0 in server.closed)
    await server.records(F.ANNOUNCE, conn=1)
    assert [f.type for _, c, f, _ in server.log if c == 1][:2] == [F.PING, F.ANNOUNCE]
    assert dl.stats["reboots"] == 1 and dl.stats["connects"] == 2


# --- inverter registers (0x05 / 0x06 / 0x10) ---------------------------------------------------

async def test_read_holding(server, make_logger, bank):
    dl = await make_logger(protocol=5)
    (frame, values), = await server.command(R.ReadHolding(LOG, 0, 44), tid=9, protocol=5)
    assert (frame.tid, frame.unit, frame.protocol) == (9, 1, 5)
    assert (values.first, values.last) == (0, 44)
    assert values.values == tuple(bank.get_raw("holding", 0, 45))
    (_, empty), = await server.command(R.ReadHolding(LOG, 300, 300), protocol=5)
    assert (empty.first, empty.last, empty.values) == (300, 300, ())
    assert dl.stats["commands"] == 2


async def test_write_holding(server, make_logger, bank):
    await make_logger()
    (frame, ok), = await server.command(R.WriteHolding(LOG, 3, 50), tid=11)
    assert (frame.tid, ok.register, ok.result, ok.value) == (11, 3, 0, 50)
    assert bank.get_raw("holding", 3, 1) == [50]
    (_, bad), = await server.command(R.WriteHolding(LOG, 3, 200))
    assert (bad.result, bad.value) == (3, 50)                    # illegal value, unchanged
    (_, ro), = await server.command(R.WriteHolding(LOG, 23, 0x4142))
    assert ro.result != 0 and bank.get_raw("holding", 23, 1) != [0x4142]


async def test_write_multiple(server, make_logger, bank):
    await make_logger()
    (_, ok), = await server.command(R.WriteMultiple(LOG, 3, (60, 10)))
    assert (ok.first, ok.last, ok.status) == (3, 4, 0)
    assert bank.get_raw("holding", 3, 2) == [60, 10]
    (_, bad), = await server.command(R.WriteMultiple(LOG, 3, (70, 200)))
    assert bad.status == 3 and bank.get_raw("holding", 3, 2) == [60, 10]


async def test_commands_for_others_are_ignored(server, make_logger):
    dl = await make_logger()
    await server.records(F.PING)
    server.writers[-1].write(R.encode(R.ReadLogger("OTHERLOG01", 4, 4), 1, 6, 1)
                             + R.encode(R.ReadHolding(LOG, 0, 0), 2, 6, 0x51))
    await server.wait_for(lambda: dl.stats["ignored"] == 2)
    (_, reply), = await server.command(R.ReadHolding(LOG, 3, 3))
    assert len(reply.values) == 1 and not server.of_type(F.READ_LOGGER)


async def test_rubbish_from_the_server_is_counted_and_ignored(server, make_logger):
    dl = await make_logger()
    await server.records(F.DATA)
    short = F.encode_frame(F.Frame(1, 6, 1, F.READ_LOGGER, b"\x01\x02"))
    server.writers[-1].write(b"\x00\xff\x13\x37junk" + short)
    await server.wait_for(lambda: dl.stats["unparsed"] >= 2)
    (_, reply), = await server.command(R.ReadLogger(LOG, 21, 21))
    assert reply.value == b"3.1.0.5"


# --- faults ------------------------------------------------------------------------------------

async def test_fault_silent(server, make_logger, bank):
    dl = await make_logger(faults=LoggerFaults(silent=True), interval=0.05)
    with pytest.raises(asyncio.TimeoutError):
        await server.command(R.ReadHolding(LOG, 0, 0), timeout=0.3)
    with pytest.raises(asyncio.TimeoutError):
        await server.command(R.WriteHolding(LOG, 3, 42), timeout=0.2)
    assert bank.get_raw("holding", 3, 1) != [42] and dl.stats["ignored"] == 2
    assert len(server.of_type(F.DATA)) >= 3                    # it still reports


async def test_fault_nack(server, make_logger, bank):
    dl = await make_logger(faults=LoggerFaults(nack=True))
    before = bank.get_raw("holding", 3, 2)
    (_, a), = await server.command(R.WriteLogger(LOG, 56, b"MyWifi"))
    (_, b), = await server.command(R.WriteHolding(LOG, 3, 42))
    (_, c), = await server.command(R.WriteMultiple(LOG, 3, (42, 1)))
    assert a.status != 0 and b.result != 0 and c.status != 0
    assert b.value == before[0] and bank.get_raw("holding", 3, 2) == before
    assert dl.registers[56] == b"SolarSim"
    (_, read), = await server.command(R.ReadHolding(LOG, 3, 4))
    assert read.values == tuple(before)                         # reads still work


async def test_fault_delay(server, make_logger):
    await make_logger(faults=LoggerFaults(delay=0.25))
    t0 = time.monotonic()
    await server.command(R.ReadLogger(LOG, 21, 21))
    assert time.monotonic() - t0 >= 0.24


async def test_fault_no_announce_still_names_the_inverter_in_data(server, make_logger):
    dl = await make_logger(faults=LoggerFaults(no_announce=True), interval=0.05, announce_retry=0.05)
    data = await server.records(F.DATA, 3)
    assert not server.of_type(F.ANNOUNCE) and not dl.announced.is_set()
    assert server.log[0][2].type == F.PING
    assert all((r.inverter, f.unit) == (INV, 1) for _, f, r in data)


async def test_fault_garbage_before_data_records(server, make_logger):
    await make_logger(faults=LoggerFaults(garbage=True), interval=0.05)
    data = await server.records(F.DATA, 8)
    assert server.streams[0].rejected >= 8 and len(data) >= 8
    assert all(r.inverter == INV for _, _, r in data)
    assert len(server.of_type(F.ANNOUNCE)) == 1                # nothing lost to the junk


def test_garbage_never_hides_a_frame(bank):
    """No tid the logger uses with junk in front lets a receiver mistake the junk for a header."""
    from solartui.sim.shine_logger import JUNK
    dl = SimulatedDatalogger(bank, faults=LoggerFaults(garbage=True), protocol=2)
    for start in (0, 0xF8, 0x1F8, 0xFFF0):
        dl._tid = start                                         # noqa: SLF001 - walk the wrap
        for _ in range(40):
            for protocol in (2, 5, 6):
                wire = R.encode(R.Ping(LOG), dl._next_tid(), protocol)   # noqa: SLF001
                stream = FrameStream()
                frames = stream.feed(JUNK + wire)
                assert len(frames) == 1 and stream.rejected == 1, (dl._tid, protocol)  # noqa: SLF001


async def test_buffered_records_are_sent_first_with_past_timestamps(server, make_logger, growatt_map):
    dl = await make_logger(buffered=3, interval=60.0)
    await server.records(F.DATA)
    types = [f.type for _, _, f, _ in server.log]
    assert types[:6] == [F.PING, F.ANNOUNCE, F.BUFFERED, F.BUFFERED, F.BUFFERED, F.DATA]
    buffered = [r for _, _, r in server.of_type(F.BUFFERED)]
    now = server.of_type(F.DATA)[0][2].timestamp
    assert [round((now - r.timestamp).total_seconds() / 60) for r in buffered] == [3, 2, 1]
    blocks = [(0, 124), (1000, 1124)]                  # the SPH record shape
    assert all([(g.start, g.end) for g in r.groups] == blocks for r in buffered)
    await server.wait_for(lambda: dl.stats["acks"] >= 5)


# --- connection handling -----------------------------------------------------------------------

async def test_reconnects_after_the_server_drops_it(server, make_logger):
    dl = await make_logger()
    await asyncio.wait_for(dl.announced.wait(), 2)
    server.writers[0].close()
    await server.records(F.ANNOUNCE, conn=1)
    await asyncio.wait_for(dl.announced.wait(), 2)
    assert dl.stats["connects"] == 2


async def test_waits_for_a_server_that_is_not_there_yet(bank):
    port = free_port()
    dl = SimulatedDatalogger(bank, reconnect=0.05, interval=30)
    await dl.start("127.0.0.1", port)
    try:
        await asyncio.sleep(0.2)
        assert dl.stats["connect_failures"] >= 2 and not dl.connected.is_set()
        late = await ShineServer().start(port)
        try:
            await late.records(F.ANNOUNCE)
            await asyncio.wait_for(dl.announced.wait(), 2)
        finally:
            await late.stop()
    finally:
        await dl.stop()


async def test_reconnect_none_returns_when_the_server_hangs_up(server, bank):
    dl = SimulatedDatalogger(bank, reconnect=None, interval=30)
    task = asyncio.create_task(dl.run("127.0.0.1", server.port))
    await server.records(F.DATA)
    server.writers[0].close()
    await asyncio.wait_for(task, 2)
    assert dl.stats["connects"] == 1 and not dl.connected.is_set()
    assert await asyncio.wait_for(dl.run("127.0.0.1", free_port()), 2) is None


async def test_hangs_up_after_too_many_unanswered_records(server, make_logger):
    server.ack, server.echo = set(), False
    logger = await make_logger(interval=0.03, ping_every=0.03, announce_retry=0.03)
    logger.max_unanswered = 5
    await server.wait_for(lambda: len(server.writers) >= 2)
    assert logger.stats["unanswered_drops"] >= 1
    assert logger.stats["connects"] >= 2


async def test_stop_is_clean(server, make_logger, bank):
    dl = await make_logger()
    await asyncio.wait_for(dl.announced.wait(), 2)
    await dl.stop()
    await server.wait_for(lambda: 0 in server.closed)
    assert not dl.connected.is_set() and not dl.announced.is_set()
    await dl.stop()                                             # twice is fine
    await SimulatedDatalogger(bank).stop()                      # never started is fine
    n = len(server.log)
    await asyncio.sleep(0.15)
    assert len(server.log) == n and len(server.writers) == 1    # and it stays away


# --- CLI ---------------------------------------------------------------------------------------



async def test_cli_bad_input_is_one_line():
    """As a person sees it: a real process, one line on stderr, non-zero exit."""
    cases = [(["simulate", "shine", "--server", "bad"], "HOST:PORT"),
             (["simulate", "growatt_protocol_ii", "--protocol", "05"], "--protocol")]
    results = await asyncio.gather(*(cli(*args) for args, _ in cases))
    for (args, fragment), (code, out, err) in zip(cases, results):
        assert code not in (0, None) and "Traceback" not in err, args
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("solartui: ") and fragment in lines[0], (args, err)


@pytest.mark.parametrize("args, fragment", [
    (["shine", "--server", "127.0.0.1:http"], "not a number"),
    (["shine", "--server", "127.0.0.1:70000"], "outside"),
    (["shine", "--protocol", "04"], "--protocol"),
    (["shine", "--fault", "explode"], "unknown fault"),
    (["shine", "--fault", "corrupt-crc"], "unknown fault"),
    (["shine", "--fault", "delay=soon"], "unknown fault"),
    (["shine", "--datalogger", "WAYTOOLONGSERIAL"], "--datalogger"),
    (["shine", "--interval", "0"], "--interval"),
    (["shine", "--map", "no-such-map"], "no map"),
    (["shine", "--map", "no_such_map"], "'no_such_map'"),
    (["shine", "--tcp", "127.0.0.1:5020"], "--tcp"),
    (["shine", "--pty"], "--pty"),
    (["shine", "--serial", "X"], "--serial"),
    (["growatt-protocol-ii", "--server", "127.0.0.1:5781"], "--server"),
    (["growatt-protocol-ii", "--interval", "5"], "--interval"),
    (["growatt-protocol-ii", "--map", "x"], "--map"),
])
def test_cli_refuses_before_starting(args, fragment):
    """The same checks in-process (a process each would take seconds): nothing starts."""
    from click.testing import CliRunner

    from solartui.cli.main import cli as solartui_cli
    result = CliRunner().invoke(solartui_cli, ["simulate", *args])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().startswith("solartui: ") and fragment in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_defaults_and_map_spellings():
    from solartui.cli.simulate_shine import check_options
    opts = check_options(server=None, protocol=None, datalogger=None, inverter=None, interval=None,
                         map_name="growatt_protocol_ii")
    assert (opts["host"], opts["port"], opts["protocol"]) == ("127.0.0.1", 5781, 6)
    assert (opts["datalogger"], opts["inverter"], opts["map"].id) == (LOG, INV, "growatt-protocol-ii")


async def test_cli_simulate_shine_connects_and_reports(server):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "simulate", "shine", "--server", f"127.0.0.1:{server.port}",
        "--protocol", "05", "--interval", "0.1", "--datalogger", "CLILOG0001", cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert "CLILOG0001" in line and "SIMINV0001" in line and f"127.0.0.1:{server.port}" in line
        data = await server.records(F.DATA, 2, timeout=20)
        assert all(f.protocol == 5 and (r.datalogger, r.inverter) == ("CLILOG0001", INV) for _, f, r in data)
        assert server.of_type(F.ANNOUNCE)[0][2].inverter == INV
    finally:
        proc.terminate()
        await proc.wait()

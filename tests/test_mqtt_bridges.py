"""serve and log into a real broker, watched by a real subscriber: simulated dataloggers' records
arrive as state JSON (buffered ones on /buffered only), availability follows the datalogger's
connection, a broker that stops mid-run never stops the acks or the CSV, a killed `serve` leaves
its last will (bridge offline), and a bad URL is one line with exit 2."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import pytest

from solartui.journal import Journal
from solartui.mqtt.log_bridge import LogBridge
from solartui.mqtt.publisher import MqttPublisher
from solartui.mqtt.serve_bridge import ServeBridge
from solartui.mqtt.url import make_config
from solartui.registers import catalog
from solartui.shine.server import ShineServer
from solartui.site.logger import SiteLogger
from solartui.site.site_file import load_site
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import LoggerFaults, SimulatedDatalogger

from conftest import ROOT
from mqtt_broker import Subscriber
from procs import one_line_error, run_cli
from test_site_log import Bus, data_rows, until, write_site

MAP = catalog.resolve("growatt-protocol-ii")


@pytest.fixture
async def served(tmp_path, mqtt_broker):
    """A Shine server publishing to the test broker, and a factory for simulated dataloggers."""
    server = ShineServer(MAP, tz=None, command_gap=0.0,      # the host's zone, as the sims
                         journal=Journal(tmp_path / "journal.jsonl"))
    publisher = MqttPublisher(make_config(mqtt_broker.url, environ={}), min_backoff=0.2,
                              max_backoff=0.5)
    ServeBridge(server, publisher).attach()
    publisher.start()
    port = await server.start("127.0.0.1", 0)
    sims: list[SimulatedDatalogger] = []

    async def add(**kw):
        n = len(sims)
        kw.setdefault("interval", 0.2)
        inverter = f"INV{n:07d}"
        sim = SimulatedDatalogger(RegisterBank(MAP, seed=n, identity={"serial": inverter}),
                                  datalogger=f"LOG{n:07d}", inverter=inverter, **kw)
        sims.append(sim)
        await sim.start("127.0.0.1", port)
        return sim

    server.add, server.sims, server.publisher = add, sims, publisher
    try:
        yield server
    finally:
        for sim in sims:
            await sim.stop()
        await server.stop()
        await publisher.stop()


async def test_serve_publishes_records_buffered_apart(served, mqtt_broker):
    sub = Subscriber(mqtt_broker)
    try:
        sim = await served.add(faults=LoggerFaults(no_announce=True), buffered=2)
        await served.add()
        inv = "inv0000000"
        await sub.await_for(lambda m: len(sub.on(f"solartui/{inv}/state")) >= 2
                            and len(sub.on("solartui/inv0000001/state")) >= 1)
        state = json.loads(sub.on(f"solartui/{inv}/state")[-1])
        assert state["serial"] == "INV0000000" and state["map"] == MAP.id
        assert state["buffered"] is False and "T" in state["time"]
        assert abs(state["epoch"] - time.time()) < 120
        assert state["values"]["ppv"] >= 0 and isinstance(state["values"]["inverter_status"], str)
        await sub.await_for(lambda m: len(sub.on(f"solartui/{inv}/buffered")) >= 2)
        buffered = [json.loads(p) for p in sub.on(f"solartui/{inv}/buffered")]
        assert all(b["buffered"] for b in buffered)
        assert all(not json.loads(p)["buffered"] for p in sub.on(f"solartui/{inv}/state"))
        assert sub.on(f"solartui/{inv}/status")[-1] == b"online"
        assert sub.on("solartui/log0000000/status")[-1] == b"online"
        assert sub.on("solartui/bridge/status")[-1] == b"online"
        # the datalogger goes away: it and its inverter go offline
        await sim.stop()
        await sub.await_for(lambda m: sub.on(f"solartui/{inv}/status")[-1:] == [b"offline"]
                            and sub.on("solartui/log0000000/status")[-1:] == [b"offline"])
        assert sub.on("solartui/inv0000001/status")[-1] == b"online"
    finally:
        sub.close()


async def test_serve_keeps_acking_while_the_broker_is_down(served, mqtt_broker):
    sim = await served.add()
    await until(lambda: served.publisher.counters["published"] >= 3, "first publishes")
    await asyncio.to_thread(mqtt_broker.stop)
    acks = sim.stats["acks"]
    t0 = time.monotonic()
    await until(lambda: sim.stats["acks"] >= acks + 10, "acks without a broker", timeout=20)
    assert time.monotonic() - t0 < 10          # 0.2 s records: no waiting on the broker
    assert not served.publisher.connected
    await asyncio.to_thread(mqtt_broker.start)
    sub = Subscriber(mqtt_broker)
    try:
        await sub.await_for(lambda m: len(sub.on("solartui/inv0000000/state")) >= 2)
        assert sub.on("solartui/bridge/status")[-1] == b"online"
        await sub.await_for(lambda m: sub.on("solartui/inv0000000/status") == [b"online"])
    finally:
        sub.close()


@pytest.fixture
async def bus(growatt_map, tmp_path):
    b = Bus(growatt_map, str(tmp_path / "ttyBUS0"))
    await b.start()
    yield b
    await b.stop()


async def test_log_publishes_every_poll_and_the_csv_goes_on_without_a_broker(bus, tmp_path,
                                                                            mqtt_broker):
    site = load_site(write_site(tmp_path, bus.path, period=0.6))
    logger = SiteLogger(site, echo=False)
    logger.open()
    publisher = MqttPublisher(make_config(mqtt_broker.url, base="site", environ={}),
                              min_backoff=0.2, max_backoff=0.5)
    LogBridge(site, publisher).attach(logger)
    publisher.start()
    sub = Subscriber(mqtt_broker)
    stop = asyncio.Event()
    task = asyncio.create_task(logger.run(stop))
    two = tmp_path / "logs" / "inv-2.csv"
    try:
        await sub.await_for(lambda m: len(sub.on("site/roof_inv-2/state")) >= 2
                            and sub.on("site/roof_inv-1/state"))
        state = json.loads(sub.on("site/roof_inv-2/state")[-1])
        assert state["values"]["vpv1"] == 210.1 and state["values"]["inverter_status"] == "fault"
        assert state["map"] == "growatt-protocol-ii" and state["device"] == "roof_inv-2"
        assert sub.on("site/roof_inv-2/status")[-1] == b"online"
        # unit 2 falls silent: offline after 3 failed passes, online again after a good one
        bus.sims[2].faults.silent = True
        await sub.await_for(lambda m: sub.on("site/roof_inv-2/status")[-1:] == [b"offline"],
                            timeout=30)
        bus.sims[2].faults.silent = False
        await sub.await_for(lambda m: sub.on("site/roof_inv-2/status")[-1:] == [b"online"],
                            timeout=30)
        # the broker goes away: rows keep coming
        await asyncio.to_thread(mqtt_broker.stop)
        before = len(data_rows(two))
        await until(lambda: len(data_rows(two)) >= before + 3, "rows without a broker")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await logger.close()
        await publisher.stop()
        sub.close()


async def test_site_file_mqtt_section(tmp_path, bus, mqtt_broker):
    path = write_site(tmp_path, bus.path, period=60)
    path.write_text(path.read_text() + f"mqtt:\n  url: {mqtt_broker.url}\n  base: yard\n")
    sub = Subscriber(mqtt_broker)
    try:
        code, _out, err = await run_cli("log", str(path), "--once", "-q")
        assert code == 0, err
        await sub.await_for(lambda m: sub.on("yard/roof_inv-1/state")
                            and sub.on("yard/roof_inv-2/state"))
        assert sub.on("yard/bridge/status")[-1] == b"offline"      # a clean stop says so
    finally:
        sub.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text(path.read_text().replace(mqtt_broker.url, "http://nope"))
    code, _out, err = await run_cli("log", str(bad), "--check")
    assert code == 1 and "mqtt: MQTT broker URL 'http://nope' must start with mqtt://" in err


@pytest.mark.parametrize("url", ["http://broker", "mqtt://", "mqtt://host:99999",
                                 "mqtt://user:secret-pw@host/topic"])
async def test_bad_url_is_one_line_exit_2(url, tmp_path):
    code, _out, err = await run_cli("serve", "--port", "0", "--http-port", "0", "--mqtt", url)
    line = one_line_error(code, err)
    assert code == 2 and "MQTT broker URL" in line and "secret-pw" not in line


async def test_killed_serve_leaves_its_last_will(mqtt_broker, tmp_path):
    sub = Subscriber(mqtt_broker, topics=["solartui/bridge/status"])
    env = {**os.environ, "SOLARTUI_HOME": str(tmp_path / "home")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "serve", "--port", "0", "--http-port", "0",
        "--mqtt", mqtt_broker.url, cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await sub.await_for(lambda m: sub.on("solartui/bridge/status")[-1:] == [b"online"],
                            timeout=30)
        proc.kill()                                   # no goodbye: the broker sends the will
        await proc.wait()
        await sub.await_for(lambda m: sub.on("solartui/bridge/status")[-1:] == [b"offline"],
                            timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        sub.close()

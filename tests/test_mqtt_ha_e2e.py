"""Home Assistant's side, end to end: a real broker, a real client standing in for Home Assistant
(it reads the retained discovery configs, publishes a command, waits for the result), and
`solartui log --mqtt-writes` (a real process) or `serve` polling simulated inverters. A good
value changes the simulator's register and is journalled with origin mqtt; a refused value is
answered and never reaches the simulator."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from conftest import ROOT
from mqtt_broker import Subscriber
from solartui.journal import Journal
from solartui.mqtt.publisher import MqttPublisher
from solartui.mqtt.serve_bridge import ServeBridge
from solartui.mqtt.url import make_config
from solartui.registers import catalog
from solartui.shine.server import ShineServer
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import SimulatedDatalogger
from test_site_log import Bus, write_site

import pytest

MAP = catalog.resolve("growatt-protocol-ii")


def results(sub, topic):
    return [json.loads(p) for p in sub.on(topic)]


@pytest.fixture
async def bus(growatt_map, tmp_path):
    b = Bus(growatt_map, str(tmp_path / "ttyBUS0"))
    b.banks[1].set_raw("holding", 3, [100])
    await b.start()
    yield b
    await b.stop()


async def test_log_with_writes_home_assistant_changes_a_setting(bus, tmp_path, mqtt_broker):
    site = write_site(tmp_path, bus.path, period=0.6)
    sub = Subscriber(mqtt_broker)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "log", str(site), "-q", "--mqtt", mqtt_broker.url,
        "--mqtt-writes", cwd=ROOT, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    dev = "roof_inv-1"
    config = f"homeassistant/number/{dev}/active_power_rate/config"
    try:
        # what Home Assistant finds: the sensors the site polls and the remote-safe settings
        await sub.await_for(lambda m: sub.on(config) and sub.on(f"solartui/{dev}/state"),
                            timeout=30)
        number = json.loads(sub.on(config)[-1])
        assert number["command_topic"] == f"solartui/{dev}/set/active_power_rate"
        assert (number["min"], number["max"]) == (0, 100)
        sensor = json.loads(sub.on(f"homeassistant/sensor/{dev}/ppv/config")[-1])
        assert sensor["state_topic"] == f"solartui/{dev}/state"
        assert not sub.on(f"homeassistant/sensor/{dev}/soc/config")     # not polled by the site
        assert sub.on(f"solartui/{dev}/status")[-1] == b"online"
        # a refused value: answered, nothing sent
        writes = bus.banks[1].writes
        sub.client.publish(number["command_topic"], b"150", qos=1)
        await sub.await_for(lambda m: results(sub, f"solartui/{dev}/result"), timeout=20)
        [refused] = results(sub, f"solartui/{dev}/result")
        assert refused["status"] == "refused" and "outside 0..100" in refused["reason"]
        assert bus.banks[1].writes == writes and bus.banks[1].get_raw("holding", 3) == [100]
        # a good value: written through the gate, read back, journalled as mqtt
        sub.client.publish(number["command_topic"], b"80", qos=1)
        await sub.await_for(lambda m: len(results(sub, f"solartui/{dev}/result")) >= 2,
                            timeout=20)
        done = results(sub, f"solartui/{dev}/result")[-1]
        assert done["status"] == "verified", done
        assert (done["old"], done["new"]) == ("100 %", "80 %")
        assert bus.banks[1].get_raw("holding", 3) == [80]
        assert bus.banks[2].get_raw("holding", 3) != [80]          # the other unit untouched
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(proc.communicate(), 20)
            assert b"Traceback" not in err, err.decode()
        sub.close()
    entries = Journal().entries()
    assert [(e["point"], e["origin"], e["outcome"]) for e in entries] == \
        [("active_power_rate", "mqtt", "verified")]


async def test_log_without_writes_offers_no_settings_and_refuses_commands(bus, tmp_path,
                                                                         mqtt_broker):
    site = write_site(tmp_path, bus.path, period=0.6)
    sub = Subscriber(mqtt_broker)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "log", str(site), "-q", "--mqtt", mqtt_broker.url,
        cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    dev = "roof_inv-1"
    try:
        await sub.await_for(lambda m: sub.on(f"homeassistant/sensor/{dev}/ppv/config")
                            and sub.on(f"solartui/{dev}/state"), timeout=30)
        assert not any(t.startswith("homeassistant/number/") for t, _p, _r in sub.messages)
        writes = bus.banks[1].writes
        sub.client.publish(f"solartui/{dev}/set/active_power_rate", b"80", qos=1)
        await asyncio.sleep(1.5)                                   # two passes: nothing happens
        assert bus.banks[1].writes == writes and bus.banks[1].get_raw("holding", 3) == [100]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.communicate(), 20)
        sub.close()
    assert Journal().entries() == []


async def test_serve_with_writes_reaches_the_inverter_behind_a_datalogger(tmp_path, mqtt_broker):
    journal = Journal(tmp_path / "journal.jsonl")
    server = ShineServer(MAP, tz=None, command_gap=0.0, journal=journal)
    publisher = MqttPublisher(make_config(mqtt_broker.url, writes=True, environ={}),
                              min_backoff=0.2, max_backoff=0.5)
    ServeBridge(server, publisher).attach()
    publisher.start()
    port = await server.start("127.0.0.1", 0)
    bank = RegisterBank(MAP, seed=1, identity={"serial": "INV0000001"})
    bank.set_raw("holding", 123, [0])
    sim = SimulatedDatalogger(bank, datalogger="LOG0000001", inverter="INV0000001", interval=0.3)
    sub = Subscriber(mqtt_broker)
    try:
        await sim.start("127.0.0.1", port)
        config = "homeassistant/number/inv0000001/export_limit_power_rate/config"
        await sub.await_for(lambda m: sub.on(config), timeout=30)
        number = json.loads(sub.on(config)[-1])
        assert number["device"]["via_device"] == "solartui_log0000001"
        assert sub.on("homeassistant/binary_sensor/log0000001/connectivity/config")
        sub.client.publish(number["command_topic"], b"25.5", qos=1)
        await sub.await_for(lambda m: sub.on("solartui/inv0000001/result"), timeout=30)
        [done] = results(sub, "solartui/inv0000001/result")
        assert done["status"] == "verified", done
        assert bank.get_raw("holding", 123) == [255]
        [entry] = [e for e in journal.entries() if e["origin"] != "server"]   # clock syncs
        assert (entry["origin"], entry["point"], entry["outcome"]) == \
            ("mqtt", "export_limit_power_rate", "verified")
    finally:
        sub.close()
        await sim.stop()
        await server.stop()
        await publisher.stop()

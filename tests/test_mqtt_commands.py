"""Settings from Home Assistant against a real device: a RegisterDevice on our Growatt simulator
over loopback Modbus TCP. A command goes through the one write gate (origin mqtt): a good value is
written, read back and journalled; every refusal is answered on the result topic and nothing
reaches the wire (the simulator's write counter and the link's request count do not move)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from solartui.devices.register_device import RegisterDevice
from solartui.journal import Journal
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.mqtt import commands
from solartui.mqtt.topics import Topics
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank

SERIAL = "TEST123456"
DEV = "test123456"
TOPICS = Topics()


def quick(m):
    """The Growatt map with a 50 ms read-back delay (the real 1 s proves nothing here)."""
    return replace(m, points=tuple(replace(p, readback_delay_ms=50) for p in m.points))


class Rig:
    def __init__(self, m, journal_path):
        self.map = quick(m)
        self.bank = RegisterBank(self.map, unit=1, identity={"serial": SERIAL})
        self.bank.set_raw("holding", 3, [100])
        self.sim = ModbusSimulator([self.bank])
        self.journal = Journal(journal_path)
        self.pool = LinkPool()

    async def __aenter__(self):
        port = await self.sim.start_tcp("127.0.0.1", 0)
        target = parse_target(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=500")
        self.link = self.pool.get(target, self.map.link)
        self.device = RegisterDevice(self.map, self.link, 1, self.journal)
        await self.device.identify()
        return self

    async def __aexit__(self, *exc):
        await self.pool.close()
        await self.sim.stop()

    def resolve(self, dev: str):
        return self.device if dev == DEV else None

    async def send(self, point: str, payload, dev: str = DEV, **kw) -> dict:
        msg = await commands.handle(TOPICS.command(dev, point), payload, TOPICS, self.resolve,
                                    **kw)
        assert msg is not None and not msg.retain
        body = json.loads(msg.payload)
        body["_topic"] = msg.topic
        return body

    def wire(self):
        """What has reached the simulator: its write count and the link's requests."""
        return self.bank.writes, self.link.stats.requests


@pytest.fixture
async def rig(growatt_map, tmp_path):
    async with Rig(growatt_map, tmp_path / "journal.jsonl") as r:
        yield r


async def test_a_good_value_is_written_read_back_and_journalled_with_origin_mqtt(rig):
    body = await rig.send("active_power_rate", b"80")
    assert body["_topic"] == "solartui/test123456/result"
    assert (body["status"], body["point"], body["value"], body["device"]) == \
        ("verified", "active_power_rate", "80", DEV)
    assert (body["old"], body["new"], body["readback"]) == ("100 %", "80 %", "80 %")
    assert rig.bank.get_raw("holding", 3) == [80]
    [entry] = rig.journal.entries()
    assert (entry["origin"], entry["outcome"], entry["point"], entry["words"]) == \
        ("mqtt", "verified", "active_power_rate", [80])
    assert entry["device"]["serial"] == SERIAL


async def test_numbers_as_home_assistant_sends_them_and_select_words(rig):
    assert (await rig.send("export_limit_power_rate", b"55.5"))["status"] == "verified"
    assert rig.bank.get_raw("holding", 123) == [555]
    assert (await rig.send("active_power_rate", b" 70.0\n"))["status"] == "verified"
    assert rig.bank.get_raw("holding", 3) == [70]
    body = await rig.send("ac_charge_enable", b"enabled")
    assert body["status"] == "verified" and body["new"] == "enabled"
    assert rig.bank.get_raw("holding", 1092) == [1]
    assert [e["origin"] for e in rig.journal.entries()] == ["mqtt"] * 3


async def test_a_refused_value_never_reaches_the_wire(rig):
    before = rig.wire()
    for payload, why in ((b"150", "outside"), (b"-1", "outside"), (b"abc", "not a number"),
                         (b"50.5", "active_power_rate"), (b"nan", "finite"),
                         (b"unlimited", "")):
        body = await rig.send("active_power_rate", payload)
        if payload == b"unlimited":           # the map's special value is a value the gate takes
            assert body["status"] == "verified"
            before = rig.wire()
            continue
        assert body["status"] == "refused", body
        assert why in body["reason"] and "nothing sent" in body["reason"]
    assert rig.wire() == before
    assert rig.bank.get_raw("holding", 3) == [255]
    assert [e["origin"] for e in rig.journal.entries()] == ["mqtt"]     # only the good one


@pytest.mark.parametrize("point, why", [
    ("factory_reset", "'factory_reset' is not remote-safe in map growatt-protocol-ii"),
    ("vac_high_1", "'vac_high_1' is not remote-safe"),
    ("com_address", "'com_address' is not remote-safe"),
    ("ppv", "'ppv' is not remote-safe"),
    ("actve_power_rate", "no setting 'actve_power_rate' in map growatt-protocol-ii "
                         "(did you mean active_power_rate"),
    ("Active_Power", "not a setting name"),
])
async def test_points_that_are_not_remote_safe_are_refused_unsent(rig, point, why):
    before = rig.wire()
    body = await rig.send(point, b"1")
    assert body["status"] == "refused" and why in body["reason"], body
    assert "nothing sent" in body["reason"]
    assert rig.wire() == before and rig.journal.entries() == []


async def test_unknown_device_and_writes_off_are_answered(rig):
    before = rig.wire()
    body = await rig.send("active_power_rate", b"80", dev="nosuch01")
    assert (body["_topic"], body["status"]) == ("solartui/nosuch01/result", "refused")
    assert "no device 'nosuch01'" in body["reason"]
    body = await rig.send("active_power_rate", b"80", writes=False)
    assert body["status"] == "refused" and "--mqtt-writes" in body["reason"]
    # a device name that is not topic-safe is answered on the bridge's result topic
    msg = await commands.handle("solartui/BAD.Name/set/active_power_rate", b"80", TOPICS,
                                rig.resolve)
    assert msg.topic == "solartui/bridge/result"
    assert json.loads(msg.payload)["status"] == "refused"
    assert rig.wire() == before and rig.journal.entries() == []


async def test_other_topics_are_not_commands(rig):
    for topic in ("solartui/test123456/state", "solartui/test123456/set", "other/x/set/y",
                  "solartui/test123456/set/a/b", "solartui//set/x"):
        assert await commands.handle(topic, b"1", TOPICS, rig.resolve) is None


@pytest.mark.parametrize("payload, why", [
    (b"\xff\xfe\x00\x81", "not UTF-8"),
    (b"8" * 100_000, "100000 bytes"),
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"80\x00", "control characters"),
    (b"\x1b[2J80", "control characters"),
    (bytearray(b"\xc3\x28"), "not UTF-8"),
])
async def test_garbage_payloads_get_a_clear_refusal_never_a_traceback(rig, payload, why):
    before = rig.wire()
    body = await rig.send("active_power_rate", payload)
    assert body["status"] == "refused" and why in body["reason"], body
    assert rig.wire() == before and rig.journal.entries() == []


async def test_hurried_commands_for_one_point_run_one_at_a_time_in_order(rig):
    """A slider dragged, a button pressed five times: five commands at once. Each is planned,
    written and read back before the next starts (no read-back sees another's value), in the
    order they arrived; a duplicate is just written again."""
    values = ["10", "20", "20", "30", "40"]
    bodies = await asyncio.gather(*(rig.send("active_power_rate", v.encode()) for v in values))
    assert [b["status"] for b in bodies] == ["verified"] * 5
    assert [b["value"] for b in bodies] == values
    # each old value is the one before it: the plans never overlapped
    assert [b["old"] for b in bodies] == ["100 %", "10 %", "20 %", "20 %", "30 %"]
    assert rig.bank.get_raw("holding", 3) == [40]
    entries = rig.journal.entries()
    assert [(e["new"], e["outcome"], e["origin"]) for e in entries] == \
        [(f"{v} %", "verified", "mqtt") for v in values]


async def test_commands_for_different_points_also_queue_per_device(rig):
    bodies = await asyncio.gather(rig.send("active_power_rate", b"60"),
                                  rig.send("battery_first_stop_soc", b"20"),
                                  rig.send("active_power_rate", b"200"))
    assert [b["status"] for b in bodies] == ["verified", "verified", "refused"]
    assert rig.bank.get_raw("holding", 3) == [60]
    assert rig.bank.get_raw("holding", 1091) == [20]


async def test_a_device_that_does_not_answer_is_an_outcome_not_a_crash(rig):
    await rig.sim.stop()
    body = await rig.send("active_power_rate", b"80")
    assert body["status"] in ("error", "no answer", "refused"), body
    assert body.get("reason") or body.get("detail")


async def test_a_resolver_that_fails_is_an_unknown_device(rig):
    def broken(_dev):
        raise RuntimeError("registry gone")
    msg = await commands.handle(TOPICS.command(DEV, "active_power_rate"), b"80", TOPICS, broken)
    assert json.loads(msg.payload)["status"] == "refused"


# --- a command-map device: PI30 on a pty --------------------------------------------------------

async def test_pi30_select_and_number_through_the_gate(tmp_path):
    from solartui.session import Session
    from solartui.sim.pi30_inverter import Pi30Inverter
    from solartui.sim.pi30_pty import serve_pi30_on_pty
    inverter = Pi30Inverter()
    server = await serve_pi30_on_pty(inverter, mode="serial")
    journal = Journal(tmp_path / "journal.jsonl")
    session = Session(journal)
    try:
        dev = await session.connect(f"pi30://{server.client_path}?period=0&timeout=800")
        dev.map = replace(dev.map, link=replace(dev.map.link, readback_delay_ms=50))
        name = commands_device_id(dev.identity.serial)

        async def send(point, payload):
            msg = await commands.handle(TOPICS.command(name, point), payload, TOPICS,
                                        {name: dev}.get)
            return json.loads(msg.payload)

        def setters():
            return [e.command for e in inverter.log if e.command[:1] not in ("Q",)]

        body = await send("output_source_priority", b"SBU")
        assert body["status"] == "verified", body
        assert inverter.settings["output_source_priority"] == 2
        assert "POP02" in setters()
        before = setters()
        for point, payload, why in (
                ("output_source_priority", b"Grid only", "not a number"),
                ("max_ac_charging_current", b"250", ""),
                ("battery_type", b"AGM", "not remote-safe"),
                ("buzzer", b"disable", "not remote-safe")):
            body = await send(point, payload)
            assert body["status"] == "refused" and why in body["reason"], body
        assert setters() == before                          # nothing reached the inverter
        assert [(e["point"], e["origin"]) for e in journal.entries()] == \
            [("output_source_priority", "mqtt")]
    finally:
        await session.close()
        await server.stop()


def commands_device_id(serial: str) -> str:
    from solartui.mqtt.topics import device_id
    return device_id(serial)


async def test_a_device_made_without_a_journal_still_journals_its_mqtt_writes(rig):
    """The site logger's devices were made only to read: an MQTT write on one is journalled in
    the default journal (the one `solartui write` uses), never unaccounted for."""
    rig.device.journal = None
    assert (await rig.send("active_power_rate", b"90"))["status"] == "verified"
    assert [(e["point"], e["origin"]) for e in Journal().entries()] == \
        [("active_power_rate", "mqtt")]

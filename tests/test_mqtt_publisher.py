"""The MQTT publisher against a real broker (mosquitto, or amqtt) and a real subscriber: state
JSON arrives, the bridge says online/offline (retained), discovery and availability are
re-published on reconnect and when Home Assistant says online, a broker down at start or mid-run
only delays publishing, and the queue bound drops the oldest and counts it."""

from __future__ import annotations

import asyncio
import json

import pytest

from solartui.mqtt import discovery
from solartui.mqtt.model import DeviceInfo, Message, StateReading
from solartui.mqtt.publisher import MqttPublisher
from solartui.mqtt.queue import DropOldestQueue
from solartui.mqtt.url import make_config

from mqtt_broker import Subscriber, tls_possible

DEV = DeviceInfo("abc123", "ABC123", "Growatt", "MIN 3000TL-X", "1.0", via="dl1",
                 map_id="growatt-protocol-ii")


def fake_discovery(monkeypatch):
    """The Home Assistant half builds the real configs; here one retained config per device."""
    def messages_for(device, device_map, topics, *, writes=False, points=None):
        return [Message(topics.discovery("sensor", device.device_id, "p"),
                        json.dumps({"unique_id": f"{device.device_id}_p"}), retain=True, qos=1)]
    monkeypatch.setattr(discovery, "messages_for", messages_for)


def publisher(broker, **kw) -> MqttPublisher:
    cfg = make_config(broker.url, queue_size=kw.pop("queue_size", 10_000),
                      base=kw.pop("base", "solartui"), environ={})
    return MqttPublisher(cfg, min_backoff=0.2, max_backoff=0.5, **kw)


def test_queue_drops_oldest_and_counts():
    q = DropOldestQueue(3)
    for i in range(5):
        q.put(Message(f"t/{i}", str(i)))
    assert q.dropped == 2 and len(q) == 3
    assert [q.get_nowait().topic for _ in range(3)] == ["t/2", "t/3", "t/4"]
    assert q.get_nowait() is None


async def test_state_and_bridge_status(mqtt_broker, monkeypatch):
    fake_discovery(monkeypatch)
    sub = Subscriber(mqtt_broker)
    pub = publisher(mqtt_broker)
    try:
        pub.start()
        pub.announce(DEV, None)
        pub.available(DEV.device_id, True)
        pub.reading(DEV, StateReading(DEV.device_id, 1_764_860_000.0, {"pv1_voltage": 231.4}))
        pub.reading(DEV, StateReading(DEV.device_id, 1_764_850_000.0, {"pv1_voltage": 1.0},
                                      buffered=True))
        await sub.await_for(lambda m: any(t == "solartui/abc123/buffered" for t, _p, _r in m))
        state = json.loads(sub.on("solartui/abc123/state")[-1])
        assert state["values"] == {"pv1_voltage": 231.4}
        assert state["serial"] == "ABC123" and state["map"] == "growatt-protocol-ii"
        assert state["epoch"] == 1_764_860_000.0 and state["time"].startswith("2025-12-04T")
        assert state["buffered"] is False
        buffered = json.loads(sub.on("solartui/abc123/buffered")[-1])
        assert buffered["buffered"] is True and buffered["values"] == {"pv1_voltage": 1.0}
        assert len(sub.on("solartui/abc123/state")) == 1      # buffered never on state
        assert sub.on("solartui/bridge/status")[-1] == b"online"
        assert sub.on("solartui/abc123/status")[-1] == b"online"
        assert sub.on("homeassistant/sensor/abc123/p/config")
    finally:
        await pub.stop()
        await asyncio.to_thread(sub.wait_for,
                                lambda m: sub.on("solartui/bridge/status")[-1:] == [b"offline"])
        sub.close()


async def test_broker_down_at_start_then_up(mqtt_broker, monkeypatch):
    fake_discovery(monkeypatch)
    mqtt_broker.stop()
    pub = publisher(mqtt_broker)
    pub.min_backoff = pub.max_backoff = 60      # it waits for retry_now(): no race with `sub`
    pub.start()
    try:
        pub.announce(DEV, None)
        for i in range(5):
            pub.reading(DEV, StateReading(DEV.device_id, 1_764_860_000.0 + i, {"n": i}))
        await asyncio.sleep(1.0)
        assert not pub.connected and pub.counters["connect_failures"] >= 1
        assert len(pub.queue) >= 5                           # kept, not lost, not blocking
        await asyncio.to_thread(mqtt_broker.start)
        sub = Subscriber(mqtt_broker)
        pub.retry_now()
        try:
            await sub.await_for(lambda m: len(sub.on("solartui/abc123/state")) >= 5)
            assert [json.loads(p)["values"]["n"] for p in sub.on("solartui/abc123/state")] == \
                list(range(5))
            assert sub.on("homeassistant/sensor/abc123/p/config")
            # Home Assistant restarts: it says online, and gets every config again
            before = len(sub.on("homeassistant/sensor/abc123/p/config"))
            sub.client.publish("homeassistant/status", "online")
            await sub.await_for(lambda m: len(sub.on("homeassistant/sensor/abc123/p/config"))
                                > before)
        finally:
            sub.close()
    finally:
        await pub.stop()


async def test_broker_stopped_mid_run_reconnects_and_republishes(mqtt_broker, monkeypatch):
    fake_discovery(monkeypatch)
    pub = publisher(mqtt_broker)
    pub.start()
    try:
        pub.announce(DEV, None)
        pub.available(DEV.device_id, True)
        for _ in range(100):
            if pub.connected and not len(pub.queue):
                break
            await asyncio.sleep(0.05)
        assert pub.connected
        pub.min_backoff = pub.max_backoff = 60      # it waits for retry_now(): no race with `sub`
        await asyncio.to_thread(mqtt_broker.stop)          # no persistence: retained gone
        for i in range(20):
            pub.reading(DEV, StateReading(DEV.device_id, 1_764_860_000.0 + i, {"n": i}))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(mqtt_broker.start)
        sub = Subscriber(mqtt_broker)
        pub.retry_now()
        try:
            await sub.await_for(lambda m: 19 in [json.loads(p)["values"]["n"]
                                                 for p in sub.on("solartui/abc123/state")])
            await sub.await_for(lambda m: sub.on("homeassistant/sensor/abc123/p/config"))
            await sub.await_for(lambda m: sub.on("solartui/abc123/status") == [b"online"])
            assert pub.counters["connects"] >= 2
        finally:
            sub.close()
    finally:
        await pub.stop()


async def test_queue_bound_while_broker_away(mqtt_broker):
    mqtt_broker.stop()
    pub = publisher(mqtt_broker, queue_size=50)
    pub.min_backoff = pub.max_backoff = 60
    pub.start()
    try:
        for i in range(500):        # producers never wait, whatever the broker does
            pub.reading(DEV, StateReading(DEV.device_id, 1_764_860_000.0 + i, {"n": i}))
        assert len(pub.queue) == 50 and pub.dropped == 450
        await asyncio.to_thread(mqtt_broker.start)
        sub = Subscriber(mqtt_broker, topics=["solartui/abc123/state"])
        pub.retry_now()
        try:
            got = await sub.await_for(lambda m: len(m) >= 50 and m)
            assert [json.loads(p)["values"]["n"] for _t, p, _r in got][:50] == \
                list(range(450, 500))                        # the newest kept, in order
        finally:
            sub.close()
    finally:
        await pub.stop()


async def test_password_and_tls(tmp_path):
    if not tls_possible():
        pytest.skip("neither cryptography nor openssl to make a test certificate")
    from mqtt_broker import Broker, broker_kind
    if broker_kind() != "mosquitto":
        pytest.skip("the password/TLS variant needs mosquitto")
    broker = Broker(tmp_path / "b", users={"pi": "s3cret-pw"}, tls=True).start()
    try:
        sub = Subscriber(broker)
        cfg = make_config(f"mqtts://pi@127.0.0.1:{broker.port}", ca_file=str(broker.tls["ca"]),
                          environ={"SOLARTUI_MQTT_PASSWORD": "s3cret-pw"})
        assert "s3cret" not in cfg.shown() and "s3cret" not in repr(cfg)
        pub = MqttPublisher(cfg, min_backoff=0.2, max_backoff=0.5)
        pub.start()
        try:
            pub.reading(DEV, StateReading(DEV.device_id, 1_764_860_000.0, {"x": 1}))
            await sub.await_for(lambda m: sub.on("solartui/abc123/state"))
        finally:
            await pub.stop()
        # a wrong password: refused by the broker, retried, never a crash
        bad = MqttPublisher(make_config(f"mqtts://pi:wrong@127.0.0.1:{broker.port}",
                                        ca_file=str(broker.tls["ca"]), environ={}),
                            min_backoff=0.1, max_backoff=0.2)
        bad.start()
        await asyncio.sleep(1.0)
        assert not bad.connected and bad.counters["connect_failures"] >= 1
        await bad.stop()
        sub.close()
    finally:
        broker.stop()


async def test_no_discovery_keeps_only_state(mqtt_broker, monkeypatch):
    fake_discovery(monkeypatch)
    cfg = make_config(mqtt_broker.url, discovery=False, environ={})
    sub = Subscriber(mqtt_broker)
    pub = MqttPublisher(cfg, min_backoff=0.2, max_backoff=0.5)
    pub.start()
    try:
        pub.announce(DEV, None)
        pub.reading(DEV, StateReading(DEV.device_id, 1_764_860_000.0, {"x": 1}))
        await sub.await_for(lambda m: sub.on("solartui/abc123/state"))
        assert not [t for t, _p, _r in sub.messages if t.startswith("homeassistant/")]
    finally:
        await pub.stop()
        sub.close()


async def test_watchdog_starts_over_when_the_broker_stops_reading(mqtt_broker):
    """A broker that stops reading (SIGSTOP) fills the socket; the watchdog abandons the stuck
    connection and the publisher delivers once the broker reads again."""
    import signal
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("needs a broker process to pause")
    pub = publisher(mqtt_broker, queue_size=100_000)
    pub.stall_timeout = 3.0
    pub.start()
    try:
        for _ in range(100):
            if pub.connected:
                break
            await asyncio.sleep(0.05)
        mqtt_broker._proc.send_signal(signal.SIGSTOP)
        for i in range(20_000):             # ~20 MB: more than the socket buffers hold
            pub.reading(DEV, StateReading(DEV.device_id, 1_764_860_000.0 + i,
                                          {"n": i, "pad": "x" * 1000}))
        for _ in range(400):
            if pub.counters.get("stalls", 0) or pub.counters["disconnects"]:
                break
            await asyncio.sleep(0.05)
        assert pub.counters.get("stalls", 0) + pub.counters["disconnects"] >= 1
    finally:
        mqtt_broker._proc.send_signal(signal.SIGCONT)
    sub = Subscriber(mqtt_broker, topics=["solartui/abc123/state"])
    try:
        pub.reading(DEV, StateReading(DEV.device_id, 1_764_900_000.0, {"n": -1}))
        # the last message published is the last one delivered: look at the tail only (the
        # predicate runs under the subscriber's lock at every message; parsing all 20,000 each
        # time starved the receiving thread)
        await sub.await_for(lambda m: any(json.loads(p)["values"]["n"] == -1
                                          for _t, p, _r in m[-20:]), timeout=60)
    finally:
        sub.close()
        await pub.stop()


def test_discovery_backlog_holds_devices_not_messages():
    from solartui.mqtt.backlog import DiscoveryBacklog
    configs = {f"d{i}": [Message(f"c/d{i}/{k}", "{}") for k in range(3)] for i in range(5)}
    b = DiscoveryBacklog()
    b.mark_all(configs)
    b.mark("d0")                                    # already waiting: keeps its place, once
    assert len(b) == 5
    msgs, ids = b.take(configs, 4)                  # whole devices, until the share is reached
    assert ids == ["d0", "d1"] and len(msgs) == 6
    b.put_back(ids)                                 # the connection dropped: first in line again
    assert b.take(configs, 1)[1] == ["d0"]
    assert b.take(configs, 100)[1] == ["d1", "d2", "d3", "d4"] and len(b) == 0


async def test_a_fleets_discovery_is_never_dropped_and_state_keeps_flowing(mqtt_broker,
                                                                          monkeypatch):
    """500 devices announce at once into a publisher whose queue holds 50 messages: every
    config arrives (the backlog keeps devices, not messages), and the state published meanwhile
    arrives too, none of it dropped."""
    fake_discovery(monkeypatch)
    sub = Subscriber(mqtt_broker)
    pub = publisher(mqtt_broker, queue_size=50)
    devices = [DeviceInfo(f"dev{i:03d}", f"DEV{i:03d}", map_id="growatt-protocol-ii")
               for i in range(500)]
    try:
        pub.start()
        for d in devices:
            pub.announce(d, None)
        for i, d in enumerate(devices[:40]):
            pub.reading(d, StateReading(d.device_id, 1_764_860_000.0, {"n": i}))
        await sub.await_for(lambda m: sum(t.endswith("/p/config") for t, _p, _r in m) >= 500
                            and sum(t.endswith("/state") for t, _p, _r in m) >= 40, timeout=60)
        assert pub.queue.dropped == 0 and pub.status()["discovery_pending"] == 0
    finally:
        await pub.stop()
        sub.close()

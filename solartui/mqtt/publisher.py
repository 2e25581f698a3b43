"""The MQTT publisher: a bounded queue in front of one broker connection that comes and goes.

Why this shape: `serve` acks dataloggers and `log` paces serial buses; neither may ever wait for
a broker. Producers call `publish`/`reading`/`announce`/`available`, which only enqueue (drop
oldest when full, counted, rate-limited log line). One background task owns the connection
(aiomqtt over paho-mqtt 2.x): it connects with exponential backoff (1 s doubling to 60 s, with
jitter), sets the last will `{base}/bridge/status` = offline (retained), says online on every
connect, re-publishes device availability and marks every device's discovery configs to go out
again on every (re)connect and whenever Home Assistant says `{prefix}/status` = online, drains the
queue — each batch at most DISCOVERY_SHARE configs from the discovery backlog (backlog.py: never
dropped, one entry per device) and the rest state — and
with writes on hands command messages to `commands.handle` (the one write gate) and publishes the
result it returns. A stop publishes the bridge offline itself (a clean disconnect fires no will).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from typing import Callable

from solartui.mqtt import commands, discovery
from solartui.mqtt.backlog import DiscoveryBacklog
from solartui.mqtt.model import DeviceInfo, Message, StateReading
from solartui.mqtt.queue import DropOldestQueue
from solartui.mqtt.state import state_message
from solartui.mqtt.topics import Topics
from solartui.mqtt.url import MqttConfig
from solartui.ratelog import RateLimitedLog

log = logging.getLogger("solartui.mqtt")

ONLINE, OFFLINE = "online", "offline"
BATCH = 200                 # messages handed to the client at once (QoS 0 goes out in one write)
DISCOVERY_SHARE = BATCH // 2    # discovery configs in a batch at most: the rest is state
INFLIGHT = 20               # QoS 1 messages awaiting PUBACK at once (paho's own window): more
                            # pile up in paho's queue, whose every ack walks it (O(n^2) stalls)
STALL_TIMEOUT = 60.0        # connected, messages waiting, none sent for this long: start over
CONNECT_TIMEOUT = 30        # seconds for TCP + TLS + CONNACK (the client's own timeout is 10)
MAX_COMMANDS = 16           # commands from Home Assistant running at once; more are refused


def _retrieve(fut) -> None:
    """Mark the client's 'disconnected' future as seen whenever it ends: its exception is the
    reason we log ourselves, not a 'Future exception was never retrieved' line."""
    if isinstance(fut, asyncio.Future):
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())


def default_client_id() -> str:
    return f"solartui-{socket.gethostname()[:40]}-{os.getpid()}"


class MqttPublisher:
    def __init__(self, config: MqttConfig, *, resolve: Callable[[str], object | None] | None = None,
                 min_backoff: float = 1.0, max_backoff: float = 60.0, keepalive: int = 30,
                 log_interval: float = 10.0):
        self.config = config
        self.topics = Topics(config.base, config.discovery_prefix)
        self.queue = DropOldestQueue(config.queue_size)
        self.resolve = resolve or (lambda _dev: None)
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.keepalive = keepalive
        self.client_id = config.client_id or default_client_id()
        self.ratelog = RateLimitedLog(log, log_interval)
        self.connected = False
        self.counters = {"published": 0, "connects": 0, "connect_failures": 0,
                         "disconnects": 0, "republished": 0, "commands": 0,
                         "commands_refused": 0}
        self._discovery: dict[str, list[Message]] = {}     # device id -> retained configs
        self._backlog = DiscoveryBacklog()                  # devices whose configs are due
        self._sending = False                               # a batch is on its way out
        self._available: dict[str, str] = {}               # device id -> online|offline
        self._client = None
        self._task: asyncio.Task | None = None
        self._side: set[asyncio.Task] = set()
        self._stopping = False
        self._abandon = False
        self._wake = asyncio.Event()
        self._watchdog: asyncio.Task | None = None
        self.stall_timeout = STALL_TIMEOUT

    # --- what producers call (never awaits) ----------------------------------------------------

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def publish(self, msg: Message) -> None:
        if self.queue.put(msg):
            self.ratelog.warning("mqtt-drop", "mqtt: queue full (%d messages, broker %s): dropped "
                                 "the oldest; %d dropped so far", self.queue.maxsize,
                                 "connected" if self.connected else "unreachable",
                                 self.queue.dropped)

    def reading(self, device: DeviceInfo, reading: StateReading) -> None:
        """One reading of one device: its state (or buffered) JSON."""
        self.publish(state_message(self.topics, device, reading))

    def announce(self, device: DeviceInfo, device_map, points: list[str] | None = None) -> None:
        """Home Assistant discovery for a device: kept (re-published on every reconnect) and
        queued now if it differs from what was announced before."""
        if not self.config.discovery:
            return
        try:
            msgs = discovery.messages_for(device, device_map, self.topics,
                                          writes=self.config.writes, points=points)
        except Exception as exc:    # a map the discovery cannot describe: no entities, no crash
            self.ratelog.warning("mqtt-discovery", "mqtt: no discovery for %s: %s",
                                 device.device_id, exc)
            return
        if self._discovery.get(device.device_id) == msgs:
            return
        self._discovery[device.device_id] = msgs
        self._backlog.mark(device.device_id)
        self.queue.wake()

    def announced(self, device_id: str) -> bool:
        return device_id in self._discovery

    def available(self, device_id: str, online: bool) -> None:
        """Per-device availability (retained); queued only when it changes."""
        word = ONLINE if online else OFFLINE
        if self._available.get(device_id) == word:
            return
        self._available[device_id] = word
        self.publish(Message(self.topics.device_status(device_id), word, retain=True, qos=1))

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt")
            self._watchdog = asyncio.get_running_loop().create_task(self._watch(),
                                                                    name="mqtt-watchdog")

    async def _watch(self) -> None:
        """The backstop: a connection that takes nothing from a non-empty queue for
        stall_timeout seconds (a broker that stopped reading, a client stuck on a dead socket)
        is abandoned and the publisher starts over with a new one."""
        last, since = -1, time.monotonic()
        while not self._stopping:
            await asyncio.sleep(min(5.0, self.stall_timeout / 4))
            now = time.monotonic()
            sent = self.counters["published"]
            if sent != last or not (len(self.queue) or len(self._backlog)):
                last, since = sent, now
                continue
            if now - since < self.stall_timeout or self._stopping:
                continue
            self.ratelog.warning("mqtt-stall", "mqtt: nothing sent for %.0f s with %d messages "
                                 "waiting; reconnecting", now - since, len(self.queue))
            self.counters["stalls"] = self.counters.get("stalls", 0) + 1
            old, self._abandon = self._task, True
            if old is not None:
                old.cancel()
                await asyncio.wait({old}, timeout=10)
            self._abandon = False
            self.connected, self._client = False, None
            if not self._stopping:
                self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt")
            last, since = self.counters["published"], time.monotonic()

    async def stop(self, flush: float = 1.0, *, wait_connect: bool = False) -> None:
        """Send what is queued (up to `flush` seconds; `wait_connect`: also wait that long for a
        connection, for `log --once`) and the bridge's offline; disconnect."""
        if self._task is None:
            return
        self._stopping = True
        deadline = time.monotonic() + flush
        with contextlib.suppress(Exception):
            while (len(self.queue) or len(self._backlog) or self._sending) \
                    and (self.connected or wait_connect) \
                    and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            client = self._client
            if client is not None and self.connected:
                await client.publish(self.topics.bridge_status(), OFFLINE, qos=1, retain=True,
                                     timeout=max(0.3, deadline - time.monotonic()))
        for task in (self._task, self._watchdog):
            if task is not None:
                task.cancel()
        for task in [self._task, self._watchdog, *self._side]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = self._watchdog = None
        self.connected = False
        self.ratelog.flush()
        if self.queue.dropped:
            log.info("mqtt: %d messages dropped while the broker was away or slow",
                     self.queue.dropped)

    # --- the connection ------------------------------------------------------------------------

    def _new_client(self):
        import aiomqtt
        tls = None
        if self.config.tls:
            tls = aiomqtt.TLSParameters(ca_certs=self.config.ca_file,
                                        certfile=self.config.cert_file,
                                        keyfile=self.config.key_file)
        client = aiomqtt.Client(
            self.config.host, self.config.port, username=self.config.username,
            password=self.config.password, identifier=self.client_id,
            will=aiomqtt.Will(self.topics.bridge_status(), OFFLINE, qos=1, retain=True),
            tls_params=tls, keepalive=self.keepalive, timeout=10,
            max_inflight_messages=INFLIGHT,
            logger=logging.getLogger("solartui.mqtt.client"),
            # no Nagle: a state message leaves at once instead of waiting up to the peer's
            # delayed ACK (~40 ms a message at a few per second; measured in bench/mqtt_fleet.py)
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        client.pending_calls_threshold = BATCH * 4      # our batches are not a leak
        return client

    async def _run(self) -> None:
        import aiomqtt
        delay: float | None = None          # None: the next failure waits min_backoff
        while not self._stopping:
            try:
                client = self._new_client()
                _retrieve(getattr(client, "_disconnected", None))
                # bounded both ways: a broker (or a loaded loop) that never answers CONNECT or
                # DISCONNECT costs one attempt, never the publisher
                await asyncio.wait_for(client.__aenter__(), CONNECT_TIMEOUT)
                try:
                    self._client = client
                    self.connected = True
                    self.counters["connects"] += 1
                    delay = None
                    log.info("mqtt: connected to %s as %s", self.config.shown(), self.client_id)
                    await self._on_connect(client)
                    await self._pump(client)
                finally:
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await asyncio.wait_for(client.__aexit__(None, None, None), 5)
            except asyncio.TimeoutError as exc:
                self._failed(ConnectionError(f"no answer within {CONNECT_TIMEOUT:g} s") if
                             not str(exc) else exc)
            except asyncio.CancelledError:
                if self._stopping or self._abandon:
                    raise
                # not our stop: a future inside the client library that its own timeout
                # cancelled (aiomqtt's wait_for does that) must not end the publisher
                exc = ConnectionError("connection attempt cancelled")
                self._failed(exc)
            except (aiomqtt.MqttError, OSError, ValueError) as exc:
                self._failed(exc)
            except Exception as exc:    # anything else from the client: log it, keep retrying
                log.error("mqtt: unexpected %s from the MQTT client: %s", type(exc).__name__,
                          " ".join(str(exc).split())[:200])
                self._failed(exc)
            finally:
                self.connected = False
                self._client = None
            if self._stopping:
                break
            delay = self.min_backoff if delay is None else min(delay * 2, self.max_backoff)
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay * random.uniform(0.8, 1.2))

    def _failed(self, exc: BaseException) -> None:
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        if self.connected:
            self.counters["disconnects"] += 1
            self.ratelog.warning("mqtt-lost", "mqtt: lost %s (%s); reconnecting",
                                 self.config.shown(), why)
        else:
            self.counters["connect_failures"] += 1
            self.ratelog.warning("mqtt-connect", "mqtt: cannot reach %s (%s); retrying with "
                                 "backoff up to %.0f s", self.config.shown(), why,
                                 self.max_backoff)

    def retry_now(self) -> None:
        """Cut the backoff wait short (the broker is known to be back)."""
        self._wake.set()

    async def _on_connect(self, client) -> None:
        await client.publish(self.topics.bridge_status(), ONLINE, qos=1, retain=True)
        await client.subscribe(self.topics.ha_status(), qos=1)
        if self.config.writes:
            await client.subscribe(self.topics.command_filter(), qos=1)
        await self._republish(client)

    async def _republish(self, client) -> None:
        """Every retained discovery config and availability: a broker that restarted without
        persistence, or a Home Assistant that restarted, learns them again. Availability now;
        the configs through the backlog, interleaved with state (a fleet's are many)."""
        msgs = [Message(self.topics.device_status(d), w, retain=True, qos=1)
                for d, w in list(self._available.items())]
        for i in range(0, len(msgs), BATCH):
            await self._send(client, msgs[i:i + BATCH])
        self._backlog.mark_all(list(self._discovery))
        self.queue.wake()
        self.counters["republished"] += len(msgs) + sum(map(len, self._discovery.values()))

    async def _send(self, client, batch: list[Message]) -> None:
        """QoS 0 all at once; QoS 1 (retained status and discovery) INFLIGHT at a time."""
        if not batch:
            return
        fast = [m for m in batch if m.qos == 0]
        acked = [m for m in batch if m.qos != 0]
        if fast:
            await asyncio.gather(*(client.publish(m.topic, m.payload, qos=0, retain=m.retain)
                                   for m in fast))
        for i in range(0, len(acked), INFLIGHT):
            await asyncio.gather(*(client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain)
                                   for m in acked[i:i + INFLIGHT]))
        self.counters["published"] += len(batch)

    async def _pump(self, client) -> None:
        drain = asyncio.create_task(self._drain(client), name="mqtt-drain")
        listen = asyncio.create_task(self._listen(client), name="mqtt-listen")
        try:
            done, _ = await asyncio.wait({drain, listen}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()           # re-raise the disconnect
        finally:
            for task in (drain, listen):
                task.cancel()
            await asyncio.gather(drain, listen, return_exceptions=True)

    async def _drain(self, client) -> None:
        while True:
            configs, devices = self._backlog.take(self._discovery, DISCOVERY_SHARE)
            state: list[Message] = []
            while len(configs) + len(state) < BATCH:
                m = self.queue.get_nowait()
                if m is None:
                    break
                state.append(m)
            if not configs and not state:
                await self.queue.wait()
                continue
            self._sending = True            # taken from the queue, not yet out: stop() waits
            try:
                # configs first: Home Assistant makes the entity, then takes the state after it
                # (a Growatt's next record is minutes away)
                await self._send(client, configs)
                devices = []
                await self._send(client, state)
            except BaseException:
                self._backlog.put_back(devices)  # sent again after the reconnect
                for m in reversed(state):
                    self.queue.put_back(m)
                raise
            finally:
                self._sending = False

    async def _listen(self, client) -> None:
        async for message in client.messages:
            topic = message.topic.value
            payload = message.payload if isinstance(message.payload, (bytes, bytearray)) else \
                str(message.payload or "").encode()
            if topic == self.topics.ha_status():
                if bytes(payload).strip().lower() == b"online":
                    log.info("mqtt: Home Assistant is online: announcing again")
                    self._spawn(self._republish(client))
                continue
            if self.config.writes:
                self._command(topic, bytes(payload))

    def _command(self, topic: str, payload: bytes) -> None:
        if len(self._side) >= MAX_COMMANDS:
            self.counters["commands_refused"] += 1
            self.ratelog.warning("mqtt-commands", "mqtt: %d commands already running; %s "
                                 "ignored", MAX_COMMANDS, topic)
            return
        self.counters["commands"] += 1
        self._spawn(self._run_command(topic, payload))

    async def _run_command(self, topic: str, payload: bytes) -> None:
        try:
            result = await commands.handle(topic, payload, self.topics, self.resolve)
        except Exception as exc:      # the handler answers refusals itself; this is a bug
            log.error("mqtt: command on %s failed: %s: %s", topic, type(exc).__name__, exc)
            return
        if result is not None:
            self.publish(result)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    def status(self) -> dict:
        return {"broker": self.config.shown(), "connected": self.connected,
                "queued": len(self.queue), "dropped": self.queue.dropped,
                "discovery_pending": len(self._backlog), **self.counters}

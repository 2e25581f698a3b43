"""A real MQTT broker for tests: mosquitto on a free loopback port, or amqtt (PyPI) without it.

Why real: the publisher's reconnects, last will, retained messages and queue bound only mean
something against a broker that really drops, retains and fires wills. Each test gets its own
broker on its own port (xdist workers never share one); `stop()` and `start()` bring it down and
back on the same port for outage tests. `broker_kind()` says which one runs (pytest's header).
Variants: `users={"name": "password"}` (mosquitto's password file) and `tls=True` (a CA and a
server certificate for 127.0.0.1 made with the `cryptography` package, or openssl).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path


def mosquitto_path() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None


def amqtt_available() -> bool:
    try:
        import amqtt.broker  # noqa: F401
    except Exception:
        return False
    return True


def broker_kind() -> str:
    if os.environ.get("SOLARTUI_TEST_BROKER") == "amqtt" and amqtt_available():
        return "amqtt"
    if mosquitto_path():
        return "mosquitto"
    return "amqtt" if amqtt_available() else "none"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"broker did not listen on {host}:{port} within {timeout:g} s")


def make_tls(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost signed by it, and a client cert:
    with the `cryptography` package when it is installed, else the openssl command."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        return _make_tls_openssl(folder)
    return _make_tls_cryptography(folder)


def tls_possible() -> bool:
    try:
        import cryptography  # noqa: F401
        return True
    except ImportError:
        return shutil.which("openssl") is not None


def _make_tls_openssl(folder: Path) -> dict[str, Path]:
    out = {"ca": folder / "ca.pem", "ca_key": folder / "ca.key"}

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=solartui test CA")
    for name, san in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", None)):
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={'127.0.0.1' if san else name}")
        ext = []
        if san:
            (folder / "san.ext").write_text(san + "\n")
            ext = ["-extfile", "san.ext"]
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *ext)
        out[name] = folder / f"{name}.pem"
        out[f"{name}_key"] = folder / f"{name}.key"
    return out


def _make_tls_cryptography(folder: Path) -> dict[str, Path]:
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def write_key(k, path):
        path.write_bytes(k.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))

    ca_key = key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "solartui test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    out = {"ca": folder / "ca.pem"}
    out["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, san in (("server", True), ("client", False)):
        k = key()
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                               "127.0.0.1" if san else name)]))
                   .issuer_name(ca_name).public_key(k.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=2)))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        out[name] = folder / f"{name}.pem"
        out[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[f"{name}_key"] = folder / f"{name}.key"
        write_key(k, out[f"{name}_key"])
    return out


class Broker:
    """One broker process (or thread, for amqtt) on 127.0.0.1:port."""

    host = "127.0.0.1"

    def __init__(self, folder: Path, *, users: dict[str, str] | None = None, tls: bool = False,
                 kind: str | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.kind = kind or broker_kind()
        if self.kind == "none":
            raise RuntimeError("no MQTT broker: install mosquitto or `pip install amqtt`")
        self.users = users
        self.tls = make_tls(self.folder) if tls else None
        self.port = free_port()
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._amqtt_stop: asyncio.Event | None = None
        self._amqtt_loop = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    # --- mosquitto -----------------------------------------------------------------------------

    def _mosquitto_conf(self) -> Path:
        lines = [f"listener {self.port} 127.0.0.1", "persistence false",
                 "log_dest stderr", "log_type error", "log_type warning",
                 "max_queued_messages 100000", "max_inflight_messages 0",
                 "set_tcp_nodelay true"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            lines.append("user root")   # else it drops to `mosquitto`, who cannot read tmp_path
        if self.users:
            pw = self.folder / "passwd"
            pw.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True,
                               capture_output=True)
            os.chmod(pw, 0o600)
            lines += ["allow_anonymous false", f"password_file {pw}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls:
            lines += [f"cafile {self.tls['ca']}", f"certfile {self.tls['server']}",
                      f"keyfile {self.tls['server_key']}"]
        conf = self.folder / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    # --- amqtt ---------------------------------------------------------------------------------

    def _amqtt_thread(self, ready: threading.Event) -> None:
        from amqtt.broker import Broker as AmqttBroker
        config = {"listeners": {"default": {"type": "tcp",
                                            "bind": f"{self.host}:{self.port}"}},
                  "sys_interval": 0,
                  "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
                  "topic-check": {"enabled": False}}
        loop = asyncio.new_event_loop()
        self._amqtt_loop = loop

        async def main():
            self._amqtt_stop = asyncio.Event()
            broker = AmqttBroker(config)
            await broker.start()
            ready.set()
            await self._amqtt_stop.wait()
            await broker.shutdown()

        try:
            loop.run_until_complete(main())
        finally:
            ready.set()
            loop.close()

    # --- both ----------------------------------------------------------------------------------

    def start(self) -> "Broker":
        if self.running:
            return self
        if self.kind == "mosquitto":
            conf = self._mosquitto_conf()
            self._log = open(self.folder / "mosquitto.log", "ab")
            self._proc = subprocess.Popen([mosquitto_path(), "-c", str(conf)],
                                          stdout=self._log, stderr=self._log,
                                          stdin=subprocess.DEVNULL)
        else:
            ready = threading.Event()
            self._thread = threading.Thread(target=self._amqtt_thread, args=(ready,),
                                            daemon=True)
            self._thread.start()
            ready.wait(15)
        try:
            wait_port(self.host, self.port)
        except RuntimeError:
            self.stop()
            raise
        return self

    @property
    def running(self) -> bool:
        if self.kind == "mosquitto":
            return self._proc is not None and self._proc.poll() is None
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(5)
            self._proc = None
            self._log.close()
        if self._thread is not None:
            if self._amqtt_loop is not None and self._amqtt_stop is not None:
                with_suppress(lambda: self._amqtt_loop.call_soon_threadsafe(self._amqtt_stop.set))
            self._thread.join(10)
            self._thread = None
        # the port is ours again only once nothing listens on it
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    time.sleep(0.05)
            except OSError:
                return

    def log_text(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def with_suppress(fn) -> None:
    try:
        fn()
    except Exception:
        pass


# --- a real subscribing client (paho-mqtt 2.x, in its own thread) -------------------------------

class Subscriber:
    """Collects every message on `topics` (default '#'), retained ones included."""

    def __init__(self, broker: Broker, topics=("#",), **tls):
        import paho.mqtt.client as mqtt
        self.messages: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"test-sub-{os.getpid()}-{id(self)}")
        if broker.users:
            user, password = next(iter(broker.users.items()))
            self.client.username_pw_set(user, password)
        if broker.tls:
            self.client.tls_set(ca_certs=str(broker.tls["ca"]))
        self._subscribed = threading.Event()
        topics = list(topics)

        def on_connect(client, userdata, flags, reason, properties):
            client.subscribe([(t, 1) for t in topics])

        def on_subscribe(client, userdata, mid, reasons, properties):
            self._subscribed.set()

        def on_message(client, userdata, msg):
            with self._cond:
                self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
                self._cond.notify_all()

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            self.close()
            raise RuntimeError("the test subscriber could not subscribe")

    def on(self, topic: str) -> list[bytes]:
        with self._cond:
            return [p for t, p, _r in self.messages if t == topic]

    def wait_for(self, pred, timeout: float = 15.0):
        """Wait (in a thread-friendly way) until pred(messages) is truthy; return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = pred(list(self.messages))
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    topics = sorted({t for t, _p, _r in self.messages})[:20]
                    raise AssertionError(f"timed out; {len(self.messages)} messages on "
                                         f"{topics}")
                self._cond.wait(min(left, 0.2))

    async def await_for(self, pred, timeout: float = 15.0):
        return await asyncio.to_thread(self.wait_for, pred, timeout)

    def close(self) -> None:
        self.client.loop_stop()
        with_suppress(self.client.disconnect)


def header_line() -> str:
    kind = broker_kind()
    where = mosquitto_path() if kind == "mosquitto" else ("amqtt (PyPI)" if kind == "amqtt"
                                                          else "none found")
    return f"mqtt broker: {kind} ({where})"


if __name__ == "__main__":      # python tests/mqtt_broker.py: run one until Ctrl+C
    import tempfile
    b = Broker(Path(tempfile.mkdtemp())).start()
    print(b.kind, b.url, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        b.stop()
        sys.exit(0)

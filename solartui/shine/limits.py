"""How much the Growatt server lets one connection, one datalogger and everyone together hold.

Why: the datalogger port faces the LAN (and whatever else reaches it). Every structure a peer can
make grow — datalogger registers from 0x19/0x29, inverter words, inverters per datalogger,
serials per connection, commands waiting per datalogger, bytes waiting to be sent to a peer that
does not read — has a cap here, and what a cap refuses or drops is counted by the server. The
connection limits (issue 17) live here too: connections per source address and in total, a
garbage budget per connection (bytes that form no valid frame), a short deadline for the first
valid frame, a frame-rate bound per connection, the HTTP header timeout and the shutdown grace.
A real datalogger never comes near any of them; `serve` exposes the main ones as options.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

from solartui.errors import SolartuiError

log = logging.getLogger("solartui.shine")

FD_RESERVE = 64        # descriptors kept for the HTTP API, the journal, CSV files, the loop itself


@dataclass
class ServerLimits:
    serials_per_connection: int = 4         # a ShineWiFi/LAN speaks for itself; 4 is generous
    dataloggers: int = 4096                 # distinct dataloggers known at once
    inverters_per_datalogger: int = 16
    registers_per_datalogger: int = 1024    # 0x19 replies and 0x29 dumps (real: ~100)
    register_bytes_per_datalogger: int = 64 * 1024
    words_per_inverter: int = 8192          # holding and input words kept, each table
    total_bytes: int = 32 * 1024 * 1024     # everything above, all dataloggers together
    commands_per_datalogger: int = 32       # waiting in its queue; one more is refused (503)
    write_buffer: int = 256 * 1024          # unsent bytes to a peer that stops reading: drop it
    connections: int | None = None          # None: derived from the descriptor limit
    # issue 17: what one misbehaving client may cost everyone else
    connections_per_address: int = 16       # open at once from one source address (a datalogger
                                            # uses one; NAT puts several behind one address)
    garbage_bytes: int = 16 * 1024          # skipped/CRC-failed bytes since the last valid frame
                                            # (or since connect): hang up past it
    garbage_cooldown: float = 5.0           # then refuse that address for this long (0: never),
                                            # before reading a byte: a flooder's reconnects are cheap
    first_frame_timeout: float = 10.0       # hang up a connection that has claimed no datalogger
                                            # by then (a real one speaks within a second)
    frames_per_second: float = 100.0        # a connection's sustained frame rate; past it (after
    frame_burst: int = 500                  # `frame_burst`) its reads pause: TCP pushes back
    http_header_timeout: float = 10.0       # an HTTP client must finish a request (and idle
                                            # keep-alive) within this: slow-loris closed
    http_connections: int = 256             # HTTP connections open at once; one more is closed
    stop_grace: float = 1.5                 # at shutdown, a write on the wire may take this to
                                            # reach its outcome; then it is left "interrupted"
    log_interval: float = 10.0              # rate-limited log lines: one per kind per interval
    probe_every: float = 30.0               # liveness checks of a claimed serial's holder
    allow: "Allow" = field(default_factory=lambda: Allow())

    def connection_cap(self) -> int:
        """The explicit cap, or what the descriptor limit leaves after FD_RESERVE."""
        if self.connections is not None:
            return self.connections
        soft, _hard = fd_limits()
        return max(16, soft - FD_RESERVE) if soft > 0 else 1_000_000


def fd_limits() -> tuple[int, int]:
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return -1, -1
    inf = getattr(resource, "RLIM_INFINITY", -1)
    return (1_000_000 if soft == inf else soft), (1_000_000 if hard == inf else hard)


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one (systemd's default soft limit is 1024);
    returns the soft limit now in force."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("descriptor limit raised from %d to %d", soft, target)
    except (ImportError, OSError, ValueError) as exc:
        log.info("descriptor limit left as it is (%s)", exc)
    return fd_limits()[0]


@dataclass(frozen=True)
class Allow:
    """`serve --allow`: datalogger serials and source networks admitted; empty means anyone."""

    serials: frozenset[str] = frozenset()
    networks: tuple = ()

    @classmethod
    def parse(cls, values) -> "Allow":
        """Items separated by commas (the option may also repeat): an address or CIDR network
        (192.168.1.0/24, 10.0.0.7, fd00::/8) limits who may connect; anything else is a
        datalogger serial (printable ASCII, 1-30 characters) allowed to register."""
        serials: set[str] = set()
        networks: list = []
        for value in values or ():
            for item in str(value).split(","):
                item = item.strip()
                if not item:
                    continue
                try:
                    networks.append(ipaddress.ip_network(item, strict=False))
                    continue
                except ValueError:
                    pass
                if "/" in item or not (item.isascii() and item.isprintable()) or len(item) > 30 \
                        or " " in item:
                    raise SolartuiError(f"--allow {item!r} is neither a network (CIDR) nor a "
                                        "datalogger serial (1-30 printable ASCII characters)")
                serials.add(item)
        return cls(frozenset(serials), tuple(networks))

    def address(self, ip: str) -> bool:
        if not self.networks:
            return True
        try:
            addr = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return False
        if addr.version == 6 and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr.version == n.version and addr in n for n in self.networks)

    def serial(self, serial: str) -> bool:
        return not self.serials or serial in self.serials

    def __str__(self) -> str:
        parts = sorted(self.serials) + [str(n) for n in self.networks]
        return ", ".join(parts) if parts else "anyone"

"""A listen-only device: a page map and a BroadcastListener. It reads the latest status page;
it has nothing to write and no clock to set, and says so through the write gate."""

from __future__ import annotations

from dataclasses import dataclass

from solartui.errors import WriteForbidden
from solartui.links.broadcast import BroadcastListener, Received
from solartui.registers.page_map import PageField, PageMap


@dataclass(frozen=True)
class PageValue:
    value: object
    text: str


@dataclass(frozen=True)
class PageReading:
    """One field of one page, shaped like a poll's reading (the site logger's CSV cells)."""

    point: PageField
    decoded: PageValue | None
    time: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.decoded is not None


@dataclass(frozen=True)
class BroadcastIdentity:
    address: str = ""
    serial: str = ""             # a status page carries no serial number

    def summary(self) -> str:
        return f"address {self.address}" if self.address else ""


class BroadcastDevice:
    kind = "broadcast"
    listen_only = True

    def __init__(self, page_map: PageMap, link: BroadcastListener, target):
        self.map = page_map
        self.link = link
        self.target = target
        self.identity: BroadcastIdentity | None = None

    @property
    def target_text(self) -> str:
        return str(self.target)

    @property
    def listen_only_reason(self) -> str:
        return (f"{self.map.id} at {self.target_text} is listen-only: it broadcasts a status page "
                "and accepts no commands, so nothing can be written to it")

    def fields(self) -> tuple[PageField, ...]:
        return self.map.fields

    def field(self, name: str) -> PageField:
        from solartui.errors import SolartuiError
        try:
            return self.map.field(name)
        except KeyError:
            known = ", ".join(f.name for f in self.map.fields)
            raise SolartuiError(f"no field '{name}' in {self.map.id} (fields: {known})") from None

    point = field           # the doors look a name up before they ask the gate

    async def latest(self, timeout: float | None = None) -> Received:
        """The next good page (NoAnswer after the map's silence time)."""
        if timeout is None and self.target.timeout_ms is not None:
            timeout = self.target.timeout_ms / 1000
        got = await self.link.wait_page(timeout)
        self.identity = BroadcastIdentity(address=got.page.address)
        return got

    async def poll(self, fields) -> list[PageReading]:
        """The next good page's values for `fields` (raises NoAnswer/ConnectionFailed: the
        whole page is missing, never one field)."""
        got = await self.latest()
        return [PageReading(f, PageValue(got.page.values[f.name], got.page.text(f)), got.at)
                for f in fields]

    async def plan_write(self, name, value, pending=None):
        raise WriteForbidden(self.listen_only_reason)

    async def plan_raw_write(self, address, words):
        raise WriteForbidden(self.listen_only_reason)

    async def plan_clock(self):
        raise WriteForbidden(self._no_clock)

    async def read_clock(self):
        from solartui.errors import SolartuiError
        raise SolartuiError(self._no_clock)

    @property
    def _no_clock(self) -> str:
        return self.listen_only_reason.replace("so nothing can be written to it",
                                               "and its page carries no clock to read or set")

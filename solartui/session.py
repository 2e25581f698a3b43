"""A session: the links, the connected device, the journal and the traffic log, without Textual.

The CLI and the TUI open devices the same way through here: a target URL and an optional map
(without one, the map is chosen by identification). Modbus targets give a RegisterDevice on a
pooled link; PI30 targets (pi30://, hid://, hidraw://) a Pi30Device on a link of its own.
"""

from __future__ import annotations

from dataclasses import replace

from solartui.devices.identify import choose_map
from solartui.devices.pi30_device import Pi30Device
from solartui.devices.readings import Identity
from solartui.devices.register_device import RegisterDevice
from solartui.devices.writes import WriteOutcome
from solartui.devices.diagnose import explain, timeout_hint
from solartui.errors import SolartuiError, Unidentified
from solartui.givenergy.families import (HYBRID, UnsupportedFamily, family_for,
                                         write_model_for_map)
from solartui.journal import Journal
from solartui.links.pi30_open import open_pi30_link
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import catalog
from solartui.registers.model import LinkSpec
from solartui.registers.sunspec import MAP_ID as SUNSPEC_MAP_ID, PERIOD_MS as SUNSPEC_PERIOD_MS
from solartui.traffic import TrafficLog


def merged_spec(maps) -> LinkSpec:
    """Link settings safe for every candidate map: the slowest pacing, the longest timeout."""
    first = maps[0].link
    return replace(first, min_period_ms=max(m.link.min_period_ms for m in maps),
                   timeout_ms=max(m.link.timeout_ms for m in maps))


def set_write_model(link, model: str) -> None:
    """A GivEnergy link applies the write-safe list of the family behind it."""
    if hasattr(link, "model") and hasattr(link, "check_write"):
        link.model = model


class Session:
    def __init__(self, journal: Journal | None = None, traffic: TrafficLog | None = None, *,
                 usb_backend=None):
        self.pool = LinkPool()
        self.journal = journal
        self.traffic = traffic
        self.usb_backend = usb_backend          # pyusb backend for hid:// (tests: the simulator)
        self.device: RegisterDevice | Pi30Device | None = None
        self._own_links: dict[str, object] = {}     # PI30 links by link key (one per port)

    async def connect(self, target_url: str, map_name: str | None = None
                      ) -> RegisterDevice | Pi30Device:
        dev = await self.open(target_url, map_name)
        self._connected(dev)
        return dev

    async def open(self, target_url: str, map_name: str | None = None
                   ) -> RegisterDevice | Pi30Device:
        """Identify the device at `target_url` beside the current one, which stays open and in use
        (a channel both use is shared, as on one RS485 bus). If it fails — or is cancelled — the
        links opened for it are closed again and nothing else changes."""
        target = parse_target(target_url)
        pooled, own = self.pool.links(), dict(self._own_links)
        try:
            if target.is_pi30:
                return await self._connect_pi30(target, map_name)
            if target.is_broadcast:
                return await self._connect_broadcast(target, map_name)
            return await self._connect_registers(target, map_name)
        except BaseException:
            for link in self.pool.links():
                if link not in pooled:
                    await self.pool.release(link)
            for key, link in list(self._own_links.items()):
                if key not in own:
                    del self._own_links[key]
                    await link.close()
            raise

    async def adopt(self, dev: RegisterDevice | Pi30Device) -> None:
        """Make `dev` (from `open`) the session's device; the links only the previous device
        used are closed."""
        old, self.device = self.device, dev
        if old is not None and old.link is not dev.link:
            await self.pool.release(old.link)
            for key, link in list(self._own_links.items()):
                if link is old.link:
                    del self._own_links[key]
                    await link.close()
        self._connected(dev)

    def _connected(self, dev) -> None:
        self.device = dev
        if self.traffic is not None:
            self.traffic.note(f"connected to {dev.map.vendor} {dev.identity.serial if dev.identity else ''} "
                              f"at {dev.target_text} ({dev.map.id})")
        return dev

    async def _connect_pi30(self, target, map_name: str | None) -> Pi30Device:
        m = catalog.resolve_command_map(map_name)
        link = self._own_links.get(target.link_key)
        if link is None:                # the port already open is shared, never opened twice
            link = open_pi30_link(target, m.link, usb_backend=self.usb_backend)
            self._own_links[target.link_key] = link
            if self.traffic is not None:
                link.add_sink(self.traffic.frame)
            await link.connect()        # permission, busy, absent: said now, in one line
        dev = Pi30Device(m, link, self.journal)
        ident = await dev.identify()
        if not ident.values:
            _period, timeout_ms = target.pacing_ms(m.link.min_period_ms, m.link.timeout_ms)
            raise SolartuiError(f"no answer from {target} within {timeout_ms} ms: "
                                f"{next(iter(ident.errors.values()), 'no reply to QPI')}; check "
                                "the cable and that the inverter is on; "
                                + timeout_hint(target, timeout_ms))
        return dev

    async def _connect_broadcast(self, target, map_name: str | None):
        """A listen-only device: the port is opened with the map's line levels; no page is
        awaited here (a write is refused at once; `read` waits for the next page)."""
        from solartui.devices.broadcast_device import BroadcastDevice
        from solartui.links.broadcast import BroadcastListener
        from solartui.registers.page_map import resolve_page_map
        if map_name and map_name != target.page_map:
            raise SolartuiError(f"--map {map_name} disagrees with the target's map="
                                f"{target.page_map}; give the map in the URL only")
        m = resolve_page_map(target.page_map)
        link = self._own_links.get(target.link_key)
        if link is None:
            link = BroadcastListener(target.path, m, baud=target.baud)
            self._own_links[target.link_key] = link
            if self.traffic is not None:
                traffic = self.traffic
                link.on_page = lambda raw, why: traffic.note(
                    f"page {raw.decode('ascii', 'replace')!r}" + (f" dropped: {why}" if why else ""))
            await link.open()
        return BroadcastDevice(m, link, target)

    async def _connect_registers(self, target, map_name: str | None) -> RegisterDevice:
        if map_name == SUNSPEC_MAP_ID:
            return await self._connect_sunspec(target)
        if map_name:
            m = catalog.resolve_register_map(map_name)
            link = self._link(target, m.link)
            dev = RegisterDevice(m, link, target.unit, self.journal)
            if m.identify:
                ident = await dev.identify()
                if not ident.values and ident.errors:
                    raise await explain(target, link, dev.unit, [m], [ident]) from None
            if target.scheme == "givenergy":
                set_write_model(link, write_model_for_map(m.id))
        elif target.scheme == "givenergy":
            dev = await self._identify_givenergy(target)
        else:
            protocol = "modbus"
            maps = [m for m in catalog.all_maps(protocol) if m.identify]
            if not maps:
                raise SolartuiError("no shipped map can identify devices; name one with --map")
            fresh = target.link_key not in {getattr(l.target, "link_key", None)
                                            for l in self.pool.links()}
            link = self._link(target, merged_spec(maps))
            paced_by_us = fresh and target.period_ms is None and hasattr(link, "scheduler")

            def sunspec_pacing() -> None:
                """A SunS marker answered: no Growatt here, the chain walk goes unpaced."""
                if paced_by_us:
                    link.scheduler.min_period = SUNSPEC_PERIOD_MS / 1000

            try:
                dev, _ = await choose_map(
                    maps, lambda m: RegisterDevice(m, link, target.unit, self.journal),
                    link=link, unit=target.unit if target.unit is not None else maps[0].link.unit,
                    journal=self.journal, sunspec=protocol == "modbus",
                    on_sunspec_marker=sunspec_pacing)
            except Unidentified as exc:     # said as refused, silent, wrong unit or no map
                unit = target.unit if target.unit is not None else maps[0].link.unit
                raise await explain(target, link, unit, maps, exc.identities) from None
            if paced_by_us:
                # identified: the link now paces as the picked map says, not as the slowest
                # candidate had to (a SunSpec device over TCP needs no Growatt 850 ms period)
                link.scheduler.min_period = dev.map.link.min_period_ms / 1000
        return dev

    async def _connect_sunspec(self, target) -> RegisterDevice:
        """`--map sunspec`: the SunSpec marker at 40000, 0 and 50000 (in pysunspec2's order),
        on a link paced as SunSpec devices need (no Growatt 850 ms period)."""
        from solartui.devices.sunspec_device import NotSunSpec, open_sunspec
        from solartui.errors import LinkError
        from solartui.registers.sunspec import BASES
        if target.scheme != "tcp" and target.scheme != "rtu":
            raise SolartuiError(f"SunSpec is Modbus: use a tcp:// or rtu:// target, not {target.scheme}://")
        link = self._link(target, LinkSpec(unit=1, timeout_ms=1000))
        unit = target.unit if target.unit is not None else 1
        tried = []
        for base in BASES:
            try:
                return await open_sunspec(link, unit, base, self.journal)
            except (NotSunSpec, LinkError) as exc:
                tried.append(f"{base}: {exc}")
        raise SolartuiError(f"no SunSpec device at {target} ({'; '.join(tried)})")

    async def _identify_givenergy(self, target) -> RegisterDevice:
        """HR0 names the family and the family names the map (givenergy/families.py): one
        HR(0,60) read, then the family's map takes over with the identity already read. A code
        no shipped map fits is refused in one line — never read with a map that merely answers."""
        maps = [m for m in catalog.all_maps("givenergy") if m.identify]
        if not maps:
            raise SolartuiError("no shipped GivEnergy map; name one with --map")
        probe_map = next((m for m in maps if m.id == HYBRID.map_id), maps[0])
        link = self._link(target, merged_spec(maps))
        probe = RegisterDevice(probe_map, link, target.unit, self.journal)
        ident = await probe.identify()
        code = ident.values.get("device_type")
        if not isinstance(code, (int, float)):
            if not ident.values:
                unit = target.unit if target.unit is not None else probe_map.link.unit
                raise await explain(target, link, unit, [probe_map], [ident]) from None
            raise SolartuiError(f"GivEnergy device at {target} did not give its device type "
                                f"(HR0: {ident.errors.get('device_type', 'no answer')}); "
                                "name a map with --map")
        family = family_for(int(code))             # UnsupportedFamily: one line with the code
        chosen = next((m for m in maps if m.id == family.map_id), None)
        if chosen is None:
            raise UnsupportedFamily(int(code), f"{family.name}: map {family.map_id} is missing")
        dev = RegisterDevice(chosen, link, target.unit, self.journal)
        if chosen.identify == probe_map.identify:      # the same HR(0,60) fields: no re-read
            dev.identity = Identity(chosen.id, ident.values, ident.errors, ident.failures)
        else:
            await dev.identify()
        set_write_model(link, family.write_model)
        if self.traffic is not None:
            self.traffic.note(f"GivEnergy device type 0x{int(code):04X}: {family.name}, "
                              f"map {chosen.id}")
        return dev

    def _link(self, target, spec):
        known = self.pool.links()
        link = self.pool.get(target, spec)
        if self.traffic is not None and link not in known:     # a shared link logs once
            link.add_sink(self.traffic.frame)
        return link

    def record(self, outcome: WriteOutcome) -> None:
        if self.traffic is not None:
            self.traffic.note(f"write {outcome.line()}")

    async def close(self) -> None:
        await self.pool.close()
        for link in self._own_links.values():
            await link.close()
        self._own_links.clear()
        self.device = None

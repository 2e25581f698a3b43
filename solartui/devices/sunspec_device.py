"""A SunSpec device: find the "SunS" marker, walk the model chain, and read and write it as an
ordinary register device whose map was built from the SunSpec definitions (registers/sunspec.py).

Why a RegisterDevice underneath: the live screen, register browser, report, site logging and the
ONE write gate already drive a RegisterDevice; SunSpec only changes how words become values (a
scale factor read in the same request, not-implemented sentinels) and how a value becomes words
(the scale factor read just before). The walk follows sunspec.md §2: ID and L per model, to the
0xFFFF end marker, with guard rails for devices that end the chain in other ways.
"""

from __future__ import annotations

import time
from dataclasses import replace

from solartui.devices.readings import Identity, Reading
from solartui.devices.register_device import RegisterDevice
from solartui.errors import DeviceException, LinkError, SolartuiError, ValueRejected
from solartui.links.scheduler import PRIORITY_POLL, PRIORITY_READ, PRIORITY_WRITE
from solartui.registers import sunspec as S
from solartui.registers.sunspec_codec import NOT_IMPLEMENTED, decode as ss_decode, sf_value

MAX_MODELS = 64
IDENTITY_POINTS = {"manufacturer": "m1_Mn", "model": "m1_Md", "serial": "m1_SN",
                   "firmware": "m1_Vr", "options": "m1_Opt"}


class NotSunSpec(SolartuiError):
    """No "SunS" marker where one was looked for."""


async def read_marker(link, unit: int, base: int, priority: int = PRIORITY_READ) -> bool:
    """One read of 2 registers at `base`: is it "SunS"? (Errors from the link propagate.)"""
    words = await link.read(3, unit, base, 2, priority)
    return tuple(words) == S.MARKER


async def walk_chain(link, unit: int, base: int, priority: int = PRIORITY_READ
                     ) -> tuple[list[S.ModelHeader], list[str]]:
    """(models, notes) after the marker at `base`. Never reads a block straddling the end."""
    models: list[S.ModelHeader] = []
    notes: list[str] = []
    addr = base + 2
    while len(models) < MAX_MODELS:
        if addr + 1 > 65535:
            notes.append("the chain runs past register 65535: stopped")
            break
        try:
            mid, length = await link.read(3, unit, addr, 2, priority)
        except DeviceException as exc:
            if not models or exc.code != 2:
                raise
            try:                        # an end model without its L register (pysunspec2 note)
                (mid,) = await link.read(3, unit, addr, 1, priority)
            except DeviceException:
                notes.append(f"no end marker: register {addr} refused (exception 2), taken as "
                             "the end of the chain")
                break
            length = 0
        if mid == S.END_ID:
            break
        if mid == 0:
            notes.append(f"model id 0 at {addr}: taken as the end of the chain")
            break
        if length == 0:
            notes.append(f"model {mid} at {addr} has length 0: stopped")
            break
        models.append(S.ModelHeader(mid, addr, length))
        addr += length + 2
    else:
        notes.append(f"more than {MAX_MODELS} models: stopped")
    return models, notes


def _counted_by_points(model_id: int) -> bool:
    """Does the model have a repeating group whose count is a point (so its body must be read)?"""
    d = S.model_def(model_id)

    def walk(g):
        return any(isinstance(s.get("count"), str) or walk(s) for s in g.get("groups", ()))
    return d is not None and walk(d["group"])


async def read_bodies(link, unit: int, models, priority: int = PRIORITY_READ) -> dict[int, int]:
    """The words of the models whose layout depends on a count point (e.g. 705's NCrv)."""
    words: dict[int, int] = {}
    for h in models:
        if not _counted_by_points(h.id):
            continue
        addr, end = h.address, h.address + h.length + 1
        while addr <= end:
            n = min(125, end - addr + 1)
            for i, w in enumerate(await link.read(3, unit, addr, n, priority)):
                words[addr + i] = w
            addr += n
    return words


async def open_sunspec(link, unit: int, base: int, journal=None,
                       priority: int = PRIORITY_READ, on_marker=None) -> "SunSpecDevice":
    """Marker, chain, map, identity: a SunSpecDevice ready to poll. Raises NotSunSpec.

    `on_marker()` runs once the marker is read, before the chain walk: identification uses it to
    drop the slowest candidate's pacing (Growatt's 850 ms) — a device that answers "SunS" is no
    Growatt, and its walk is most of identification's requests."""
    if not await read_marker(link, unit, base, priority):
        raise NotSunSpec(f"no SunS marker at {base}")
    if on_marker is not None:
        on_marker()
    models, notes = await walk_chain(link, unit, base, priority)
    if not models:
        raise NotSunSpec(f"SunS at {base} but no model follows it")
    words = await read_bodies(link, unit, models, priority)
    ssmap = S.build_map(models, base, words, unit)
    dev = SunSpecDevice(ssmap, link, unit, journal, notes=tuple(notes) + ssmap.notes)
    await dev.identify()
    return dev


class SunSpecDevice(RegisterDevice):
    kind = "sunspec"

    def __init__(self, ssmap: S.SunSpecMap, link, unit: int | None = None, journal=None,
                 notes: tuple[str, ...] = ()):
        super().__init__(ssmap.device_map, link, unit, journal)
        self.ss = ssmap
        self.notes = notes
        self._scaled: dict = {}         # name -> Point with the SF of this write (plan_write)

    @property
    def model_ids(self) -> list[int]:
        return [h.id for h in self.ss.models]

    def reason(self) -> str:
        v = self.identity.values if self.identity else {}
        who = ", ".join(f"{k} {v[k]}" for k in ("manufacturer", "model", "serial") if v.get(k))
        return (f"sunspec: SunS at {self.ss.base}, models {','.join(map(str, self.model_ids))}"
                + (f" ({who})" if who else ""))

    async def identify(self, only=None) -> Identity:
        names = [n for n in IDENTITY_POINTS.values() if self.map.has_point(n)]
        values, errors = {}, {}
        readings = await self.poll([self.map.point(n) for n in names], PRIORITY_READ)
        by_name = {r.point.name: r for r in readings}
        for key, name in IDENTITY_POINTS.items():
            r = by_name.get(name)
            if r is None:
                continue
            if r.ok and r.decoded.value not in (None, ""):
                values[key] = r.decoded.value
            elif not r.ok:
                errors[key] = r.error or "no answer"
        values["sunspec_chain"] = ",".join(map(str, self.model_ids))
        if isinstance(values.get("manufacturer"), str) and values["manufacturer"]:
            # the header and report name the maker, as a vendor map would
            self.map = replace(self.map, vendor=f"{values['manufacturer']} (SunSpec)")
        self.identity = Identity(S.MAP_ID, values, errors)
        self.identity = replace(self.identity, reason=self.reason())
        return self.identity

    # --- reading -------------------------------------------------------------------------------

    def _sf_point(self, name: str):
        info = self.ss.points.get(name)
        if info is None or not isinstance(info.sf, str) or not self.map.has_point(info.sf):
            return None
        return self.map.point(info.sf)

    async def poll(self, points=None, priority: int = PRIORITY_POLL) -> list[Reading]:
        """Values with their scale factors read in the same pass (one request per model where the
        model fits in 125 registers, so a value and its SF come from one instant)."""
        points = [p for p in (points if points is not None else self.map.points) if p.readable]
        need = {p.name: p for p in points}
        for p in points:
            sfp = self._sf_point(p.name)
            if sfp is not None:
                need.setdefault(sfp.name, sfp)
        got = {}
        for p, words, err in await self._read_fields(list(need.values()), priority):
            got[p.name] = (words, err)
        now = time.time()
        out = []
        for p in points:
            words, err = got[p.name]
            if words is None:
                out.append(Reading(p, None, now, str(err) if err else "no answer"))
                continue
            out.append(Reading(p, self.decode(p, words, got), now))
        return out

    def decode(self, p, words, got: dict | None = None):
        info = self.ss.points[p.name]
        sf: int | str | None = None
        if isinstance(info.sf, int):
            sf = info.sf
        elif isinstance(info.sf, str):
            sf_words = (got or {}).get(info.sf, (None, None))[0]
            sf = sf_value(sf_words) if sf_words else None
            if sf is None:
                sf = "missing"
        return ss_decode(p, info.sstype, words, sf)

    async def _readback_registers(self, plan):
        words = await self.link.read(3, self.unit, plan.address, len(plan.words), PRIORITY_WRITE)
        if self.map.has_point(plan.name):
            r = (await self.poll([self.map.point(plan.name)], PRIORITY_WRITE))[0]
            text = r.decoded.text if r.ok else " ".join(f"0x{w:04X}" for w in words)
            return words, text
        return words, " ".join(f"0x{w:04X}" for w in words)

    # --- writing (the gate calls plan_write / execute_write) -------------------------------------

    def point(self, name: str):
        return self._scaled.get(name) or super().point(name)

    async def plan_write(self, name: str, value_text: str, pending: dict | None = None):
        """A scaled control (WMaxLimPct) is encoded with the SF the device holds now; an SF that
        is not implemented or unreadable refuses the write before anything is sent."""
        p = super().point(name)
        sfp = self._sf_point(name)
        if sfp is not None:
            try:
                (w,) = await self.link.read(3, self.unit, sfp.address, 1, PRIORITY_WRITE)
            except LinkError as exc:
                raise ValueRejected(f"{name}: its scale factor {sfp.name} could not be read "
                                    f"({exc}); nothing was written") from None
            sf = sf_value([w])
            if sf is None:
                raise ValueRejected(f"{name}: its scale factor {sfp.name} is {NOT_IMPLEMENTED} "
                                    "or out of range; nothing was written")
            self._scaled[name] = replace(p, scale=10.0 ** sf)
        try:
            return await super().plan_write(name, value_text, pending)
        finally:
            self._scaled.pop(name, None)


def sunspec_candidates(link, unit, journal=None, on_marker=None) -> list:
    """The SunSpec marker probes for devices/identify.py: base 0 in the low tier, 40000 and
    50000 in the high tier (after every safer probe), each one read of 2 registers.
    `on_marker`: see open_sunspec."""
    from solartui.devices.identify import HIGH_ADDRESS, SUNSPEC_ORDER, Candidate, Verdict

    def make(base: int, order: int) -> Candidate:
        async def attempt() -> Verdict:
            u = unit if unit is not None else 1
            try:
                dev = await open_sunspec(link, u, base, journal, on_marker=on_marker)
            except NotSunSpec as exc:
                return Verdict(False, identity=Identity(S.MAP_ID, {}, {"marker": str(exc)}),
                               why=f"sunspec: {exc}")
            except LinkError as exc:
                return Verdict(False, identity=Identity(S.MAP_ID, {}, {"marker": str(exc)},
                                                        {"marker": exc}),
                               why=f"sunspec at {base}: {exc}")
            return Verdict(True, 100, dev, dev.identity, dev.identity.reason)
        return Candidate(f"sunspec@{base}", order, base >= HIGH_ADDRESS, True, attempt)

    return [make(b, SUNSPEC_ORDER + i) for i, b in enumerate(S.BASES)]


class SunSpecByName:
    """A SunSpec device whose points were named before it was reached (a site file's
    `map: sunspec`): the marker and chain are found at the first poll (again after a failure),
    and the points are matched by name, so a model the device lacks reads as "not offered"."""

    kind = "sunspec"

    def __init__(self, link, unit: int | None, journal=None):
        self.link = link
        self.unit = unit if unit is not None else 1
        self.journal = journal
        self.map = S.name_map()
        self.device: SunSpecDevice | None = None
        self.identity: Identity | None = None

    async def connect(self, priority: int = PRIORITY_POLL) -> SunSpecDevice:
        if self.device is None:
            tried = []
            for base in S.BASES:
                try:
                    self.device = await open_sunspec(self.link, self.unit, base, self.journal,
                                                     priority)
                    break
                except NotSunSpec as exc:
                    tried.append(str(exc))
            if self.device is None:
                raise NotSunSpec("not a SunSpec device: " + "; ".join(tried))
            self.identity = self.device.identity
        return self.device

    async def identify(self, only=None) -> Identity:
        return (await self.connect(PRIORITY_READ)).identity

    async def poll(self, points=None, priority: int = PRIORITY_POLL) -> list[Reading]:
        dev = await self.connect(priority)
        points = list(points if points is not None else self.map.points)
        real = [dev.map.point(p.name) for p in points if dev.map.has_point(p.name)]
        got = {r.point.name: r for r in await dev.poll(real, priority)}
        now = time.time()
        return [got.get(p.name) or Reading(p, None, now, f"not offered by this device (model "
                                              f"{self.map_model(p.name)} is not in its chain)")
                for p in points]

    @staticmethod
    def map_model(name: str) -> str:
        return name[1:].split("_", 1)[0].split("x", 1)[0] if name.startswith("m") else "?"

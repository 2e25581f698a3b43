"""Page maps: what a listen-only device's broadcast status page means (`protocol: broadcast`).

A listen-only device (OutBack FLEXmax through a MATE) talks without being asked: one ASCII page
per device every second, framed by start/end characters, fields split by a separator, with a
checksum. The PI30 command model does not fit (no queries, no setters, no identify, a checksum
and an address inside the page), so these maps are a small variant that keeps its vocabulary for
fields: name, index (0-based token), type (int, float, enum, bits), unit, scale, enum, group.
They live in maps/broadcast/ so the register/command catalog never mistakes them for its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solartui.errors import MapError
from solartui.registers.yaml_lines import parse_yaml

FIELD_TYPES = ("int", "float", "enum", "bits")
CHECKSUM_RULES = ("mate-sum",)
#: devices known to broadcast but whose page format is not public: a clear refusal, not a guess
UNDOCUMENTED = {
    # What is public: a terminal screen quoted second-hand from the unit's manual in an old
    # pysungrow module ("*0 ASP ALLEGRO V1.1 1000/24, 230V/50Hz", "*1 Vbatt = 24.7 Vdc", ...
    # "*5 Sby Level=99", "*6 Remote enabled"; no checksum), whose author calls the manual
    # "not precise" and could not tell what makes the unit resend it. Line endings, number widths
    # and the repeat are unconfirmed, and the unit also takes commands (++, --, 00-99 standby
    # level) that change its output: not listen-only, and not guessed here.
    "asp-allegro": "the ASP Allegro TC10/48's 4800-baud status screen is not publicly documented "
                   "at byte level (only a manual's screen quoted second-hand; line endings, "
                   "widths and repeat unconfirmed); a map needs a capture from a real unit",
}


@dataclass(frozen=True)
class ListenLinkSpec:
    baud: int
    parity: str = "N"
    bytesize: int = 8
    stopbits: int = 1
    dtr: bool | None = None          # None: leave the line as the port has it
    rts: bool | None = None
    period_ms: int = 1000
    silence_ms: int = 3000


@dataclass(frozen=True)
class PageSpec:
    start: str
    end: str
    separator: str
    length: int                      # characters between start and end
    layouts: tuple[tuple[int, ...], ...]
    address_index: int
    address_accept: str
    checksum_index: int
    checksum_rule: str


@dataclass(frozen=True)
class PageField:
    name: str
    index: int
    type: str
    doc: str = ""
    unit: str = ""
    scale: float = 1
    group: str = "Other"
    enum: dict | None = None
    bits: dict | None = None
    mask: int | None = None
    tenths_index: int | None = None
    trust: str = "generated"


@dataclass(frozen=True)
class PageMap:
    path: str
    id: str
    vendor: str
    name: str
    families: tuple[str, ...]
    source: dict
    trust: str
    link: ListenLinkSpec
    page: PageSpec
    fields: tuple[PageField, ...]
    protocol: str = "broadcast"

    def field(self, name: str) -> PageField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def page_maps_dir() -> Path:
    from solartui.registers.catalog import maps_dir
    return maps_dir() / "broadcast"


def parse_page_map(text: str, path: str) -> PageMap:
    data, _dups = parse_yaml(text, path)
    problems: list[str] = []
    try:
        m = _build(data, path, problems)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        problems.append(f"{path}: missing or malformed {exc}")
        m = None
    if problems or m is None:
        raise MapError(path, problems)
    return m


def _build(d, path: str, problems: list[str]) -> PageMap | None:
    if not isinstance(d, dict) or d.get("protocol") != "broadcast":
        problems.append(f"{path}: a page map says 'protocol: broadcast'")
        return None
    dev, ln, pg = d["device"], d["link"], d["page"]
    link = ListenLinkSpec(baud=int(ln["baud"]), parity=str(ln.get("parity", "N")),
                          bytesize=int(ln.get("bytesize", 8)), stopbits=int(ln.get("stopbits", 1)),
                          dtr=ln.get("dtr"), rts=ln.get("rts"),
                          period_ms=int(ln.get("period_ms", 1000)),
                          silence_ms=int(ln.get("silence_ms", 3000)))
    layouts = tuple(tuple(int(w) for w in lay) for lay in pg["layouts"])
    page = PageSpec(start=str(pg["start"]), end=str(pg["end"]), separator=str(pg["separator"]),
                    length=int(pg["length"]), layouts=layouts,
                    address_index=int(pg["address"]["index"]),
                    address_accept=str(pg["address"]["accept"]),
                    checksum_index=int(pg["checksum"]["index"]),
                    checksum_rule=str(pg["checksum"]["rule"]))
    for lay in layouts:
        if sum(lay) + len(lay) - 1 != page.length:
            problems.append(f"{path}: layout {list(lay)} does not add up to length {page.length}")
    if page.checksum_rule not in CHECKSUM_RULES:
        problems.append(f"{path}: checksum rule must be one of {', '.join(CHECKSUM_RULES)}")
    ntok = len(layouts[0]) if layouts else 0
    fields, seen = [], set()
    for raw in d["fields"]:
        name, typ, idx = raw["name"], raw["type"], int(raw["index"])
        if name in seen:
            problems.append(f"{path}: field {name} is declared twice")
        seen.add(name)
        if typ not in FIELD_TYPES:
            problems.append(f"{path}: field {name}: type must be one of {', '.join(FIELD_TYPES)}")
        if not 0 <= idx < ntok or idx in (page.address_index, page.checksum_index):
            problems.append(f"{path}: field {name}: index {idx} is not a data token")
        fields.append(PageField(
            name=name, index=idx, type=typ, doc=str(raw.get("doc", "")),
            unit=str(raw.get("unit", "")), scale=float(raw.get("scale", 1)),
            group=str(raw.get("group", "Other")),
            enum={int(k): str(v) for k, v in raw["enum"].items()} if "enum" in raw else None,
            bits={int(k): str(v) for k, v in raw["bits"].items()} if "bits" in raw else None,
            mask=int(raw["mask"]) if "mask" in raw else None,
            tenths_index=int(raw["tenths_index"]) if "tenths_index" in raw else None,
            trust=str(d["device"].get("trust", "generated"))))
        if typ == "enum" and not fields[-1].enum:
            problems.append(f"{path}: field {name}: an enum field needs enum:")
        if typ == "bits" and not fields[-1].bits:
            problems.append(f"{path}: field {name}: a bits field needs bits:")
    return PageMap(path=path, id=str(dev["id"]), vendor=str(dev["vendor"]), name=str(dev["name"]),
                   families=tuple(dev.get("families", ())), source=dict(dev.get("source", {})),
                   trust=str(dev.get("trust", "generated")), link=link, page=page,
                   fields=tuple(fields))


def load_page_map(path: str | Path) -> PageMap:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MapError(str(p), [f"{p}: cannot read page map: {exc}"]) from None
    return parse_page_map(text, str(p))


def page_map_files() -> list[Path]:
    d = page_maps_dir()
    return sorted(d.glob("*.yaml")) if d.is_dir() else []


def resolve_page_map(name: str) -> PageMap:
    """A page map by id (`outback-flexmax`) or path; an undocumented device says why not."""
    if name in UNDOCUMENTED:
        raise MapError(name, [f"{name} is not supported: {UNDOCUMENTED[name]}"])
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return load_page_map(name)
    ids = []
    for f in page_map_files():
        m = load_page_map(f)
        if m.id == name:
            return m
        ids.append(m.id)
    raise MapError(name, [f"no broadcast page map '{name}' (known: {', '.join(ids) or 'none'})"])

"""User settings in a TOML file in the config folder: recent targets, the theme, the name of
the person at the keyboard (remembered for hardware attestations, which are signed by a name), and
the report's handover details per site (customer, installer, notes) with the site each device was
last reported at, so the next report of that site or device starts filled in.

Recent targets are real devices that answered, newest first: a pseudo-terminal (/dev/pts/N, what
the simulators and the demo use) is never remembered — its number belongs to someone else's
terminal on the next run — and neither is anything the caller says is simulated.

Python 3.10 has no tomllib, and the file holds only what we write, so this reads and writes that
small subset itself (strings, lists of strings, and tables of strings with quoted names).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from solartui.paths import config_dir
from solartui.user_paths import PathRefused, read_text

MAX_RECENT = 10
MAX_SITES = 50
MAX_SETTINGS_BYTES = 1 << 20        # what we write is a few KB; anything bigger is not ours
SITE_FIELDS = ("customer", "installer", "notes")
_KEY = r'(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*")'
_LINE = re.compile(r'^\s*(' + _KEY + r')\s*=\s*(.+?)\s*$')
_TABLE = re.compile(r'^\s*\[\s*([A-Za-z_][A-Za-z0-9_]*)(?:\.("(?:[^"\\]|\\.)*"))?\s*\]\s*$')


def settings_path() -> Path:
    return config_dir() / "settings.toml"


@dataclass
class Settings:
    recent: list[str] = field(default_factory=list)
    theme: str = ""
    person: str = ""
    #: site name -> {"customer", "installer", "notes"}, the most recently used first
    sites: dict[str, dict[str, str]] = field(default_factory=dict)
    #: device serial -> the site its last report named
    device_sites: dict[str, str] = field(default_factory=dict)

    def remember(self, target: str, simulated: bool = False) -> bool:
        """Put `target` first (call it once the device there was identified); False, and nothing
        changes, for a simulator's target."""
        if simulated or not worth_remembering(target):
            return False
        self.recent = [target] + [t for t in self.recent if t != target]
        del self.recent[MAX_RECENT:]
        return True

    def remember_site(self, site: str, serial: str = "", **details: str) -> None:
        """Keep a site's handover details (and that `serial` was reported there)."""
        if not site:
            return
        kept = {k: str(details.get(k) or "") for k in SITE_FIELDS}
        self.sites = {site: kept, **{k: v for k, v in self.sites.items() if k != site}}
        for old in list(self.sites)[MAX_SITES:]:
            del self.sites[old]
        if serial:
            self.device_sites = {serial: site, **{k: v for k, v in self.device_sites.items()
                                                  if k != serial}}
            for old in list(self.device_sites)[MAX_SITES * 4:]:
                del self.device_sites[old]

    def site_details(self, site: str) -> dict[str, str]:
        got = self.sites.get(site, {})
        return {k: got.get(k, "") for k in SITE_FIELDS}


def worth_remembering(target: str) -> bool:
    """A pty is a simulator's (or a terminal's), never a device's port."""
    return "/dev/pts/" not in target and "/dev/ptmx" not in target


def _value(text: str):
    # TOML basic strings and arrays of them are valid JSON for what we write
    try:
        return json.loads(text)
    except (ValueError, RecursionError):     # not JSON, an integer past 4,300 digits, [[[[...
        return None


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing or damaged file gives defaults (settings are never worth a crash)."""
    p = path or settings_path()
    s = Settings()
    try:
        lines = read_text(p, MAX_SETTINGS_BYTES).splitlines()
    except PathRefused:
        return s
    table: tuple[str, str | None] | None = None
    for line in lines:
        if line.lstrip().startswith("#"):
            continue
        t = _TABLE.match(line)
        if t:
            table = (t.group(1), _value(t.group(2)) if t.group(2) else None)
            continue
        m = _LINE.match(line)
        if not m:
            continue
        key, value = m.group(1), _value(m.group(2))
        if key.startswith('"'):
            key = _value(key)
        if not isinstance(key, str):
            continue
        if table is not None:
            _table_value(s, table, key, value)
        elif key == "recent" and isinstance(value, list):
            s.recent = [v for v in value if isinstance(v, str) and worth_remembering(v)][:MAX_RECENT]
        elif key == "theme" and isinstance(value, str):
            s.theme = value
        elif key == "person" and isinstance(value, str):
            s.person = value
    return s


def _table_value(s: Settings, table: tuple[str, str | None], key: str, value) -> None:
    kind, name = table
    if not isinstance(value, str):
        return
    if kind == "report_sites" and isinstance(name, str) and key in SITE_FIELDS:
        s.sites.setdefault(name, {k: "" for k in SITE_FIELDS})[key] = value
    elif kind == "report_device_sites" and name is None:
        s.device_sites[key] = value


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def save_settings(s: Settings, path: Path | None = None) -> None:
    p = path or settings_path()
    body = ("# solartui settings\n"
            f"theme = {json.dumps(s.theme)}\n"
            f"person = {json.dumps(s.person, ensure_ascii=False)}\n"
            f"recent = [{', '.join(json.dumps(t) for t in s.recent)}]\n")
    for site, details in s.sites.items():
        body += f"\n[report_sites.{_q(site)}]\n" + "".join(
            f"{k} = {_q(details.get(k, ''))}\n" for k in SITE_FIELDS)
    if s.device_sites:
        body += "\n[report_device_sites]\n" + "".join(
            f"{_q(serial)} = {_q(site)}\n" for serial, site in s.device_sites.items())
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body, encoding="utf-8")
    except OSError:
        pass  # an unwritable config folder costs the recent list, nothing else

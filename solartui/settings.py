"""User settings in a TOML file in the config folder: recent targets, the theme, and the name of
the person at the keyboard (remembered for hardware attestations, which are signed by a name).

Recent targets are real devices that answered, newest first: a pseudo-terminal (/dev/pts/N, what
the simulators and the demo use) is never remembered — its number belongs to someone else's
terminal on the next run — and neither is anything the caller says is simulated.

Python 3.10 has no tomllib, and the file holds only what we write, so this reads and writes that
small subset itself (strings and lists of strings).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from solartui.paths import config_dir

MAX_RECENT = 10
_LINE = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$')


def settings_path() -> Path:
    return config_dir() / "settings.toml"


@dataclass
class Settings:
    recent: list[str] = field(default_factory=list)
    theme: str = ""
    person: str = ""

    def remember(self, target: str, simulated: bool = False) -> bool:
        """Put `target` first (call it once the device there was identified); False, and nothing
        changes, for a simulator's target."""
        if simulated or not worth_remembering(target):
            return False
        self.recent = [target] + [t for t in self.recent if t != target]
        del self.recent[MAX_RECENT:]
        return True


def worth_remembering(target: str) -> bool:
    """A pty is a simulator's (or a terminal's), never a device's port."""
    return "/dev/pts/" not in target and "/dev/ptmx" not in target


def _value(text: str):
    # TOML basic strings and arrays of them are valid JSON for what we write
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing or damaged file gives defaults (settings are never worth a crash)."""
    p = path or settings_path()
    s = Settings()
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return s
    for line in lines:
        m = _LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        key, value = m.group(1), _value(m.group(2))
        if key == "recent" and isinstance(value, list):
            s.recent = [v for v in value if isinstance(v, str) and worth_remembering(v)][:MAX_RECENT]
        elif key == "theme" and isinstance(value, str):
            s.theme = value
        elif key == "person" and isinstance(value, str):
            s.person = value
    return s


def save_settings(s: Settings, path: Path | None = None) -> None:
    p = path or settings_path()
    body = ("# solartui settings\n"
            f"theme = {json.dumps(s.theme)}\n"
            f"person = {json.dumps(s.person, ensure_ascii=False)}\n"
            f"recent = [{', '.join(json.dumps(t) for t in s.recent)}]\n")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body, encoding="utf-8")
    except OSError:
        pass  # an unwritable config folder costs the recent list, nothing else

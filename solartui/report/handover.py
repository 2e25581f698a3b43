"""Who the report is handed over between, and where: site, customer, installer and notes.

Given on the command line or in the TUI's form; a site's details are remembered in the settings
(and the site each device was last reported at), so a second visit starts filled in. Notes may be
read from a file (`@FILE`), as a site's notes are often written beforehand.
"""

from __future__ import annotations

from dataclasses import dataclass

from solartui.errors import SolartuiError
from solartui.settings import Settings
from solartui.user_paths import PathRefused, read_text, user_path

MAX_NOTES_BYTES = 1 << 20         # a page of notes is a few KB


@dataclass(frozen=True)
class Handover:
    site: str = ""
    customer: str = ""
    installer: str = ""
    notes: str = ""

    def paragraphs(self) -> list[str]:
        """The notes as paragraphs (blank lines separate them; single newlines are kept)."""
        parts = [p.strip() for p in self.notes.replace("\r\n", "\n").split("\n\n")]
        return [p for p in parts if p]


def read_notes(text: str | None) -> str | None:
    """`--notes`: the text itself, or `@FILE` for a file's text (UTF-8)."""
    if text is None or not text.startswith("@"):
        return text
    try:
        path = user_path(text[1:])
        return read_text(path, MAX_NOTES_BYTES)
    except PathRefused as exc:
        raise SolartuiError(f"--notes {text}: cannot read it: {exc}") from None


def prefill(settings: Settings, serial: str, site: str | None = None) -> Handover:
    """What a report of `serial` starts with: the named site (else the one this device was last
    reported at) and that site's remembered details; the installer falls back to the person who
    signs attestations at this keyboard."""
    site = site if site is not None else settings.device_sites.get(serial, "")
    d = settings.site_details(site) if site else {"customer": "", "installer": "", "notes": ""}
    return Handover(site, d["customer"], d["installer"] or settings.person, d["notes"])


def remember(settings: Settings, serial: str, h: Handover, keep_notes: bool = False) -> bool:
    """Keep `h` for its site (with `keep_notes`, the site's notes stay as they were: the
    command line was given none); whether anything changed (so the caller saves only then)."""
    if not h.site:
        return False
    before = (settings.site_details(h.site), settings.device_sites.get(serial),
              list(settings.sites)[:1])
    notes = before[0]["notes"] if keep_notes else h.notes
    settings.remember_site(h.site, serial, customer=h.customer, installer=h.installer,
                           notes=notes)
    return before != (settings.site_details(h.site), settings.device_sites.get(serial),
                      list(settings.sites)[:1])

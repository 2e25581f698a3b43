"""Where a report goes: both formats, side by side, so the person can mail the HTML page and
keep the Markdown with the site's notes."""

from __future__ import annotations

import re
from pathlib import Path

from solartui.errors import SolartuiError
from solartui.paths import state_dir
from solartui.report.content import CommissioningReport
from solartui.report.render import to_html, to_markdown

HTML_SUFFIXES = (".html", ".htm")


def default_stem(r: CommissioningReport) -> Path:
    serial = re.sub(r"[^A-Za-z0-9_.-]+", "_", r.serial) or "device"
    return state_dir() / "reports" / f"{serial}-{r.made.strftime('%Y%m%d-%H%M%S')}"


def report_paths(r: CommissioningReport, output: str | None) -> tuple[Path, Path]:
    """(Markdown path, HTML path): from -o FILE (its suffix picks which one it names; the other
    sits beside it), else the state folder's reports/."""
    if not output:
        stem = default_stem(r)
        return stem.with_suffix(".md"), stem.with_suffix(".html")
    p = Path(output).expanduser()
    if p.suffix.lower() in HTML_SUFFIXES:
        return p.with_suffix(".md"), p
    if p.suffix.lower() == ".md":
        return p, p.with_suffix(".html")
    return p.with_name(p.name + ".md"), p.with_name(p.name + ".html")


def write_report(r: CommissioningReport, output: str | None = None) -> tuple[Path, Path]:
    md, html = report_paths(r, output)
    for path, text in ((md, to_markdown(r)), (html, to_html(r))):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SolartuiError(f"cannot write the report {path}: {exc.strerror}") from None
    return md, html

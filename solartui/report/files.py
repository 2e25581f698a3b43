"""Where a report goes: both formats, side by side, so the person can mail (or print) the HTML
page and keep the Markdown with the site's notes.

`-o FILE` names one of the two by its extension (.html/.htm or .md; none: both get theirs); the
other sits beside it. Nothing is overwritten unless asked (`force`): a report is a signed record.
The default names, in the state folder, never collide: a second report in the same second gets
`-2`.

No PDF: the pure-Python PDF libraries on PyPI (fpdf2, reportlab) draw with fonts that cover
Latin-1 only unless a TrueType font is shipped with us — the report says "—", "✗" and "→" and
carries names in any script — and would be a second layout to keep in step; WeasyPrint renders
the HTML faithfully but needs Pango and friends from the system, which a Raspberry Pi image may
not have. The HTML page has an A4 print stylesheet: a browser's "print to PDF" makes the PDF.
"""

from __future__ import annotations

import re
from pathlib import Path

from solartui.errors import SolartuiError
from solartui.paths import state_dir
from solartui.report.content import CommissioningReport
from solartui.report.render import to_html, to_markdown
from solartui.user_paths import PathRefused, user_path
from solartui.safe_open import refuse_existing, refuse_link, write_new

HTML_SUFFIXES = (".html", ".htm")
MD_SUFFIXES = (".md",)


def default_stem(r: CommissioningReport) -> Path:
    serial = re.sub(r"[^A-Za-z0-9_.-]+", "_", r.serial) or "device"
    return state_dir() / "reports" / f"{serial}-{r.made.strftime('%Y%m%d-%H%M%S')}"


def _free_stem(stem: Path) -> Path:
    """`stem`, or stem-2, stem-3…: the first whose .md and .html are both free."""
    n, candidate = 1, stem
    while candidate.with_suffix(".md").exists() or candidate.with_suffix(".html").exists():
        n += 1
        candidate = stem.with_name(f"{stem.name}-{n}")
    return candidate


def report_paths(r: CommissioningReport, output: str | None) -> tuple[Path, Path]:
    """(Markdown path, HTML path): from -o FILE (its extension picks which one it names; the
    other sits beside it), else a free name in the state folder's reports/."""
    if not output:
        stem = _free_stem(default_stem(r))
        return stem.with_suffix(".md"), stem.with_suffix(".html")
    return output_paths(output)


def output_paths(output: str) -> tuple[Path, Path]:
    """(Markdown path, HTML path) for `-o output`; a PDF or another extension is refused."""
    try:
        p = user_path(output)
    except PathRefused as exc:
        raise SolartuiError(f"-o {output!r}: {exc}") from None
    ext = p.suffix.lower()
    if ext in HTML_SUFFIXES:
        return p.with_suffix(".md"), p
    if ext in MD_SUFFIXES:
        return p, p.with_suffix(".html")
    if ext == ".pdf":
        raise SolartuiError(f"-o {output}: solartui writes no PDF; write the HTML "
                            f"(-o {p.with_suffix('.html')}) and print it to PDF from a browser "
                            "(it has an A4 print layout)")
    if ext:
        raise SolartuiError(f"-o {output}: give a .html, .htm or .md file (the other format is "
                            "written beside it), or - for Markdown on stdout")
    return p.with_name(p.name + ".md"), p.with_name(p.name + ".html")


def write_report(r: CommissioningReport, output: str | None = None,
                 force: bool = False) -> tuple[Path, Path]:
    """Write both files; refuses (writing neither) when one exists, unless `force`."""
    md, html = report_paths(r, output)
    refuse_existing((md, html), force)
    for path in (md, html):             # --force replaces files, never writes through a link
        refuse_link(path, "report")
    for path, text in ((md, to_markdown(r)), (html, to_html(r))):
        write_new(path, text, force, "report")
    return md, html

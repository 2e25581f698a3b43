"""The report's sections as Markdown and as one self-contained HTML page (inline style, no
scripts, no fetched resources) that reads on a phone — tables scroll sideways inside their box
rather than squeezing the page — and prints on A4: a print stylesheet with the page size and
margins, black on white, table headers repeated on each page, rows and short tables kept whole.
Printing that page is the way to a PDF (see files.py for why solartui writes none itself)."""

from __future__ import annotations

import re
from html import escape

from solartui.report.content import CommissioningReport
from solartui.report.layout import Section, sections, subtitle, title


# Device text (serials, names, error replies) and typed notes go into the Markdown as text, never
# as markup: raw HTML, links and images (a renderer would fetch them), emphasis, code, tables.
# (an underscore inside a word, as in point names, makes no emphasis and is left alone)
_MD_INLINE = re.compile(r"([\\`*\[\]<>|~#]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")
_LIST_NUMBER = re.compile(r"\d+(?=[.)])")


def md_escape(text) -> str:
    """Backslash-escape what makes markup inside a line (CommonMark escapes any punctuation)."""
    return _MD_INLINE.sub(r"\\\1", str(text))


def _md_paragraph(text) -> str:
    """md_escape, and no line may open a list, quote or heading underline; lines keep their
    breaks (two spaces) and lose leading spaces (which would make a code block)."""
    lines = []
    for line in md_escape(text).split("\n"):
        line = line.lstrip()
        m = _LIST_NUMBER.match(line)
        if line[:1] in ("-", "+", "="):
            line = "\\" + line
        elif m:
            line = line[:m.end()] + "\\" + line[m.end():]
        lines.append(line)
    return "  \n".join(lines)


def _md_cell(text: str) -> str:
    return md_escape(text).replace("\r", " ").replace("\n", " ") or " "


def _md_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    out = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return out + [""]


def _md_section(s: Section) -> list[str]:
    out = [f"## {md_escape(s.title)}", ""]
    for p in s.paragraphs:
        out += [_md_paragraph(p), ""]
    if s.pairs:
        out += _md_table(("", ""), s.pairs)
    if s.rows:
        out += _md_table(s.headers, s.rows)
    for name, rows in s.subtables:
        out += [f"### {md_escape(name)}", ""] + _md_table(s.headers, rows)
    return out


def to_markdown(r: CommissioningReport) -> str:
    lines = [f"# {md_escape(title(r))}", "", _md_paragraph(subtitle(r)), ""]
    for s in sections(r):
        lines += _md_section(s)
    return "\n".join(lines).rstrip() + "\n"


STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:60em;padding:.8em;color:#1b1b1b;background:#fff}
h1{font-size:1.35em;margin:.3em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;
border-bottom:2px solid #e0a800}h3{font-size:1em;margin:1em 0 .3em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .45em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.k{font-weight:600;white-space:nowrap;width:1%}
.sub{color:#555}.bad{color:#b00020;font-weight:600}.good{color:#1b6e20}
table.signoff td{height:2.4em;width:40%}table.signoff td.k{width:20%}
@media screen and (prefers-color-scheme:dark){body{background:#121212;color:#e8e8e8}
th{background:#222}th,td{border-color:#444}.sub{color:#aaa}.bad{color:#ff6b81}
.good{color:#7bd88f}}
@page{size:A4;margin:16mm 14mm 18mm 14mm}
@media print{
*{background:transparent !important;box-shadow:none !important}
body{font-size:9.5pt;line-height:1.3;max-width:none;margin:0;padding:0;color:#000}
.scroll{overflow:visible}
table{font-size:8.5pt;page-break-inside:auto}
thead{display:table-header-group}
tr,th,td{page-break-inside:avoid;break-inside:avoid}
th,td{border-color:#888}
.keep{page-break-inside:avoid;break-inside:avoid}
h1,h2,h3{page-break-after:avoid;break-after:avoid}
h2{border-bottom-color:#000}
.sub{color:#333}.bad{color:#000;font-weight:700}.good{color:#000}
.signoff-block{page-break-inside:avoid;break-inside:avoid}
table.signoff td{height:3.2em}
}
"""

#: tables with at most this many rows are kept on one printed page when they fit
KEEP_ROWS = 25

_GOOD = {"verified", "matches", "hardware-verified", "pass"}
_BAD = {"mismatched", "rejected", "no answer", "unverified", "not sent", "does not match",
        "fail", "cannot tell"}


def _td(text: str, cls: str = "") -> str:
    t = str(text)
    if not cls:
        cls = "good" if t in _GOOD else "bad" if t in _BAD or t.startswith("— (") else ""
    return f'<td class="{cls}">{escape(t)}</td>' if cls else f"<td>{escape(t)}</td>"


def _html_table(headers, rows, pairs: bool = False, kind: str = "") -> list[str]:
    keep = " keep" if len(rows) <= KEEP_ROWS else ""
    cls = f' class="{kind}"' if kind else ""
    out = [f'<div class="scroll{keep}"><table{cls}>']
    if headers and not pairs:
        out.append("<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers)
                   + "</tr></thead>")
    out.append("<tbody>")
    first_is_key = pairs or kind == "signoff"
    for r in rows:
        cells = ([_td(r[0], "k")] + [_td(c) for c in r[1:]] if first_is_key
                 else [_td(c) for c in r])
        out.append("<tr>" + "".join(cells) + "</tr>")
    return out + ["</tbody></table></div>"]


def _html_section(s: Section) -> list[str]:
    out = ['<section class="signoff-block">' if s.kind == "signoff" else "<section>",
           f"<h2>{escape(s.title)}</h2>"]
    out += [f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in s.paragraphs]
    if s.pairs:
        out += _html_table((), s.pairs, pairs=True)
    if s.rows:
        out += _html_table(s.headers, s.rows, kind=s.kind)
    for name, rows in s.subtables:
        out += [f'<div class="group"><h3>{escape(name)}</h3>'] + _html_table(s.headers, rows)
        out.append("</div>")
    return out + ["</section>"]


def to_html(r: CommissioningReport) -> str:
    head = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title(r))}</title><style>{STYLE}</style></head><body>",
            f"<h1>{escape(title(r))}</h1>", f'<p class="sub">{escape(subtitle(r))}</p>']
    body: list[str] = []
    for s in sections(r):
        body += _html_section(s)
    return "\n".join(head + body + ["</body></html>"]) + "\n"

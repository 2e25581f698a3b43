"""The report's sections as Markdown and as one self-contained HTML page (inline style, no
scripts, no fetched resources) that reads on a phone: tables scroll sideways inside their box
rather than squeezing the page."""

from __future__ import annotations

from html import escape

from solartui.report.content import CommissioningReport
from solartui.report.layout import Section, sections, subtitle, title


def _md_cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def _md_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    out = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return out + [""]


def _md_section(s: Section) -> list[str]:
    out = [f"## {s.title}", ""]
    for p in s.paragraphs:
        out += [p, ""]
    if s.pairs:
        out += _md_table(("", ""), s.pairs)
    if s.rows:
        out += _md_table(s.headers, s.rows)
    for name, rows in s.subtables:
        out += [f"### {name}", ""] + _md_table(s.headers, rows)
    return out


def to_markdown(r: CommissioningReport) -> str:
    lines = [f"# {title(r)}", "", subtitle(r), ""]
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
@media (prefers-color-scheme:dark){body{background:#121212;color:#e8e8e8}th{background:#222}
th,td{border-color:#444}.sub{color:#aaa}.bad{color:#ff6b81}.good{color:#7bd88f}}
"""

_GOOD = {"verified", "matches", "hardware-verified"}
_BAD = {"mismatched", "rejected", "no answer", "unverified", "not sent", "does not match"}


def _td(text: str, cls: str = "") -> str:
    t = str(text)
    if not cls:
        cls = "good" if t in _GOOD else "bad" if t in _BAD or t.startswith("— (") else ""
    return f'<td class="{cls}">{escape(t)}</td>' if cls else f"<td>{escape(t)}</td>"


def _html_table(headers, rows, pairs: bool = False) -> list[str]:
    out = ['<div class="scroll"><table>']
    if headers and not pairs:
        out.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr>")
    for r in rows:
        cells = [_td(r[0], "k")] + [_td(c) for c in r[1:]] if pairs else [_td(c) for c in r]
        out.append("<tr>" + "".join(cells) + "</tr>")
    return out + ["</table></div>"]


def _html_section(s: Section) -> list[str]:
    out = [f"<h2>{escape(s.title)}</h2>"]
    out += [f"<p>{escape(p)}</p>" for p in s.paragraphs]
    if s.pairs:
        out += _html_table((), s.pairs, pairs=True)
    if s.rows:
        out += _html_table(s.headers, s.rows)
    for name, rows in s.subtables:
        out += [f"<h3>{escape(name)}</h3>"] + _html_table(s.headers, rows)
    return out


def to_html(r: CommissioningReport) -> str:
    head = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title(r))}</title><style>{STYLE}</style></head><body>",
            f"<h1>{escape(title(r))}</h1>", f'<p class="sub">{escape(subtitle(r))}</p>']
    body: list[str] = []
    for s in sections(r):
        body += _html_section(s)
    return "\n".join(head + body + ["</body></html>"]) + "\n"

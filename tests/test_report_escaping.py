"""Device text and typed notes go into the Markdown report as text, never as markup (issue 21):
rendered by a CommonMark renderer (markdown-it, with tables), no tag, link or image appears that
the report did not make itself, and no table gains a column."""

from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from solartui.report.render import _md_cell, _md_paragraph, to_markdown
from test_report import _commissioning

MD = MarkdownIt("commonmark").enable("table")
REPORT_TAGS = {"h1", "h2", "h3", "p", "br", "table", "thead", "tbody", "tr", "th", "td"}
HOSTILE = ['<img src=x onerror=alert(1)>', '![pixel](http://127.0.0.1:9/p.png)',
           '[click](javascript:alert(1))', '<http://127.0.0.1:9/>', '*bold* _it_ `code` ~~x~~',
           'a | b | c', '# heading', '- item', '1. item', '> quote', '---', '    code block',
           'x\n===', '&lt;b&gt;', 'back\\slash\\|pipe', 'line\nbreak']


def tags(html: str) -> set[str]:
    return {t.lower() for t in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html)}


_TEXT = st.text(st.sampled_from(list("<>[]()!*_`~#|\\-+=.&:/ \n1aZ")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_any_paragraph_renders_as_one_plain_paragraph(text):
    html = MD.render(_md_paragraph(text))
    assert tags(html) <= {"p", "br"}, (text, html)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, min_size=2, max_size=2))
def test_any_cell_stays_one_cell(cells):
    md = "| a | b |\n|---|---|\n| " + " | ".join(_md_cell(c) for c in cells) + " |\n"
    html = MD.render(md)
    assert tags(html) <= {"table", "thead", "tbody", "tr", "th", "td"}, (cells, html)
    assert html.count("<td") == 2, (cells, html)


async def test_hostile_device_text_in_the_report(growatt_map, tmp_path):
    r = await _commissioning(growatt_map, tmp_path)
    bad = " ".join(HOSTILE)
    r = replace(r, serial="<b>RPT</b>*1*", model=HOSTILE[0], firmware=HOSTILE[1],
                identity=[(k, bad) for k, _ in r.identity],
                values=[replace(v, value=HOSTILE[i % len(HOSTILE)], doc=bad)
                        for i, v in enumerate(r.values)],
                notes=HOSTILE)
    md = to_markdown(r)
    html = MD.render(md)
    assert tags(html) <= REPORT_TAGS, tags(html) - REPORT_TAGS
    assert "javascript:" not in re.sub(r">[^<]*<", "><", html)        # only as text
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        widths = {row.count("<td") + row.count("<th") for row in re.findall(r"<tr>.*?</tr>", table, re.S)}
        assert len(widths) == 1, table[:300]
    assert "RPT" in html and "onerror=alert(1)" in html                  # shown, as text

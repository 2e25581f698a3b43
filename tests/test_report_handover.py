"""The report as a handover document: site, customer, installer and notes in both formats, the
sign-off lines, the A4 print stylesheet, `-o` by extension, no silent overwrite, the settings
remembering a site, and f6's form and lasting notice in the TUI — against the simulators."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace

import pytest
from procs import one_line_error, run_cli, simulator
from test_report import _commissioning

from solartui.errors import SolartuiError
from solartui.report.files import report_paths, write_report
from solartui.report.handover import Handover, prefill, read_notes, remember
from solartui.report.render import to_html, to_markdown
from solartui.settings import Settings, load_settings, save_settings

HANDOVER = Handover("Quinta <do> Sol", "Bea Customer", "Ana Installer",
                    "Isolator in the garage.\nKey with the neighbour.\n\nBattery: 2 modules.")


async def test_handover_fields_sign_off_and_print_layout(growatt_map, tmp_path):
    r = await _commissioning(growatt_map, tmp_path)
    r = replace(r, handover=HANDOVER, notes=HANDOVER.paragraphs())
    md, html = to_markdown(r), to_html(r)
    # "<do>" is text, not a tag, for a Markdown renderer (issue 21)
    assert md.startswith(r"# Commissioning report — Growatt RPT0000042 — Quinta \<do\> Sol")
    for text in (r"| site | Quinta \<do\> Sol |", "| customer | Bea Customer |",
                 "| installer | Ana Installer |", "## Notes", "Isolator in the garage.  \nKey",
                 "Battery: 2 modules.", "## Sign-off", "| name | Ana Installer | Bea Customer |",
                 "| signature |   |   |", "| date |   |   |"):
        assert text in md, text
    # the order a handover reads in: who and where, notes, … sign-off, then the values appendix
    order = [md.index(f"## {t}") for t in ("Handover", "Notes", "Device", "Settings changed",
                                           "Trust", "Sign-off", "Values at the time")]
    assert order == sorted(order)
    for text in ("Quinta &lt;do&gt; Sol", "Bea Customer", "Isolator in the garage.<br>Key",
                 '<table class="signoff">', "<h2>Sign-off</h2>", "<thead>"):
        assert text in html, text
    style = html.split("<style>")[1].split("</style>")[0]
    assert re.search(r"@page\{size:A4;margin:[\d.]+mm", style)
    printed = style.split("@media print{", 1)[1]
    assert "background:transparent !important" in printed           # no dark print
    assert "thead{display:table-header-group}" in printed           # headers on each page
    assert "page-break-inside:avoid" in printed and "break-inside:avoid" in printed
    assert "@media screen and (prefers-color-scheme:dark)" in style  # dark only on screen
    assert 'class="scroll keep"' in html                            # short tables kept whole
    # no handover given: blank lines to fill in by hand, and it says there are no notes
    blank = to_markdown(replace(r, handover=Handover(), notes=[]))
    assert "| site |   |" in blank and "No notes were given." in blank


def test_output_extensions_and_overwrite(tmp_path):
    r = SimpleNamespace(serial="S/1", made=datetime(2026, 1, 2, 3, 4, 5))
    names = lambda out: [p.name for p in report_paths(r, str(tmp_path / out))]  # noqa: E731
    assert names("a.html") == ["a.md", "a.html"]
    assert names("a.HTM") == ["a.md", "a.HTM"]
    assert names("a.md") == ["a.md", "a.html"]
    assert names("a") == ["a.md", "a.html"]
    for bad, words in (("a.pdf", ("no PDF", "a.html", "print it to PDF")),
                       ("a.docx", (".html, .htm or .md",))):
        with pytest.raises(SolartuiError) as exc:
            report_paths(r, str(tmp_path / bad))
        assert "\n" not in str(exc.value) and all(w in str(exc.value) for w in words)
    assert not list(tmp_path.iterdir())


async def test_refuses_to_overwrite_unless_forced(growatt_map, tmp_path):
    r = await _commissioning(growatt_map, tmp_path)
    out = tmp_path / "out" / "r.md"
    md, html = write_report(r, str(out))
    html.write_text("signed copy")
    with pytest.raises(SolartuiError) as exc:
        write_report(replace(r, handover=HANDOVER), str(tmp_path / "out" / "r.html"))
    assert str(exc.value) == f"{md} exists: not overwritten (add --force to replace it)"
    assert html.read_text() == "signed copy"                        # neither file touched
    write_report(replace(r, handover=HANDOVER), str(out), force=True)
    assert "Bea Customer" in html.read_text() and "Bea Customer" in md.read_text()
    # default names never collide: a second report in the same second gets -2
    first, second = write_report(r)[1], write_report(r)[1]
    assert second.name == first.name.replace(".html", "-2.html")


def test_settings_remember_a_site(tmp_path):
    s = Settings(person="Ana Installer")
    assert prefill(s, "SER1") == Handover("", "", "Ana Installer", "")
    assert remember(s, "SER1", HANDOVER)
    assert not remember(s, "SER1", HANDOVER)                        # nothing new: no save
    save_settings(s, tmp_path / "s.toml")
    back = load_settings(tmp_path / "s.toml")
    assert prefill(back, "SER1") == HANDOVER                        # the device's last site
    assert prefill(back, "SER2", "Quinta <do> Sol").customer == "Bea Customer"
    assert prefill(back, "SER2").site == ""
    remember(back, "SER1", replace(HANDOVER, notes=""), keep_notes=True)
    assert back.sites["Quinta <do> Sol"]["notes"] == HANDOVER.notes
    (tmp_path / "n.txt").write_text("from a file\n")
    assert read_notes(f"@{tmp_path / 'n.txt'}") == "from a file\n"
    assert read_notes("plain") == "plain"
    with pytest.raises(SolartuiError, match="--notes @"):
        read_notes(f"@{tmp_path / 'missing.txt'}")


async def test_cli_handover_options_extension_and_force(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Meter cabinet key: blue tag.\n")
    out = tmp_path / "handover.html"
    code, _, err = await run_cli("report", "tcp://127.0.0.1:9?period=0",
                                 "-o", str(tmp_path / "x.pdf"))
    assert "print it to PDF" in one_line_error(code, err)          # refused before connecting
    async with simulator("growatt-protocol-ii", "--tcp", "127.0.0.1:0",
                         "--serial", "CLI0000009") as target:
        url = f"{target}{'&' if '?' in target else '?'}period=0&timeout=500"
        code, stdout, err = await run_cli(
            "report", url, "--map", "growatt-protocol-ii", "-o", str(out), "--site", "Farm 7",
            "--customer", "Bea Customer", "--installer", "Ana Installer", "--notes", f"@{notes}")
        assert code == 0, err
        assert stdout.splitlines() == [f"report: {tmp_path / 'handover.md'}", f"report: {out}"]
        for text in (out.read_text(), (tmp_path / "handover.md").read_text()):
            for field in ("Farm 7", "Bea Customer", "Ana Installer", "Meter cabinet key"):
                assert field in text, field
        before = out.read_text()
        code, _, err = await run_cli("report", url, "--map", "growatt-protocol-ii",
                                     "-o", str(tmp_path / "handover.md"), "--site", "Farm 7")
        line = one_line_error(code, err)
        assert "exists: not overwritten" in line and "--force" in line and "handover.md" in line
        assert out.read_text() == before
        # --force; the site alone brings back its customer and installer
        code, _, err = await run_cli("report", url, "--map", "growatt-protocol-ii",
                                     "-o", str(tmp_path / "handover.md"), "--site", "Farm 7",
                                     "--force")
        assert code == 0, err
    md = (tmp_path / "handover.md").read_text()
    assert "| customer | Bea Customer |" in md and "| installer | Ana Installer |" in md
    assert "Meter cabinet key" not in md                            # notes are per visit here
    assert load_settings().sites["Farm 7"]["notes"].startswith("Meter cabinet key")


async def test_tui_f6_form_and_lasting_notice(growatt_map, tmp_path):
    from textual.widgets import Input, TextArea
    from tui_rig import running

    from solartui.tui.app import REPORT_NOTICE_S
    from solartui.tui.screens.dialog import Dialog
    from solartui.tui.screens.report_form import ReportFormScreen
    settings_before = load_settings()
    settings_before.person = "Ana Installer"
    save_settings(settings_before)
    async with running(growatt_map, tmp_path, fast=True) as rig:
        rig.app.settings = load_settings()
        await rig.pilot.press("f6")
        form = await rig.screen(ReportFormScreen)
        assert isinstance(form, Dialog)
        assert form.query_one("#installer", Input).value == "Ana Installer"   # who signs
        await rig.pilot.press(*"Farm 7", "enter", *"Bea", "enter")
        assert form.query_one("#installer", Input).has_focus
        await rig.pilot.press("enter")
        form.query_one("#notes", TextArea).text = "Isolator in the garage."
        await rig.pilot.click("#ok")
        await rig.until(lambda: any(m.startswith("report written") for m, _ in rig.notes), 20)
        (note,) = [m for m, _ in rig.notes if m.startswith("report written")]
        html_path = note.split(": ", 1)[1].split(" (and ")[0]
        folder = note.split("folder: ", 1)[1].split("\n")[0]
        assert html_path.startswith(folder) and rig.app.last_report[1].parent.as_posix() == folder
        lasting = [n for n in rig.app._notifications if n.message.startswith("report written")]
        assert lasting and lasting[0].timeout >= REPORT_NOTICE_S >= 3600
        html = open(html_path, encoding="utf-8").read()
        for text in ("Farm 7", "Bea", "Ana Installer", "Isolator in the garage."):
            assert text in html and text in open(html_path[:-5] + ".md").read(), text
        assert load_settings().sites["Farm 7"]["customer"] == "Bea"
        # the next f6 starts at this device's site; Escape writes nothing
        await rig.pilot.press("f6")
        form = await rig.screen(ReportFormScreen)
        assert [form.query_one(f"#{n}", Input).value for n in ("site", "customer")] == \
            ["Farm 7", "Bea"]
        assert form.query_one("#notes", TextArea).text == "Isolator in the garage."
        await rig.pilot.press("escape")
        await rig.until(lambda: not isinstance(rig.app.screen, ReportFormScreen))
        await rig.pilot.pause(0.2)
        assert sum(m.startswith("report written") for m, _ in rig.notes) == 1

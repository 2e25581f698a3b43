"""Files solartui writes (issue 21 part 7): a symlinked CSV, error log or report is refused with
one clear line and the file it points to is untouched; a FIFO is refused, not waited on; CSV text
cells are guarded against spreadsheet formulas while numbers stay numbers; the shipped example
site writes into the user's own state folder."""

from __future__ import annotations

import csv
import os
from dataclasses import replace
from pathlib import Path

import pytest
from procs import one_line_error, run_cli

from solartui.errors import SolartuiError
from solartui.safe_open import UnsafePath, open_nofollow
from solartui.site.csv_sink import CsvSink, guard_cell
from solartui.site.error_log import ErrorLog
from solartui.site.site_file import load_site
from tests.conftest import ROOT

HEADER = ["time", "status", "pac (W)", "note"]
PRECIOUS = "precious contents\n"


@pytest.fixture
def victim(tmp_path) -> Path:
    p = tmp_path / "victim.txt"
    p.write_text(PRECIOUS)
    return p


def test_a_symlinked_csv_is_refused_and_never_truncated(tmp_path, victim):
    link = tmp_path / "logs" / "inv.csv"
    link.parent.mkdir()
    link.symlink_to(victim)
    sink = CsvSink(link, HEADER, "inv")
    with pytest.raises(UnsafePath, match="is a symbolic link: refused"):
        sink.open()
    assert victim.read_text() == PRECIOUS
    dangling = tmp_path / "logs" / "new.csv"            # a link to a file not there yet
    dangling.symlink_to(tmp_path / "created-elsewhere.csv")
    with pytest.raises(UnsafePath):
        CsvSink(dangling, HEADER, "inv").open()
    assert not (tmp_path / "created-elsewhere.csv").exists()


def test_the_kernel_refuses_a_link_that_appears_after_the_check(tmp_path, victim):
    path = tmp_path / "raced.csv"
    path.symlink_to(victim)                              # as if swapped in after check()
    for mode in ("a", "w", "r+"):
        with pytest.raises(UnsafePath, match="symbolic link"):
            open_nofollow(path, mode, what="csv")
    assert victim.read_text() == PRECIOUS


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "inv.csv"
    os.mkfifo(fifo)
    with pytest.raises(UnsafePath, match="not a regular file"):
        CsvSink(fifo, HEADER, "inv").open()
    with pytest.raises(UnsafePath, match="not a regular file"):
        open_nofollow(fifo, "a", what="csv")


def test_a_symlinked_error_log_is_refused(tmp_path, victim):
    link = tmp_path / "errors.log"
    link.symlink_to(victim)
    with pytest.raises(UnsafePath, match="the error log .* symbolic link"):
        ErrorLog(link, echo=False).open()
    assert victim.read_text() == PRECIOUS


async def test_cli_log_refuses_a_symlinked_csv_in_one_line(tmp_path, victim):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "inv.csv").symlink_to(victim)
    site = tmp_path / "site.yaml"
    site.write_text("schema: 1\nsite: t\nperiod: 5\ndevices:\n  - name: inv\n"
                    "    target: tcp://127.0.0.1:9?unit=1&timeout=100\n"
                    "    map: growatt-protocol-ii\n    points: [pac]\n    csv: logs/inv.csv\n")
    for extra in (["--once"], ["--check"]):
        code, _, err = await run_cli("log", str(site), *extra)
        line = one_line_error(code, err)
        assert "inv.csv is a symbolic link: refused" in line, line
    assert victim.read_text() == PRECIOUS


def test_formula_cells_are_guarded_and_numbers_kept(tmp_path):
    path = tmp_path / "inv.csv"
    sink = CsvSink(path, HEADER, "inv")
    sink.open()
    evil = ['=HYPERLINK("http://127.0.0.1/x","y")', "+SUM(A1)", "-2+3", "@cmd", "\tx", "\r=1"]
    for text in evil:
        sink.write(1_700_000_000, [text, "-12.5"], note=text)
    sink.write(1_700_000_000, ["fault", "-3"], note="")
    sink.close()
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == HEADER
    for row, text in zip(rows[1:], evil):
        assert row[1] == row[3] == "'" + text
        assert row[2] == "-12.5"                          # a number stays a number
    assert rows[-1][1:] == ["fault", "-3", ""]
    CsvSink(path, HEADER, "inv").check()                 # the guarded header matches itself


@pytest.mark.parametrize("text,guarded", [("-1", False), ("+2.5", False), ("-1e-05", False),
                                          ("=1", True), ("-", True), ("-x", True), ("@", True),
                                          ("a=1", False), ("", False)])
def test_guard_cell(text, guarded):
    assert guard_cell(text) == ("'" + text if guarded else text)


def test_header_with_a_formula_like_name_reopens(tmp_path):
    path = tmp_path / "x.csv"
    header = ["time", "-odd name", "note"]
    sink = CsvSink(path, header, "x")
    sink.open()
    sink.close()
    CsvSink(path, header, "x").check()                   # no false "other columns" refusal
    with pytest.raises(SolartuiError, match="other columns"):
        CsvSink(path, ["time", "other", "note"], "x").check()


def test_the_example_site_writes_into_the_users_state_folder():
    site = load_site(ROOT / "examples" / "site.yaml")
    state = Path.home() / ".local" / "state" / "solartui"
    for path in [d.csv for d in site.devices] + [site.error_log]:
        assert path.is_relative_to(state), path
    assert "/tmp/solartui-site" not in (ROOT / "examples" / "site.yaml").read_text()


async def test_report_force_does_not_write_through_a_link(growatt_map, tmp_path, victim):
    from solartui.report.files import write_report
    from test_report import _commissioning
    r = await _commissioning(growatt_map, tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.md").symlink_to(victim)
    with pytest.raises(UnsafePath, match="report .*a.md is a symbolic link"):
        write_report(replace(r), str(tmp_path / "out" / "a.html"), force=True)
    assert victim.read_text() == PRECIOUS and not (tmp_path / "out" / "a.html").exists()

"""`solartui simulate flexmax` in one process; read, write and time against it in others."""

import json

from procs import one_line_error, run_cli, simulator

from solartui.links.target import parse_target


async def test_read_shows_the_latest_page_and_writes_are_refused():
    async with simulator("flexmax", "--interval", "0.1") as target:
        assert target.startswith("broadcast:///dev/") and target.endswith("?map=outback-flexmax")
        assert str(parse_target(target)) == target
        code, out, err = await run_cli("read", target, "--json")
        assert code == 0, err
        rows = {r["name"]: r for r in json.loads(out)}
        assert rows["charger_mode"]["value"] == "Bulk" and rows["daily_ah"]["unit"] == "Ah"
        assert rows["battery_voltage"]["value"] == 27.4 and rows["pv_voltage"]["address"] == "A"
        assert "no modem control lines" in err        # a pty: said, not fatal
        code, out, err = await run_cli("read", target, "battery_voltage", "charger_current")
        assert code == 0 and "27.4 V" in out and "listen-only" in out, err
        code, out, err = await run_cli("read", target, "pv_voltage", "--trace")
        assert code == 0 and "page 'A,00," in err, err
        code, out, err = await run_cli("read", target, "nope")
        assert "no field 'nope'" in one_line_error(code, err)
        for _ in range(2):              # pressed twice: the same refusal, nothing sent
            code, out, err = await run_cli("write", target, "aux_mode=1", "--yes")
            assert "is listen-only" in one_line_error(code, err)
        code, out, err = await run_cli("time", target, "--sync", "--yes")
        assert "no clock to read or set" in one_line_error(code, err)


async def test_bad_checksum_pages_end_in_one_line():
    async with simulator("flexmax", "--interval", "0.1", "--fault", "bad-checksum") as target:
        code, out, err = await run_cli("read", target + "&timeout=800")
        line = one_line_error(code, err)     # the pty note comes only with a page
        assert "no good outback-flexmax page" in line and "checksum" in line


async def test_options_and_faults_refused_in_one_line(tmp_path):
    code, out, err = await run_cli("simulate", "flexmax", "--tcp", "127.0.0.1:0")
    assert "--tcp is not for 'simulate flexmax'" in one_line_error(code, err)
    code, out, err = await run_cli("simulate", "flexmax", "--fault", "explode")
    assert "unknown fault 'explode' for flexmax" in one_line_error(code, err)
    code, out, err = await run_cli("read", f"broadcast://{tmp_path}/ttyX?map=outback-flexmax")
    assert "does not exist" in one_line_error(code, err)
    code, out, err = await run_cli("read", f"broadcast://{tmp_path}/ttyX?map=asp-allegro")
    assert "not publicly documented" in one_line_error(code, err)
    code, out, err = await run_cli("read", f"broadcast://{tmp_path}/ttyX")
    assert "needs map=ID" in one_line_error(code, err)


async def test_maps_list_and_check_show_the_page_map():
    code, out, err = await run_cli("maps", "list")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("outback-flexmax"))
    assert "10 page fields" in line and "OutBack" in line
    code, out, err = await run_cli("maps", "check", "outback-flexmax")
    assert code == 0 and "listen-only, 19200 baud" in out, err
    code, out, err = await run_cli("maps", "check", "asp-allegro")
    assert code == 1 and "not publicly documented" in out

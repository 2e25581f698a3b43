"""Entry point: the click group, and the one place errors become a line on stderr.

Every SolartuiError ends as `solartui: <message>` on stderr with exit status 1 (2 for usage
mistakes, as click does). Anything else is a bug: still one line, exit 3, and `--debug` shows the
traceback for a bug report.
"""

from __future__ import annotations

import os
import sys

import click

from solartui import __version__
from solartui.errors import SolartuiError

EXIT_FAIL = 1
EXIT_BUG = 3


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except SolartuiError as exc:
            click.echo(f"solartui: {exc}", err=True)
            sys.exit(EXIT_FAIL)
        except KeyboardInterrupt:
            click.echo("solartui: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # the last line of defence: one line, never a traceback
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"solartui: internal error: {type(exc).__name__}: {exc} "
                       "(run with --debug for details)", err=True)
            sys.exit(EXIT_BUG)


@click.group(cls=Group, invoke_without_command=True)
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.version_option(__version__, prog_name="solartui")
@click.pass_context
def cli(ctx, debug):
    """Commission solar inverters: discover, read, write safely, sync clocks.

    Without a command, opens the terminal UI.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    from solartui import log_redact
    log_redact.install(os.environ.get("SOLARTUI_TOKEN"))   # no token in any log line
    if ctx.invoked_subcommand is None:
        from solartui.cli.ui import open_tui
        open_tui()


def _register() -> None:
    from solartui.cli import (action, check_cmd, demo, dump_cmd, journal_cmd, log_cmd, maps_cmd,
                              read, report_cmd, scan, serve, simulate, timecmd, ui, write)
    for mod in (ui, scan, read, write, timecmd, action, check_cmd, dump_cmd, journal_cmd,
                log_cmd, report_cmd, serve, simulate, maps_cmd, demo):
        cli.add_command(mod.command)


_register()


def main() -> None:
    """Run the CLI; usage mistakes too end in one line on stderr (exit 2), not a usage block."""
    try:
        rv = cli.main(prog_name="solartui", standalone_mode=False)
    except click.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx else "solartui"
        click.echo(f"solartui: {exc.format_message()} (see '{cmd} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"solartui: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("solartui: aborted", err=True)
        sys.exit(EXIT_FAIL)
    sys.exit(rv if isinstance(rv, int) else 0)

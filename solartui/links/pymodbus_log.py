"""pymodbus logs frames and complaints to stderr through the `pymodbus` logger; under a TUI or in
a CLI's one-line-error world that is noise. Route it to a handler on purpose, or to nowhere."""

from __future__ import annotations

import logging


def quiet_pymodbus(handler: logging.Handler | None = None) -> None:
    log = logging.getLogger("pymodbus")
    if handler is not None:
        if handler not in log.handlers:
            log.addHandler(handler)
        log.propagate = False
        log.setLevel(logging.DEBUG)
        return
    if any(not isinstance(h, logging.NullHandler) for h in log.handlers):
        return                          # already routed (e.g. to a traffic log): leave it
    log.propagate = False
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    log.setLevel(logging.CRITICAL)

"""Secrets never reach a log line, and a client's malformed request is one line, not a traceback.

Why: `solartui serve` logs to stderr, which systemd keeps in the journal where other users and
support bundles read it. aiohttp logged the full request line of a bad request (a non-ASCII query,
an over-long line) with a traceback, `?token=...` included. `install()` (called by the CLI for
every command, and by `serve` with the token it was given) redacts every record the process
creates, whoever logs it: `token=` query parameters (also percent-encoded), Authorization headers,
Bearer credentials, `--token` arguments, the password in an
`mqtt://user:password@host` URL and the literal token values it was told about.
`OneLineLog` is the logger aiohttp is handed for the HTTP API: a request it cannot parse is one
warning line with the reason, never its traceback.
"""

from __future__ import annotations

import logging
import re
import sys

MASK = "***"
MIN_SECRET = 6          # a shorter "token" would mask ordinary words everywhere

_T = r"(?:t|%74)(?:o|%6f)(?:k|%6b)(?:e|%65)(?:n|%6e)"
_PATTERNS = (
    # ?token=SECRET&..., also tok%65n=... and token%3D...: the value up to the next separator
    re.compile(rf"(?i)(?<![a-z0-9_])({_T}(?:=|%3d))[^&\s'\"<>]*"),
    # Authorization: Bearer SECRET / authorization=Basic SECRET / 'Authorization': 'SECRET'
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:[a-z]+\s+)?)[^\s'\",;]+"),
    re.compile(r"(?i)(\bbearer\s+)[^\s'\",;]+"),
    re.compile(r"(--token(?:=|\s+))\S+"),
    # an MQTT broker URL with its password: mqtt://user:SECRET@host
    re.compile(r"(?i)(mqtts?://[^:@/\s]*:)[^\s/]*(?=@)"),
)

_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """`text` with every token it holds replaced by ***."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: its message (arguments merged in) and its traceback text."""
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not fit its format: leave it to logging
        return record
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """The same redaction as a filter, for a handler set up before install() (or without it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install(*secrets: str | None) -> None:
    """Redact every log record created from now on in this process; remember `secrets` (the
    literal tokens in use) so they are masked wherever they appear. Safe to call again."""
    global _installed
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET:
            _secrets.add(secret)
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


def summary(exc: BaseException | None) -> str:
    """One short line for an exception: an HTTP parse error's status and reason without the
    request line aiohttp appends to it; anything else its type and first line."""
    if exc is None:
        return "unknown error"
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None)
    if isinstance(code, int) and isinstance(message, str):
        reason = message.strip().splitlines()[0] if message.strip() else ""
        reason = reason.split(": ", 1)[0].rstrip(":")
        return redact(f"{code} {reason}".strip())[:200]
    lines = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": "))[:200]


class OneLineLog(logging.LoggerAdapter):
    """A logger that turns `exception(...)`/`exc_info=` into one line with the reason appended:
    a client's unparsable request (aiohttp's HttpProcessingError) is a warning, anything else
    an error; no traceback either way."""

    def __init__(self, logger: logging.Logger):
        super().__init__(logger, {})

    def log(self, level, msg, *args, exc_info=None, stack_info=False, **kwargs):
        if exc_info:
            exc = exc_info if isinstance(exc_info, BaseException) else (
                exc_info[1] if isinstance(exc_info, tuple) else sys.exc_info()[1])
            client = isinstance(getattr(exc, "code", None), int) and \
                400 <= getattr(exc, "code") < 500
            level = logging.WARNING if client and level >= logging.WARNING else level
            try:
                msg = (msg % args) if args else str(msg)
            except (TypeError, ValueError):
                msg = " ".join([str(msg), *map(str, args)])
            args = ()
            msg = f"{msg}: {summary(exc)}"
        kwargs.pop("extra", None)
        super().log(level, msg, *args, **kwargs)


def one_line_loop_errors(loop) -> None:
    """asyncio reports an exception escaping a callback (a protocol's data_received, a task
    nobody awaited) with a traceback on stderr; make it one line on the `solartui` logger, with
    asyncio's own words and the exception's summary."""
    log = logging.getLogger("solartui")

    def handler(loop, context: dict) -> None:
        exc = context.get("exception")
        message = " ".join(str(context.get("message") or "unexpected error").split())
        log.error("%s: %s", message.rstrip("."), summary(exc) if exc else "no details")

    loop.set_exception_handler(handler)

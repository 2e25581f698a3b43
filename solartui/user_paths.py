"""Paths a person wrote (in a site file, on the command line) and the small text files they name.

Why: `Path("~nosuchuser/x").expanduser()` raises RuntimeError, a NUL byte raises ValueError, a
256-character name raises OSError(ENAMETOOLONG) from `exists()`, and `map: /dev/zero` would be
read until memory runs out. Each of those is a person's mistake, so each becomes a PathRefused
with one line saying what is wrong; the loaders turn it into their own error type.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from solartui.errors import SolartuiError

MAX_NAME = 255                  # one path component (NAME_MAX on Linux)
MAX_PATH = 4095                 # a whole path (PATH_MAX less the NUL)
MAX_TEXT_BYTES = 8 << 20        # a map, site file or fixture: the biggest map shipped is 71 KB


class PathRefused(SolartuiError):
    """A path that cannot name a usable file; the message says why, without the path."""


def user_path(text: str, base: Path | None = None) -> Path:
    """`text` as a Path: `~` and `~user` expanded, relative paths taken from `base`; raises
    PathRefused for a NUL byte, an unknown user, or a name too long for any file system."""
    if not isinstance(text, str) or not text.strip():
        raise PathRefused("a path must be non-empty text")
    if "\0" in text:
        raise PathRefused("a path cannot contain a NUL byte")
    if len(text) > MAX_PATH:
        raise PathRefused(f"a path of {len(text)} characters is longer than {MAX_PATH}")
    longest = max((len(part.encode("utf-8", "surrogateescape")) for part in text.split("/")),
                  default=0)
    if longest > MAX_NAME:
        raise PathRefused(f"a file or folder name of {longest} bytes is longer than {MAX_NAME}")
    p = Path(text)
    if text.startswith("~"):
        expanded = os.path.expanduser(text)
        if expanded.startswith("~"):
            user = text[1:].split("/", 1)[0]
            raise PathRefused(f"there is no user '{user}' for ~{user}" if user else
                              "~ cannot be expanded: no home folder is known")
        p = Path(expanded)
    if base is not None and not p.is_absolute():
        p = base / p
    return p


def exists(p: Path) -> bool:
    """Path.exists that answers False, never raises, for a path no file could have."""
    try:
        return p.exists()
    except (OSError, ValueError):
        return False


def absolute(p: Path) -> Path:
    """p.resolve(), or the plain absolute path when resolving fails (a symlink loop)."""
    try:
        return p.resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(p))


def read_text(p: Path, limit: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes; PathRefused otherwise (a
    device, a FIFO or /dev/zero is never read)."""
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise PathRefused(exc.strerror or str(exc)) from None
    except ValueError:
        raise PathRefused("a path cannot contain a NUL byte") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise PathRefused("it is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise PathRefused("it is not a regular file")
        if info.st_size > limit:
            raise PathRefused(f"{info.st_size} bytes is more than the {limit} bytes allowed")
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(limit + 1)
    except OSError as exc:
        raise PathRefused(exc.strerror or str(exc)) from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise PathRefused(f"more than the {limit} bytes allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PathRefused("not UTF-8 text") from None

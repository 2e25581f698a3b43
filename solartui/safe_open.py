"""Open the files solartui writes without following a symbolic link, and only if regular.

Why: `solartui log` appends CSVs and an error log at paths a site file names, and reports may be
rewritten with --force. If someone else could put a symlink there (a shared folder like /tmp),
an ordinary open would truncate or append to whatever it points to, with our rights. O_NOFOLLOW
makes the kernel refuse a link in the last path component (no check-then-open race), and a
FIFO or device at the path is refused too (a FIFO would block the logger forever).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from solartui.errors import SolartuiError

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FLAGS = {"a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
          "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
          "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
          "r+": os.O_RDWR}


class UnsafePath(SolartuiError):
    """A path solartui will not write through: a symlink, or not a regular file."""


def refuse_link(path: Path, what: str = "file") -> None:
    """Raise UnsafePath now if `path` is a symlink or exists as something other than a file
    (for refusals before anything starts; open_nofollow is what actually guards)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        raise SolartuiError(f"cannot use {what} {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(_link_message(path, what))
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(f"{what} {path} is not a regular file: refused (give a file path)")


def _link_message(path: Path, what: str) -> str:
    return (f"{what} {path} is a symbolic link: refused, solartui does not write through links "
            f"(it could overwrite the file the link points to); give the real file's path")


def open_nofollow(path: Path, mode: str = "a", *, what: str = "file", binary: bool = False,
                  **kwargs):
    """open(path, mode) for mode a, w, x or r+ (text unless binary), refusing symlinks and
    anything but a regular file with UnsafePath; other OSErrors propagate."""
    flags = _FLAGS[mode] | NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):
            raise UnsafePath(_link_message(path, what)) from None
        if exc.errno == errno.ENXIO:            # a FIFO nobody reads
            raise UnsafePath(f"{what} {path} is not a regular file: refused") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePath(f"{what} {path} is not a regular file: refused (give a file path)")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, ("rb+" if mode == "r+" else mode + "b") if binary
                         else ("r+" if mode == "r+" else mode), **kwargs)
    except BaseException:
        os.close(fd)
        raise


def exists_message(path) -> str:
    return f"{path} exists: not overwritten (add --force to replace it)"


def refuse_existing(paths, force: bool) -> None:
    """Refuse before any work starts when an output file is already there (unless `force`)."""
    if force:
        return
    for path in paths:
        if Path(path).expanduser().exists():
            raise SolartuiError(exists_message(path))


def write_new(path: Path, text: str, force: bool, what: str) -> bytes:
    """Write an output file the person named (report, dump): a new file, or with `force` a
    replaced one, never through a symlink; one clear error otherwise. Returns the bytes."""
    data = text.encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open_nofollow(path, "w" if force else "x", what=what, binary=True) as f:
            f.write(data)
    except FileExistsError:
        raise SolartuiError(exists_message(path)) from None
    except UnsafePath:
        raise
    except OSError as exc:
        raise SolartuiError(f"cannot write the {what} {path}: {exc.strerror}") from None
    return data

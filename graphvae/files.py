"""Atomic file writes: a crash or an error half-way never leaves a half-written file behind.

Every file graphvae writes (embeddings, JSON results, figures, datasets in the cache) goes through
:func:`atomic_write`; benchmarks use the same functions.
"""
from __future__ import annotations

import errno
import json
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ._validation import InputError


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> None:
    """Write a file atomically: ``write(tmp_path)`` then rename over ``path``.

    A crash half-way leaves any previous file at ``path`` untouched, and the new file is synced to disk before the
    rename (else a crash could leave it empty under ``path``), and its folder after it (else a crash could undo the
    rename: the previous file back under ``path``, or none). A symbolic link at ``path`` stays a link: the file it
    points to is the one replaced. A device or a named pipe at ``path`` (``/dev/stdout``, a FIFO) is written to as it
    is: renaming a file over it would replace the device itself.
    """
    path = Path(path)
    if path.is_dir():  # before writing anything: os.replace would fail naming the temporary file
        raise IsADirectoryError(errno.EISDIR, "cannot write a file over a folder", str(path))
    # a device or a pipe, through links (/dev/stdout): as root, "--json /dev/full" replaced the device node with a file
    direct = path.exists() and not path.is_file()
    if not direct and path.is_symlink():
        path = Path(os.path.realpath(path))
    if direct:
        tmp = path
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        # one temporary name per process *and thread*: two threads writing the same path shared one and clobbered it
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    try:
        write(tmp)
        if not direct:
            _sync(tmp)  # the data on disk before the rename: else a crash could leave an empty file under ``path``
            _keep_mode(path, tmp)
            os.replace(tmp, path)
            _sync(path.parent, folder=True)
    except OSError as e:  # name the user's file, not the hidden temporary one (e.g. "Permission denied: '.x.tmp-1-2'")
        if e.filename is not None and Path(e.filename) != tmp:  # or none at all ("No space left on device" from write)
            raise
        raise type(e)(e.errno, e.strerror, str(path)) from None
    finally:
        if not direct and tmp.exists():
            tmp.unlink()


def _sync(path: Path, folder: bool = False) -> None:
    """``os.fsync`` the written file ``path``, so that its data reach the disk before the rename does (ext4 and XFS
    may commit the rename first: after a crash, an empty or truncated file under the final name); with ``folder``,
    the folder a file was renamed into, so that the rename itself reaches the disk (POSIX leaves a folder entry's
    durability to an fsync of the folder). File systems that cannot sync (EINVAL, ENOTSUP) are passed over, and so
    are folders that cannot be opened or synced: on Windows, or one the user may write but not read (mode 0300)."""
    if folder:
        if os.name == "nt":
            return
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return
    else:
        fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)  # Windows syncs only a writable handle
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, *((errno.EBADF,) if folder else ())):
            raise
    finally:
        os.close(fd)


def _keep_mode(path: Path, tmp: Path) -> None:
    """Give ``tmp`` the permission bits of the file it replaces: a private (0600) file rewritten became readable by
    all (the umask's 0644)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode) & 0o777  # not a set-user-id bit
    except FileNotFoundError:  # a new file: the umask decides, as for any file
        return
    os.chmod(tmp, mode)


#: characters that make a CSV row ambiguous unless its first field is quoted: a tab (a reader that guesses the
#: separator takes a line holding a bare one for TSV) and the line breaks of str.splitlines (the csv module quotes a
#: field with \n itself, and one with \r only while \r is part of its line ending, which ours is not)
_QUOTE = re.compile("[\t\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def write_csv_rows(f: Any, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write ``header``, then ``rows`` (streamed: a million nodes' rows are never held at once) to the open text file
    ``f`` as CSV. A row whose first field starts with ``#`` (after spaces) is quoted in full: graphvae's readers take
    such a line for a comment, so a node id ``#x`` written bare was lost when a ``cluster --out`` file was read back
    as labels. So is a row whose first field holds a tab or a line break (:data:`_QUOTE`): written bare, ``a<TAB>b,1``
    is two tab-separated fields to a reader that guesses the separator."""
    import csv

    # "\n" line ends, as pandas writes them (the csv module's "\r\n" left a "\r" on the last field for cut and awk)
    plain, quoted = csv.writer(f, lineterminator="\n"), csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
    plain.writerow(header)
    search = _QUOTE.search
    for row in rows:
        first = str(row[0])
        try:
            (quoted if first.lstrip().startswith("#") or search(first) else plain).writerow(row)
        except csv.Error as e:  # Python 3.10's writer cannot write a NUL character ("need to escape")
            raise InputError(f"node id {first!r} cannot be written as CSV by this Python's csv module ({e}); Python "
                             f"3.11 and later write a NUL character") from None


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))

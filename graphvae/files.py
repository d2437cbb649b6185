"""Atomic file writes: a crash or an error half-way never leaves a half-written file behind.

Every file graphvae writes (embeddings, JSON results, figures, datasets in the cache) goes through
:func:`atomic_write`; benchmarks use the same functions.
"""
from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> None:
    """Write a file atomically: ``write(tmp_path)`` then rename over ``path``.

    A crash half-way leaves any previous file at ``path`` untouched. A symbolic link at ``path`` stays a link: the
    file it points to is the one replaced. A device or a named pipe at ``path`` (``/dev/stdout``, a FIFO) is written
    to as it is: renaming a file over it would replace the device itself.
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
            os.replace(tmp, path)
    except OSError as e:  # name the user's file, not the hidden temporary one (e.g. "Permission denied: '.x.tmp-1-2'")
        if e.filename is not None and Path(e.filename) != tmp:  # or none at all ("No space left on device" from write)
            raise
        raise type(e)(e.errno, e.strerror, str(path)) from None
    finally:
        if not direct and tmp.exists():
            tmp.unlink()


def write_csv_rows(f: Any, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write ``header``, then ``rows`` (streamed: a million nodes' rows are never held at once) to the open text file
    ``f`` as CSV. A row whose first field starts with ``#`` (after spaces) is quoted in full: graphvae's readers take
    such a line for a comment, so a node id ``#x`` written bare was lost when a ``cluster --out`` file was read back
    as labels."""
    import csv

    plain, quoted = csv.writer(f), csv.writer(f, quoting=csv.QUOTE_ALL)
    plain.writerow(header)
    for row in rows:
        (quoted if str(row[0]).lstrip().startswith("#") else plain).writerow(row)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))

"""``atomic_write`` makes the rename durable too: the folder is fsync-ed after the new file is renamed into it."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from graphvae.files import atomic_write, write_json

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX folder fsync")


def record_syncs(monkeypatch) -> list[tuple]:
    """Patch ``os.fsync`` and ``os.replace`` to log ``("fsync", inode, size, is_dir)`` and ``("replace", inode)``."""
    events: list[tuple] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        events.append(("fsync", st.st_ino, st.st_size, stat.S_ISDIR(st.st_mode)))
        real_fsync(fd)

    def replace(src, dst, *args, **kwargs) -> None:
        events.append(("replace", os.stat(src).st_ino))
        real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def _fail_folder_syncs(monkeypatch, code: int) -> None:
    """Make ``os.fsync`` of a folder fail with ``code`` (files still sync)."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_the_folder_is_synced_after_the_rename(tmp_path: Path, monkeypatch) -> None:
    """The file is synced before ``os.replace`` and its folder (the one that holds the final name, through a new
    subfolder too) after it: POSIX makes a rename durable only by an fsync of the folder. Kills: no folder sync (the
    code before), a sync of the wrong folder, or one before the rename."""
    events = record_syncs(monkeypatch)
    target = tmp_path / "new" / "out.json"
    write_json(target, {"a": 1})
    file_inode, folder_inode = target.stat().st_ino, target.parent.stat().st_ino
    renamed = events.index(("replace", file_inode))
    assert ("fsync", file_inode, target.stat().st_size, False) in events[:renamed], events
    assert ("fsync", folder_inode) in [e[:2] for e in events[renamed + 1:] if e[0] == "fsync" and e[3]], events
    assert tmp_path.stat().st_ino not in [e[1] for e in events if e[0] == "fsync" and e[3]]


def test_a_folder_that_cannot_be_opened_or_synced_is_passed_over(tmp_path: Path, monkeypatch) -> None:
    """A folder the user may write but not read (opening it fails) or a file system without folder fsync (EINVAL)
    still gets the file; the data were written and renamed."""
    real_open = os.open

    def no_folders(path, flags, *args, **kwargs):
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_folders)
    atomic_write(tmp_path / "a.txt", lambda tmp: Path(tmp).write_text("a"))
    assert (tmp_path / "a.txt").read_text() == "a"
    monkeypatch.setattr(os, "open", real_open)

    _fail_folder_syncs(monkeypatch, errno.EINVAL)
    atomic_write(tmp_path / "b.txt", lambda tmp: Path(tmp).write_text("b"))
    assert (tmp_path / "b.txt").read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_an_io_error_syncing_the_folder_names_the_users_file(tmp_path: Path, monkeypatch) -> None:
    """EIO from the folder's fsync (the rename may not be on disk) is an OSError naming the user's file, not the
    hidden temporary one; the rename itself happened, and no temporary file is left behind."""
    _fail_folder_syncs(monkeypatch, errno.EIO)
    target = tmp_path / "c.txt"
    with pytest.raises(OSError) as info:
        atomic_write(target, lambda tmp: Path(tmp).write_text("c"))
    assert info.value.errno == errno.EIO and info.value.filename == str(target)
    assert target.read_text() == "c" and sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]

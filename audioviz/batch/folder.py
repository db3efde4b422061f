"""A batch's output folder: its lock, and what killed runs left in it."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from ..errors import BatchStoppedError
from ..files import temporary_stem
from .mp4 import mp4_complete
from .plan import Track

LOCK_NAME = ".audioviz-batch.lock"


def stale_temporaries(output: Path) -> list[Path]:
    """The hidden temporary files a render of `output` makes (files.temporary_path:
    .<stem>.<8 hex>.tmp<suffix> beside it) that are lying there."""
    pattern = re.compile(re.escape(f".{temporary_stem(output)}.") + r"[0-9a-f]{8}\.tmp"
                         + re.escape(output.suffix))
    try:
        return [p for p in output.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return []


def finished_since(output: Path, since: float) -> bool:
    """A complete video put at `output` after `since` (wall clock): by this run, which was
    stopped between the video's rename and the worker saying so."""
    try:
        return output.stat().st_mtime >= since and mp4_complete(output)
    except OSError:
        return False


def remove_stale(output: Path) -> int:
    n = 0
    for p in stale_temporaries(output):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n


_TEMPORARY = re.compile(r"\.(.+)\.[0-9a-f]{8}\.tmp(\.[^.]+)")


def remove_stale_temporaries(tracks: list[Track]) -> int:
    """Delete what killed runs left of these tracks' videos, reading each output folder once
    (an FMA folder holds a thousand tracks). Only safe while holding the folder's lock."""
    stems: dict[Path, set[tuple[str, str]]] = {}
    for t in tracks:
        stems.setdefault(t.output.parent, set()).add((temporary_stem(t.output), t.output.suffix))
    n = 0
    for folder, wanted in stems.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            m = _TEMPORARY.fullmatch(e.name)
            if m and m.groups() in wanted:
                with contextlib.suppress(OSError):
                    os.unlink(e.path)
                    n += 1
    return n


class FolderLock:
    """An exclusive lock on OUT_DIR for the length of a run (flock on a small file, released by
    the kernel whatever way the process ends), so two batches never share an output folder."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK_NAME
        self._file = None

    def __enter__(self) -> FolderLock:
        try:
            import fcntl
        except ImportError:  # not a POSIX system: no lock, resuming still works
            return self
        try:
            self._file = self.path.open("a")
        except OSError as e:
            raise BatchStoppedError(f"{self.path.parent}: cannot write there ({e.strerror}); nothing was rendered") from None
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            self._file = None
            raise BatchStoppedError(f"{self.path.parent}: another batch is writing into this folder right now; "
                                    "nothing was rendered") from None
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock; the empty file stays (harmless)


def folder_usable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)

"""Features of every track in a folder, for fitting mappings and for analysis.

Tracks are decoded one after another (the next one decodes in ffmpeg while the network runs on
the current one) and only their features are kept, so a folder of thousands of songs never
sits in memory as audio. Features are cached on disk per model and file (path, size and
modification time), so that `fit` and `analyze` on the same folder extract once. An entry is
written whole to disk before it is renamed into place and checked when read; a damaged one is
extracted again, with a warning. A cache that cannot be written (a file where its folder should
be, no permission, a full disk) is a CacheError, before or instead of any half-written entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import stat
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import decode
from ..errors import AudiovizError, CacheError, InputError
from ..files import durable_bytes
from .corpus import find_audio


@dataclass(frozen=True)
class TrackFeatures:
    path: str  # relative to the corpus folder, with forward slashes
    values: np.ndarray  # (N, D) float32

    @property
    def folder(self) -> str:
        """The top sub-folder the track sits in ('' at the top level): its default group."""
        return self.path.split("/", 1)[0] if "/" in self.path else ""


@dataclass
class CorpusFeatures:
    root: Path
    model: str
    tracks: list[TrackFeatures] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def stacked(self) -> np.ndarray:
        return np.concatenate([t.values for t in self.tracks])

    @property
    def segments(self) -> int:
        return sum(len(t.values) for t in self.tracks)


def cache_root() -> Path:
    """$AUDIOVIZ_CACHE, else $XDG_CACHE_HOME/audioviz, else ~/.cache/audioviz."""
    if os.environ.get("AUDIOVIZ_CACHE"):
        return Path(os.environ["AUDIOVIZ_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "audioviz"


def _cache_folder(extractor) -> Path:
    """The model's feature cache, made when missing; CacheError when it cannot be used."""
    folder = cache_root() / "features" / extractor.features_id[:16]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise CacheError(_unusable(folder, "permission denied")) from None
    except OSError as e:
        existing = folder
        while not os.path.lexists(existing) and existing != existing.parent:
            existing = existing.parent
        raise CacheError(_unusable(folder, f"{existing} is a file, not a folder" if not existing.is_dir()
                                   else e.strerror)) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CacheError(_unusable(folder, "permission denied"))
    return folder


def _unusable(folder: Path, why: str) -> str:
    return (f"feature cache {folder}: cannot write there ({why}); set AUDIOVIZ_CACHE to another folder, "
            "or pass --no-cache")


def _cache_file(folder: Path, path: Path) -> Path:
    st = path.stat()
    key = f"{os.path.realpath(path)}\0{st.st_size}\0{st.st_mtime_ns}"
    return folder / (hashlib.sha1(key.encode()).hexdigest() + ".npy")


class _BadEntry(Exception):
    """A cache entry that cannot be trusted; its message says why."""


def _read_entry(entry: Path, columns: int) -> np.ndarray | None:
    """The features cached in `entry` (None when there is none): a whole .npy file of float32
    rows of `columns` finite values, else _BadEntry."""
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NONBLOCK)  # should it be a FIFO, opening does not wait
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _BadEntry(e.strerror) from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _BadEntry("not a regular file")
        try:
            values = np.lib.format.read_array(f, allow_pickle=False)
        except (ValueError, EOFError, OSError) as e:
            raise _BadEntry(" ".join(str(e).split()) or type(e).__name__) from None
    if values.dtype != np.float32 or values.ndim != 2 or values.shape[1] != columns or not len(values):
        raise _BadEntry(f"holds a {values.dtype} array of shape {values.shape}, not features of this model")
    if not np.isfinite(values).all():
        raise _BadEntry("holds values that are not finite")
    return values


def _cached(entry: Path, columns: int, rel: str) -> np.ndarray | None:
    """The features cached for `rel`; None, with a warning, when its entry is damaged (a crash
    or a full disk of another version, a file changed by hand): it is extracted again."""
    try:
        return _read_entry(entry, columns)
    except _BadEntry as e:
        warnings.warn(f"feature cache {entry}: the entry of {rel} is damaged ({e}); extracting it again")
        return None


def _store(entry: Path, values: np.ndarray) -> None:
    """Cache `values` in `entry`: written whole to disk (fsync) under a temporary name and
    renamed, so that a crash or a full disk never leaves half an entry; CacheError when the
    cache cannot take it, with nothing left behind."""
    data = io.BytesIO()
    np.save(data, values, allow_pickle=False)
    tmp = entry.with_name(f".{entry.name}.{secrets.token_hex(4)}.tmp")
    try:
        durable_bytes(tmp, data.getvalue())
        os.replace(tmp, entry)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise CacheError(_unusable(entry.parent, e.strerror or type(e).__name__)) from None


def prefetch(fn: Callable, items: Iterable, depth: int = 2) -> Iterator[tuple[object, Future]]:
    """(item, future of fn(item)) in order, with at most `depth` calls running ahead."""
    with ThreadPoolExecutor(max_workers=depth) as pool:
        pending: deque = deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= depth:
                yield pending.popleft()
        while pending:
            yield pending.popleft()


def collect(
    root: str | os.PathLike,
    extractor,
    cache: bool = True,
    progress: bool = False,
) -> CorpusFeatures:
    """Features of every audio file under `root`; files that cannot be used are listed in
    `failed` with the reason instead of stopping the run."""
    from ..progress import bar as progress_bar

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    files = find_audio(root)
    if not files:
        raise InputError(f"{root}: no audio files found")
    folder = _cache_folder(extractor) if cache else None
    out = CorpusFeatures(root, extractor.name)

    def rel(f: Path) -> str:
        return f.relative_to(root).as_posix()

    found: dict[Path, np.ndarray] = {}
    cached = {f: _cache_file(folder, f) for f in files} if folder is not None else {}
    for f, entry in cached.items():
        values = _cached(entry, extractor.feature_size, rel(f))
        if values is not None:
            found[f] = values
    todo = [f for f in files if f not in found]

    def load(f: Path):
        return decode(f, extractor.sample_rate).samples

    with progress_bar(total=len(files), desc="features", unit="track", disable=not progress) as bar:
        bar.update(len(files) - len(todo))
        for f, fut in prefetch(load, todo):
            try:
                values = extractor.features(fut.result()).values
            except AudiovizError as e:
                out.failed.append((rel(f), str(e).removeprefix(f"{f}: ")))
            else:
                found[f] = values
                if folder is not None:
                    _store(cached[f], values)
            bar.update(1)
    out.tracks = [TrackFeatures(rel(f), found[f]) for f in files if f in found]
    out.failed.sort()
    return out

"""Features of every track in a folder, for fitting mappings and for analysis.

Tracks are decoded one after another (the next one decodes in ffmpeg while the network runs on
the current one) and only their features are kept, so a folder of thousands of songs never
sits in memory as audio. Features are cached on disk per model and file (path, size and
modification time), so that `fit` and `analyze` on the same folder extract once.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import decode
from ..errors import AudiovizError, InputError
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


def _cache_file(folder: Path, path: Path) -> Path:
    st = path.stat()
    key = f"{os.path.realpath(path)}\0{st.st_size}\0{st.st_mtime_ns}"
    return folder / (hashlib.sha1(key.encode()).hexdigest() + ".npy")


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
    from tqdm import tqdm

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    files = find_audio(root)
    if not files:
        raise InputError(f"{root}: no audio files found")
    folder = cache_root() / "features" / extractor.features_id[:16] if cache else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    out = CorpusFeatures(root, extractor.name)
    cached = {f: _cache_file(folder, f) for f in files} if folder is not None else {}
    todo = [f for f in files if not (f in cached and cached[f].exists())]

    def rel(f: Path) -> str:
        return f.relative_to(root).as_posix()

    def load(f: Path):
        return decode(f, extractor.sample_rate).samples

    found: dict[Path, np.ndarray] = {}
    with tqdm(total=len(files), desc="features", unit="track", disable=not progress) as bar:
        bar.update(len(files) - len(todo))
        for f, fut in prefetch(load, todo):
            try:
                values = extractor.features(fut.result()).values
            except AudiovizError as e:
                out.failed.append((rel(f), str(e).removeprefix(f"{f}: ")))
            else:
                found[f] = values
                if folder is not None:
                    tmp = cached[f].with_suffix(".tmp.npy")
                    np.save(tmp, values)
                    os.replace(tmp, cached[f])
            bar.update(1)
    failed = {p for p, _ in out.failed}
    for f in files:
        if rel(f) in failed:
            continue
        values = found[f] if f in found else np.load(cached[f])
        out.tracks.append(TrackFeatures(rel(f), values))
    out.failed.sort()
    return out

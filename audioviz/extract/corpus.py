"""A folder of music as training data: files found, split by track, MFCC segments cached on disk.

Each track's segments are cached as one float16 .npy file (memory-mapped when read), so that
preprocessing resumes after an interruption and a corpus larger than memory trains fine.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..audio import AUDIO_EXTENSIONS, decode
from ..errors import AudiovizError, TrainingError
from .frontend import FrontendConfig, MFCCFrontend


def find_audio(root: str | os.PathLike) -> list[Path]:
    """Audio files under `root`, recursively (through symlinked folders too), in a stable order."""
    root = Path(root)
    if not root.is_dir():
        raise TrainingError(f"{root}: not a folder")
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:  # a link back up the tree
            dirs.clear()
            continue
        seen.add(real)
        found += [Path(folder) / f for f in files if Path(f).suffix.lower() in AUDIO_EXTENSIONS]
    return sorted(p for p in found if p.is_file())


def validation_tracks(rel_paths: list[str], fraction: float, seed: int) -> set[str]:
    """A stable split by track: a file lands on the same side whatever else is in the folder.
    With two tracks or more, at least one is held out."""
    score = {r: int.from_bytes(hashlib.sha256(f"{seed}:{r}".encode()).digest()[:8], "big") / 2**64 for r in rel_paths}
    val = {r for r, s in score.items() if s < fraction}
    if not val and len(rel_paths) >= 2:
        val = {min(score, key=score.get)}
    return val


@dataclass
class Track:
    path: str  # relative to the corpus root
    split: str  # "train" | "val" | "test"
    cache: str  # file name under the cache folder, or "" when unusable
    segments: int
    error: str = ""


class Corpus:
    """Tracks of one folder with their cached segments; `index.json` records progress."""

    # each memory-mapped track holds a file descriptor: keep at most this many open (FMA medium
    # has 25,000 tracks, and many systems allow a process 1,024 descriptors)
    max_open = 256

    def __init__(self, root: Path, cache_dir: Path, tracks: list[Track]):
        self.root, self.cache_dir, self.tracks = root, cache_dir, tracks
        self._arrays: OrderedDict[int, np.ndarray] = OrderedDict()

    @classmethod
    def prepare(
        cls,
        root: str | os.PathLike,
        cache_dir: str | os.PathLike,
        frontend: FrontendConfig,
        val_fraction: float,
        seed: int,
        max_segments_per_track: int | None = None,
        progress: bool = False,
        files: list[Path] | None = None,
        splits: dict[str, str] | None = None,
    ) -> Corpus:
        """Cache the segments of `files` (default: every audio file under `root`).

        `splits` gives each file's split by its path relative to `root` ("train", "val" or
        "test"); by default a stable `val_fraction` of the tracks is held out for validation.
        Splits are decided afresh on every call, so a cache can serve runs that split it
        differently.
        """
        from tqdm import tqdm

        root, cache_dir = Path(root), Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        index_path = cache_dir / "index.json"
        done = {}
        if index_path.exists():
            done = {t["path"]: Track(**t) for t in json.loads(index_path.read_text())["tracks"]}
        files = find_audio(root) if files is None else files
        if not files:
            raise TrainingError(f"{root}: no audio files found (looked for {', '.join(sorted(AUDIO_EXTENSIONS))})")
        fe = MFCCFrontend(frontend)
        rels = [f.relative_to(root).as_posix() for f in files]
        if splits is None:
            val = validation_tracks(rels, val_fraction, seed)
            splits = {r: "val" if r in val else "train" for r in rels}
        tracks = []
        for i, (f, rel) in enumerate(zip(tqdm(files, desc="prepare", unit="track", disable=not progress), rels)):
            split = splits[rel]
            if rel in done:
                tracks.append(replace(done[rel], split=split))
                continue
            try:
                audio = decode(f, frontend.sample_rate)
                seg = fe.segments(audio.samples)
                x = seg.mfcc[: seg.complete, 0].numpy()
                if max_segments_per_track and len(x) > max_segments_per_track:
                    x = x[np.linspace(0, len(x) - 1, max_segments_per_track).round().astype(int)]
                name = f"{i:06d}-{hashlib.sha1(rel.encode()).hexdigest()[:8]}.npy"
                np.save(cache_dir / name, x.astype(np.float16))
                tracks.append(Track(rel, split, name, len(x)))
            except AudiovizError as e:
                tracks.append(Track(rel, split, "", 0, str(e)))
            if i % 20 == 0 or i == len(files) - 1:
                cls._write_index(index_path, tracks)
        cls._write_index(index_path, tracks)
        corpus = cls(root, cache_dir, tracks)
        if not corpus.indices("train").size:
            raise TrainingError(f"{root}: no usable training audio (every file failed or was too short)")
        return corpus

    @staticmethod
    def _write_index(path: Path, tracks: list[Track]) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"tracks": [t.__dict__ for t in tracks]}, indent=1))
        os.replace(tmp, path)

    @property
    def failed(self) -> list[Track]:
        return [t for t in self.tracks if t.error]

    def indices(self, split: str) -> np.ndarray:
        """(K, 2) array of (track, segment) pairs in `split`."""
        parts = [
            np.stack([np.full(t.segments, i), np.arange(t.segments)], axis=1)
            for i, t in enumerate(self.tracks)
            if t.split == split and t.segments
        ]
        return np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)

    def array(self, track: int) -> np.ndarray:
        if track in self._arrays:
            self._arrays.move_to_end(track)
        else:
            if len(self._arrays) >= self.max_open:
                self._arrays.popitem(last=False)  # the least recently used
            self._arrays[track] = np.load(self.cache_dir / self.tracks[track].cache, mmap_mode="r")
        return self._arrays[track]

    def batch(self, pairs: np.ndarray) -> np.ndarray:
        """(B, 2) pairs -> (B, 1, 64, 96) float32 raw MFCC."""
        return np.stack([self.array(t)[s] for t, s in pairs]).astype(np.float32)[:, None]

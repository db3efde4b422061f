"""A folder of music as training data: split by track, MFCC segments cached on disk.

Each track's segments are cached as one float16 .npy file (memory-mapped when read), so that
preprocessing resumes after an interruption and a corpus larger than memory trains fine.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import sys
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..audio import AUDIO_EXTENSIONS, decode
from ..errors import AudiovizError, OutputError, TrainingError
from ..extract.corpus import find_audio
from ..extract.frontend import FrontendConfig, MFCCFrontend
from .run_folder import make_folder

# what a Track in index.json holds, by type: anything else is a damaged index
_TRACK_FIELDS = {"path": str, "split": str, "cache": str, "segments": int, "error": str}


def no_audio(root: Path) -> str:
    return f"{root}: no audio files found (looked for {', '.join(sorted(AUDIO_EXTENSIONS))})"


def audio_files(root: str | os.PathLike) -> list[Path]:
    """`find_audio(root)`, none found a TrainingError: what a trainer checks before it makes
    its run folder."""
    files = find_audio(root)
    if not files:
        raise TrainingError(no_audio(Path(root)))
    return files


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
        differently. Each cache file and the index appear only when complete (written under a
        temporary name, synced, renamed); an entry that is missing, damaged or made with other
        settings is prepared again, a damaged one with a `warning:` line.
        """
        from ..progress import bar as progress_bar

        root, cache_dir = Path(root), Path(cache_dir)
        files = audio_files(root) if files is None else files
        if not files:
            raise TrainingError(no_audio(root))
        make_folder(cache_dir, "the training cache", " where the training cache's folder should be; remove it")
        index_path = cache_dir / "index.json"
        settings = {"frontend": frontend.to_dict(), "max_segments_per_track": max_segments_per_track or 0}
        done = _read_index(index_path, settings)
        fe = MFCCFrontend(frontend)
        rels = [f.relative_to(root).as_posix() for f in files]
        if splits is None:
            val = validation_tracks(rels, val_fraction, seed)
            splits = {r: "val" if r in val else "train" for r in rels}
        tracks = []
        for i, (f, rel) in enumerate(zip(progress_bar(files, desc="prepare", unit="track", disable=not progress), rels)):
            split = splits[rel]
            known = done.get(rel)
            if known is not None and not known.cache:  # a file that failed before fails again
                tracks.append(replace(known, split=split))
                continue
            if known is not None:
                why = _damage(cache_dir, known, frontend)
                if not why:
                    tracks.append(replace(known, split=split))
                    continue
                _warn(f"{cache_dir / known.cache}: damaged cache entry for {rel} ({why}); preparing the track again")
            try:
                audio = decode(f, frontend.sample_rate)
                seg = fe.segments(audio.samples)
                x = seg.mfcc[: seg.complete, 0].numpy()
                if max_segments_per_track and len(x) > max_segments_per_track:
                    x = x[np.linspace(0, len(x) - 1, max_segments_per_track).round().astype(int)]
                name = f"{i:06d}-{hashlib.sha1(rel.encode()).hexdigest()[:8]}.npy"
                _write_array(cache_dir / name, x.astype(np.float16))
                tracks.append(Track(rel, split, name, len(x)))
            except AudiovizError as e:
                if isinstance(e, OutputError):  # the cache's disk, not the track: every later one fails too
                    raise
                tracks.append(Track(rel, split, "", 0, str(e)))
            if i % 20 == 0 or i == len(files) - 1:
                _write_index(index_path, tracks, settings)
        _write_index(index_path, tracks, settings)
        corpus = cls(root, cache_dir, tracks)
        if not corpus.indices("train").size:
            raise TrainingError(f"{root}: no usable training audio (every file failed or was too short)")
        return corpus

    @property
    def failed(self) -> list[Track]:
        return [t for t in self.tracks if t.error]

    def folders(self) -> dict[str, tuple[int, int]]:
        """Each top-level sub-folder that gave segments (files at the top: "."), with its tracks
        and segments: what a run heard, so that music it never heard can be told from it."""
        out: dict[str, tuple[int, int]] = {}
        for t in self.tracks:
            if t.segments:
                folder = t.path.split("/")[0] if "/" in t.path else "."
                n, s = out.get(folder, (0, 0))
                out[folder] = (n + 1, s + t.segments)
        return dict(sorted(out.items()))

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

    def coefficients(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n_mfcc, values) float32: the raw values of each MFCC coefficient in up to `n`
        training segments drawn at random, what a run measures its input normalisation on."""
        pairs = self.indices("train")
        pick = pairs[rng.choice(len(pairs), size=min(n, len(pairs)), replace=False)]
        x = self.batch(pick)[:, 0]  # (n, 64, 96)
        return x.transpose(1, 0, 2).reshape(x.shape[1], -1)


# -- the cache on disk ---------------------------------------------------------------------------


def _warn(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(f"warning: {message}", file=sys.stderr)  # above a progress bar, not through it


def _read_index(path: Path, settings: dict) -> dict[str, Track]:
    """Path -> Track of the tracks a previous run cached with these `settings`; an index made
    with others gives nothing (its tracks are prepared again), a damaged one a warning too."""
    from ..files import regular_file

    if not os.path.lexists(path):
        return {}
    try:
        regular_file(path, "cache index", TrainingError)
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("tracks"), list):
            raise ValueError("no list of tracks")
        # an index from before the settings were recorded was made with the same ones: a run
        # with checkpoints refuses other settings, and a new run folder starts a new cache
        if any(data.get(k, v) != v for k, v in settings.items()):
            return {}
        tracks = {}
        for t in data["tracks"]:
            if not isinstance(t, dict) or set(t) != set(_TRACK_FIELDS) or not all(
                    type(t[k]) is kind for k, kind in _TRACK_FIELDS.items()) or t["segments"] < 0:
                raise ValueError("a track entry is malformed")
            tracks[t["path"]] = Track(**t)
        return tracks
    except (OSError, ValueError, RecursionError, TrainingError) as e:
        _warn(f"{path}: damaged training cache index ({str(e).splitlines()[0][:120]}); preparing every track again")
        return {}


def _damage(cache_dir: Path, track: Track, frontend: FrontendConfig) -> str:
    """Why the cached segments of `track` cannot be used, or "" when they can: a plain file in
    the cache folder holding (segments, n_mfcc, frames) float16 values, as the index says."""
    from ..files import regular_file

    if Path(track.cache).name != track.cache or not track.cache.endswith(".npy"):
        return "not a cache file name"
    try:
        path = regular_file(cache_dir / track.cache, "cache file", TrainingError)
        x = np.load(path, mmap_mode="r", allow_pickle=False)  # the header only: no data is read
    except TrainingError as e:
        return str(e).split(": ", 1)[-1]
    except (OSError, ValueError, EOFError, TypeError) as e:
        return str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
    want = (track.segments, frontend.n_mfcc, frontend.frames_per_segment)
    if not isinstance(x, np.ndarray) or x.dtype != np.float16 or x.shape != want:
        return f"holds {getattr(x, 'dtype', '?')} {getattr(x, 'shape', '')}, not float16 {want}"
    return ""


def _durable(path: Path, data: bytes, what: str) -> None:
    """`data` at `path`, complete or not at all, even across a crash of the machine."""
    from ..files import atomic_write, durable_bytes

    with atomic_write(path, what) as tmp:
        try:
            durable_bytes(tmp, data)
        except OSError as e:
            from ..errors import DiskFullError

            full = e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
            raise (DiskFullError if full else OutputError)(f"{path}: cannot write the {what} ({e.strerror})") from None


def _write_array(path: Path, x: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, x)
    _durable(path, buf.getvalue(), "training cache")


def _write_index(path: Path, tracks: list[Track], settings: dict) -> None:
    data = {**settings, "tracks": [t.__dict__ for t in tracks]}
    _durable(path, json.dumps(data, indent=1).encode(), "training cache index")
